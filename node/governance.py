"""Chain actions (transaction type 0x52): validator-set changes approved by the validators, and
equivocation evidence. Their state lives in chain records (ledger store, `Lg` keys) committed by
the state root like every account, so every node agrees on the validator set of every height.

Validator-set change, the rules:
  * PROPOSE_VALIDATOR (address, public key, power, deadline height) — power 0 removes, any other
    power adds or re-weights — may be sent by a validator of the current height only; it counts
    as the proposer's approval. APPROVE (proposal id = the proposing transaction's hash) by other
    current validators; each validator approves once; after the deadline height nothing is counted.
  * Once the approvals hold more than 2/3 of the current voting power, the change is scheduled:
    it takes effect at the height two above the block that completed the approval (so the
    proposer of the next block, chosen before it is executed, is still chosen by the old set).
  * A change that would move more than a third of the total voting power (|new - old power| * 3
    > total) is refused, at proposal and again when scheduled; so is one that empties the set.
  * A new validator must already be a registered node (genesis `validators` or `full_nodes`, with
    its P2P certificate): peers authenticate each other by those certificates.

Evidence: EVIDENCE carries two wire-encoded votes by one validator for the same chain, height,
round and kind with different block ids, both validly signed; it is recorded once per pair, with
who reported it and in which block (the validator is not slashed: that is a consortium decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from consensus.commit import ValidatorPower, ValidatorSet
from consensus.signing import verify_vote
from genesis.schema import Genesis
from ledger import rlp_encode
from ledger.codec import address_bytes, bytes_to_int, checksum_address, int_to_bytes
from ledger.errors import LedgerError
from ledger.hashing import keccak
from ledger.rlp_decode import RlpDecodingError, decode
from ledger.state import LedgerReader
from ledger.tx import Action
from node.peers import registered

MAX_POWER = 2**32
SET_CHANGE_DELAY = 2  # a change approved in block h takes effect at height h + 2
INDEX = b"vs:index"  # heights at which the set changed (genesis is height 0, not listed)


class ActionKind(IntEnum):
    EVIDENCE = 1
    PROPOSE_VALIDATOR = 2
    APPROVE = 3


SCREENING_ACTION_KINDS = frozenset((10, 11))  # compliance decision, fraud report: node/screening/actions.py
PERSONAL_DATA_ERASE = 12  # GDPR erasure of a payment's sealed personal data: node/pii/erasure.py


class ActionRejected(LedgerError):
    """A chain action breaks a rule; `rule` is its stable code."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule  # per instance: one class carries every action rule


@dataclass(frozen=True, slots=True)
class Member:
    address: str  # lower case
    public_key: bytes
    power: int


# --- encodings ---------------------------------------------------------------------------------


def _encode_set(members: list[Member]) -> bytes:
    return rlp_encode.encode([[address_bytes(m.address), m.public_key, int_to_bytes(m.power)] for m in members])


def _decode_set(data: bytes) -> list[Member]:
    return [Member(checksum_address(a).lower(), k, bytes_to_int(p)) for a, k, p in decode(data, max_depth=3)]


def propose_validator(address: str, public_key: bytes, power: int, deadline: int) -> Action:
    payload = rlp_encode.encode([address_bytes(address), public_key, int_to_bytes(power), int_to_bytes(deadline)])
    return Action(ActionKind.PROPOSE_VALIDATOR, payload)


def approve(proposal_id: bytes) -> Action:
    return Action(ActionKind.APPROVE, rlp_encode.encode([proposal_id]))


def evidence(vote_a: bytes, vote_b: bytes) -> Action:
    """Two wire-encoded votes (node.p2p.wire VOTE messages)."""
    return Action(ActionKind.EVIDENCE, rlp_encode.encode([vote_a, vote_b]))


def _fields(payload: bytes, count: int, name: str) -> list:
    try:
        fields = decode(payload, max_depth=2)
    except RlpDecodingError as exc:
        raise ActionRejected("malformed_action", f"{name}: {exc}") from None
    if not isinstance(fields, list) or len(fields) != count or not all(isinstance(f, bytes) for f in fields):
        raise ActionRejected("malformed_action", f"{name} carries {count} byte strings")
    return fields


# --- reading the validator set -----------------------------------------------------------------


def genesis_members(genesis: Genesis) -> list[Member]:
    return [Member(v.address.lower(), v.public_key, v.power) for v in genesis.validators]


def _index(state: LedgerReader) -> list[int]:
    data = state.record(INDEX)
    return [] if data is None else [bytes_to_int(h) for h in decode(data, max_depth=2)]


def _set_in_force(state: LedgerReader, genesis: Genesis, height: int | None) -> tuple[int, list[Member]]:
    """(the height it takes effect from, the set) deciding block `height`; None: the last one
    scheduled, which may take effect later."""
    scheduled = [h for h in _index(state) if height is None or h <= height]
    if not scheduled:
        return 0, genesis_members(genesis)
    start = max(scheduled)
    return start, _decode_set(state.record(b"vs:" + start.to_bytes(8, "big")))  # type: ignore[arg-type]


