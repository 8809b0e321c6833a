"""Batch signature recovery in worker processes gives the same senders admission would."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.nodes import signed_transfer

from genesis.builder import init_dev_home
from node.service import Node, NodeConfig
from node.sigpool import BACKGROUND_CHUNK, MIN_BATCH_FOR_POOL, SignaturePool, default_workers


def test_pool_recovers_senders_and_skips_bad_transactions(tmp_path):
    listing = init_dev_home(tmp_path / "h", accounts=2)
    raws = [signed_transfer(listing, i % 2, 1 - i % 2, 1, i // 2, i + 1) for i in range(MIN_BATCH_FOR_POOL + 4)]
    tampered = bytearray(raws[0])
    tampered[-40] ^= 0xFF  # inside s: a different signature, a different (or no) signer
    garbage = b"\x51\x00"

    async def scenario() -> tuple[list, str | None, str | None]:
        pool = SignaturePool(workers=2)
        try:
            await pool.warm_up()
            await pool.recover([*raws, bytes(tampered), garbage])
            return [pool.claim(r) for r in raws], pool.claim(bytes(tampered)), pool.claim(garbage)
        finally:
            pool.close()

    senders, tampered_sender, garbage_sender = asyncio.run(scenario())
    assert senders == [listing[i % 2]["address"] for i in range(len(raws))]
    assert tampered_sender != listing[0]["address"]
    assert garbage_sender is None


def test_admission_through_the_pool_matches_admission_without_it(tmp_path):
    listing = init_dev_home(tmp_path / "h", accounts=2)
    raws = [signed_transfer(listing, 0, 1, 1, n, n + 1) for n in range(MIN_BATCH_FOR_POOL)]
    batch = [
        {"jsonrpc": "2.0", "id": n, "method": "eth_sendRawTransaction", "params": ["0x" + r.hex()]}
        for n, r in enumerate(raws)
    ]

    async def scenario() -> list:
        node = Node(NodeConfig(tmp_path / "h", verify_workers=1))
        try:
            await node.prepare_rpc(batch)
            admitted = [node.admit(r) for r in raws]
            node.produce()
            return [(a.sender, node.chain.locate_transaction(a.hash) is not None) for a in admitted]
        finally:
            node.close()

    assert asyncio.run(scenario()) == [(listing[0]["address"], True)] * len(raws)


def test_signature_workers_die_with_a_killed_node(tmp_path):
    """SIGKILL leaves the node no time to shut its pool down: the workers must not stay behind."""
    import signal
    import subprocess
    import time

    from support.nodes import make_home, start_node

    home, _ = make_home(tmp_path)
    node = start_node(home)
    deadline = time.monotonic() + 30
    workers: list[str] = []
    while not workers and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-P", str(node.process.pid)], capture_output=True, text=True)
        workers = found.stdout.split()
        time.sleep(0.2)
    assert workers, "the node started no signature worker (needs a spare core)"
    node.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)]
        time.sleep(0.1)
    assert alive == []


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_background_recovery_goes_in_chunks_and_recovers_every_sender(tmp_path):
    """Gossip is recovered one BACKGROUND_CHUNK at a time, so urgent work waits behind at most one
    chunk; the senders are the same."""
    listing = init_dev_home(tmp_path / "h", accounts=2)
    count = BACKGROUND_CHUNK * 2 + 3
    raws = [signed_transfer(listing, i % 2, 1 - i % 2, 1, i // 2, i + 1) for i in range(count)]
    submitted: list[int] = []

    async def scenario() -> list[str | None]:
        pool = SignaturePool(workers=1)
        loop = asyncio.get_running_loop()
        original = loop.run_in_executor

        def spy(executor, function, *args):  # type: ignore[no-untyped-def]
            submitted.append(len(args[0]))
            return original(executor, function, *args)

        loop.run_in_executor = spy  # type: ignore[method-assign]
        try:
            await pool.recover(raws, background=True)
            return [pool.claim(r) for r in raws]
        finally:
            loop.run_in_executor = original  # type: ignore[method-assign]
            pool.close()

    senders = asyncio.run(scenario())
    assert senders == [listing[i % 2]["address"] for i in range(count)]
    assert submitted == [BACKGROUND_CHUNK, BACKGROUND_CHUNK, 3]


def test_workers_share_out_the_cores_beyond_one_per_node(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_workers() == 1  # one node on two cores: the second core recovers
    assert default_workers(4) == 0  # four nodes on two cores: every core already has two loops
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_workers(4) == 3
    assert default_workers(1) == 4  # at most four: more only adds pickling and pipes
