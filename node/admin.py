"""Administrative chain actions beyond the validator set: consortium governance and account controls.

Each is a type 0x52 transaction (ledger.tx.Action) applied by node.governance.apply_action, checked
against the permission table (ledger.permissions.PERMISSIONS) before it changes anything.

Governance (the rules):
  * GOV_PROPOSE (change, deadline height) by a governor: the change is a role grant or a
    revocation. The proposer's votes count for it. A governor may not propose a grant to itself.
  * GOV_VOTE (proposal id = the proposing transaction's hash) by other governors, once each, up to
    the deadline height included; after it the proposal is expired and nothing is counted.
  * Each governor holds votes: genesis `governance.votes` ({address: votes}) or 1. A grant's
    beneficiary may not vote on it and its votes are left out of the total, so no single member
    grants itself a role (a lone governor cannot grant itself anything).
  * When the votes of current governors exceed 2/3 of the total, the change is applied in that
    same transaction: it governs the next transaction of the block.

Account controls (ledger/controls.py holds the records and their enforcement): ACCOUNT_FREEZE and
ACCOUNT_UNFREEZE by a compliance officer whose namespace covers the account; ACCOUNT_CLOSE (zero
balance, nothing pending, not frozen) and ACCOUNT_LIMITS (per-transfer and daily maximum in minor
units, 0 for none) by the bank's operator for that namespace.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from genesis.schema import Genesis
from ledger import rlp_encode
from ledger.authz import RoleGrant
from ledger.codec import address_bytes, bytes_to_int, checksum_address, int_to_bytes
from ledger.controls import AccountControls, ControlState, controls_of, put_controls
from ledger.errors import LedgerError
from ledger.params import PARAMS, ParamChange, describe_param_error, param, set_param
from ledger.permissions import (
    MAX_GRANTS,
    ROLES_KEY,
    Unauthorized,
    authorize,
    current_grants,
    encode_grants,
    governance_votes,
    same_grant,
)
from ledger.rlp_decode import RlpDecodingError, decode
from ledger.state import LedgerReader
from ledger.tx import Action
from node import peers
from node.governance import ActionContext, ActionRejected, members_at

PROPOSAL_PREFIX = b"gq:"
SCREENING_MODEL_KEY = b"screening:model"  # the model hash governance pinned (genesis's until then)
MAX_DEADLINE_BLOCKS = 1_000_000


class AdminKind(enum.IntEnum):
    GOV_PROPOSE = 4
    GOV_VOTE = 5
    ACCOUNT_FREEZE = 6
    ACCOUNT_UNFREEZE = 7
    ACCOUNT_CLOSE = 8
    ACCOUNT_LIMITS = 9


class ChangeKind(enum.IntEnum):
    GRANT_ROLE = 1
    REVOKE_ROLE = 2
    SET_PARAM = 3  # a chain parameter (ledger.params.PARAMS)
    REGISTER_NODE = 4  # a node's P2P identity (node/peers.py)
    REVOKE_NODE = 5
    SET_SCREENING_MODEL = 6  # the model every validator screens with (node/screening/actions.py)


@dataclass(frozen=True, slots=True)
class NodeChange:
    """Register (certificate and binding given) or revoke (both empty) a node's P2P identity."""

    address: str  # lower case
    certificate_pem: bytes = b""
    binding: bytes = b""


@dataclass(frozen=True, slots=True)
class ModelChange:
    """Pin another screening model: the SHA-256 of its manifest.json (node/screening/model.py)."""

    sha256: bytes


Change = RoleGrant | ParamChange | NodeChange | ModelChange

ACTION_NAMES = {
    AdminKind.GOV_PROPOSE: "governance.propose",
    AdminKind.GOV_VOTE: "governance.vote",
    AdminKind.ACCOUNT_FREEZE: "account.freeze",
    AdminKind.ACCOUNT_UNFREEZE: "account.unfreeze",
    AdminKind.ACCOUNT_CLOSE: "account.close",
    AdminKind.ACCOUNT_LIMITS: "account.limits",
}


