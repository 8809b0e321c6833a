"""Smoke test of `qenex bench evm`: a small run on our node and on Anvil. No timing thresholds:
the bench itself fails unless every transaction is included with status 1 and the tokens arrive."""

from __future__ import annotations

import json

import pytest
from support.nodes import run_cli

pytestmark = pytest.mark.slow


def test_small_run_on_both_chains_reports_figures_and_ratios():
    result = run_cli("bench", "evm", "--transfers", "60", "--senders", "3", "--batch", "20", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {(f["chain"], f["workload"]) for f in report["figures"]} == {
        ("qenex", "erc20"), ("qenex", "value"), ("anvil", "erc20"), ("anvil", "value"),
    }  # fmt: skip
    assert all(f["transactions"] == 60 and f["per_second"] > 0 for f in report["figures"])
    assert report["ratio_erc20"] > 0 and report["ratio_value"] > 0
