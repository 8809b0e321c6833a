"""A flood of garbage from one peer and from one RPC client: four validators keep committing,
the garbage is dropped and counted, and the chains stay identical (issue 9 item 7)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace

from support.cluster import start_network

from genesis.builder import GENESIS_FILE
from genesis.schema import load_genesis
from node.metrics import NodeMetrics
from node.p2p.network import NodeNetwork, load_p2p_config

FLOOD_SECONDS = 12


def flood_peers(home, address: str, stop: threading.Event, sent: list[int]) -> None:
    """Connect with validator-3's own identity (its process is dead) and send random frames."""

    async def run() -> None:
        config = load_p2p_config(home)
        network = NodeNetwork(load_genesis(home / GENESIS_FILE), home, address, replace(config, port=0), NodeMetrics())

        async def ignore(peer: str, message: object) -> None:
            return None

        await network.start(ignore)
        for peer in config.peers:  # reach all three, whatever the dialling rule (they dial a dead port)
            if peer.address not in network._dialled:
                network.transport.connect(peer.address, peer.host, peer.port)
        deadline = time.monotonic() + 5
        while len(network.transport.writers) < len(config.peers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        rng = random.Random(7)
        try:
            while not stop.is_set():
                for peer in network.others:
                    network.send(peer, os.urandom(rng.randint(1, 4096)))
                    sent[0] += 1
                await asyncio.sleep(0.001)
        finally:
            await network.close()

    asyncio.run(run())


def flood_rpc(url: str, stop: threading.Event, answers: dict[int, int]) -> None:
    too_long_batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(5000)])
    bodies = [b"{", b"[" * 100 + b"]" * 100, b'{"jsonrpc":"2.0","id":1,"method":"nope"}', os.urandom(512),
              too_long_batch.encode()]  # fmt: skip
    while not stop.is_set():
        for body in bodies:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    status = reply.status
            except urllib.error.HTTPError as refused:
                status = refused.code
            except OSError:
                status = 0
            answers[status] = answers.get(status, 0) + 1


def dropped_malformed(url: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith('qenex_consensus_messages_dropped_total{reason="malformed"}'):
                return float(line.split()[-1])
    return 0.0


def test_garbage_from_one_peer_and_one_rpc_client_does_not_stop_the_chain(tmp_path):
    network = start_network(tmp_path)
    try:
        network.wait_receipts(network.send(4, via=[0, 1, 2]), 0)
        flooder_address = network.address(3)
        network.kill(3)
        stop, sent, answers = threading.Event(), [0], {}
        threads = [
            threading.Thread(target=flood_peers, args=(network.nodes[3].home, flooder_address, stop, sent)),
            threading.Thread(target=flood_rpc, args=(network.nodes[1].rpc_url, stop, answers)),
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            hashes = network.send(30, via=[0, 1, 2])
            network.wait_receipts(hashes, 2, timeout=60)
        finally:
            time.sleep(max(0.0, FLOOD_SECONDS - (time.monotonic() - started)))
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert sent[0] > 100, "the flood did not run"
        assert sum(answers.values()) > 20 and all(status in (200, 400, 413, 429) for status in answers), answers
        assert sum(dropped_malformed(network.nodes[i].rpc_url) for i in range(3)) > 0
        network.wait_receipts(network.send(3, via=[0, 1, 2]), 0)  # still committing after the flood
        # the flooder reaches the validators it dials (which ones depends on the addresses)
        lines = [(network.nodes[i].home / "node.log").read_text().count("peer_message_malformed") for i in range(3)]
        assert sum(lines) >= 1 and max(lines) <= FLOOD_SECONDS // 5 + 2, f"garbage is counted, not logged: {lines}"
        network.assert_consistent()
    finally:
        network.stop()