@dataclass(frozen=True, slots=True)
class Proposal:
    change: ChangeKind
    grant: Change
    deadline: int
    proposer: str  # lower case
    votes: tuple[str, ...]  # lower-case addresses, in order
    executed_at: int = 0  # block that carried it; 0 while open

    def encode(self) -> bytes:
        return rlp_encode.encode([
            int_to_bytes(self.change), _change_fields(self.grant), int_to_bytes(self.deadline),
            address_bytes(self.proposer), [address_bytes(v) for v in self.votes], int_to_bytes(self.executed_at),
        ])  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> Proposal:
        change, grant, deadline, proposer, votes, executed = decode(data, max_depth=3)
        kind = ChangeKind(bytes_to_int(change))
        return cls(kind, _change_of(kind, grant), bytes_to_int(deadline),
                   "0x" + proposer.hex(), tuple("0x" + v.hex() for v in votes), bytes_to_int(executed))  # fmt: skip

    def status(self, head: int) -> str:
        if self.executed_at:
            return "executed"
        return "expired" if head > self.deadline else "open"


# --- building actions (CLI, tests) --------------------------------------------------------------


def _grant_fields(grant: RoleGrant) -> list:
    return [grant.role.encode(), address_bytes(grant.holder), grant.namespace.encode()]


def _change_fields(change: Change) -> list:
    if isinstance(change, ParamChange):
        return [change.name.encode(), int_to_bytes(change.value)]
    if isinstance(change, NodeChange):
        return [address_bytes(change.address), change.certificate_pem, change.binding]
    if isinstance(change, ModelChange):
        return [change.sha256]
    return _grant_fields(change)


