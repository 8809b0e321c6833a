"""What the two shared backends have in common: reads of the seqlocked table through the slot
directory, and the order of a write (check everything, record new keys, then change the table).

Subclasses say how the table is changed: SharedMemoryCache writes the mapped file itself,
KernelDeviceCache asks the module through ioctls.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence

from kernel.cache import Balance, BalanceCache, ReadOnlyCacheError, check_writes
from kernel.table import SlotDirectory, TableReader


class SharedTableCache(BalanceCache):
    def __init__(self, reader: TableReader, directory: SlotDirectory, writer: bool) -> None:
        self.table = reader
        self.directory = directory
        self.writer = writer
        self.capacity = reader.max_slots
        if writer:
            self._adopt()

    def _adopt(self) -> None:
        """A writer takes over the table as left (offline verify); an inconsistent one is emptied."""
        epoch, count = self.table.state()
        self.directory.reload()
        slots = self.directory.slots
        if self.directory.epoch != epoch or sorted(slots.values()) != list(range(count)):
            self.directory.reset(self._reset())

    # --- writes (the node) ------------------------------------------------------------------

    def _require_writer(self) -> None:
        if not self.writer:
            raise ReadOnlyCacheError(f"this {self.backend} cache was opened read-only; only the node writes")

    def load(self, balances: Mapping[str, Balance]) -> None:
        self._require_writer()
        check_writes(balances, (), self.capacity)
        epoch = self._reset()
        self.directory.reset(epoch)
        self._write(balances)

    def update(self, changes: Mapping[str, Balance]) -> None:
        self._require_writer()
        check_writes(changes, self.directory.slots, self.capacity)
        if changes:
            self._write(changes)

    def _write(self, changes: Mapping[str, Balance]) -> None:
        new_keys = [key for key in changes if key not in self.directory.slots]
        first_new = len(self.directory.slots)
        # Recorded before the slots exist: a reader trusts directory lines below the slot count.
        self.directory.append(new_keys)
        existing = [(self.directory.slots[key], balance) for key, balance in changes.items() if key not in new_keys]
        created = [(self.directory.slots[key], changes[key]) for key in new_keys]
        assert all(slot >= first_new for slot, _ in created)
        self._apply(existing, created)

    @abstractmethod
    def _reset(self) -> int:
        """Empty the table; return its new epoch."""

    @abstractmethod
    def _apply(self, existing: list[tuple[int, Balance]], created: list[tuple[int, Balance]]) -> None:
        """Set existing slots and create new ones (numbered on from the slot count)."""

    # --- reads (anyone) ---------------------------------------------------------------------

    def _fresh_directory(self) -> None:
        """Reload the directory if the table has moved past it; keep only complete entries."""
        epoch, count = self.table.state()
        if epoch == self.directory.epoch and count == len(self.directory.slots):
            return
        if self.writer:
            return  # the writer's directory is the source of the file
        self.directory.reload()
        if self.directory.epoch != epoch:
            self.directory.slots = {}
            return
        self.directory.slots = {key: slot for key, slot in self.directory.slots.items() if slot < count}

    def get_many(self, keys: Sequence[str]) -> list[Balance | None]:
        for _ in range(3):
            self._fresh_directory()
            slots = self.directory.slots
            wanted = [slots.get(key) for key in keys]
            values = self.table.read_slots([slot for slot in wanted if slot is not None], self.directory.epoch)
            if values is not None:
                found = iter(values)
                return [None if slot is None else Balance(*next(found)) for slot in wanted]
            self.directory.epoch = -1  # the table was reset between our look at it and the read
        return [None] * len(keys)

    def snapshot(self) -> dict[str, Balance]:
        self._fresh_directory()
        keys = list(self.directory.slots)
        return {key: balance for key, balance in zip(keys, self.get_many(keys), strict=True) if balance is not None}

    def describe(self) -> dict[str, object]:
        epoch, count = self.table.state()
        return {**super().describe(), "epoch": epoch, "slots_used": count, "writer": self.writer}
