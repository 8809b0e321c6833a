"""One suite, every backend available on this machine: the in-process dict, the shared-memory
table, and the kernel device where /dev/qenex_banking exists (inside the VM test, this file runs
there too: kernel/test/init). Same calls, same results. Self-contained (no conftest) for that."""

import os
from pathlib import Path

import pytest

from kernel.abi import DEVICE_PATH
from kernel.cache import (
    Balance,
    BalanceCacheError,
    BalanceRangeError,
    CacheFullError,
    InProcessCache,
    ReadOnlyCacheError,
)
from kernel.shm import SharedMemoryCache

BACKENDS = ["memory", "shm", "kernel"]


def kernel_unusable() -> str | None:
    if not os.path.exists(DEVICE_PATH):
        return (
            f"{DEVICE_PATH} does not exist here (the VM test runs this suite with the module: tests/kernel/test_vm.py)"
        )
    if not os.access(DEVICE_PATH, os.W_OK):
        return f"{DEVICE_PATH} is not writable by this user"
    return None


class Backend:
    """Opens writer and readers of one backend in a temporary place."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.directory = tmp_path / "slots"
        self.table = tmp_path / "balances.table"
        self.opened = []

    def writer(self):
        if self.name == "memory":
            cache = InProcessCache()
        elif self.name == "shm":
            cache = SharedMemoryCache(self.table, self.directory, writer=True)
        else:
            from kernel.device import KernelDeviceCache

            cache = KernelDeviceCache(self.directory, writer=True)
        self.opened.append(cache)
        return cache

    def reader(self):
        if self.name == "shm":
            cache = SharedMemoryCache(self.table, self.directory, writer=False)
        else:
            from kernel.device import KernelDeviceCache

            cache = KernelDeviceCache(self.directory, writer=False)
        self.opened.append(cache)
        return cache


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "kernel" and (reason := kernel_unusable()):
        pytest.skip(reason)
    opened = Backend(request.param, tmp_path)
    yield opened
    for cache in reversed(opened.opened):
        cache.close()


START = {"DE41370400440000000001": Balance(1000, 900), "GL:BANK:CASH": Balance(-1000, -1000)}


def test_load_then_read(backend):
    cache = backend.writer()
    cache.load(START)
    assert cache.get("DE41370400440000000001") == Balance(1000, 900)
    assert cache.get("unknown") is None
    assert cache.get_many(["GL:BANK:CASH", "nope", "DE41370400440000000001"]) == [
        Balance(-1000, -1000),
        None,
        Balance(1000, 900),
    ]
    assert cache.snapshot() == START


def test_update_changes_and_adds(backend):
    cache = backend.writer()
    cache.load(START)
    cache.update({"GL:BANK:CASH": Balance(-1500, -1500), "GL:BANK:NEW": Balance(500, 500)})
    assert cache.snapshot() == {
        "DE41370400440000000001": Balance(1000, 900),
        "GL:BANK:CASH": Balance(-1500, -1500),
        "GL:BANK:NEW": Balance(500, 500),
    }
    cache.update({})
    assert len(cache.snapshot()) == 3


def test_load_replaces_everything(backend):
    cache = backend.writer()
    cache.load(START)
    cache.load({"GL:BANK:OTHER": Balance(7, 7)})
    assert cache.snapshot() == {"GL:BANK:OTHER": Balance(7, 7)}
    assert cache.get("GL:BANK:CASH") is None


def test_extreme_s64_values_round_trip(backend):
    cache = backend.writer()
    cache.load({"GL:A:MAX": Balance(2**63 - 1, -(2**63))})
    assert cache.get("GL:A:MAX") == Balance(2**63 - 1, -(2**63))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"GL:BANK:CASH": Balance(2**63, 0)}, BalanceRangeError),
        ({"GL:BANK:CASH": Balance(0, -(2**63) - 1)}, BalanceRangeError),
        ({"": Balance(0, 0)}, BalanceCacheError),
        ({"a\tb": Balance(0, 0)}, BalanceCacheError),
        ({"x" * 65: Balance(0, 0)}, BalanceCacheError),
    ],
)
def test_bad_writes_change_nothing(backend, changes, error):
    cache = backend.writer()
    cache.load(START)
    with pytest.raises(error):
        cache.update({"GL:BANK:NEW": Balance(1, 1), **changes})
    assert cache.snapshot() == START
    with pytest.raises(error):
        cache.load(changes)
    assert cache.snapshot() == START


def test_more_accounts_than_slots_is_refused_whole(backend):
    cache = backend.writer()
    cache.load(START)
    too_many = {f"GL:N:{i}": Balance(i, i) for i in range(cache.capacity - 1)}
    with pytest.raises(CacheFullError, match="do not fit"):
        cache.update(too_many)
    assert cache.snapshot() == START


def test_readers_see_the_writer(backend):
    if backend.name == "memory":
        pytest.skip("the in-process cache has no readers in other processes by design")
    writer = backend.writer()
    writer.load(START)
    reader = backend.reader()
    assert reader.snapshot() == START
    writer.update({"GL:BANK:NEW": Balance(3, 3)})
    assert reader.get("GL:BANK:NEW") == Balance(3, 3)
    writer.load({"GL:BANK:CASH": Balance(1, 1)})  # a node restart: new epoch
    assert reader.get("DE41370400440000000001") is None
    assert reader.snapshot() == {"GL:BANK:CASH": Balance(1, 1)}
    with pytest.raises(ReadOnlyCacheError):
        reader.update({"GL:BANK:CASH": Balance(2, 2)})
    assert reader.describe()["writer"] is False


def test_second_writer_is_refused(backend):
    if backend.name == "memory":
        pytest.skip("nothing is shared")
    backend.writer()
    with pytest.raises(BalanceCacheError, match="another"):
        backend.writer()
