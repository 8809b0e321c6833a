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
