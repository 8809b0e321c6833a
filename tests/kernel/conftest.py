import os
from pathlib import Path

import pytest

from kernel.abi import DEVICE_PATH
from kernel.cache import InProcessCache
from kernel.shm import SharedMemoryCache

BACKENDS = ["memory", "shm", "kernel"]


def kernel_unusable() -> str | None:
    if not os.path.exists(DEVICE_PATH):
        return f"{DEVICE_PATH} does not exist here (the module runs in the VM test: tests/kernel/test_vm.py)"
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
