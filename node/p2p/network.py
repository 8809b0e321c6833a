"""A node's peers: the TLS transport set up from genesis and node.json, with two outbound queues.

The trust store is every P2P certificate genesis lists (validators and registered full nodes), each
bound to its node key; node.json says where to find peers. Between any two nodes one connection is
made: the node with the lower address dials, the other accepts (a restarted node redials, or is
redialled, with backoff).

Consensus messages and mempool gossip leave through separate queues, consensus first: a flood
of transactions can delay other transactions, never a vote. Inbound likewise: a peer's frames are
read as they come; gossiped transactions wait in a bounded queue admitted by a task of their own
(GossipInbox), so a proposal or vote is handled at once instead of after the admission of every
gossip frame the same peer sent before it (head-of-line blocking on the connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from consensus.transport import IdentityBinding, NodeCertificate, PeerNetwork, certificate_fingerprint
from genesis.builder import NODE_CONFIG_FILE, P2P_KEY_FILE
from genesis.schema import Genesis
from node.key_store import tls_key_password
from node.log import event
from node.metrics import NodeMetrics
from node.p2p import wire

log = logging.getLogger("qenex.p2p")

GOSSIP_BATCH_BYTES = 1024 * 1024
INBOUND_GOSSIP_MAX = 50_000  # gossiped transactions read but not yet admitted; beyond, reading waits
Handler = Callable[[str, wire.Message], Awaitable[None]]


class NodeConfigError(ValueError):
    """node.json is missing a field or names a peer genesis does not know."""


@dataclass(frozen=True, slots=True)
class PeerAddress:
    name: str
    address: str  # lower-case node address
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class P2PConfig:
    host: str
    port: int
    peers: tuple[PeerAddress, ...]
    rpc_host: str | None = None
    rpc_port: int | None = None


def load_p2p_config(home: Path) -> P2PConfig | None:
    """The P2P part of HOME/node.json, or None for a node without peers (a one-validator chain)."""
    path = Path(home) / NODE_CONFIG_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        peers = tuple(
            PeerAddress(p.get("name", p["address"]), p["address"].lower(), p["p2p"]["host"], int(p["p2p"]["port"]))
            for p in data.get("peers", [])
        )
        rpc = data.get("rpc", {})
        return P2PConfig(data["p2p"]["host"], int(data["p2p"]["port"]), peers, rpc.get("host"), rpc.get("port"))
    except (KeyError, TypeError, ValueError) as exc:
        raise NodeConfigError(f"{path}: {exc!r} (expected p2p.host, p2p.port and peers[].address/p2p)") from None


OWN_CERTIFICATE_FILE = "p2p-cert.pem"  # a node registered by governance keeps its certificate here


def _own_certificate(home: Path) -> bytes | None:
    path = home / OWN_CERTIFICATE_FILE
    return path.read_bytes() if path.exists() else None


def genesis_identities(genesis: Genesis) -> dict[str, tuple[bytes, bytes]]:
    """Lower-case node address -> (certificate PEM, binding signature) of every registered node."""
    nodes = [(v.address, v.p2p) for v in genesis.validators] + [(f.address, f.p2p) for f in genesis.full_nodes]
    return {address.lower(): (p2p.certificate_pem, p2p.binding_signature) for address, p2p in nodes if p2p}


class Outbox:
    """What a node sends, in three queues drained in priority order: consensus messages, then
    answers to one peer (block sync), then gossiped transactions in bounded batches."""

    def __init__(self) -> None:
        self.consensus: deque[bytes] = deque()
        self.direct: deque[tuple[str, bytes]] = deque()
        self.transactions: deque[bytes] = deque()
        self._wake = asyncio.Event()

    def put_consensus(self, payload: bytes) -> None:
        self.consensus.append(payload)
        self._wake.set()

    def put_direct(self, peer: str, payload: bytes) -> None:
        self.direct.append((peer, payload))
        self._wake.set()

    def put_transaction(self, raw: bytes) -> None:
        self.transactions.append(raw)
        self._wake.set()

    async def drain_forever(self, transport: PeerNetwork) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.consensus or self.direct or self.transactions:
                if self.consensus:
                    await transport.broadcast(self.consensus.popleft())
                elif self.direct:
                    peer, payload = self.direct.popleft()
                    with contextlib.suppress(ConnectionError, OSError):
                        await transport.send(peer, payload)
                else:
                    await transport.broadcast(wire.encode(wire.TxsMessage(self._gossip_batch())))

    def _gossip_batch(self) -> tuple[bytes, ...]:
        return take_gossip_batch(self.transactions)


def take_gossip_batch(transactions: deque[bytes]) -> tuple[bytes, ...]:
    """Transactions from the front of `transactions` for one gossip frame, within its bounds."""
    batch, size = [], 0
    while transactions and len(batch) < wire.MAX_GOSSIP_TRANSACTIONS and size < GOSSIP_BATCH_BYTES:
        raw = transactions.popleft()
        batch.append(raw)
        size += len(raw)
    return tuple(batch)


class GossipInbox:
    """Gossip frames read from peers, admitted in arrival order by one task of their own.

    Bounded: once INBOUND_GOSSIP_MAX transactions wait, `put` waits for room, so a peer that
    floods faster than we admit is slowed down by TCP (as before this queue) instead of
    growing our memory."""

    def __init__(self, limit: int = INBOUND_GOSSIP_MAX) -> None:
        self.limit = limit
        self.waiting: deque[tuple[str, wire.TxsMessage]] = deque()
        self.count = 0  # transactions in `waiting`
        self._wake = asyncio.Event()
        self._room = asyncio.Event()

    async def put(self, peer: str, message: wire.TxsMessage) -> None:
        while self.count and self.count + len(message.transactions) > self.limit:
            self._room.clear()
            await self._room.wait()
        self.waiting.append((peer, message))
        self.count += len(message.transactions)
        self._wake.set()

    async def drain_forever(self, handler: Handler) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.waiting:
                peer, message = self.waiting.popleft()
                self.count -= len(message.transactions)
                self._room.set()
                try:
                    await handler(peer, message)
                except Exception as exc:  # a bug in admitting one frame must not stop all gossip
                    event(log, "gossip_admission_failed", logging.ERROR, peer=peer, error=repr(exc))


MALFORMED_LOG_EVERY_S = 5.0


class NodeNetwork:
    def __init__(
        self,
        genesis: Genesis,
        home: Path,
        address: str,
        config: P2PConfig,
        metrics: NodeMetrics,
        identities: dict[str, tuple[bytes, bytes]] | None = None,
    ) -> None:
        """`identities`: the nodes registered on chain at start (node/peers.py; default genesis's).
        node.json may name peers not registered yet: they are dialled once the chain registers them."""
        self.genesis = genesis
        self.address = address.lower()
        self.config = config
        self.metrics = metrics
        identities = genesis_identities(genesis) if identities is None else dict(identities)
        own_pem = identities[self.address][0] if self.address in identities else _own_certificate(Path(home))
        if own_pem is None:
            raise NodeConfigError(
                f"this node ({address}) is not registered (genesis or governance) and has no {OWN_CERTIFICATE_FILE}"
            )
        key_path = Path(home) / P2P_KEY_FILE
        try:
            key_pem = key_path.read_bytes()
        except FileNotFoundError:
            raise NodeConfigError(f"no TLS key at {key_path}; it is written with the node's genesis") from None
        self.own = NodeCertificate(self.address, own_pem, key_pem, tls_key_password(key_pem, key_path))
        self.others = {a: v for a, v in identities.items() if a != self.address}
        self.transport: PeerNetwork | None = None
        self.outbox = Outbox()
        self._malformed_logged: dict[str, float] = {}
        self._malformed_suppressed: dict[str, int] = {}
        self.listen_port: int | None = None
        self._handler: Handler | None = None
        self._sender: asyncio.Task | None = None
        self.inbox = GossipInbox()
        self._admitter: asyncio.Task | None = None
        self.on_peer_connected: Callable[[str], None] | None = None  # set by the consensus driver

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        bindings = {a: IdentityBinding(a, certificate_fingerprint(pem), sig) for a, (pem, sig) in self.others.items()}
        certificates = {a: pem for a, (pem, _) in self.others.items()}
        self.transport = PeerNetwork(self.genesis.chain_id, self.own, bindings, certificates, self._on_frame)
        self.transport.on_connected = self._peer_connected
        self.listen_port = await self.transport.listen(self.config.host, self.config.port)
        self._dialled: set[str] = set()
        self._dial_registered()
        self._sender = asyncio.ensure_future(self.outbox.drain_forever(self.transport))
        self._admitter = asyncio.ensure_future(self.inbox.drain_forever(handler))
        event(log, "p2p_listening", host=self.config.host, port=self.listen_port, peers=len(self.config.peers))

    async def close(self) -> None:
        for task in (self._sender, self._admitter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.transport is not None:
            await self.transport.close()

    def _dial_registered(self) -> None:
        """Between two nodes the one with the lower address dials; a node the genesis does not
        list (registered later by governance) dials every peer, since they may not know it."""
        assert self.transport is not None
        founders = genesis_identities(self.genesis)
        newcomer = self.address not in founders
        for peer in self.config.peers:
            if peer.address not in self.others or peer.address in self._dialled:
                continue
            if newcomer or (self.address < peer.address and peer.address in founders):
                self._dialled.add(peer.address)
                self.transport.connect(peer.address, peer.host, peer.port)

    def follow_registry(self, identities: dict[str, tuple[bytes, bytes]]) -> None:
        """Trust nodes the chain registered since, distrust (and disconnect) those it revoked."""
        if self.transport is None:
            return
        others = {a: v for a, v in identities.items() if a != self.address}
        if others == self.others:
            return
        for address in set(self.others) - set(others):
            self.transport.distrust(address)
            event(log, "peer_revoked", peer=address)
        for address, (pem, signature) in others.items():
            if self.others.get(address) != (pem, signature):
                binding = IdentityBinding(address, certificate_fingerprint(pem), signature)
                self.transport.trust(address, pem, binding)
                event(log, "peer_registered", peer=address)
        self.others = others
        self._dial_registered()

    def connected(self) -> int:
        return 0 if self.transport is None else len(self.transport.writers)

    # --- outbound ------------------------------------------------------------------------------

    def broadcast_consensus(self, payload: bytes) -> None:
        self.outbox.put_consensus(payload)

    def send(self, peer: str, payload: bytes) -> None:
        self.outbox.put_direct(peer, payload)

    def gossip_transaction(self, raw: bytes) -> None:
        self.outbox.put_transaction(raw)

    def _peer_connected(self, peer: str) -> None:
        event(log, "peer_connected", logging.DEBUG, peer=peer)
        if self.on_peer_connected is not None:
            self.on_peer_connected(peer)

    # --- inbound -------------------------------------------------------------------------------

    def _log_malformed(self, peer: str, error: str) -> None:
        """At most one line per peer every MALFORMED_LOG_EVERY_S (the metric counts every frame): a
        peer sending garbage must not be able to fill the disk with our log."""
        now = time.monotonic()
        if now - self._malformed_logged.get(peer, -MALFORMED_LOG_EVERY_S) < MALFORMED_LOG_EVERY_S:
            self._malformed_suppressed[peer] = self._malformed_suppressed.get(peer, 0) + 1
            return
        self._malformed_logged[peer] = now
        suppressed = self._malformed_suppressed.pop(peer, 0)
        event(log, "peer_message_malformed", logging.WARNING, peer=peer, error=error, suppressed_since_last=suppressed)

    async def _on_frame(self, peer: str, payload: bytes) -> None:
        try:
            message = wire.decode_message(payload)
        except wire.WireError as exc:
            self.metrics.consensus_dropped.labels("malformed").inc()
            self._log_malformed(peer, str(exc))
            return
        if isinstance(message, wire.ProposalMessage | wire.VoteMessage):
            chain_id = message.proposal.chain_id if isinstance(message, wire.ProposalMessage) else message.vote.chain_id
            if chain_id != self.genesis.chain_id:
                self.metrics.consensus_dropped.labels("wrong_chain").inc()
                return
        assert self._handler is not None
        if isinstance(message, wire.TxsMessage):
            await self.inbox.put(peer, message)  # admitted by the inbox's task: the next frame is read now
            return
        await self._handler(peer, message)
