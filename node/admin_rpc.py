"""JSON-RPC reads of roles, governance proposals and account controls (registered by node/rpc/methods.py).

Wallets, the explorer and `qenex governance|account ...` see the same on-chain records the
block applier reads: the grants in force, each proposal with its votes and outcome, and the
controls on an account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.account import validate_account_id
from ledger.controls import controls_of
from ledger.errors import LedgerError
from ledger.permissions import PERMISSIONS, current_grants, governance_votes
from node.admin import PROPOSAL_PREFIX, Proposal, describe_controls, describe_grant, describe_proposal
from node.rpc.errors import invalid_params

if TYPE_CHECKING:
    from node.service import Node

MAX_PROPOSALS_LISTED = 1000


def methods(node: Node) -> dict:
    """qenex_getRoles, qenex_getPermissions, qenex_getProposals, qenex_getProposal, qenex_getAccountControls."""

    def ledger():
        return node.chain.ledger

    def describe(proposal_id: bytes, data: bytes) -> dict:
        return describe_proposal(proposal_id, Proposal.decode(data), ledger(), node.genesis, node.chain.height)

    def roles(params: list) -> dict:
        grants = current_grants(ledger(), node.genesis.roles)
        votes = governance_votes(grants, node.genesis.raw.get("governance"))
        return {
            "height": node.chain.height,
            "grants": [describe_grant(g) for g in grants],
            "governors": [
                {**describe_grant(g), "votes": votes[g.holder.lower()]} for g in grants if g.role == "governor"
            ],
        }

    def permissions(params: list) -> dict:
        return {name: {"roles": list(p.roles), "scoped": p.scoped, "why": p.why} for name, p in PERMISSIONS.items()}

    def proposals(params: list) -> list[dict]:
        status = params[0] if params else None
        if status not in (None, "open", "executed", "expired"):
            raise invalid_params("status must be open, executed or expired")
        found = []
        for key, value in ledger().records(PROPOSAL_PREFIX):
            described = describe(key[len(PROPOSAL_PREFIX) :], value)
            if status is None or described["status"] == status:
                found.append(described)
            if len(found) >= MAX_PROPOSALS_LISTED:
                break
        return found

    def proposal(params: list) -> dict | None:
        text = params[0] if params else None
        if not isinstance(text, str) or not text.startswith("0x") or len(text) != 66:
            raise invalid_params("proposal id must be 0x-prefixed hex of 32 bytes (the proposing transaction's hash)")
        try:
            proposal_id = bytes.fromhex(text[2:])
        except ValueError:
            raise invalid_params("proposal id must be hex") from None
        data = ledger().record(PROPOSAL_PREFIX + proposal_id)
        return None if data is None else describe(proposal_id, data)

    def account_controls(params: list) -> dict | None:
        if not params or not isinstance(params[0], str):
            raise invalid_params("account id must be a string")
        try:
            account_id = validate_account_id(params[0])
        except LedgerError as exc:
            raise invalid_params(exc.message) from None
        if ledger().account(account_id) is None:
            return None
        return describe_controls(account_id, controls_of(ledger(), account_id))

    return {
        "qenex_getRoles": roles,
        "qenex_getPermissions": permissions,
        "qenex_getProposals": proposals,
        "qenex_getProposal": proposal,
        "qenex_getAccountControls": account_controls,
    }
