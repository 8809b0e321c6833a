"""The one table of who may do what, and the role grants in force on chain.

Every administrative chain action (node/admin.py, node/governance.py) is checked against
PERMISSIONS before it changes anything; docs/security.md shows the same table and a test
compares the two. A role grant is scoped by a namespace (ledger.authz.RoleGrant): an action on
an account needs a grant whose namespace covers that account; an unscoped action (on the chain as
a whole) needs a grant of the role in any namespace: governors act for the consortium, not for a
bank's accounts.

The role "validator" is not granted: it is held by the members of the validator set of the
block's height (node/governance.py), because that set is what consensus safety rests on.

The grants in force start as genesis lists them and change only by governance proposals; they
live in one chain record (ROLES_KEY) so every validator reads the same list at every block and
the state root commits to it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from ledger import rlp_encode
from ledger.authz import ROLES, RoleGrant
from ledger.codec import address_bytes, checksum_address
from ledger.errors import LedgerError
from ledger.rlp_decode import decode
from ledger.state import LedgerReader

ROLES_KEY = b"roles"  # chain record: every role grant in force, RLP list of [role, holder, namespace]
MAX_GRANTS = 4096  # bounded: the list is read by every transaction


@dataclass(frozen=True, slots=True)
class Permission:
    """Which roles may take an action, whether a grant's namespace must cover the account, and why."""

    roles: tuple[str, ...]
    scoped: bool
    why: str


PERMISSIONS: dict[str, Permission] = {
    "governance.propose": Permission(
        ("governor",), False, "changes to roles, the validator set's registry, parameters start as proposals"
    ),
    "governance.vote": Permission(("governor",), False, "more than 2/3 of governance votes carry a proposal"),
    "validator.propose": Permission(("validator",), False, "validator-set changes are weighted by voting power"),
    "validator.approve": Permission(("validator",), False, "more than 2/3 of the voting power schedules a change"),
    "account.freeze": Permission(("compliance",), True, "stop all movement on an account under investigation"),
    "account.unfreeze": Permission(("compliance",), True, "lift a freeze"),
    "account.close": Permission(("operator",), True, "the bank closes its customer's account (zero balance)"),
    "account.limits": Permission(("operator",), True, "the bank sets per-transfer and daily debit limits"),
    "screening.review": Permission(
        ("compliance",), False, "release or reject a held transaction, report fraud (signed; chain actions 10, 11)"
    ),
    "transfer.debit": Permission(("operator", "gateway"), True, "move money on accounts of the bank served"),
}
assert all(set(p.roles) <= set(ROLES) for p in PERMISSIONS.values()), "the table names only known roles"


class Unauthorized(LedgerError):
    """The signer holds no role that the permission table allows for this action."""

    rule = "unauthorized"


def allowed(action: str, signer: str, grants: Iterable[RoleGrant], validators: Iterable[str] = (),
            account_id: str | None = None) -> bool:  # fmt: skip
    """Whether `signer` may take `action` (on `account_id` for scoped actions)."""
    permission = PERMISSIONS[action]
    signer = signer.lower()
    if "validator" in permission.roles and signer in {v.lower() for v in validators}:
        return True
    for grant in grants:
        if grant.role not in permission.roles or grant.holder.lower() != signer:
            continue
        if not permission.scoped or (account_id is not None and grant.covers(account_id)):
            return True
    return False


def authorize(action: str, signer: str, grants: Iterable[RoleGrant], validators: Iterable[str] = (),
              account_id: str | None = None) -> None:  # fmt: skip
    """Raise Unauthorized naming the action, the signer and the roles that would allow it."""
    if not allowed(action, signer, grants, validators, account_id):
        permission = PERMISSIONS[action]
        where = f" covering {account_id}" if permission.scoped and account_id else ""
        raise Unauthorized(f"{signer} may not {action}: it needs the {' or '.join(permission.roles)} role{where}")


# --- the grants in force --------------------------------------------------------------------------


def encode_grants(grants: Iterable[RoleGrant]) -> bytes:
    unique = sorted({(g.role, g.holder.lower(), g.namespace) for g in grants})
    assert len(unique) <= MAX_GRANTS, "the grant list is bounded"
    return rlp_encode.encode([[r.encode(), h.encode(), n.encode()] for r, h, n in unique])


@functools.lru_cache(maxsize=64)
def decode_grants(data: bytes) -> tuple[RoleGrant, ...]:
    """Cached by value: every transaction of a block reads the same record. The record keeps
    holders in lower case (one byte string per grant for the state root); in memory, over RPC and
    in the explorer they are EIP-55 checksummed like genesis's, whoever granted them."""
    return tuple(
        RoleGrant(r.decode(), checksum_address(address_bytes(h.decode())), n.decode())
        for r, h, n in decode(data, max_depth=3)
    )


def current_grants(state: LedgerReader, genesis_grants: tuple[RoleGrant, ...]) -> tuple[RoleGrant, ...]:
    """The grants in force in `state`: genesis's until governance first changed them."""
    data = state.record(ROLES_KEY)
    return genesis_grants if data is None else decode_grants(data)


def same_grant(a: RoleGrant, b: RoleGrant) -> bool:
    return (a.role, a.holder.lower(), a.namespace) == (b.role, b.holder.lower(), b.namespace)


# --- governance votes ---------------------------------------------------------------------------

MAX_VOTES = 1_000_000


def parse_governance(section: object) -> dict[str, int]:
    """Genesis `governance` ({"votes": {address: votes}}): each governor's votes (default 1)."""
    if section is None:
        return {}
    if not isinstance(section, dict) or set(section) - {"votes"}:
        raise ValueError("governance must be an object with only 'votes'")
    votes = section.get("votes", {})
    if not isinstance(votes, dict):
        raise ValueError("governance.votes must map governor addresses to vote counts")
    parsed = {}
    for address, count in votes.items():
        if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
            raise ValueError(f"governance.votes: {address!r} is not a 0x address")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_VOTES:
            raise ValueError(f"governance.votes[{address}] must be an integer in 1..{MAX_VOTES}")
        parsed[address.lower()] = count
    return parsed


def governance_votes(grants: Iterable[RoleGrant], section: object) -> dict[str, int]:
    """Lower-case governor address -> votes, for the governors in force."""
    weights = parse_governance(section)
    return {g.holder.lower(): weights.get(g.holder.lower(), 1) for g in grants if g.role == "governor"}
