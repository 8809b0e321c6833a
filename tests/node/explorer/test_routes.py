"""The explorer's HTTP side on a real node: content negotiation on GET /, assets, /ws/blocks,
and qenex_getValidatorStats."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import aiohttp
import pytest
from support.nodes import signed_transfer, wait_receipt

from node.rpc.client import RpcCallError


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_get_root_is_the_page_for_browsers_and_the_rpc_probe_for_everyone_else(running_node):
    node, _ = running_node
    status, content_type, body = get(node.url + "/", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and content_type.startswith("text/html")
    assert b"<title>QENEX explorer</title>" in body and b'src="/explorer/app.js"' in body
    status, content_type, body = get(node.url + "/")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body)["service"] == "qenex JSON-RPC"
    assert node.rpc.call("eth_blockNumber") == "0x0"  # POST / is still JSON-RPC


def test_assets_are_served_from_the_package_and_nothing_else_is(running_node):
    node, _ = running_node
    status, content_type, body = get(node.url + "/explorer/app.js")
    assert status == 200 and content_type.startswith("text/javascript") and b"/ws/blocks" in body
    status, content_type, _ = get(node.url + "/explorer/style.css")
    assert status == 200 and content_type.startswith("text/css")
    status, _, body = get(node.url + "/explorer/..%2Fhealth.py")
    assert status == 404
    for asset in ("app.js", "index.html"):  # offline: no CDN or remote script anywhere
        _, _, text = get(node.url + f"/explorer/{asset}")
        assert b"http://" not in text and b"https://" not in text


def test_the_block_socket_sends_the_backlog_then_each_new_block_with_its_transactions(running_node):
    node, listing = running_node

    async def watch() -> list[dict]:
        received = []
        async with aiohttp.ClientSession() as session, session.ws_connect(node.url + "/ws/blocks") as ws:
            received.append(json.loads((await ws.receive(timeout=5)).data))
            tx_hash = await asyncio.to_thread(
                node.rpc.call, "eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 500, 0, 9_001).hex()
            )
            while True:
                message = json.loads((await ws.receive(timeout=10)).data)
                received.append(message)
                if tx_hash in message["block"]["transactions"]:
                    return received

    received = asyncio.run(watch())
    assert received[0]["block"]["number"] == "0x0"  # a new chain shows its genesis
    last = received[-1]["block"]
    assert last["transactionCount"] == 1 and last["commitSignatures"] == 1
    assert last["hash"] == node.rpc.call("eth_getBlockByNumber", last["number"], False)["hash"]


def test_validator_stats_count_signed_blocks_from_commit_certificates(running_node):
    node, listing = running_node
    for nonce in range(2):
        tx_hash = node.rpc.call(
            "eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 1, nonce, 9_100 + nonce).hex()
        )
        wait_receipt(node.rpc, tx_hash)
    height = int(node.rpc.call("eth_blockNumber"), 16)
    stats = node.rpc.call("qenex_getValidatorStats", 100)
    assert stats["fromBlock"] == "0x1" and stats["toBlock"] == hex(height)
    (validator,) = stats["validators"]
    assert validator["signedBlocks"] == height == validator["proposedBlocks"]
    assert validator["missedBlocks"] == 0 and validator["uptime"] == "100.00"
    assert validator["lastSignedHeight"] == hex(height) and validator["votingPower"] == "1"
    with pytest.raises(RpcCallError, match="window must be an integer"):
        node.rpc.call("qenex_getValidatorStats", 0)
