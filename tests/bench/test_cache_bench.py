"""Smoke test of `qenex bench cache`: a short run end to end (LevelDB, each backend here, shared
memory from other processes, a node with 0/1/2 RPC workers). No timing thresholds: the figures
must exist and be positive, and the bench itself fails if any backend returns a wrong balance."""

from __future__ import annotations

import json

import pytest
from support.nodes import run_cli

from bench.cache_bench import measure_rpc, run_bench

pytestmark = pytest.mark.slow


def test_short_run_measures_every_backend_against_leveldb():
    result = run_bench(accounts=300, seconds=0.2, processes=2, rpc=False)
    names = [f.name for f in result.single]
    assert names[0] == "leveldb (anchor)" and "memory" in names and "shm" in names
    assert result.single[0].ratio_to_leveldb == 1.0
    for figure in result.single:
        assert figure.reads_per_s > 0 and figure.p99_us > 0
        assert figure.ratio_to_leveldb == pytest.approx(figure.reads_per_s / result.single[0].reads_per_s)
    assert result.multi_process["shm_1_processes_reads_per_s"] > 0
    assert result.multi_process["shm_2_processes_reads_per_s"] > 0


def test_cli_prints_one_json_object():
    done = run_cli("bench", "cache", "--accounts", "200", "--seconds", "0.2", "--no-rpc", "--json", timeout=240)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["single"][0]["name"] == "leveldb (anchor)"
    assert result["rpc"] == {}


def test_rpc_figure_through_two_workers():
    assert measure_rpc(2, 0.3, clients=1) > 0
