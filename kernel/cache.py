"""The balance-cache interface every backend implements, and the in-process backend.

Why a cache at all: balances are read far more often than written, and LevelDB admits one
process. A cache outside the node lets RPC workers and gateways read balances; it is never the
truth (the ledger is): the node fills it from the ledger on start, updates it after each block and
checks it against the ledger (node/balance_cache.py).

Keys are account ids; a value is a Balance of two signed 64-bit minor-unit amounts, the widths of
the kernel module's slots. A write either applies wholly or raises before changing anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from kernel.abi import MAX_SLOTS

S64_MIN, S64_MAX = -(2**63), 2**63 - 1
KEY_BYTES_MAX = 64  # the longest account id (node/rpc/methods.py bounds ids to 64 characters)


class BalanceCacheError(Exception):
    """A cache operation was refused; the cache is unchanged."""


class BalanceRangeError(BalanceCacheError):
    """A balance does not fit the signed 64-bit slot."""


class CacheFullError(BalanceCacheError):
    """More accounts than the backend has slots."""


class ReadOnlyCacheError(BalanceCacheError):
    """A reader (RPC worker, CLI) tried to write; only the node writes."""


@dataclass(frozen=True, slots=True)
class Balance:
    """Posted balance (credits minus debits posted) and available (less pending debits)."""

    posted: int
    available: int


def check_writes(changes: Mapping[str, Balance], known: Iterable[str], capacity: int) -> None:
    """Refuse a write before any of it applies: bad keys, values out of s64, no room left."""
    new = 0
    known_set = known if isinstance(known, set | dict) else set(known)
    for key, balance in changes.items():
        if not isinstance(key, str) or not 0 < len(key.encode()) <= KEY_BYTES_MAX or "\n" in key or "\t" in key:
            raise BalanceCacheError(f"cache key {key!r} must be 1..{KEY_BYTES_MAX} bytes without tabs or newlines")
        for name in ("posted", "available"):
            value = getattr(balance, name)
            if not isinstance(value, int) or not S64_MIN <= value <= S64_MAX:
                raise BalanceRangeError(f"{key}: {name} balance {value!r} does not fit a signed 64-bit slot")
        if key not in known_set:
            new += 1
    if len(known_set) + new > capacity:
        raise CacheFullError(f"{len(known_set) + new} accounts do not fit the cache's {capacity} slots")


class BalanceCache(ABC):
    """Account id -> Balance, shared or not. The node is the one writer."""

    backend: ClassVar[str]
    capacity: int = MAX_SLOTS

    @abstractmethod
    def load(self, balances: Mapping[str, Balance]) -> None:
        """Drop everything held and hold exactly these balances (the node's start)."""

    @abstractmethod
    def update(self, changes: Mapping[str, Balance]) -> None:
        """Set these balances, adding accounts not held yet (after a block)."""

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[Balance | None]:
        """Balances of the keys from one consistent state (None: not held)."""

    @abstractmethod
    def snapshot(self) -> dict[str, Balance]:
        """Everything held, from one consistent state."""

    def get(self, key: str) -> Balance | None:
        return self.get_many([key])[0]

    def close(self) -> None:  # noqa: B027 - backends without resources need nothing
        """Release mappings and descriptors."""

    def describe(self) -> dict[str, object]:
        return {"backend": self.backend, "capacity": self.capacity}

    def __enter__(self) -> BalanceCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessCache(BalanceCache):
    """A dict: the floor when nothing can be shared. Other processes cannot read it."""

    backend = "memory"

    def __init__(self, capacity: int = MAX_SLOTS) -> None:
        self.capacity = capacity
        self._balances: dict[str, Balance] = {}

    def load(self, balances: Mapping[str, Balance]) -> None:
        check_writes(balances, (), self.capacity)
        self._balances = dict(balances)

    def update(self, changes: Mapping[str, Balance]) -> None:
        check_writes(changes, self._balances, self.capacity)
        self._balances.update(changes)

    def get_many(self, keys: Sequence[str]) -> list[Balance | None]:
        return [self._balances.get(key) for key in keys]

    def snapshot(self) -> dict[str, Balance]:
        return dict(self._balances)
