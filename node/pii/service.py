"""Envelopes in band: accepted over JSON-RPC, gossiped to peers, served by hash, shredded on erasure.

Delivery is gossip, not fetch on demand: a gateway hands the envelope to its own node before the
payment is booked, and the node pushes it at once to every connected peer in one PERSONAL_DATA
frame (node/p2p/wire.py); a peer that stores it for the first time pushes it on, so it reaches
nodes that are not directly connected, and a node that already holds it stops the flood. Pushing
keeps the receiving bank's node able to answer `qenex_getPersonalData` the moment the payment's
block commits, with no request/answer protocol, no peer selection and no waiting on a peer that
may be down when asked. The cost is one bounded frame per envelope per link.

Every node checks every envelope itself, whoever relayed it: the request's shape and bounds
(node/pii/request.py), the signer's on-chain role (`personal_data.put`: gateway or operator whose
namespace covers the debited account), and that no erasure of that payment is on chain. A peer
relaying garbage gets its frame dropped and counted, never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.permissions import allowed, current_grants
from ledger.tx import ACTION_TX_TYPE, decode_transaction
from node.audit import AuditLog
from node.governance import members_at
from node.log import event
from node.p2p import wire
from node.pii.erasure import PERSONAL_DATA_ERASE, erased_at, erasure_of
from node.pii.request import PutRequest, RequestError, parse_request, parse_request_bytes
from node.pii.store import EnvelopeStore, Tombstone
from node.rpc.errors import INVALID_PARAMS, RESOURCE_NOT_FOUND, RpcError

log = logging.getLogger("qenex.pii")


class Refused(ValueError):
    """A request this node does not store; `rule` is a stable code, the message says why."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class PersonalDataService:
    def __init__(self, node: object, network: object | None) -> None:
        self.node = node
        self.network = network  # node.p2p.network.NodeNetwork, None for a node without peers
        self.store = EnvelopeStore(node.config.home)  # type: ignore[attr-defined]
        # The node's hash-chained audit log (node/audit.py): every gateway submission of personal data
        # and every shredding. Appended from the event loop only, like the RPC guard's entries.
        self.audit = AuditLog(node.config.home)  # type: ignore[attr-defined]
        self.dropped = 0  # frames from peers that were refused (malformed or not vouched for)

    # --- accepting ---------------------------------------------------------------------------

    def check(self, request: PutRequest) -> str:
        """The signer, if it may hand in this envelope on this chain; Refused otherwise."""
        ledger, genesis = self.node.chain.ledger, self.node.genesis  # type: ignore[attr-defined]
        signer = request.signer(genesis.chain_id)
        validators = [m.address for m in members_at(ledger, genesis, self.node.chain.height + 1)]  # type: ignore[attr-defined]
        if not allowed("personal_data.put", signer, current_grants(ledger, genesis.roles), validators, request.account):
            raise Refused("unauthorized", f"{signer} may not personal_data.put: it needs the gateway or operator "
                                          f"role covering {request.account}")  # fmt: skip
        height = erased_at(ledger, request.message_hash)
        if height is not None:
            raise Refused("erased", f"personal data of 0x{request.message_hash.hex()} was erased in block {height}")
        return signer

    def accept(self, request: PutRequest, origin: str) -> bool:
        """Check and store; gossip if new. True if it was new here."""
        signer = self.check(request)
        try:
            stored = self.store.get(request.message_hash)
        except Tombstone as exc:
            raise Refused("erased", str(exc)) from None
        if stored is not None:
            if stored.envelope != request.envelope or stored.account != request.account:
                raise Refused("exists", f"another envelope for 0x{request.message_hash.hex()} is already stored")
            return False
        self.store.put(request)
        event(log, "personal_data_stored", message_hash="0x" + request.message_hash.hex(), signer=signer,
              origin=origin, banks=list(request.banks))  # fmt: skip
        if origin == "rpc":  # a gateway's submission (a copy from a peer is audited where it was submitted)
            self.audit.append(signer, "personal_data.put", "stored", message_hash="0x" + request.message_hash.hex(),
                              account=request.account, banks=list(request.banks))  # fmt: skip
        self._gossip(request, origin)
        return True

    def _gossip(self, request: PutRequest, origin: str) -> None:
        transport = getattr(self.network, "transport", None)
        if transport is None:
            return
        frame = wire.encode(wire.PersonalDataMessage(request.canonical()))
        for peer in list(transport.writers):
            if peer != origin:
                self.network.send(peer, frame)  # type: ignore[union-attr]

    # --- P2P -----------------------------------------------------------------------------------

    def received(self, peer: str, message: wire.PersonalDataMessage) -> None:
        """A peer's PERSONAL_DATA frame (node/p2p/driver.py)."""
        try:
            self.accept(parse_request_bytes(message.request), peer)
        except (RequestError, Refused) as exc:
            self.dropped += 1
            event(log, "personal_data_refused", logging.WARNING, peer=peer, error=str(exc)[:200])

    # --- erasure ---------------------------------------------------------------------------------

    def block_committed(self, block: object, receipts: list) -> None:
        """Shred every envelope whose erasure this block recorded (a block listener of the node)."""
        for raw, receipt in zip(block.transactions, receipts, strict=True):  # type: ignore[attr-defined]
            if not receipt.status or raw[:1] != bytes([ACTION_TX_TYPE]):
                continue
            action = decode_transaction(raw).action  # a committed transaction: it decodes
            if action is None or action.kind != PERSONAL_DATA_ERASE:
                continue
            message_hash, _ = erasure_of(action)
            self._shred(message_hash, block.header.number)  # type: ignore[attr-defined]

    def _shred(self, message_hash: bytes, height: int) -> None:
        shredded = self.store.shred(message_hash, height)
        event(log, "personal_data_erased", message_hash="0x" + message_hash.hex(), height=height, shredded=shredded)
        self.audit.append("chain", "personal_data.erase", "shredded" if shredded else "tombstone",
                          message_hash="0x" + message_hash.hex(), height=height)  # fmt: skip

    def catch_up(self) -> None:
        """On start: shred what the chain erased while this node was stopped before it could."""
        for message_hash in list(self.store.hashes()):
            height = erased_at(self.node.chain.ledger, message_hash)  # type: ignore[attr-defined]
            if height is None:
                continue
            try:
                self.store.get(message_hash)
            except Tombstone:
                continue
            self._shred(message_hash, height)

    # --- JSON-RPC ----------------------------------------------------------------------------

    def rpc_methods(self) -> dict[str, Callable[[list], object]]:
        return {"qenex_putPersonalData": self._rpc_put, "qenex_getPersonalData": self._rpc_get}

    def _rpc_put(self, params: list) -> dict:
        if len(params) != 1:
            raise RpcError(INVALID_PARAMS, "qenex_putPersonalData takes one request object")
        try:
            request = parse_request(params[0])
            stored = self.accept(request, "rpc")
        except RequestError as exc:
            raise RpcError(INVALID_PARAMS, str(exc), {"rule": "malformed_request"}) from None
        except Refused as exc:
            raise RpcError(INVALID_PARAMS, str(exc), {"rule": exc.rule}) from None
        return {"messageHash": "0x" + request.message_hash.hex(), "stored": stored, "banks": list(request.banks)}

    def _rpc_get(self, params: list) -> dict:
        if len(params) != 1 or not isinstance(params[0], str):
            raise RpcError(INVALID_PARAMS, "qenex_getPersonalData takes the 0x message hash")
        try:
            message_hash = bytes.fromhex(params[0].removeprefix("0x"))
        except ValueError:
            message_hash = b""
        if len(message_hash) != 32:
            raise RpcError(INVALID_PARAMS, "a message hash is 32 bytes, 0x and 64 hex digits")
        try:
            request = self.store.get(message_hash)
        except Tombstone as exc:
            return {"messageHash": params[0], "erased": exc.height}
        if request is None:
            height = erased_at(self.node.chain.ledger, message_hash)  # type: ignore[attr-defined]
            if height is not None:
                return {"messageHash": params[0], "erased": height}
            raise RpcError(RESOURCE_NOT_FOUND, f"no personal data for message {params[0]} on this node")
        # With the gateway's signature: what a node returns is a put request any other node checks
        # and takes (a node that was down while the envelope was gossiped gets it that way).
        return {"messageHash": "0x" + message_hash.hex(), "account": request.account, "envelope": request.envelope,
                "signature": "0x" + request.signature.hex()}  # fmt: skip


def install(node: object, network: object | None) -> PersonalDataService:
    """Attach the service to a node: block listener for erasures, catch-up of missed ones."""
    service = PersonalDataService(node, network)
    service.catch_up()
    node.block_listeners.append(service.block_committed)  # type: ignore[attr-defined]
    node.personal_data = service  # type: ignore[attr-defined]
    return service


def rpc_methods(node: object) -> dict[str, Callable[[list], object]]:
    """The service's JSON-RPC methods, for a node that has it (none for one built without `install`)."""
    service = getattr(node, "personal_data", None)
    return service.rpc_methods() if service is not None else {}
