"""Peer transport: asyncio TCP with mutual TLS 1.3, peers pinned to known certificates.

Only validators (and registered full nodes) may talk consensus. Each node has an Ed25519 TLS
certificate; the set of peer certificates this node trusts is fixed by the chain (the
genesis lists them), and it is the TLS trust store itself, so the handshake fails for anyone
else on both sides. The certificate is bound to the validator's secp256k1 key by a signature
(`IdentityBinding`), so a certificate cannot be passed off as another validator's.

Frames are `u32 length | payload`, at most MAX_FRAME_BYTES; a larger length closes the
connection before anything is read. Outbound connections are kept up with capped exponential
backoff. The transport carries opaque bytes: consensus messages and gossiped transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import logging
import random
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from consensus.commit import sign_commit
from ledger.hashing import keccak
from ledger.tx import InvalidSignatureError, address_of_key, recover_sender

log = logging.getLogger("qenex.p2p")

MAX_FRAME_BYTES = 4 * 1024 * 1024
BACKOFF_INITIAL_S = 0.05
BACKOFF_MAX_S = 5.0
HANDSHAKE_TIMEOUT_S = 10.0

MessageHandler = Callable[[str, bytes], Awaitable[None] | None]


class FrameTooLargeError(ValueError):
    """A peer announced a frame beyond MAX_FRAME_BYTES."""


@dataclass(frozen=True, slots=True)
class NodeCertificate:
    """A node's TLS certificate (PEM) and key (PEM, private), and who it belongs to."""

    address: str
    certificate_pem: bytes
    key_pem: bytes
    key_password: bytes | None = None  # an encrypted PKCS#8 key stays encrypted on disk (node/key_store.py)

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate_pem)


@dataclass(frozen=True, slots=True)
class IdentityBinding:
    """The validator key's signature over the certificate's fingerprint and the chain id."""

    address: str
    fingerprint: str
    signature: bytes

    @staticmethod
    def message(chain_id: int, fingerprint: str) -> bytes:
        return keccak(b"qenex-p2p-identity:" + str(chain_id).encode() + b":" + fingerprint.encode())

    def verify(self, chain_id: int) -> bool:
        signature = self.signature
        if len(signature) != 65:
            return False
        try:
            signer = recover_sender(
                self.message(chain_id, self.fingerprint),
                signature[64],
                int.from_bytes(signature[:32], "big"),
                int.from_bytes(signature[32:64], "big"),
            )
        except InvalidSignatureError:
            return False
        return signer.lower() == self.address.lower()


