"""Signature recovery for batches of raw transactions in worker processes.

Recovering the signer is the largest stateless cost of admitting a transaction, and the node's
event loop is one core. When a JSON-RPC batch carries many eth_sendRawTransaction calls, the
raw transactions go to a process pool first; admission then finds each sender already
recovered (by the same decode_transaction code, from the same bytes) and spends its own core
on the stateful checks. Singles and small batches skip the pool: the round trip costs more.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

from ledger.tx import InvalidSignatureError, TransactionDecodeError, decode_transaction

MIN_BATCH_FOR_POOL = 16
PRESIGNED_MAX = 200_000
BACKGROUND_CHUNK = 256


def recover_senders(raws: list[bytes]) -> list[str | None]:
    """Worker side: the sender of each raw transaction, or None where it does not decode or verify."""
    senders: list[str | None] = []
    for raw in raws:
        try:
            senders.append(decode_transaction(raw).sender())
        except (TransactionDecodeError, InvalidSignatureError):
            senders.append(None)
    return senders


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _ignore_interrupts() -> None:
    """Workers share the terminal's process group: Ctrl-C is the node's to handle, and the
    node shuts the pool down itself. If the node dies without shutting down (SIGKILL, a
    crash), Linux kills the worker too instead of leaving it orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the node died before prctl took effect
            os._exit(0)


def default_workers(nodes_on_host: int = 1) -> int:
    """Signature processes per node: the cores this host has beyond one per node, shared out.

    A worker only pays off on a core the nodes would otherwise leave idle: recovering in a worker
    costs more CPU in total than in the event loop (the transaction is decoded twice and crosses
    a pipe). Four validators on two cores measured ~1,400 committed transfers/s with no workers
    and ~1,000-1,200/s with one each (docs/benchmarks.md)."""
    assert nodes_on_host >= 1, nodes_on_host
    spare = (os.cpu_count() or 1) - nodes_on_host
    return max(0, min(4, spare // nodes_on_host))


class SignaturePool:
    """A process pool plus the senders it recovered, waiting to be claimed by admission."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = (
            ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
            )
            if workers > 0
            else None
        )
        self._presigned: dict[bytes, str] = {}

    @property
    def enabled(self) -> bool:
        """False with no workers: callers need not even gather what to recover."""
        return self._executor is not None

    async def recover(self, raws: list[bytes], background: bool = False) -> None:
        """Recover the senders of `raws` off the event loop and remember them.

        The pool is first in, first out. `background` work (gossip) goes in one chunk of
        BACKGROUND_CHUNK at a time, so urgent work (a proposal's transactions, a client's batch)
        waits behind at most one such chunk instead of a whole gossip frame of thousands."""
        raws = [raw for raw in raws if raw not in self._presigned]
        if self._executor is None or len(raws) < MIN_BATCH_FOR_POOL:
            return
        loop = asyncio.get_running_loop()
        if background:
            for start in range(0, len(raws), BACKGROUND_CHUNK):
                part = raws[start : start + BACKGROUND_CHUNK]
                self._remember(part, await loop.run_in_executor(self._executor, recover_senders, part))
            return
        chunk = -(-len(raws) // self.workers)
        parts = [raws[i : i + chunk] for i in range(0, len(raws), chunk)]
        results = await asyncio.gather(*(loop.run_in_executor(self._executor, recover_senders, p) for p in parts))
        for part, senders in zip(parts, results, strict=True):
            self._remember(part, senders)

    def _remember(self, raws: list[bytes], senders: list[str | None]) -> None:
        if len(self._presigned) + len(raws) > PRESIGNED_MAX:
            self._presigned.clear()  # bounded: unclaimed entries (rejected early) must not pile up
        for raw, sender in zip(raws, senders, strict=True):
            if sender is not None:
                self._presigned[raw] = sender

    async def warm_up(self) -> None:
        """Start the workers now, not on the first batch (a spawned worker imports for ~1 s)."""
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(self._executor, recover_senders, []) for _ in range(self.workers))
            )

    def claim(self, raw: bytes) -> str | None:
        return self._presigned.pop(raw, None)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
