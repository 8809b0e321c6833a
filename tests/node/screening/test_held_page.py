"""The explorer's review-queue page lists what screening held on the node, to an operator logged in
with password and TOTP (real browser); logged out it shows only the login form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.browser import run_browser_script
from support.nodes import make_home, run_cli, signed_transfer, start_node

from genesis.builder import enable_screening

from .conftest import with_thresholds
from .test_node_screening import LARGE, refused_rule

SCRIPT = Path(__file__).with_name("held_page.cjs")
PASSWORD = "correct horse battery"


@pytest.mark.slow
@pytest.mark.timeout(1500)  # a fresh CI machine first installs Chromium (apt) and playwright-core (npm)
def test_the_explorer_lists_held_transactions_with_their_score(tmp_path, small_model):
    model = with_thresholds(small_model, tmp_path / "model", 300_000, 970_000)
    home, listing = make_home(tmp_path)
    enable_screening(home, model, hold_expiry_seconds=600)  # outlives the browser's start
    (home / "pw").write_text(PASSWORD)
    added = run_cli("operator", "add", "carol", "--role", "compliance", "--home", str(home), "--password-file",
                    str(home / "pw"))  # fmt: skip
    assert added.returncode == 0, added.stderr
    login = {"operator": "carol", "password": PASSWORD, "totpSecret": json.loads(added.stdout)["totp_secret"]}
    node = start_node(home)
    try:
        shown, held = _held_page(node, listing, login)
    finally:
        node.stop()
    assert shown["pageErrors"] == []
    assert "needs an operator login" in shown["loggedOut"] and held["hash"] not in shown["loggedOut"]
    assert "needs an operator login" in shown["afterLogout"] and held["hash"] not in shown["afterLogout"]
    page = shown["heldPage"]
    assert "Logged in as carol (compliance)" in page
    assert "Held for compliance review (1)" in page
    assert held["hash"] in page and str(held["screening"]["scorePpm"]) in page
    assert held["screening"]["topFeatures"][0] in page


def _held_page(node, listing, login: dict) -> tuple[dict, dict]:
    assert refused_rule(node.rpc, signed_transfer(listing, 1, 0, LARGE, 0, 0x71))[0] == "fraud_hold"
    [held] = node.operator_rpc.call("qenex_getHeldTransactions")
    return run_browser_script(SCRIPT, {"url": node.url, **login}), held
