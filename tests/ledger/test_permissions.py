"""The permission table (ledger/permissions.py): docs/security.md shows exactly the table in code,
and `allowed` honours namespaces. Its enforcement in blocks is tests/node/test_admin.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.authz import ROLES, RoleGrant
from ledger.permissions import PERMISSIONS, allowed, parse_governance

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
HOLDER = "0x" + "ab" * 20


def doc_table() -> dict[str, tuple[set[str], bool]]:
    """The rows of the table under '## Roles and permissions': action -> (roles, scoped)."""
    section = DOC.read_text().split("## Roles and permissions", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("action", "---"):
            continue
        rows[cells[0]] = ({r.strip() for r in cells[1].split(",")}, {"yes": True, "no": False}[cells[2]])
    return rows


def test_the_security_doc_shows_the_table_in_code():
    in_code = {name: (set(p.roles), p.scoped) for name, p in PERMISSIONS.items()}
    assert doc_table() == in_code


def test_scoped_actions_need_a_grant_covering_the_account():
    grants = [RoleGrant("compliance", HOLDER, "iban:DE:37040044")]
    assert allowed("account.freeze", HOLDER, grants, account_id="DE89370400440532013000")
    assert not allowed("account.freeze", HOLDER, grants, account_id="DE02120300000000202051")
    assert not allowed("account.freeze", HOLDER, grants)  # no account: nothing to be covered
    assert allowed("screening.review", HOLDER, grants)  # unscoped: any namespace of the role
    assert not allowed("account.close", HOLDER, grants, account_id="DE89370400440532013000")
    assert allowed("validator.propose", HOLDER, [], validators=[HOLDER.upper().replace("0X", "0x")])


def test_every_role_in_the_table_exists():
    assert {r for p in PERMISSIONS.values() for r in p.roles} <= set(ROLES)


def test_governance_votes_in_genesis_are_read():
    assert parse_governance({"votes": {HOLDER: 3}}) == {HOLDER: 3}
    assert parse_governance(None) == {}


@pytest.mark.parametrize(
    "bad", [{"votes": {HOLDER: 0}}, {"votes": {"nobody": 1}}, {"weights": {}}, {"votes": [HOLDER]}]
)
def test_malformed_governance_votes_are_refused(bad):
    with pytest.raises(ValueError, match="governance"):
        parse_governance(bad)
