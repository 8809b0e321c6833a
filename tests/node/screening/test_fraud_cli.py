"""`qenex fraud train|eval` and `qenex genesis init --screening-model` as a user runs them."""

from __future__ import annotations

import json

import pytest
from support.nodes import run_cli

from node.screening.model import model_hash

from .conftest import ULB

EVAL_KEYS = {
    "pr_auc",
    "roc_auc",
    "precision",
    "recall",
    "f1",
    "fpr",
    "card_precision_at_100",
    "scored",
    "latency_ms_p50",
    "latency_ms_p99",
}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_train_then_eval_on_a_handbook_slice(tmp_path, handbook_slice):
    data = handbook_slice
    trained = run_cli("fraud", "train", "--data", str(data), "--out", str(tmp_path / "model"), timeout=600)
    assert trained.returncode == 0, trained.stderr
    assert "tx/s" in trained.stderr or "tx [" in trained.stderr  # the progress bar
    digest = model_hash(tmp_path / "model")
    assert f"sha256: {digest}" in trained.stdout
    evaluated = run_cli(
        "fraud", "eval", "--model", str(tmp_path / "model"), "--data", str(data), "--since", "2018-07-25", "--json"
    )
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert set(result) >= EVAL_KEYS
    assert result["scored"] > 0 and 0 <= result["pr_auc"] <= 1 and result["latency_ms_p99"] > 0
    assert result["model_sha256"] == digest

    home = tmp_path / "home"
    init = run_cli("genesis", "init", "--dev", "--home", str(home), "--screening-model", str(tmp_path / "model"))
    assert init.returncode == 0, init.stderr
    assert json.loads((home / "genesis.json").read_text())["screening"]["model_sha256"] == digest


@pytest.mark.slow
def test_ulb_format_trains_the_classifier_alone(tmp_path):
    if not ULB.exists():
        pytest.skip(f"{ULB} is not there")
    trained = run_cli("fraud", "train", "--format", "ulb", "--data", str(ULB), "--out", str(tmp_path / "m"))
    assert trained.returncode == 0, trained.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["feature_set"] == "ulb" and manifest["features"][-1] == "Amount"
    assert "Time" not in manifest["features"] and "Class" not in manifest["features"]
    evaluated = run_cli(
        "fraud", "eval", "--format", "ulb", "--model", str(tmp_path / "m"), "--data", str(ULB), "--json"
    )
    result = json.loads(evaluated.stdout)
    assert result["card_precision_at_100"] is None and result["scored"] == 914
    wrong = run_cli("fraud", "eval", "--model", str(tmp_path / "m"), "--data", str(ULB), "--json")
    assert wrong.returncode == 1 and "feature set" in wrong.stderr


def test_a_malformed_file_is_refused_with_row_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n0,2018-04-01 00:00:31,1,2,abc,0\n"
    )
    result = run_cli("fraud", "train", "--data", str(bad), "--out", str(tmp_path / "m"))
    assert result.returncode == 1 and "row 2, column TX_AMOUNT" in result.stderr


@pytest.mark.slow
def test_bench_reports_each_block_size_beside_the_anchor(small_model):
    result = run_cli(
        "fraud", "bench", "--model", str(small_model), "--repeats", "3", "--block-sizes", "1,20",
        "--warm-days", "1", "--accounts", "50", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["anchor_recovery_us"] > 0
    assert [r["block_size"] for r in figures["results"]] == [1, 20]
    assert all(r["block_ms_p99"] >= r["block_ms_p50"] > 0 for r in figures["results"])


def test_qenex_starts_without_importing_scikit_learn():
    """Every node process parses this CLI: the fraud commands import their libraries only when run."""
    import subprocess
    import sys

    code = "import sys, node.cli, node.service; print(sorted({'sklearn', 'skops', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
