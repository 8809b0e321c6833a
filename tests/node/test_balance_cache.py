"""The node's balance cache: filled from the ledger at start, moved forward by each committed
block, checked and repaired against the ledger, and used by admission and qenex_getBalances."""

from __future__ import annotations

import json
import mmap
import struct
import urllib.request

import pytest
from support.nodes import run_cli, signed_transfer, start_node, wait_receipt

from genesis.builder import init_dev_home
from kernel.abi import HEADER_BYTES, SLOT
from kernel.cache import Balance
from kernel.selector import CachePaths
from node.balance_cache import balance_of
from node.execution import TransactionRejected
from node.rpc.auth import home_credentials
from node.rpc.client import RpcClient
from node.service import Node, NodeConfig

SHARED_BACKENDS = ["shm", "memory"]


def make_node(tmp_path, cache: str):
    home = tmp_path / "home"
    listing = init_dev_home(home, accounts=3)
    return Node(NodeConfig(home, verify_workers=0, cache=cache)), listing, home


def ledger_balances(node):
    return {a.id: balance_of(a) for a in node.chain.ledger.accounts()}


@pytest.mark.parametrize("cache", SHARED_BACKENDS)
def test_cache_follows_the_ledger_block_by_block(tmp_path, cache):
    node, listing, _ = make_node(tmp_path, cache)
    try:
        assert node.balances.choice.backend == cache
        assert node.balances.cache.snapshot() == ledger_balances(node)
        for round_ in range(3):
            for i in range(6):
                node.admit(
                    signed_transfer(listing, i % 3, (i + 1) % 3, 1000 + i, round_ * 2 + i // 3, round_ * 10 + i + 1)
                )
            node.produce()
            assert node.balances.synced_height == node.chain.height
            assert node.balances.cache.snapshot() == ledger_balances(node)
        assert node.balances.verify().mismatches == []
    finally:
        node.close()


def test_the_same_results_from_every_backend(tmp_path):
    """shm and memory (and kernel, where the device exists) hold identical balances."""
    snapshots = []
    for cache in SHARED_BACKENDS:
        node, listing, _ = make_node(tmp_path / cache, cache)
        try:
            node.admit(signed_transfer(listing, 0, 1, 4242, 0, 1))
            node.produce()
            snapshots.append(node.balances.cache.snapshot())
        finally:
            node.close()
    assert snapshots[0] == snapshots[1]


def test_verify_counts_logs_and_repairs_a_mismatch(tmp_path):
    node, listing, _ = make_node(tmp_path, "shm")
    try:
        account = listing[1]["accounts"][0]["id"]
        truth = node.balances.cache.get(account)
        node.balances.cache.update({account: Balance(1, 1)})  # corrupt the copy
        report = node.balances.verify()
        assert [m["account"] for m in report.mismatches] == [account]
        assert report.repaired
        assert node.balances.cache.get(account) == truth
        assert node.balances.verify().mismatches == []
        body, _ = node.metrics.exposition()
        assert b"qenex_cache_mismatches_total 1.0" in body
    finally:
        node.close()


def test_admission_refuses_an_overdraft_from_cached_balances(tmp_path):
    node, listing, _ = make_node(tmp_path, "shm")
    try:
        too_much = listing[0]["accounts"][0]["balance"] + 1
        with pytest.raises(TransactionRejected) as refused:
            node.admit(signed_transfer(listing, 0, 1, too_much, 0, 1))
        assert refused.value.rule == "exceeds_credits"
        body, _ = node.metrics.exposition()
        assert b"qenex_cache_admission_refusals_total 1.0" in body
        # what booking alone says about the same transaction, with the cache out of the way
        node.balances.enabled = False
        with pytest.raises(TransactionRejected) as booked:
            node.admit(signed_transfer(listing, 0, 1, too_much, 0, 2))
        assert booked.value.rule == refused.value.rule
        assert str(booked.value).replace("0x2", "0x1") == str(refused.value)
        node.balances.enabled = True
        node.admit(signed_transfer(listing, 0, 1, too_much - 1, 0, 3))  # exactly the funds: admitted
    finally:
        node.close()


def test_a_balance_beyond_64_bits_disables_the_cache_rather_than_serve_stale(tmp_path):
    node, listing, _ = make_node(tmp_path, "shm")
    try:
        account = node.chain.ledger.account(listing[0]["accounts"][0]["id"])
        node.balances.ledger = type("Huge", (), {"accounts": lambda self: [account.with_totals(0, 0, 0, 2**64)]})()
        node.balances.fill(node.chain.height)
        assert not node.balances.enabled
        assert node.balances.cache.snapshot() == {}
        assert node.balances.balances([account]) == [balance_of(account)]  # from the ledger
    finally:
        node.close()


@pytest.mark.slow
def test_running_node_serves_balances_from_the_cache_and_cache_verify_repairs_it(node_home):
    home, listing = node_home
    node = start_node(home)
    try:
        rpc = node.rpc
        tx_hash = rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 500, 0, 1).hex())
        assert wait_receipt(rpc, tx_hash)["status"] == "0x1"
        status = rpc.call("qenex_cacheStatus")
        assert status["backend"] == "shm" and status["enabled"]
        owner = listing[1]["address"]
        account = listing[1]["accounts"][0]["id"]
        before = {a["id"]: a for a in rpc.call("qenex_getBalances", owner)}[account]
        assert int(before["balance"]) == listing[1]["accounts"][0]["balance"] + 500

        # Corrupt the shared table from outside the node: RPC shows it, so RPC reads the cache.
        paths = CachePaths.of(home)
        slot = next(
            int(n)
            for n, key in (line.split("\t") for line in paths.directory.read_text().splitlines()[1:])
            if key == account
        )
        with open(paths.shm_table, "r+b") as table:
            mapped = mmap.mmap(table.fileno(), 0)
            struct.pack_into("<qq", mapped, HEADER_BYTES + slot * SLOT.size, 7, 7)
            mapped.close()
        corrupted = {a["id"]: a for a in rpc.call("qenex_getBalances", owner)}[account]
        assert corrupted["balance"] == "7"

        result = run_cli("cache", "verify", "--home", str(home), "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["mismatches"] == 1 and report["repaired"]
        assert report["details"][0]["account"] == account
        after = {a["id"]: a for a in rpc.call("qenex_getBalances", owner)}[account]
        assert after["balance"] == before["balance"]
        text = urllib.request.urlopen(node.url + "/metrics", timeout=10).read().decode()
        assert "qenex_cache_mismatches_total 1.0" in text
        admin = RpcClient(node.url, headers=home_credentials(home))  # qenex_cacheVerify is a management method
        assert admin.call("qenex_cacheVerify")["mismatches"] == 0
    finally:
        node.stop()
    # stopped: verify works offline on the table the node left behind
    result = run_cli("cache", "verify", "--home", str(home))
    assert result.returncode == 0, result.stderr
    assert "0 mismatches" in result.stdout
