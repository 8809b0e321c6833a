"""Per-client token buckets: each client may send `burst` requests at once and `rate` per second.

A client that floods the RPC port would otherwise take the event loop from consensus. Buckets are
kept for at most CLIENTS_MAX clients (least recently seen forgotten first), so a spray of source
addresses cannot grow memory without bound; a forgotten client starts again with a full bucket.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

CLIENTS_MAX = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, clients_max: int = CLIENTS_MAX) -> None:
        assert rate_per_s > 0 and burst >= 1 and clients_max >= 1
        self.rate = rate_per_s
        self.burst = burst
        self.clients_max = clients_max
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str, now: float, cost: float = 1.0) -> float:
        """0.0 if the request may go ahead (tokens taken), else the seconds until it could."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[client] = bucket
            if len(self._buckets) > self.clients_max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        assert 0.0 <= bucket.tokens <= self.burst
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds (RFC 9110); round up so a client that waits succeeds."""
    return str(max(1, math.ceil(seconds)))


SLOT = struct.Struct("<16sdd")  # client digest, tokens, last update (CLOCK_MONOTONIC: one clock per machine)
SLOTS_DEFAULT = 65_536
PROBES = 8
_EMPTY = bytes(16)


class SharedRateLimiter:
    """The same token buckets, shared by the node and its RPC workers through one mapped file.

    Why shared: with `rpc.workers` a client's connections land on whichever process accepted them,
    so per-process buckets would let it send (workers + 1) times the limit. The table is a fixed
    array of slots (open addressing over PROBES slots, the least recently updated evicted when all
    are taken), so its size is bounded whatever the number of source addresses; a flock around
    each update keeps processes from interleaving read-modify-write.
    """

    def __init__(self, path: Path, rate_per_s: float, burst: int, slots: int = SLOTS_DEFAULT) -> None:
        assert rate_per_s > 0 and burst >= 1 and slots >= PROBES
        self.rate = rate_per_s
        self.burst = burst
        self.slots = slots
        size = slots * SLOT.size
        if not path.exists() or path.stat().st_size != size:
            raise FileNotFoundError(f"{path}: no rate-limit table of {slots} slots; the node creates it at start")
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), size)

    @staticmethod
    def create(path: Path, slots: int = SLOTS_DEFAULT) -> Path:
        """A zeroed table (every bucket full): called by the node before its workers start."""
        with path.open("wb") as table:
            table.truncate(slots * SLOT.size)
        os.chmod(path, 0o600)
        return path

    def _slot(self, digest: bytes, now: float) -> tuple[int, float, float]:
        start = int.from_bytes(digest[:8], "little")
        oldest, oldest_at = -1, math.inf
        for probe in range(PROBES):
            index = (start + probe) % self.slots
            key, tokens, updated = SLOT.unpack_from(self._map, index * SLOT.size)
            if key == digest:
                return index, tokens, updated
            if key == _EMPTY:
                return index, float(self.burst), now
            if updated < oldest_at:
                oldest, oldest_at = index, updated
        return oldest, float(self.burst), now  # evicted: that client starts again with a full bucket

    def take(self, client: str, now: float, cost: float = 1.0) -> float:
        """0.0 if the request may go ahead (tokens taken), else the seconds until it could."""
        digest = hashlib.blake2b(client.encode(), digest_size=16).digest()
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            index, tokens, updated = self._slot(digest, now)
            tokens = min(float(self.burst), tokens + max(0.0, now - updated) * self.rate)
            assert 0.0 <= tokens <= self.burst
            wait_s = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait_s = (cost - tokens) / self.rate
            SLOT.pack_into(self._map, index * SLOT.size, digest, tokens, now)
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        return wait_s

    def close(self) -> None:
        self._map.close()
        self._file.close()
