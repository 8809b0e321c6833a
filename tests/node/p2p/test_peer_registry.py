"""Peer permissioning with real node processes over TLS: a node genesis does not know is refused
until governance registers its P2P identity on chain; the running validator then accepts it (no
restart) and it syncs; once revoked it is disconnected and falls behind."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from support.nodes import run_cli, signed_transfer, wait_receipt

from genesis.builder import GENESIS_FILE, NODE_CONFIG_FILE, VALIDATOR_KEY_FILE, write_private
from node.cluster import free_ports, prepare, start_cluster, start_node, stop_cluster
from node.rpc.client import RpcClient


def _height(url: str) -> int:
    return int(RpcClient(url, timeout=10).call("eth_blockNumber"), 16)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out: {what}")


def test_a_node_registered_by_governance_is_followed_without_restart(tmp_path):
    home = tmp_path / "net"
    nodes = prepare(home, validators=1, full_nodes=1, accounts=3, block_interval_ms=200, rpc_base_port=0,
                    p2p_base_port=0)  # fmt: skip
    listing = json.loads((home / "dev-accounts.json").read_text())
    validator = nodes[0]
    newcomer = home / "newcomer"
    newcomer.mkdir()
    shutil.copy(Path(validator["home"]) / GENESIS_FILE, newcomer / GENESIS_FILE)
    write_private(newcomer / VALIDATOR_KEY_FILE, "0x" + os.urandom(32).hex() + "\n")
    identity = run_cli("governance", "identity", "--home", str(newcomer))
    assert identity.returncode == 0, identity.stderr
    (tmp_path / "identity.json").write_text(identity.stdout)
    address = json.loads(identity.stdout)["address"]
    rpc_port, p2p_port = free_ports(2)
    config = {"name": "newcomer", "role": "full", "rpc": {"host": "127.0.0.1", "port": rpc_port},
              "p2p": {"host": "127.0.0.1", "port": p2p_port},
              "peers": [{"name": "validator-0", "address": validator["address"], "p2p": validator["p2p"]}]}  # fmt: skip
    (newcomer / NODE_CONFIG_FILE).write_text(json.dumps(config))

    cluster = start_cluster(home, nodes, "info")
    process, newcomer_url = start_node(newcomer, "info")
    url = cluster[0].rpc_url
    governor = listing[0]["private_key"]

    def pay() -> None:
        nonce_now = int(RpcClient(url).call("eth_getTransactionCount", listing[1]["address"], "pending"), 16)
        raw = signed_transfer(listing, payer=1, payee=2, amount=1, nonce=nonce_now, transfer_id=int(time.time_ns()))
        wait_receipt(RpcClient(url), RpcClient(url).call("eth_sendRawTransaction", "0x" + raw.hex()))

    try:
        pay()
        time.sleep(3)
        assert _height(url) >= 1 and _height(newcomer_url) == 0  # refused: not registered

        registered = run_cli("governance", "propose", "--rpc", url, "--register-node", str(tmp_path / "identity.json"),
                             "--from", governor, "--wait")  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        shown = RpcClient(url).call("qenex_getProposal", json.loads(registered.stdout)["transactionHash"])
        assert shown["status"] == "executed" and shown["node"]["address"] == address
        pay()
        _wait(lambda: _height(newcomer_url) == _height(url), 30, "the registered node syncs to the validator")

        revoked = run_cli("governance", "propose", "--rpc", url, "--revoke-node", address, "--from", governor,
                          "--wait")  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        _wait(lambda: _height(newcomer_url) >= _height(url) - 1, 30, "the newcomer sees the block revoking it, or not")
        for _ in range(3):
            pay()
        time.sleep(2)
        assert _height(newcomer_url) < _height(url)  # disconnected: it no longer follows
        _wait(lambda: _height(cluster[1].rpc_url) == _height(url), 20, "the genesis full node still follows")
        assert process.poll() is None and cluster[0].process.poll() is None
        log = (Path(validator["home"]) / "node.log").read_text()
        assert "peer_registered" in log and "peer_revoked" in log
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)
        stop_cluster(cluster)
