"""Fault tests with real processes and sockets: four validators (f = 1) over mutual TLS on 127.0.0.1.

Each test ends with support.cluster.Network.assert_consistent: identical block hashes and state
roots at every common height, `ledger verify` passing on every node, no equivocation seen, and every
transfer whose receipt a client saw still booked in the same block on every node.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from support.cluster import start_network

from node.cluster import ClusterNode, start_node


@pytest.fixture
def network(tmp_path):
    net = start_network(tmp_path)
    yield net
    net.stop()


def test_four_validators_agree_and_every_block_carries_a_quorum_certificate(network):
    hashes = network.send(40)
    network.wait_receipts(hashes, 3)
    head = network.height(0)
    assert head >= 1
    for number in range(1, head + 1):
        assert len(network.signers(0, number)) >= 3  # > 2/3 of 4 equal powers
    network.assert_consistent()


def test_one_validator_killed_under_load_commits_continue(network):
    network.wait_receipts(network.send(20), 0)
    network.kill(2)
    before = network.height(0)
    hashes = network.send(60, via=[0, 1, 3])
    network.wait_receipts(hashes, 3)
    assert network.height(0) > before
    network.assert_consistent()


def test_two_of_four_down_stops_commits_without_a_fork_and_restart_resumes(network):
    network.wait_receipts(network.send(10), 0)
    network.kill(1)
    network.kill(3)
    stalled = network.height(0)
    pending = network.send(10, via=[0, 2])
    time.sleep(3)
    assert network.height(0) == stalled and network.height(2) == stalled  # no quorum, no block
    network.restart(1)
    network.restart(3)
    started = time.monotonic()
    network.wait_receipts(pending, 0, timeout=20)
    assert time.monotonic() - started < 20
    network.assert_consistent()


def test_all_validators_killed_and_restarted_resume_without_double_signing(network):
    network.wait_receipts(network.send(30), 1)
    for index in range(4):
        network.kill(index)
    for index in range(4):
        network.restart(index)
    assert min(network.height(i) for i in range(4)) >= 1
    hashes = network.send(10)
    network.wait_receipts(hashes, 2)
    logs = "".join((node.home / "node.log").read_text() for node in network.nodes)
    assert "consensus_restored" in logs or "block_committed" in logs
    network.assert_consistent()


def test_a_validator_with_a_wiped_data_directory_syncs_and_signs_again(network):
    network.wait_receipts(network.send(30), 0)
    network.kill(3)
    network.wait_receipts(network.send(20, via=[0, 1, 2]), 0)
    network.restart(3, wipe=True)
    network.wait_height(3, network.height(0), timeout=30)
    me = network.address(3)
    hashes = network.send(20, via=[0, 1, 2, 3])
    network.wait_receipts(hashes, 3)
    deadline = time.monotonic() + 30
    signed = False
    while not signed and time.monotonic() < deadline:  # it votes again: its signature is in new certificates
        network.wait_receipts(network.send(3, via=[3]), 3)
        head = network.height(3)
        signed = any(me in network.signers(3, n) for n in range(max(1, head - 3), head + 1))
    assert signed
    network.assert_consistent()


def test_a_paused_validator_catches_up(network):
    network.wait_receipts(network.send(10), 0)
    network.kill(0, signal.SIGSTOP)
    paused = time.monotonic()
    network.wait_receipts(network.send(30, via=[1, 2, 3]), 1)
    time.sleep(max(0.0, 10 - (time.monotonic() - paused)))
    network.kill(0, signal.SIGCONT)
    network.wait_height(0, network.height(1), timeout=30)
    network.wait_receipts(network.send(10), 0)
    network.assert_consistent()


def test_a_full_node_started_late_reaches_the_tip_and_serves_rpc(tmp_path):
    net = start_network(tmp_path, full_nodes=1, start_full_nodes=False)
    try:
        net.wait_receipts(net.send(40), 0)
        home = net.home / "full-0"
        process, url = start_node(home, "info")
        config = json.loads((home / "node.json").read_text())
        net.nodes.append(ClusterNode("full-0", "full", home, process, url, f"127.0.0.1:{config['p2p']['port']}"))
        net.wait_height(4, net.height(0), timeout=30)
        hashes = net.send(10, via=[4])  # a full node takes transactions and gossips them to validators
        net.wait_receipts(hashes, 4)
        status = net.rpc(4).call("qenex_consensusStatus")
        assert status["validator"] is False
        assert all(net.address(4) not in net.signers(4, n) for n in range(1, net.height(4) + 1))
        net.assert_consistent()
    finally:
        net.stop()


def test_devnet_command_runs_four_validator_processes_and_writes_devnet_json(tmp_path):
    import os
    import subprocess
    import sys

    from support.nodes import REPO

    COMMAND = [sys.executable, "-m", "node.cli"]  # noqa: N806

    home = tmp_path / "devnet"
    process = subprocess.Popen(
        [*COMMAND, "devnet", "--home", str(home), "--rpc-port", "0", "--p2p-port", "0", "--block-interval-ms", "300",
         "--traffic-interval", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum("payment" in line for line in lines) < 3:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        assert text.count("JSON-RPC: http://127.0.0.1:") == 4, text
        assert "private key 0x" in text and "payment" in text, text
        devnet = json.loads((home / "devnet.json").read_text())
        assert [n["role"] for n in devnet["nodes"]] == ["validator"] * 4
        assert Path(devnet["dev_accounts"]).exists()
        for node in devnet["nodes"]:
            assert Path(node["data_dir"]).is_dir() and node["rpc_url"].startswith("http://127.0.0.1:")
        pids = [n["pid"] for n in devnet["nodes"]]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    for pid in pids:  # every node stopped with the supervisor
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_a_validator_crashed_at_every_step_restarts_without_double_signing(network):
    """SIGKILL validator 1 at each crash point of node/p2p/faults.py in turn (signed but not durable,
    in the WAL but without the consensus state, both but not sent, around storing a decided block);
    after each restart it resumes and, at the end, no node has seen an equivocation."""
    from node.p2p.faults import CRASH_POINTS, CRASH_VARIABLE

    network.wait_receipts(network.send(8), 0)
    crashed = []
    for point in CRASH_POINTS:
        network.kill(1, signal.SIGTERM)
        node = network.nodes[1]
        node.process, node.rpc_url = start_node(node.home, "info", env={CRASH_VARIABLE: point})
        deadline = time.monotonic() + 30
        while node.process.poll() is None and time.monotonic() < deadline:
            network.send(4, via=[0, 2, 3])  # load so that validator 1 votes, proposes and commits
            time.sleep(0.2)
        if node.process.poll() is not None:
            crashed.append(point)
        if node.process.poll() is None:
            network.kill(1)
        network.restart(1)
        network.wait_height(1, network.height(0), timeout=30)
    assert crashed == list(CRASH_POINTS)
    network.wait_receipts(network.send(12), 1)
    network.assert_consistent()
