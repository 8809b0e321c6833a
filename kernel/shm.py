"""SharedMemoryCache: the kernel module's table layout in a file under /dev/shm (POSIX shared
memory), written by the node and mapped read-only by any other process.

Why a file in /dev/shm and not multiprocessing.shared_memory: on Python 3.11 every process that
attaches a SharedMemory registers it with its resource tracker, which unlinks it when that process
exits: a reader would delete the node's table. A named file has plain lifetime rules: the node
creates it, readers map it, the node removes it when it stops.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from pathlib import Path

from kernel.abi import ABI_VERSION, MAX_SLOTS, TABLE_BYTES, TABLE_HEADER, TABLE_MAGIC
from kernel.cache import Balance, BalanceCacheError
from kernel.shared import SharedTableCache
from kernel.table import SlotDirectory, TableReader, TableWriter, init_table


class SharedMemoryCache(SharedTableCache):
    backend = "shm"

    def __init__(self, table_path: Path, directory_path: Path, writer: bool = False) -> None:
        self.table_path = table_path
        if writer:
            fd = os.open(table_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise BalanceCacheError(f"{table_path} is written by another process") from None
            os.ftruncate(fd, TABLE_BYTES)
            self._map = mmap.mmap(fd, TABLE_BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            view = memoryview(self._map)
            header = TABLE_HEADER.unpack(view)
            if (header["magic"], header["abi_version"], header["max_slots"]) != (TABLE_MAGIC, ABI_VERSION, MAX_SLOTS):
                init_table(view, MAX_SLOTS, ABI_VERSION)
            reader: TableReader = TableWriter(view)
        else:
            try:
                fd = os.open(table_path, os.O_RDONLY)
            except FileNotFoundError:
                raise BalanceCacheError(f"no shared balance table at {table_path}: is the node running?") from None
            if os.fstat(fd).st_size < TABLE_BYTES:
                os.close(fd)
                raise BalanceCacheError(f"{table_path} is shorter than a balance table")
            self._map = mmap.mmap(fd, TABLE_BYTES, mmap.MAP_SHARED, mmap.PROT_READ)
            reader = TableReader(memoryview(self._map))
        self._fd = fd
        super().__init__(reader, SlotDirectory(directory_path), writer)

    @property
    def _writer(self) -> TableWriter:
        assert isinstance(self.table, TableWriter)
        return self.table

    def _reset(self) -> int:
        table = self._writer
        table.begin()
        table.set_count(0)
        epoch = table.bump_epoch()
        table.end()
        return epoch

    def _apply(self, existing: list[tuple[int, Balance]], created: list[tuple[int, Balance]]) -> None:
        table = self._writer
        table.begin()
        for slot, balance in existing:
            table.write_slot(slot, balance.posted, balance.available)
        for slot, balance in created:
            table.write_slot(slot, balance.posted, balance.available)
        if created:
            table.set_count(created[-1][0] + 1)
        table.end()

    def close(self) -> None:
        view = self.table.buffer
        view.release()
        self._map.close()
        os.close(self._fd)

    def remove(self) -> None:
        """The node's stop: close and unlink the table so a stale one is never read."""
        self.close()
        self.table_path.unlink(missing_ok=True)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "table": str(self.table_path)}
