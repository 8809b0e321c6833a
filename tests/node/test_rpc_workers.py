"""`qenex node run --rpc-workers N`: worker processes share the node's listening socket, answer
balance reads from the shared cache and the read-only view exactly as the node does, and pass
writes (and everything else) to the node."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from support.nodes import signed_transfer, start_node, wait_receipt

pytestmark = pytest.mark.slow


def post(url: str, method: str, *params: object) -> tuple[dict, str | None]:
    """One call on a fresh connection (so the kernel may hand it to any accepting process)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read()), reply.headers.get("X-Qenex-Rpc-Worker")


def test_workers_serve_reads_like_the_node_and_forward_writes(node_home):
    home, listing = node_home
    node = start_node(home, extra_args=("--rpc-workers", "2"))
    try:
        raw = signed_transfer(listing, 0, 1, 777, 0, 1)
        sent, _ = post(node.url, "eth_sendRawTransaction", "0x" + raw.hex())  # forwarded if a worker took it
        assert "result" in sent, sent
        assert wait_receipt(node.rpc, sent["result"])["status"] == "0x1"
        owner = listing[1]["address"]
        expected_balance = str(listing[1]["accounts"][0]["balance"] + 777)
        answers: dict[str | None, list] = {}
        for attempt in range(600):  # which process accepts a connection is the kernel's choice: ask until two did
            reply, worker = post(node.url, "qenex_getBalances", owner)
            answers.setdefault(worker, []).append(reply["result"])
            if attempt >= 59 and len(answers) >= 2:
                break
            if attempt % 20 == 19:
                time.sleep(0.05)  # let another process reach accept() on a busy machine
        workers = [w for w in answers if w is not None]
        assert len(workers) >= 1, "no read was served by a worker"
        assert len(answers) >= 2, "all reads went to one process: the socket is not shared"
        results = [r for rs in answers.values() for r in rs]
        assert all(r == results[0] for r in results), "workers and node answered differently"
        assert {a["id"]: a for a in results[0]}[listing[1]["accounts"][0]["id"]]["balance"] == expected_balance
        # a write sent to a worker is refused by the node's rules, not the worker's
        again, _ = post(node.url, "eth_sendRawTransaction", "0x" + raw.hex())
        assert again["error"]["message"]
        account_id = listing[1]["accounts"][0]["id"]
        accounts = {json.dumps(post(node.url, "qenex_getAccount", account_id)[0]["result"]) for _ in range(20)}
        assert len(accounts) == 1 and json.loads(accounts.pop())["balance"] == expected_balance
        assert post(node.url, "qenex_getAccount", "GL:NO:SUCH")[0]["result"] is None
        height, _ = post(node.url, "eth_blockNumber")
        assert int(height["result"], 16) >= 1
    finally:
        assert node.stop() == 0
    assert "rpc_workers_started" in node.log()


def test_workers_serve_committed_blocks_transactions_and_receipts_as_the_node_does(node_home):
    home, listing = node_home
    node = start_node(home, extra_args=("--rpc-workers", "2"))
    try:
        tx_hash = node.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 555, 0, 2).hex())
        receipt = wait_receipt(node.rpc, tx_hash)
        number, block_hash = receipt["blockNumber"], receipt["blockHash"]
        calls = [
            ("eth_getBlockByNumber", number, False),
            ("eth_getBlockByNumber", number, True),
            ("eth_getBlockByHash", block_hash, True),
            ("eth_getBlockByNumber", "latest", False),
            ("eth_getTransactionByHash", tx_hash),
            ("eth_getTransactionReceipt", tx_hash),
        ]
        by_worker: dict[tuple, set[str]] = {}
        for attempt in range(400):
            method, *params = calls[attempt % len(calls)]
            reply, worker = post(node.url, method, *params)
            if method == "eth_getBlockByNumber" and params[0] == "latest":
                continue  # the head moves on; only its shape is compared below
            by_worker.setdefault((method, *params), set()).add(json.dumps(reply["result"], sort_keys=True))
            if worker is not None and attempt > 60:
                served = worker
                break
        else:
            pytest.fail("no worker answered a committed block or receipt")
        assert served
        assert all(len(answers) == 1 for answers in by_worker.values()), "a worker answered otherwise than the node"
        assert json.loads(next(iter(by_worker[("eth_getTransactionReceipt", tx_hash)])))["status"] == "0x1"
        pending_raw = signed_transfer(listing, 0, 1, 1, 1, 3)
        # unknown to the view (not committed): the node answers, workers forward
        unknown = "0x" + "ab" * 32
        assert all(post(node.url, "eth_getTransactionReceipt", unknown)[0]["result"] is None for _ in range(10))
        assert all(
            post(node.url, "eth_getBlockByNumber", "0x0", False)[0]["result"]["number"] == "0x0" for _ in range(10)
        )
        assert "result" in post(node.url, "eth_sendRawTransaction", "0x" + pending_raw.hex())[0]
    finally:
        assert node.stop() == 0
