"""The on-chain registry of node identities: which TLS certificates may connect to this network.

Genesis registers its validators and full nodes; governance (node/admin.py, REGISTER_NODE /
REVOKE_NODE) adds nodes and revokes them later. Records, committed by the state root:

  pn:<address 20>   rlp([certificate PEM, binding signature]) registered, rlp([]) revoked
  pn:index          rlp list of the addresses that have a record (bounded by MAX_REGISTERED)

A running node reads the registry after every block it commits and tells its transport
(node.p2p.network.NodeNetwork.follow_registry): a newly registered node is trusted and dialled,
a revoked one is disconnected and refused, without a restart. A validator must be registered
(node/governance.py asks here), and a node still in the validator set cannot be revoked.
"""

from __future__ import annotations

from consensus.transport import IdentityBinding, certificate_fingerprint
from genesis.schema import Genesis
from ledger import rlp_encode
from ledger.rlp_decode import decode
from ledger.state import LedgerReader, Overlay

PREFIX = b"pn:"
INDEX = b"pn:index"
MAX_REGISTERED = 256
MAX_CERTIFICATE_BYTES = 8192

Identities = dict[str, tuple[bytes, bytes]]  # lower-case address -> (certificate PEM, binding signature)


def genesis_identities(genesis: Genesis) -> Identities:
    nodes = [(v.address, v.p2p) for v in genesis.validators] + [(f.address, f.p2p) for f in genesis.full_nodes]
    return {address.lower(): (p2p.certificate_pem, p2p.binding_signature) for address, p2p in nodes if p2p}


def _index(state: LedgerReader) -> list[bytes]:
    data = state.record(INDEX)
    return [] if data is None else list(decode(data, max_depth=2))  # type: ignore[arg-type]


def registered(state: LedgerReader, genesis: Genesis) -> Identities:
    """The identities in force in `state`: genesis's, with governance's registrations and revocations."""
    identities = genesis_identities(genesis)
    for address in _index(state):
        fields = decode(state.record(PREFIX + address) or b"\xc0", max_depth=2)
        key = "0x" + address.hex()
        if fields:
            identities[key] = (fields[0], fields[1])  # type: ignore[index]
        else:
            identities.pop(key, None)
    return identities


def identity_problem(chain_id: int, address: str, certificate_pem: bytes, binding: bytes) -> str | None:
    """Why this identity cannot be registered, or None: the certificate must parse and the node's
    key must have signed its fingerprint for this chain (consensus.transport.IdentityBinding)."""
    if len(certificate_pem) > MAX_CERTIFICATE_BYTES:
        return f"the certificate is longer than {MAX_CERTIFICATE_BYTES} bytes"
    try:
        fingerprint = certificate_fingerprint(certificate_pem)
    except ValueError as exc:
        return f"the certificate does not parse: {exc}"
    if not IdentityBinding(address, fingerprint, binding).verify(chain_id):
        return f"the binding is not {address}'s signature over this certificate for chain {chain_id}"
    return None


def _put(state: Overlay, address: str, value: bytes) -> None:
    raw = bytes.fromhex(address[2:])
    index = _index(state)
    if raw not in index:
        assert len(index) < MAX_REGISTERED, "the registry is bounded (checked when proposed)"
        state.put_record(INDEX, rlp_encode.encode(sorted([*index, raw])))
    state.put_record(PREFIX + raw, value)


def register(state: Overlay, address: str, certificate_pem: bytes, binding: bytes) -> None:
    _put(state, address.lower(), rlp_encode.encode([certificate_pem, binding]))


def revoke(state: Overlay, address: str) -> None:
    _put(state, address.lower(), rlp_encode.encode([]))


def registry_full(state: LedgerReader) -> bool:
    return len(_index(state)) >= MAX_REGISTERED


def follow_chain(node: object, network: object) -> None:
    """After every block the node commits, hand its network the registry in force (cheap when
    nothing changed: NodeNetwork.follow_registry compares before it touches the transport)."""

    def on_block(block: object, receipts: object) -> None:
        network.follow_registry(registered(node.chain.ledger, node.genesis))  # type: ignore[attr-defined]

    node.block_listeners.append(on_block)  # type: ignore[attr-defined]
