"""Per-client token buckets: each client may send `burst` requests at once and `rate` per second.

A client that floods the RPC port would otherwise take the event loop from consensus. Buckets are
kept for at most CLIENTS_MAX clients (least recently seen forgotten first), so a spray of source
addresses cannot grow memory without bound; a forgotten client starts again with a full bucket.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

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