def _change_of(kind: ChangeKind, fields: object) -> Change:
    if kind == ChangeKind.SET_SCREENING_MODEL:
        if not isinstance(fields, list) or len(fields) != 1 or not isinstance(fields[0], bytes) or len(fields[0]) != 32:
            raise ActionRejected("malformed_action", "a screening-model change carries [the 32-byte model hash]")
        return ModelChange(fields[0])
    if kind in (ChangeKind.REGISTER_NODE, ChangeKind.REVOKE_NODE):
        if not isinstance(fields, list) or len(fields) != 3 or not all(isinstance(f, bytes) for f in fields):
            raise ActionRejected("malformed_action", "a node change carries [address, certificate, binding]")
        if len(fields[0]) != 20:
            raise ActionRejected("malformed_action", "a node address is 20 bytes")
        return NodeChange("0x" + fields[0].hex(), fields[1], fields[2])
    if kind != ChangeKind.SET_PARAM:
        return _grant_of(fields)
    if not isinstance(fields, list) or len(fields) != 2 or not all(isinstance(f, bytes) for f in fields):
        raise ActionRejected("malformed_action", "a parameter change carries [name, value]")
    try:
        return ParamChange(fields[0].decode("ascii"), _uint(fields[1], "value"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ActionRejected("bad_param", str(exc)) from None


def _grant_of(fields: object) -> RoleGrant:
    if not isinstance(fields, list) or len(fields) != 3 or not all(isinstance(f, bytes) for f in fields):
        raise ActionRejected("malformed_action", "a role change carries [role, holder, namespace]")
    role, holder, namespace = fields
    if len(holder) != 20:
        raise ActionRejected("malformed_action", "a role holder is a 20-byte address")
    try:
        return RoleGrant(role.decode(), checksum_address(holder), namespace.decode())
    except (UnicodeDecodeError, LedgerError) as exc:
        raise ActionRejected("invalid_role", str(exc)) from None


def propose(change: ChangeKind, grant: Change, deadline: int) -> Action:
    return Action(AdminKind.GOV_PROPOSE,
                  rlp_encode.encode([int_to_bytes(change), _change_fields(grant), int_to_bytes(deadline)]))  # fmt: skip


def vote(proposal_id: bytes) -> Action:
    return Action(AdminKind.GOV_VOTE, rlp_encode.encode([proposal_id]))


def account_action(kind: AdminKind, account_id: str, per_transfer_max: int = 0, daily_max: int = 0) -> Action:
    fields = [account_id.encode()]
    if kind == AdminKind.ACCOUNT_LIMITS:
        fields += [int_to_bytes(per_transfer_max), int_to_bytes(daily_max)]
    return Action(kind, rlp_encode.encode(fields))


# --- applying -----------------------------------------------------------------------------------


def apply_admin_action(action: Action, ctx: ActionContext) -> None:
    """Apply one administrative action to ctx.state or raise ActionRejected naming the rule."""
    if action.kind not in ACTION_NAMES:
        raise ActionRejected("unknown_action", f"action kind {action.kind} is not one of 1..11")
    kind = AdminKind(action.kind)
    try:
        fields = decode(action.payload, max_depth=3)
    except RlpDecodingError as exc:
        raise ActionRejected("malformed_action", f"{ACTION_NAMES[kind]}: {exc}") from None
    if not isinstance(fields, list):
        raise ActionRejected("malformed_action", f"{ACTION_NAMES[kind]}: the payload is a list")
    try:
        if kind == AdminKind.GOV_PROPOSE:
            _propose(fields, ctx)
        elif kind == AdminKind.GOV_VOTE:
            _vote(fields, ctx)
        else:
            _account_control(kind, fields, ctx)
    except Unauthorized as exc:
        raise ActionRejected(exc.rule, exc.message) from None


def _authorize(name: str, ctx: ActionContext, account_id: str | None = None) -> None:
    validators = [m.address for m in members_at(ctx.state, ctx.genesis, ctx.number)]
    authorize(name, ctx.sender, current_grants(ctx.state, ctx.genesis.roles), validators, account_id)


def _uint(value: object, name: str) -> int:
    if not isinstance(value, bytes) or len(value) > 16 or value[:1] == b"\x00":
        raise ActionRejected("malformed_action", f"{name} must be a canonical unsigned integer of at most 16 bytes")
    return bytes_to_int(value)


def _propose(fields: list, ctx: ActionContext) -> None:
    _authorize("governance.propose", ctx)
    if len(fields) != 3:
        raise ActionRejected("malformed_action", "governance.propose carries [change, grant, deadline]")
    try:
        change = ChangeKind(_uint(fields[0], "change"))
    except ValueError:
        raise ActionRejected("unknown_change", f"change kind must be one of {[int(c) for c in ChangeKind]}") from None
    grant, deadline = _change_of(change, fields[1]), _uint(fields[2], "deadline")
    if not ctx.number < deadline <= ctx.number + MAX_DEADLINE_BLOCKS:
        raise ActionRejected(
            "bad_deadline", f"deadline {deadline} must be in {ctx.number + 1}..{ctx.number + MAX_DEADLINE_BLOCKS}"
        )
    if isinstance(grant, NodeChange):
        _check_node_change(ctx, change, grant)
    elif isinstance(grant, ModelChange):
        if ctx.genesis.screening is None:
            raise ActionRejected("screening_disabled", "this chain's genesis pins no screening model to replace")
    elif isinstance(grant, ParamChange):
        if grant.name not in PARAMS or not PARAMS[grant.name].accepts(grant.value):
            raise ActionRejected("bad_param", describe_param_error(grant))
    else:
        grants = current_grants(ctx.state, ctx.genesis.roles)
        held = any(same_grant(g, grant) for g in grants)
        if change == ChangeKind.GRANT_ROLE:
            if grant.holder.lower() == ctx.sender:
                raise ActionRejected("self_grant", f"{ctx.sender} may not propose a role for itself")
            if held:
                raise ActionRejected(
                    "grant_exists", f"{grant.holder} already holds {grant.role} over {grant.namespace}"
                )
        elif not held:
            raise ActionRejected("grant_not_found", f"{grant.holder} holds no {grant.role} over {grant.namespace}")
    proposal = Proposal(change, grant, deadline, ctx.sender, (ctx.sender,))
    _store_and_tally(ctx, ctx.tx_hash, proposal)


def _vote(fields: list, ctx: ActionContext) -> None:
    _authorize("governance.vote", ctx)
    if len(fields) != 1 or not isinstance(fields[0], bytes) or len(fields[0]) != 32:
        raise ActionRejected("malformed_action", "governance.vote carries the 32-byte proposal id")
    proposal_id = fields[0]
    data = ctx.state.record(PROPOSAL_PREFIX + proposal_id)
    if data is None:
        raise ActionRejected("unknown_proposal", f"no governance proposal 0x{proposal_id.hex()}")
    proposal = Proposal.decode(data)
    if proposal.executed_at:
        raise ActionRejected(
            "proposal_decided", f"proposal 0x{proposal_id.hex()} was executed in block {proposal.executed_at}"
        )
    if ctx.number > proposal.deadline:
        raise ActionRejected(
            "proposal_expired", f"proposal 0x{proposal_id.hex()} expired at height {proposal.deadline}"
        )
    if ctx.sender in proposal.votes:
        raise ActionRejected("already_voted", f"{ctx.sender} already voted for 0x{proposal_id.hex()}")
    if isinstance(proposal.grant, RoleGrant) and proposal.change == ChangeKind.GRANT_ROLE and \
            proposal.grant.holder.lower() == ctx.sender:  # fmt: skip
        raise ActionRejected("self_grant", f"{ctx.sender} may not vote on a role for itself")
    proposal = Proposal(proposal.change, proposal.grant, proposal.deadline, proposal.proposer,
                        (*proposal.votes, ctx.sender))  # fmt: skip
    _store_and_tally(ctx, proposal_id, proposal)


def tally(state: LedgerReader, genesis: Genesis, proposal: Proposal) -> tuple[int, int]:
    """(votes for, votes counted in the total) among the governors in force in `state`."""
    weights = governance_votes(current_grants(state, genesis.roles), genesis.raw.get("governance"))
    if isinstance(proposal.grant, RoleGrant) and proposal.change == ChangeKind.GRANT_ROLE:
        weights.pop(proposal.grant.holder.lower(), None)  # the beneficiary neither votes nor counts
    return sum(weights.get(v, 0) for v in set(proposal.votes)), sum(weights.values())


def _store_and_tally(ctx: ActionContext, proposal_id: bytes, proposal: Proposal) -> None:
    votes_for, total = tally(ctx.state, ctx.genesis, proposal)
    if total and 3 * votes_for > 2 * total:
        _execute(ctx, proposal)
        proposal = Proposal(proposal.change, proposal.grant, proposal.deadline, proposal.proposer, proposal.votes,
                            ctx.number)  # fmt: skip
    ctx.state.put_record(PROPOSAL_PREFIX + proposal_id, proposal.encode())


def _check_node_change(ctx: ActionContext, change: ChangeKind, node: NodeChange) -> None:
    known = peers.registered(ctx.state, ctx.genesis)
    if change == ChangeKind.REGISTER_NODE:
        problem = peers.identity_problem(ctx.genesis.chain_id, node.address, node.certificate_pem, node.binding)
        if problem is not None:
            raise ActionRejected("bad_identity", f"node {node.address}: {problem}")
        if peers.registry_full(ctx.state):
            raise ActionRejected("registry_full", f"at most {peers.MAX_REGISTERED} nodes are registered by governance")
        return
    if node.certificate_pem or node.binding:
        raise ActionRejected("malformed_action", "a revocation carries no certificate or binding")
    if node.address not in known:
        raise ActionRejected("node_not_registered", f"node {node.address} is not registered")
    if node.address in {m.address for m in members_at(ctx.state, ctx.genesis, ctx.number)}:
        raise ActionRejected("node_is_validator", f"{node.address} is a validator; remove it from the set first")


def _execute(ctx: ActionContext, proposal: Proposal) -> None:
    change = proposal.grant
    if isinstance(change, NodeChange):
        if proposal.change == ChangeKind.REGISTER_NODE:
            peers.register(ctx.state, change.address, change.certificate_pem, change.binding)
        else:
            peers.revoke(ctx.state, change.address)
        return
    if isinstance(change, ParamChange):
        set_param(ctx.state, change)
        return
    if isinstance(change, ModelChange):
        ctx.state.put_record(SCREENING_MODEL_KEY, change.sha256)
        return
    grants = list(current_grants(ctx.state, ctx.genesis.roles))
    if proposal.change == ChangeKind.GRANT_ROLE:
        grants.append(change)
    else:
        grants = [g for g in grants if not same_grant(g, change)]
    if len(grants) > MAX_GRANTS:
        raise ActionRejected("too_many_grants", f"at most {MAX_GRANTS} role grants")
    ctx.state.put_record(ROLES_KEY, encode_grants(grants))


def _account_control(kind: AdminKind, fields: list, ctx: ActionContext) -> None:
    name = ACTION_NAMES[kind]
    expected = 3 if kind == AdminKind.ACCOUNT_LIMITS else 1
    if len(fields) != expected or not isinstance(fields[0], bytes) or len(fields[0]) > 64:
        raise ActionRejected(
            "malformed_action", f"{name} carries [account id{', per-transfer, daily' if expected == 3 else ''}]"
        )
    account_id = fields[0].decode("ascii", errors="replace")
    account = ctx.state.account(account_id)
    if account is None:
        raise ActionRejected("account_not_found", f"{name}: account {account_id} does not exist")
    _authorize(name, ctx, account_id)
    controls = controls_of(ctx.state, account_id)
    if controls.state == ControlState.CLOSED:
        raise ActionRejected("account_closed", f"{name}: account {account_id} is closed")
    if kind == AdminKind.ACCOUNT_FREEZE:
        if controls.state == ControlState.FROZEN:
            raise ActionRejected("already_frozen", f"account {account_id} is already frozen")
        new = AccountControls(ControlState.FROZEN, controls.per_transfer_max, controls.daily_max)
    elif kind == AdminKind.ACCOUNT_UNFREEZE:
        if controls.state != ControlState.FROZEN:
            raise ActionRejected("not_frozen", f"account {account_id} is not frozen")
        new = AccountControls(ControlState.ACTIVE, controls.per_transfer_max, controls.daily_max)
    elif kind == AdminKind.ACCOUNT_CLOSE:
        if controls.state == ControlState.FROZEN:
            raise ActionRejected("account_frozen", f"account {account_id} is frozen; compliance must unfreeze it first")
        if account.debits_pending or account.credits_pending or account.debits_posted != account.credits_posted:
            raise ActionRejected(
                "balance_not_zero",
                f"account {account_id} holds {account.credits_posted - account.debits_posted} with "
                f"{account.debits_pending + account.credits_pending} pending; only a zero balance closes",
            )
        new = AccountControls(ControlState.CLOSED, controls.per_transfer_max, controls.daily_max)
    else:
        per_transfer, daily = _uint(fields[1], "per_transfer_max"), _uint(fields[2], "daily_max")
        try:
            new = AccountControls(controls.state, per_transfer, daily)
        except LedgerError as exc:
            raise ActionRejected("bad_limits", exc.message) from None
    put_controls(ctx.state, account_id, new)


def max_transactions(state: LedgerReader, genesis: Genesis) -> int:
    """Transactions a block may hold at most: genesis `block.max_transactions` or as governance set it."""
    return param(state, "block.max_transactions", genesis.block.max_transactions)


# --- reading for RPC ----------------------------------------------------------------------------


def describe_grant(grant: RoleGrant) -> dict:
    return {"role": grant.role, "holder": checksum_address(address_bytes(grant.holder)), "namespace": grant.namespace}


def describe_proposal(proposal_id: bytes, proposal: Proposal, state: LedgerReader, genesis: Genesis,
                      head: int) -> dict:  # fmt: skip
    votes_for, total = tally(state, genesis, proposal)
    return {
        "id": "0x" + proposal_id.hex(),
        "change": proposal.change.name.lower(),
        **_describe_change(proposal.grant),
        "proposer": checksum_address(address_bytes(proposal.proposer)),
        "votes": [checksum_address(address_bytes(v)) for v in proposal.votes],
        "votesFor": votes_for,
        "votesTotal": total,
        "deadline": proposal.deadline,
        "status": proposal.status(head),
        "executedIn": proposal.executed_at or None,
    }


def screening_model_in_force(state: LedgerReader, genesis: Genesis) -> bytes:
    """The SHA-256 of the model every validator screens with after the blocks in `state`."""
    assert genesis.screening is not None, "only chains that screen pin a model"
    data = state.record(SCREENING_MODEL_KEY)
    return data if data is not None else bytes.fromhex(genesis.screening.model_sha256)


def _describe_change(change: Change) -> dict:
    if isinstance(change, ParamChange):
        return {"param": {"name": change.name, "value": change.value}}
    if isinstance(change, ModelChange):
        return {"screeningModel": {"sha256": change.sha256.hex()}}
    if isinstance(change, NodeChange):
        fingerprint = peers.certificate_fingerprint(change.certificate_pem) if change.certificate_pem else None
        return {"node": {"address": checksum_address(address_bytes(change.address)), "fingerprint": fingerprint}}
    return {"grant": describe_grant(change)}


def describe_controls(account_id: str, controls: AccountControls) -> dict:
    return {"account": account_id, "state": controls.state.name.lower(),
            "perTransferMax": str(controls.per_transfer_max), "dailyMax": str(controls.daily_max)}  # fmt: skip