def members_at(state: LedgerReader, genesis: Genesis, height: int) -> list[Member]:
    """The validator set that decides block `height` (changes scheduled up to it included)."""
    return _set_in_force(state, genesis, height)[1]


def validator_set(members: list[Member]) -> ValidatorSet:
    return ValidatorSet(ValidatorPower(m.address, m.power) for m in members)


def _latest(state: LedgerReader, genesis: Genesis) -> tuple[int, list[Member]]:
    return _set_in_force(state, genesis, None)


# --- applying actions --------------------------------------------------------------------------


class ActionContext:
    """What an action needs from the block executing it."""

    def __init__(self, state: object, genesis: Genesis, number: int, tx_hash: bytes, sender: str) -> None:
        self.state = state  # ledger.state.Overlay
        self.genesis = genesis
        self.number = number
        self.tx_hash = tx_hash
        self.sender = sender.lower()


def apply_action(action: Action, ctx: ActionContext) -> None:
    """Apply one action to ctx.state or raise ActionRejected (the caller discards the overlay)."""
    if action.kind == ActionKind.EVIDENCE:
        _apply_evidence(action.payload, ctx)
    elif action.kind == ActionKind.PROPOSE_VALIDATOR:
        _apply_proposal(action.payload, ctx)
    elif action.kind == ActionKind.APPROVE:
        _apply_approval(action.payload, ctx)
    elif action.kind == PERSONAL_DATA_ERASE:
        from node.pii.erasure import apply_erasure  # erasure imports this module

        apply_erasure(action, ctx)
    elif action.kind in SCREENING_ACTION_KINDS:
        from node.screening.actions import apply_screening_action  # screening imports this module

        apply_screening_action(action, ctx)
    else:
        from node.admin import apply_admin_action  # governance and account controls (kinds 4-9): node/admin.py

        apply_admin_action(action, ctx)


def _current(ctx: ActionContext) -> list[Member]:
    members = members_at(ctx.state, ctx.genesis, ctx.number)
    if ctx.sender not in {m.address for m in members}:
        raise ActionRejected("not_a_validator", f"{ctx.sender} is not a validator at height {ctx.number}")
    return members


def _changed(members: list[Member], change: Member) -> tuple[list[Member], int]:
    """The set with `change` applied, and the voting power it moves."""
    old = next((m.power for m in members if m.address == change.address), 0)
    rest = [m for m in members if m.address != change.address]
    new = sorted([*rest, change] if change.power else rest, key=lambda m: m.address)
    return new, abs(change.power - old)


def _check_change(members: list[Member], change: Member) -> list[Member]:
    new, moved = _changed(members, change)
    total = sum(m.power for m in members)
    if not new:
        raise ActionRejected("empty_validator_set", "the change would leave no validator")
    if 3 * moved > total:
        raise ActionRejected(
            "power_shift_too_large",
            f"the change moves {moved} of {total} voting power; at most a third may move in one step",
        )
    return new


def _proposal_key(proposal_id: bytes) -> bytes:
    return b"gp:" + proposal_id


def _decode_proposal(data: bytes) -> tuple[Member, int, list[str], int]:
    address, public_key, power, deadline, approvals, scheduled = decode(data, max_depth=3)
    member = Member(checksum_address(address).lower(), public_key, bytes_to_int(power))
    return member, bytes_to_int(deadline), [checksum_address(a).lower() for a in approvals], bytes_to_int(scheduled)


def _encode_proposal(member: Member, deadline: int, approvals: list[str], scheduled: int) -> bytes:
    return rlp_encode.encode([
        address_bytes(member.address), member.public_key, int_to_bytes(member.power), int_to_bytes(deadline),
        [address_bytes(a) for a in approvals], int_to_bytes(scheduled),
    ])  # fmt: skip


def _apply_proposal(payload: bytes, ctx: ActionContext) -> None:
    address, public_key, power_bytes, deadline_bytes = _fields(payload, 4, "propose_validator")
    current = _current(ctx)  # who may propose (ledger.permissions: validator.propose) comes first
    power, deadline = bytes_to_int(power_bytes), bytes_to_int(deadline_bytes)
    if len(address) != 20 or len(public_key) != 64 or keccak(public_key)[-20:] != address:
        raise ActionRejected("bad_validator_key", "the public key (64 bytes) must be the address's key")
    if power >= MAX_POWER:
        raise ActionRejected("bad_power", f"power must be below {MAX_POWER}")
    if deadline <= ctx.number:
        raise ActionRejected("deadline_passed", f"deadline {deadline} is not after block {ctx.number}")
    member = Member(checksum_address(address).lower(), public_key, power)
    if power and member.address not in registered(ctx.state, ctx.genesis):  # genesis or governance (node/peers.py)
        raise ActionRejected(
            "validator_unregistered",
            f"{member.address} is not a registered node (genesis, or `qenex governance propose --register-node`)",
        )
    _check_change(current, member)
    ctx.state.put_record(_proposal_key(ctx.tx_hash), _encode_proposal(member, deadline, [ctx.sender], 0))
    _schedule_if_approved(ctx, ctx.tx_hash, current)


