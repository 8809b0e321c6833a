"""The selector picks the best usable backend, says why, honours a forced choice or refuses it
with the reason, and `qenex doctor` reports the same choice."""

import json

import pytest
from support.nodes import run_cli

from kernel.cache import BalanceCacheError, InProcessCache
from kernel.selector import CachePaths, choose, open_reader, open_writer
from kernel.shm import SharedMemoryCache

MISSING_DEVICE = "/nonexistent/qenex_banking"


def test_without_the_device_auto_takes_shared_memory_and_says_why(tmp_path):
    choice = choose(tmp_path, "auto", MISSING_DEVICE)
    assert choice.backend == "shm"
    assert "does not exist" in choice.reason
    assert [c.backend for c in choice.candidates] == ["kernel", "shm", "memory"]
    assert [c.usable for c in choice.candidates] == [False, True, True]


def test_forcing_an_unusable_backend_is_an_error_naming_why(tmp_path):
    with pytest.raises(BalanceCacheError, match=r"kernel was asked for but is unusable: .*does not exist"):
        choose(tmp_path, "kernel", MISSING_DEVICE)
    with pytest.raises(ValueError, match="not one of"):
        choose(tmp_path, "redis")
    assert choose(tmp_path, "memory").reason.startswith("forced by configuration")


def test_writer_records_its_choice_for_readers(tmp_path):
    cache, choice = open_writer(tmp_path, "auto", MISSING_DEVICE)
    try:
        assert isinstance(cache, SharedMemoryCache) and choice.backend == "shm"
        assert json.loads(CachePaths.of(tmp_path).choice.read_text())["backend"] == "shm"
        reader = open_reader(tmp_path)
        assert reader.describe()["writer"] is False
        reader.close()
    finally:
        cache.close()
        CachePaths.of(tmp_path).shm_table.unlink()
    memory, _ = open_writer(tmp_path, "memory")
    assert isinstance(memory, InProcessCache)
    with pytest.raises(BalanceCacheError, match="other processes cannot read"):
        open_reader(tmp_path)


def test_doctor_reports_platform_and_cache_choice(tmp_path):
    result = run_cli("doctor", "--json", "--home", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["cpu_cores"] >= 1 and report["memory_bytes"] > 0
    assert report["node_abi"] == 1
    assert report["device_present"] is False or report["device_abi"] is not None
    expected = choose(tmp_path)
    assert report["cache_backend"] == expected.backend
    assert report["cache_reason"] == expected.reason
    text = run_cli("doctor").stdout
    assert "balance cache:" in text and "cpu cores:" in text and "tpm:" in text