def certificate_fingerprint(certificate_pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def make_node_certificate(validator_key: bytes, chain_id: int) -> tuple[NodeCertificate, IdentityBinding]:
    """A fresh Ed25519 TLS certificate for the node of `validator_key`, and its binding."""
    address = address_of_key(validator_key)
    key = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None)
    )
    node = NodeCertificate(
        address=address,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    fingerprint = node.fingerprint
    binding = IdentityBinding(
        address, fingerprint, sign_commit(IdentityBinding.message(chain_id, fingerprint), validator_key)
    )
    return node, binding


def _context(server: bool, own: NodeCertificate, trusted_pems: list[bytes]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = False  # peers are identified by pinned certificate, not by name
    if trusted_pems:  # a node alone (or one waiting for the chain to register peers) trusts nobody yet
        context.load_verify_locations(cadata=b"".join(trusted_pems).decode())
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory) / "cert.pem", Path(directory) / "key.pem"
        cert_path.write_bytes(own.certificate_pem)
        key_path.write_bytes(own.key_pem)
        key_path.chmod(0o600)
        context.load_cert_chain(cert_path, key_path, password=own.key_password)
    return context


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME_BYTES:
        raise FrameTooLargeError(f"peer announced a frame of {length} bytes (limit {MAX_FRAME_BYTES})")
    return await reader.readexactly(length)


def frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameTooLargeError(f"a frame of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    return len(payload).to_bytes(4, "big") + payload


class PeerNetwork:
    """One node's endpoint: a TLS listener, outbound links with backoff, send and broadcast."""

    def __init__(
        self,
        chain_id: int,
        own: NodeCertificate,
        peers: dict[str, IdentityBinding],
        peer_certificates: dict[str, bytes],
        on_message: MessageHandler,
    ) -> None:
        """`peers` maps each allowed address to its binding, `peer_certificates` to its PEM."""
        for address, binding in peers.items():
            if not binding.verify(chain_id) or binding.address.lower() != address.lower():
                raise ValueError(f"the identity binding of {address} is not signed by its validator key")
            if certificate_fingerprint(peer_certificates[address]) != binding.fingerprint:
                raise ValueError(f"the certificate of {address} does not match its binding")
        self.chain_id = chain_id
        self.own = own
        self.by_fingerprint = {b.fingerprint: address for address, b in peers.items()}
        trusted = list(peer_certificates.values())
        self._server_context = _context(True, own, trusted)
        self._client_context = _context(False, own, trusted)
        self.on_message = on_message
        # Told each time a link to a peer is up (dialled or accepted, first time or again): what
        # the peer missed while it was away, the node may send it now.
        self.on_connected: Callable[[str], None] | None = None
        self.writers: dict[str, asyncio.StreamWriter] = {}
        self.refused = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closing = False

    def trust(self, address: str, certificate_pem: bytes, binding: IdentityBinding) -> None:
        """Accept `address` from now on (the chain registered it): its certificate joins both trust
        stores, so new handshakes with it succeed without restarting the listener."""
        if not binding.verify(self.chain_id) or certificate_fingerprint(certificate_pem) != binding.fingerprint:
            raise ValueError(f"the identity binding of {address} does not match its certificate")
        for context in (self._server_context, self._client_context):
            context.load_verify_locations(cadata=certificate_pem.decode())
        self.by_fingerprint = {f: a for f, a in self.by_fingerprint.items() if a != address}
        self.by_fingerprint[binding.fingerprint] = address

    def distrust(self, address: str) -> None:
        """Refuse `address` from now on (the chain revoked it) and drop its connection. Its
        certificate may stay in the TLS trust store (OpenSSL cannot remove one), but every
        connection is mapped to a peer by fingerprint after the handshake, and is closed
        unless the fingerprint is still trusted."""
        self.by_fingerprint = {f: a for f, a in self.by_fingerprint.items() if a != address}
        writer = self.writers.pop(address, None)
        if writer is not None:
            writer.close()

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(
            self._accepted, host, port, ssl=self._server_context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S
        )
        return self._server.sockets[0].getsockname()[1]

    def connect(self, address: str, host: str, port: int) -> None:
        """Keep a connection to `address` at host:port up until close(), with backoff."""
        self._spawn(self._dial(address, host, port))

    async def send(self, address: str, payload: bytes) -> bool:
        writer = self.writers.get(address)
        if writer is None or writer.is_closing():
            return False
        writer.write(frame(payload))
        await writer.drain()
        return True

    async def broadcast(self, payload: bytes) -> int:
        sent = 0
        for address in list(self.writers):
            with contextlib.suppress(ConnectionError, OSError):
                sent += await self.send(address, payload)
        return sent

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self.writers.values()):
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- internals -----------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _peer_of(self, writer: asyncio.StreamWriter) -> str | None:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return self.by_fingerprint.get(hashlib.sha256(der).hexdigest()) if der else None

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:  # so close() can cancel and await inbound connections too
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        peer = self._peer_of(writer)
        if peer is None:  # the trust store already refuses strangers; this is belt and braces
            self.refused += 1
            writer.close()
            return
        await self._serve(peer, reader, writer)

    async def _dial(self, address: str, host: str, port: int) -> None:
        delay = BACKOFF_INITIAL_S
        while not self._closing:
            try:
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._client_context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S
                )
            except (TimeoutError, OSError, ssl.SSLError) as exc:
                log.debug("dial_failed", extra={"fields": {"peer": address, "error": str(exc)}})
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            if self._peer_of(writer) != address:
                self.refused += 1
                writer.close()
                await asyncio.sleep(delay)
                continue
            started = time.monotonic()
            await self._serve(address, reader, writer)
            if time.monotonic() - started > 1.0:  # a peer that drops us at once (revoked) is not redialled in a loop
                delay = BACKOFF_INITIAL_S
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _serve(self, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers[peer] = writer
        if self.on_connected is not None:
            self.on_connected(peer)
        try:
            while True:
                payload = await read_frame(reader)
                result = self.on_message(peer, payload)
                if asyncio.iscoroutine(result):
                    await result
        except (asyncio.IncompleteReadError, ConnectionError, OSError, FrameTooLargeError, ssl.SSLError) as exc:
            log.debug("peer_disconnected", extra={"fields": {"peer": peer, "reason": str(exc)}})
        finally:
            if self.writers.get(peer) is writer:
                del self.writers[peer]
            writer.close()
