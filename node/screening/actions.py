"""Compliance decisions and fraud reports as chain actions (type 0x52), so every validator
screens with the same knowledge.

A held transaction waits in the review queue of the node that screened it; the decision to
release or reject it must nevertheless be the same on every validator, because each one
re-screens a proposed block and a released transaction must pass there too. So a decision is
not applied locally: the compliance officer's signature over `review.decision_message` travels
inside a chain action (any node may submit it, signed with its node key), and once the block
holding it commits, every node reads the same record: a released transaction screens as
"released", a rejected one as "reject". Fraud reports go the same way and feed the
counterparty-risk features from the block that records them, on every node alike.

Records (covered by the state root like every chain record):
  sd: + tx hash      -> rlp([decision, compliance address, height])
  fr: + transfer id  -> rlp([compliance address, height])
"""

from __future__ import annotations

from dataclasses import dataclass

from genesis.schema import Genesis
from ledger import rlp_encode
from ledger.codec import address_bytes, bytes_to_int, checksum_address, int_to_bytes
from ledger.rlp_decode import decode
from ledger.state import LedgerReader
from ledger.tx import Action, InvalidSignatureError, recover_sender
from node.governance import SCREENING_ACTION_KINDS, ActionContext, ActionRejected
from node.governance import _fields as action_fields  # one bounded decoder for every action payload
from node.screening.review import DECISIONS, decision_message, report_message

SCREENING_DECISION = 10
FRAUD_REPORT = 11
assert frozenset((SCREENING_DECISION, FRAUD_REPORT)) == SCREENING_ACTION_KINDS
DECISION_PREFIX = b"sd:"
REPORT_PREFIX = b"fr:"
SIGNATURE_BYTES = 65


class NotCompliance(ValueError):
    """The signature is valid but its signer does not hold the compliance role."""


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str  # "release" or "reject"
    by: str
    height: int


@dataclass(frozen=True, slots=True)
class Report:
    transfer_id: int
    by: str
    height: int


def compliance_signer(genesis: Genesis, message: bytes, signature: bytes) -> str:
    """The address that signed `message` (65 bytes r || s || v, v in 0, 1, 27, 28) if it holds
    the compliance role; InvalidSignatureError or NotCompliance otherwise."""
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidSignatureError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(signature)}")
    v = signature[64]
    signer = recover_sender(
        message,
        v - 27 if v >= 27 else v,
        int.from_bytes(signature[:32], "big"),
        int.from_bytes(signature[32:64], "big"),
    )
    if not any(g.role == "compliance" and g.holder.lower() == signer.lower() for g in genesis.roles):
        raise NotCompliance(f"{signer} does not hold the compliance role")
    return signer


def decision_action(tx_hash: bytes, decision: str, signature: bytes) -> Action:
    return Action(SCREENING_DECISION, rlp_encode.encode([tx_hash, decision.encode(), signature]))


def report_action(transfer_id: int, signature: bytes) -> Action:
    return Action(FRAUD_REPORT, rlp_encode.encode([int_to_bytes(transfer_id), signature]))


def _signer(ctx: ActionContext, message: bytes, signature: bytes) -> str:
    try:
        return compliance_signer(ctx.genesis, message, signature)
    except InvalidSignatureError as exc:
        raise ActionRejected("bad_signature", f"compliance signature: {exc}") from None
    except NotCompliance as exc:
        raise ActionRejected("unauthorized", str(exc)) from None


def apply_screening_action(action: Action, ctx: ActionContext) -> None:
    """Record a compliance decision or a fraud report, or raise ActionRejected."""
    if ctx.genesis.screening is None:
        raise ActionRejected("screening_disabled", "this chain pins no screening model")
    if action.kind == SCREENING_DECISION:
        tx_hash, decision_raw, signature = action_fields(action.payload, 3, "decision")
        decision = decision_raw.decode(errors="replace")
        if len(tx_hash) != 32 or decision not in DECISIONS:
            raise ActionRejected("malformed_decision", f"a decision is a 32-byte hash and one of {DECISIONS}")
        signer = _signer(ctx, decision_message(ctx.genesis.chain_id, tx_hash, decision), signature)
        key = DECISION_PREFIX + tx_hash
        if ctx.state.record(key) is not None:
            raise ActionRejected("already_decided", f"transaction 0x{tx_hash.hex()} is already decided")
        record = [decision.encode(), address_bytes(signer), int_to_bytes(ctx.number)]
        ctx.state.put_record(key, rlp_encode.encode(record))
    elif action.kind == FRAUD_REPORT:
        id_raw, signature = action_fields(action.payload, 2, "report")
        transfer_id = bytes_to_int(id_raw)
        if not 0 < transfer_id < 2**128:
            raise ActionRejected("malformed_report", "the transfer id is a non-zero u128")
        signer = _signer(ctx, report_message(ctx.genesis.chain_id, transfer_id), signature)
        if ctx.state.transfer(transfer_id) is None:
            raise ActionRejected("unknown_transfer", f"no booked transfer {transfer_id:#x}")
        key = REPORT_PREFIX + transfer_id.to_bytes(16, "big")
        if ctx.state.record(key) is not None:
            raise ActionRejected("already_reported", f"transfer {transfer_id:#x} is already reported")
        ctx.state.put_record(key, rlp_encode.encode([address_bytes(signer), int_to_bytes(ctx.number)]))
    else:
        raise AssertionError(f"not a screening action: {action.kind}")


def decision_of(state: LedgerReader, tx_hash: bytes) -> Decision | None:
    data = state.record(DECISION_PREFIX + tx_hash)
    if data is None:
        return None
    decision, by, height = decode(data, max_depth=1)
    return Decision(decision.decode(), checksum_address(by), bytes_to_int(height))


def report_of(state: LedgerReader, transfer_id: int) -> Report | None:
    data = state.record(REPORT_PREFIX + transfer_id.to_bytes(16, "big"))
    if data is None:
        return None
    by, height = decode(data, max_depth=1)
    return Report(transfer_id, checksum_address(by), bytes_to_int(height))


def screening_action_of(action: Action) -> tuple[str, bytes | int, str]:
    """(kind name, subject, decision) of a recorded action, for the screener's block hook."""
    if action.kind == SCREENING_DECISION:
        tx_hash, decision, _ = decode(action.payload, max_depth=1)
        return "decision", tx_hash, decision.decode()
    _id, _ = decode(action.payload, max_depth=1)
    return "report", bytes_to_int(_id), ""
