"""Smoke test of `qenex bench gateway`: a small run end to end against a real node subprocess.

No timing thresholds: the figures only have to exist and be positive; the bench itself fails unless
every message is booked once, balances reconcile and re-submissions are duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.nodes import run_cli

from bench.gateway_bench import DEFAULT_SAMPLES, BenchError, run_bench

pytestmark = pytest.mark.slow


def test_small_run_books_every_message() -> None:
    if not DEFAULT_SAMPLES.is_dir():
        pytest.skip(f"samples not present at {DEFAULT_SAMPLES}")
    result = run_bench(messages=30, booked=20, seed=3)
    assert [p.kind for p in result.pipeline] == ["pacs.008", "mt103"]
    assert all(p.per_s > 0 and 0 < p.p50_ms <= p.p99_ms for p in result.pipeline)
    assert result.booked_messages == 20 and result.booked_per_s > 0 and result.recoveries_per_s > 0
    assert result.checks == {"receipts_status_1": 20, "balances_reconciled": 2, "duplicates_refused": 10}
    assert set(result.ratios) == {"pipeline pacs.008", "pipeline mt103", "booked"}


def test_missing_samples_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="--samples"):
        run_bench(messages=1, booked=1, samples=tmp_path)


def test_cli_prints_one_json_object() -> None:
    if not DEFAULT_SAMPLES.is_dir():
        pytest.skip(f"samples not present at {DEFAULT_SAMPLES}")
    done = run_cli("bench", "gateway", "--messages", "10", "--booked", "4", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["booked_messages"] == 4 and len(result["pipeline"]) == 2
