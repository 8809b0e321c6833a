"""The seqlocked balance table (the layout of kernel/qenex_ioctl.h) and its slot directory.

Both shared backends use the same bytes: the kernel module's table mapped from /dev/qenex_banking,
or a file in /dev/shm written by the node. A writer makes the header's `seq` odd, changes slots,
and makes it even again; a reader copies what it needs between two reads of `seq` and retries
unless both are the same even value, so it never sees a block's changes half-applied.

Memory ordering: Python issues no fences. On x86-64 (TSO) stores are seen in program order and
loads are not reordered with older loads, which is what the protocol needs; the kernel writer
adds its own smp_wmb(). On weakly ordered CPUs the shared-memory backend would need fences; the
selector (kernel/select.py) uses it only on x86-64.

The directory maps account ids to slot numbers. It is a text file the writer appends a line to
*before* the slot exists, headed by the table's epoch; a reader reloads it when the header counts
more slots than it knows or the epoch changed (the node restarted and reset the table).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

from kernel.abi import COUNT_OFFSET, EPOCH_OFFSET, HEADER_BYTES, SEQ_OFFSET, SLOT, TABLE_HEADER, TABLE_MAGIC

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_BALANCE = struct.Struct("<qq")  # posted, available: the first two members of struct qenex_slot
assert SLOT.fields[:2] == ("posted", "available") and SLOT.offsets[:2] == (0, 8)
SLOT_BYTES = SLOT.size
READ_RETRIES_MAX = 100_000  # a writer holds the counter odd for microseconds; this bounds a stuck one


class TornReadError(RuntimeError):
    """The sequence counter never settled: a writer died mid-change or the table is corrupt."""


class TableReader:
    """Consistent reads of a mapped table (bytes-like, at least header + slots long)."""

    def __init__(self, buffer: memoryview) -> None:
        self.buffer = buffer
        header = TABLE_HEADER.unpack(buffer)
        if header["magic"] != TABLE_MAGIC:
            raise ValueError(f"balance table magic {header['magic']:#x} is not {TABLE_MAGIC:#x}")
        self.max_slots = header["max_slots"]

    def seq(self) -> int:
        return _U64.unpack_from(self.buffer, SEQ_OFFSET)[0]

    def state(self) -> tuple[int, int]:
        """(epoch, slot_count) as one consistent pair."""
        return self.read(lambda buf: (_U64.unpack_from(buf, EPOCH_OFFSET)[0], _U32.unpack_from(buf, COUNT_OFFSET)[0]))

    def read_slots(self, slots: Sequence[int], epoch: int | None = None) -> list[tuple[int, int]] | None:
        """(posted, available) of each slot, consistently; None if the epoch is not `epoch`."""
        unpack = _BALANCE.unpack_from

        def copy(buf: memoryview) -> list[tuple[int, int]] | None:
            if epoch is not None and _U64.unpack_from(buf, EPOCH_OFFSET)[0] != epoch:
                return None
            return [unpack(buf, HEADER_BYTES + slot * SLOT_BYTES) for slot in slots]

        return self.read(copy)

    def read(self, copy):  # noqa: ANN001, ANN201 - copy: buffer -> T, returns T
        buf = self.buffer
        seq_at = _U64.unpack_from
        for _ in range(READ_RETRIES_MAX):
            before = seq_at(buf, SEQ_OFFSET)[0]
            if before & 1:
                os.sched_yield()
                continue
            value = copy(buf)
            if seq_at(buf, SEQ_OFFSET)[0] == before:
                return value
        raise TornReadError(f"the balance table's sequence counter did not settle in {READ_RETRIES_MAX} tries")


class TableWriter(TableReader):
    """The shared-memory backend's writer: the same protocol as the module's ioctls."""

    def begin(self) -> None:
        seq = self.seq()
        assert seq % 2 == 0, "a table change is already in progress"
        _U64.pack_into(self.buffer, SEQ_OFFSET, seq + 1)

    def end(self) -> None:
        seq = self.seq()
        assert seq % 2 == 1, "end() without begin()"
        _U64.pack_into(self.buffer, SEQ_OFFSET, seq + 1)

    def write_slot(self, slot: int, posted: int, available: int) -> None:
        _BALANCE.pack_into(self.buffer, HEADER_BYTES + slot * SLOT_BYTES, posted, available)

    def set_count(self, count: int) -> None:
        _U32.pack_into(self.buffer, COUNT_OFFSET, count)

    def bump_epoch(self) -> int:
        epoch = _U64.unpack_from(self.buffer, EPOCH_OFFSET)[0] + 1
        _U64.pack_into(self.buffer, EPOCH_OFFSET, epoch)
        return epoch


def init_table(buffer: memoryview, max_slots: int, abi_version: int) -> None:
    """Write a fresh header (epoch 1, no slots) into a zeroed shared-memory table."""
    buffer[:HEADER_BYTES] = TABLE_HEADER.pack(
        magic=TABLE_MAGIC, abi_version=abi_version, max_slots=max_slots, slot_count=0, seq=0, epoch=1
    )


class SlotDirectory:
    """Account id -> slot, as a file shared by the writer and every reader."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.slots: dict[str, int] = {}
        self.epoch = 0

    # writer side
    def reset(self, epoch: int) -> None:
        """A fresh directory for a new epoch, replaced atomically so readers see old or new."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"epoch\t{epoch}\n")
        os.replace(temporary, self.path)
        self.slots, self.epoch = {}, epoch

    def append(self, keys: Sequence[str]) -> list[int]:
        """Give each new key the next slot and record it; the caller creates the slots after."""
        first = len(self.slots)
        with self.path.open("a") as out:
            out.write("".join(f"{first + i}\t{key}\n" for i, key in enumerate(keys)))
        for i, key in enumerate(keys):
            self.slots[key] = first + i
        return [first + i for i in range(len(keys))]

    # reader side
    def reload(self) -> None:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            self.slots, self.epoch = {}, 0
            return
        if not lines or not lines[0].startswith("epoch\t"):
            self.slots, self.epoch = {}, 0
            return
        slots = {}
        for line in lines[1:]:
            number, _, key = line.partition("\t")
            if key and number.isdigit():
                slots[key] = int(number)
        self.slots, self.epoch = slots, int(lines[0].split("\t")[1])
