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
    committed = network.height(1)
    assert committed >= 1
    for index in range(4):
        network.kill(index)
    for index in range(4):
        network.restart(index)
    assert network.height(1) >= committed  # what a client saw committed survived the crash
    for index in range(4):  # a validator killed before it heard the commit learns it after restart
        network.wait_height(index, committed)
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
        assert [f"[{i}/4] validator-{i - 1} serving at" in text for i in range(1, 5)] == [True] * 4, text
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


def test_validator_set_changes_on_chain_add_a_full_node_then_remove_a_validator(tmp_path):
    """`qenex validator propose/approve` over RPC: the full node joins the set two blocks after a
    > 2/3 approval and signs certificates; then validator 0 is removed and the chain goes on."""
    import coincurve
    from support.nodes import run_cli

    from genesis.builder import VALIDATOR_KEY_FILE

    net = start_network(tmp_path, full_nodes=1)
    try:
        keys = [(node.home / VALIDATOR_KEY_FILE).read_text().strip() for node in net.nodes]

        def change(proposer: int, approvers: list[int], target: int, power: int) -> None:
            public = coincurve.PrivateKey(bytes.fromhex(keys[target][2:])).public_key.format(compressed=False)
            proposed = run_cli("validator", "propose", "--rpc", net.nodes[proposer].rpc_url, "--from", keys[proposer],
                               "--address", net.address(target), "--public-key", "0x" + public.hex(),
                               "--power", str(power), "--wait")  # fmt: skip
            assert proposed.returncode == 0, proposed.stderr
            proposal = json.loads(proposed.stdout)
            assert proposal["status"] == "0x1", proposal
            for approver in approvers:
                approved = run_cli("validator", "approve", proposal["transactionHash"], "--rpc",
                                   net.nodes[approver].rpc_url, "--from", keys[approver], "--wait")  # fmt: skip
                assert approved.returncode == 0 and json.loads(approved.stdout)["status"] == "0x1", approved.stdout

        def members(index: int) -> set[str]:
            listed = json.loads(run_cli("validator", "list", "--rpc", net.nodes[index].rpc_url).stdout)
            return {v["address"].lower() for v in listed["validators"]}

        net.wait_receipts(net.send(8, via=[0, 1, 2, 3]), 0)
        change(0, [1, 2], target=4, power=1)
        net.wait_receipts(net.send(12, via=[0, 1, 2, 3]), 0)
        assert net.address(4) in members(0) and len(members(3)) == 5
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not net.rpc(4).call("qenex_consensusStatus")["validator"]:
            time.sleep(0.2)
        signed = False
        while not signed and time.monotonic() < deadline:
            net.wait_receipts(net.send(4, via=[1, 2]), 1)
            head = net.height(1)
            signed = any(net.address(4) in net.signers(1, n) for n in range(max(1, head - 2), head + 1))
        assert signed, "the new validator never signed a certificate"

        change(1, [2, 3, 4], target=0, power=0)  # 4 of 5 approve: > 2/3
        net.wait_receipts(net.send(12, via=[1, 2, 3, 4]), 1)
        assert net.address(0) not in members(2) and len(members(4)) == 4
        net.wait_receipts(net.send(12, via=[1, 2, 3, 4]), 4)
        proposals = net.rpc(2).call("qenex_getValidatorProposals")
        assert sorted(p["power"] for p in proposals) == [0, 1] and all(p["effectiveHeight"] for p in proposals)
        net.assert_consistent()
    finally:
        net.stop()


def test_an_equivocating_validator_is_reported_on_chain(network):
    """Validator 3 is replaced by a Byzantine impostor holding its keys, which sends validator 0 two
    different prevotes for the same height and round: validator 0 detects it, signs an EVIDENCE
    action, and the equivocation is recorded on chain for every node to see."""
    import asyncio
    import os

    import coincurve

    from consensus.transport import IdentityBinding, NodeCertificate, PeerNetwork, certificate_fingerprint
    from consensus.types import Vote, VoteKind, vote_digest
    from genesis.builder import P2P_KEY_FILE, VALIDATOR_KEY_FILE
    from genesis.schema import load_genesis
    from node.p2p import wire
    from node.p2p.network import genesis_identities

    network.wait_receipts(network.send(4, via=[0, 1, 2]), 0)
    network.kill(3)
    home = network.nodes[3].home
    key = bytes.fromhex((home / VALIDATOR_KEY_FILE).read_text().strip()[2:])
    genesis = load_genesis(home / "genesis.json")
    identities = genesis_identities(genesis)
    me, target = network.address(3), network.address(0)
    own = NodeCertificate(me, identities[me][0], (home / P2P_KEY_FILE).read_bytes())
    pem, signature = identities[target]
    host, port = json.loads((network.nodes[0].home / "node.json").read_text())["p2p"].values()

    async def equivocate() -> None:
        peers = {target: IdentityBinding(target, certificate_fingerprint(pem), signature)}
        impostor = PeerNetwork(genesis.chain_id, own, peers, {target: pem}, lambda peer, payload: None)
        impostor.connect(target, host, port)
        try:
            for _ in range(100):
                if target in impostor.writers:
                    break
                await asyncio.sleep(0.1)
            status = network.rpc(0).call("qenex_consensusStatus")
            for block_id in (os.urandom(32), os.urandom(32)):
                digest = vote_digest(VoteKind.PREVOTE, genesis.chain_id, status["height"], status["round"], block_id)
                sign = coincurve.PrivateKey(key).sign_recoverable(digest, hasher=None)
                vote = Vote(VoteKind.PREVOTE, genesis.chain_id, status["height"], status["round"], block_id, me, sign)
                assert await impostor.send(target, wire.encode(wire.VoteMessage(vote)))
            await asyncio.sleep(0.5)
        finally:
            await impostor.close()

    asyncio.run(equivocate())
    deadline = time.monotonic() + 30
    recorded: list = []
    while not recorded and time.monotonic() < deadline:
        network.send(2, via=[1, 2])  # blocks to carry the evidence
        time.sleep(0.5)
        recorded = network.rpc(2).call("qenex_getEvidence")
    assert [r["validator"].lower() for r in recorded] == [me]
    assert recorded[0]["reportedBy"].lower() == target
    network.stop()