def _apply_approval(payload: bytes, ctx: ActionContext) -> None:
    (proposal_id,) = _fields(payload, 1, "approve")
    current = _current(ctx)
    data = ctx.state.record(_proposal_key(proposal_id))
    if data is None:
        raise ActionRejected("unknown_proposal", f"no proposal {proposal_id.hex()}")
    member, deadline, approvals, scheduled = _decode_proposal(data)
    if scheduled:
        raise ActionRejected("proposal_decided", f"proposal {proposal_id.hex()} took effect at height {scheduled}")
    if ctx.number > deadline:
        raise ActionRejected("deadline_passed", f"proposal {proposal_id.hex()} expired at height {deadline}")
    if ctx.sender in approvals:
        raise ActionRejected("already_approved", f"{ctx.sender} already approved {proposal_id.hex()}")
    ctx.state.put_record(_proposal_key(proposal_id), _encode_proposal(member, deadline, [*approvals, ctx.sender], 0))
    _schedule_if_approved(ctx, proposal_id, current)


def _schedule_if_approved(ctx: ActionContext, proposal_id: bytes, current: list[Member]) -> None:
    member, deadline, approvals, _ = _decode_proposal(ctx.state.record(_proposal_key(proposal_id)))
    powers = {m.address: m.power for m in current}
    total = sum(powers.values())
    if 3 * sum(powers.get(a, 0) for a in set(approvals)) <= 2 * total:
        return
    effective = ctx.number + SET_CHANGE_DELAY
    latest_height, latest = _latest(ctx.state, ctx.genesis)
    new = _check_change(latest, member)
    key = b"vs:" + effective.to_bytes(8, "big")
    ctx.state.put_record(key, _encode_set(new))
    index = sorted(set(_index(ctx.state)) | {effective})
    ctx.state.put_record(INDEX, rlp_encode.encode([int_to_bytes(h) for h in index]))
    ctx.state.put_record(_proposal_key(proposal_id), _encode_proposal(member, deadline, approvals, effective))
    assert latest_height <= effective, "validator-set changes are scheduled in height order"


def _apply_evidence(payload: bytes, ctx: ActionContext) -> None:
    from node.p2p import wire

    raw_a, raw_b = _fields(payload, 2, "evidence")
    try:
        a, b = wire.decode_message(raw_a), wire.decode_message(raw_b)
    except wire.WireError as exc:
        raise ActionRejected("malformed_evidence", str(exc)) from None
    if not isinstance(a, wire.VoteMessage) or not isinstance(b, wire.VoteMessage):
        raise ActionRejected("malformed_evidence", "evidence is two votes")
    va, vb = a.vote, b.vote
    same = [(v.validator, v.chain_id, v.height, v.round, v.kind) for v in (va, vb)]
    if same[0] != same[1] or va.block_id == vb.block_id:
        raise ActionRejected("not_equivocation", "two votes by one validator, height, round and kind for two blocks")
    if va.chain_id != ctx.genesis.chain_id:
        raise ActionRejected("wrong_chain", f"the votes are for chain {va.chain_id}")
    if va.validator.lower() not in {m.address for m in members_at(ctx.state, ctx.genesis, va.height)}:
        raise ActionRejected("not_a_validator", f"{va.validator} was not a validator at height {va.height}")
    if not verify_vote(va) or not verify_vote(vb):
        raise ActionRejected("bad_signature", "a vote's signature does not recover its validator")
    key = b"ev:" + keccak(b"".join(sorted((raw_a, raw_b))))
    if ctx.state.record(key) is not None:
        raise ActionRejected("evidence_known", "this equivocation is already recorded")
    ctx.state.put_record(key, rlp_encode.encode([
        address_bytes(va.validator), int_to_bytes(va.height), int_to_bytes(va.round), int_to_bytes(va.kind),
        va.block_id or b"", vb.block_id or b"", address_bytes(ctx.sender), int_to_bytes(ctx.number),
    ]))  # fmt: skip


# --- reading for RPC ---------------------------------------------------------------------------


def describe_proposal(proposal_id: bytes, data: bytes) -> dict:
    member, deadline, approvals, scheduled = _decode_proposal(data)
    return {
        "id": "0x" + proposal_id.hex(), "address": checksum_address(bytes.fromhex(member.address[2:])),
        "power": member.power, "deadline": deadline, "approvals": approvals, "effectiveHeight": scheduled or None,
    }  # fmt: skip


def describe_evidence(data: bytes) -> dict:
    validator, height, round_, kind, block_a, block_b, reporter, number = decode(data, max_depth=2)
    return {
        "validator": checksum_address(validator), "height": bytes_to_int(height), "round": bytes_to_int(round_),
        "kind": {1: "prevote", 2: "precommit"}.get(bytes_to_int(kind), "?"),
        "blockIds": ["0x" + block_a.hex() if block_a else None, "0x" + block_b.hex() if block_b else None],
        "reportedBy": checksum_address(reporter), "includedIn": bytes_to_int(number),
    }  # fmt: skip
