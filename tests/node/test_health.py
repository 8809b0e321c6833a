"""/health and /ready on real nodes: one validator alone, and four where two are stopped."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from support.cluster import start_network
from support.nodes import signed_transfer, wait_receipt

from node.health import peers_needed


def probe(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def eventually(url: str, wanted, timeout: float = 20) -> tuple[int, dict]:
    """Probe until `wanted(status, body)` holds (connections and heights settle under load)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = probe(url)
        if wanted(status, body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


@pytest.mark.parametrize(
    ("powers", "validator", "has_peers", "needed"),
    [
        ([1, 1, 1, 1], True, True, 2),
        ([1], True, False, 0),
        ([1, 1, 1, 1], False, True, 1),
        ([10, 1, 1, 1], True, True, 0),
        ([1] * 7, True, True, 4),
    ],
)
def test_peers_needed_is_the_rest_of_the_smallest_quorum(powers, validator, has_peers, needed):
    assert peers_needed(powers, validator, has_peers) == needed


def test_a_lone_validator_is_alive_and_ready_and_reports_its_write_batches(running_node):
    node, listing = running_node
    status, body = probe(node.url + "/health")
    assert status == 200 and body["status"] == "ok" and body["height"] == 0
    wait_receipt(
        node.rpc, node.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 5, 0, 1).hex())
    )
    status, body = probe(node.url + "/ready")
    assert status == 200 and body["ready"] is True
    assert body["checks"]["peers"] == {"ok": True, "connected": 0, "needed": 0, "validator": True}
    assert body["checks"]["synced"]["height"] == 1
    assert metric(node.url, "qenex_leveldb_write_batch_seconds_count") == 1
    assert metric(node.url, "qenex_node_ready") == 1


@pytest.mark.slow
def test_two_of_four_validators_down_makes_the_others_unready_and_shows_missed_blocks(tmp_path):
    network = start_network(tmp_path)
    try:
        network.wait_receipts(network.send(4), 0)
        ready = network.nodes[0].rpc_url + "/ready"
        status, body = eventually(ready, lambda status, body: body["checks"]["peers"]["connected"] == 3)
        assert status == 200, body
        assert body["checks"]["peers"]["connected"] == 3 and body["checks"]["peers"]["needed"] == 2

        network.kill(3)
        killed_at = network.height(0)
        network.wait_receipts(network.send(6, via=[0, 1, 2]), 0)
        stats = network.rpc(0).call("qenex_getValidatorStats", 100)["validators"]
        down = next(v for v in stats if v["address"].lower() == network.address(3))
        # a commit holds the first quorum of precommits, so a slow validator may never appear in one
        assert down["lastSignedHeight"] is None or int(down["lastSignedHeight"], 16) <= killed_at
        assert down["missedBlocks"] >= network.height(0) - killed_at > 0
        assert down["uptime"] != "100.00"
        status, body = eventually(ready, lambda status, body: status == 200)
        assert status == 200, body  # 2 peers left: still a quorum

        network.kill(2)
        network.send(1, via=[0])
        status, body = eventually(ready, lambda status, body: not body["checks"]["committing"]["ok"])
        assert status == 503 and body["ready"] is False
        assert body["checks"]["peers"] == {"ok": False, "connected": 1, "needed": 2, "validator": True}
        assert body["checks"]["committing"]["waitingTransactions"] == 1
        assert probe(network.nodes[0].rpc_url + "/health")[0] == 200  # alive, only not ready
        assert metric(network.nodes[0].rpc_url, "qenex_node_ready") == 0
    finally:
        network.stop()
