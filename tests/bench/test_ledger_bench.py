"""Smoke test of `qenex bench ledger`: a small run end to end against a real node subprocess.

No timing thresholds: the figures only have to exist and be positive; the bench itself fails
unless every transfer is committed and booked.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import pytest

from bench.ledger_bench import BenchError, format_result, open_loop_schedule, run_bench, run_cli

pytestmark = pytest.mark.slow


def test_small_run_commits_every_transfer(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to check that the bench home is removed
    result = run_bench(transfers=300, senders=2, batch=50, block_interval_ms=100, progress=False, seed=7)

    assert result.transfers == 300
    assert result.committed == 300
    assert result.transfers_checked == 300
    assert result.accounts_reconciled == 2
    assert result.receipts_checked >= 1
    assert result.blocks >= 1
    for figure in (result.transfers_per_s, result.recoveries_per_s, result.ratio, result.duration_s):
        assert figure > 0
    assert 0 < result.latency_p50_ms <= result.latency_p99_ms <= result.latency_max_ms
    assert result.machine["nproc"] >= 1
    assert list(tmp_path.iterdir()) == []  # node stopped, temporary home removed


def test_cli_prints_one_json_object(capsys):
    args = argparse.Namespace(transfers=40, senders=1, batch=16, block_interval_ms=100, json=True, validators=1)
    assert run_cli(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["committed"] == 40
    assert result["senders"] == 1
    assert result["transfers_per_s"] > 0


def test_four_validators_commit_every_transfer_through_every_node(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_bench(transfers=400, senders=4, batch=50, block_interval_ms=200, progress=False, seed=3, validators=4)
    assert (result.validators, result.committed, result.transfers_checked) == (4, 400, 400)
    assert result.streams == 4 and result.accounts_reconciled == 4
    assert result.transfers_per_s > 0 and result.ratio > 0
    assert list(tmp_path.iterdir()) == []  # all four nodes stopped, homes removed


def test_bad_arguments_fail_before_starting_a_node():
    with pytest.raises(BenchError, match="--batch"):
        run_bench(transfers=10, senders=1, batch=5000, progress=False)
    with pytest.raises(BenchError, match="--transfers"):
        run_bench(transfers=0, progress=False)
    with pytest.raises(BenchError, match="--validators"):
        run_bench(transfers=10, validators=0, progress=False)


def test_open_loop_schedule_releases_rate_times_tick_per_batch():
    times = open_loop_schedule(10, rate=100.0, tick_s=0.02, start=5.0)
    # 100 tx/s in batches every 20 ms: transaction i is due at i/100 s and leaves with the first
    # release at or after that, so two transactions per release after the first
    assert times == pytest.approx([5.0, 5.02, 5.02, 5.04, 5.04, 5.06, 5.06, 5.08, 5.08, 5.10])
    with pytest.raises(BenchError, match="--rate"):
        open_loop_schedule(10, rate=0.0, tick_s=0.02, start=0.0)


def test_open_loop_run_is_paced_by_the_schedule(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_bench(
        transfers=240, senders=2, batch=50, block_interval_ms=100, progress=False, seed=5, rate=120.0, tick_ms=100
    )
    assert (result.committed, result.transfers_checked) == (240, 240)
    assert (result.offered_per_s, result.tick_ms) == (120.0, 100)
    # the last transaction is not released before 239/120 s after the first: the schedule paced it
    assert result.duration_s >= 1.9
    assert result.submit_s >= 1.9
    assert result.schedule_lag_max_ms is not None and result.schedule_lag_max_ms >= 0
    assert 0 < result.latency_p50_ms <= result.latency_p99_ms <= result.latency_max_ms
    assert "120 tx/s offered" in format_result(result)
    assert list(tmp_path.iterdir()) == []
