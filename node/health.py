"""/health and /ready for load balancers and Kubernetes probes, and the metrics they rest on.

/health answers "is the process alive and serving" (liveness: restart me if not). /ready answers
"should traffic and votes count on me" (readiness): synced with its peers, connected to enough
peers to help form a quorum, and still committing blocks while there is work. Each check is
reported with the figures it used, so an operator sees why a node is out of rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import Gauge, Histogram

from node.metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from node.service import Node

MAX_BLOCKS_BEHIND = 2  # a peer further ahead than this means we are still syncing
STALL_INTERVALS = 10  # no block for this many intervals while transactions wait: stalled
MIN_STALL_SECONDS = 2.0  # short intervals still give rounds with timeouts room to finish
STARTED: web.AppKey[asyncio.Task] = web.AppKey("health_sampler", asyncio.Task)


def peers_needed(powers: list[int], is_validator: bool, has_peers: bool) -> int:
    """Peers a node needs: for a validator, the other members of the smallest quorum (the fewest
    validators holding more than 2/3 of the power, minus itself); for a full node, one."""
    if not has_peers:
        return 0  # a one-validator chain decides alone
    if not is_validator:
        return 1
    total, held, members = sum(powers), 0, 0
    for power in sorted(powers, reverse=True):
        held += power
        members += 1
        if 3 * held > 2 * total:
            break
    return members - 1


@dataclass
class Check:
    ok: bool
    detail: dict

    def to_json(self) -> dict:
        return {"ok": self.ok, **self.detail}


class Readiness:
    """Tracks progress between probes: a stall is a height that has not moved while work waits."""

    def __init__(self, node: Node, stall_intervals: int = STALL_INTERVALS) -> None:
        self.node = node
        interval_s = node.genesis.block.interval_ms / 1000
        self.stall_limit_s = max(stall_intervals * interval_s, MIN_STALL_SECONDS)
        self.sample_every_s = max(interval_s / 2, 0.05)
        self._height = node.chain.height
        self._stalled_since: float | None = None
        self.started_at = time.monotonic()

    def sample(self) -> None:
        """Note whether the chain moved since the last sample while transactions were waiting."""
        height = self.node.chain.height
        waiting = len(self.node.mempool) > 0 or self.node.genesis.block.empty_blocks
        if height != self._height or not waiting:
            self._stalled_since = None
        elif self._stalled_since is None:
            self._stalled_since = time.monotonic()
        self._height = height

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.sample_every_s)

    def stalled_seconds(self) -> float:
        return 0.0 if self._stalled_since is None else time.monotonic() - self._stalled_since

    def checks(self) -> dict[str, Check]:
        node, driver = self.node, self.node.consensus
        head = node.chain.height
        peer_heads = dict(driver.peer_heads) if driver is not None else {}
        best = max(peer_heads.values(), default=head)
        peers = driver.peer_count() if driver is not None else 0
        is_validator = bool(driver.is_validator) if driver is not None else True
        has_peers = driver is not None and driver.network is not None
        powers = list(node.chain.validators_at(head + 1).powers.values())  # the set deciding the next block
        needed = peers_needed(powers, is_validator, has_peers)
        stalled = self.stalled_seconds()
        return {
            "synced": Check(
                best - head <= MAX_BLOCKS_BEHIND,
                {"height": head, "bestPeerHeight": best, "maxBehind": MAX_BLOCKS_BEHIND},
            ),
            "peers": Check(peers >= needed, {"connected": peers, "needed": needed, "validator": is_validator}),
            "committing": Check(
                stalled <= self.stall_limit_s,
                {
                    "waitingTransactions": len(node.mempool),
                    "stalledSeconds": round(stalled, 3),
                    "limitSeconds": self.stall_limit_s,
                },
            ),
        }

    def ready(self) -> bool:
        return all(check.ok for check in self.checks().values())


def install(app: web.Application, node: Node) -> Readiness:
    """Add /health and /ready to the node's app, the sampler task, and their metrics."""
    readiness = Readiness(node)
    registry = node.metrics.registry
    Gauge(
        "qenex_node_ready", "1 when /ready passes (synced, peers, committing), else 0", registry=registry
    ).set_function(lambda: 1.0 if readiness.ready() else 0.0)
    Gauge(
        "qenex_stalled_seconds", "Seconds the height has not moved while transactions wait", registry=registry
    ).set_function(readiness.stalled_seconds)
    write_batch = Histogram(
        "qenex_leveldb_write_batch_seconds",
        "Time to write one block's LevelDB batch (ledger state, block, receipts; synced)",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    node.chain.on_write_batch = write_batch.observe

    async def health(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ok",
                "height": node.chain.height,
                "chainId": node.genesis.chain_id,
                "uptimeSeconds": round(time.monotonic() - readiness.started_at, 3),
            }
        )

    async def ready(request: web.Request) -> web.Response:
        checks = readiness.checks()
        ok = all(c.ok for c in checks.values())
        body = {"ready": ok, "checks": {name: c.to_json() for name, c in checks.items()}}
        return web.json_response(body, status=200 if ok else 503)

    async def start_sampler(app: web.Application) -> None:
        app[STARTED] = asyncio.create_task(readiness.run())

    async def stop_sampler(app: web.Application) -> None:
        task = app.get(STARTED)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.on_startup.append(start_sampler)
    app.on_cleanup.append(stop_sampler)
    return readiness
