"""WebSocket on the JSON-RPC port (eth_subscribe newHeads / logs / newPendingTransactions),
polling filters, and txpool_*: a running node, real sockets."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from support.evm import Chain, rpc
from support.nodes import make_home, start_node
from web3 import Web3

from contracts.bridge.addresses import token_address
from contracts.compiler import load_artifact
from node.rpc.auth import home_credentials

EUR = Web3.to_checksum_address(token_address("EUR"))


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home, listing = make_home(tmp_path_factory.mktemp("ws"), accounts=3)
    process = start_node(home)
    yield process, listing
    process.stop()


async def _subscriptions(url: str, chain: Chain) -> tuple[dict, list[dict]]:
    ws_url = url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
        replies = {}
        transfer_topic = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
        requests = [
            (1, "eth_subscribe", ["newHeads"]),
            (2, "eth_subscribe", ["logs", {"address": EUR, "topics": [transfer_topic]}]),
            (3, "eth_subscribe", ["newPendingTransactions"]),
            (4, "eth_blockNumber", []),
            (5, "eth_subscribe", ["nope"]),
        ]
        for request_id, method, params in requests:
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        while len(replies) < len(requests):
            message = json.loads((await ws.receive(timeout=10)).data)
            replies[message["id"]] = message
        eur = chain.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])
        loop = asyncio.get_running_loop()
        receipt = await loop.run_in_executor(None, lambda: chain.send(eur.functions.transfer(chain.address(1), 7), 0))
        notes: list[dict] = []
        kinds = {replies[1]["result"]: "heads", replies[2]["result"]: "logs", replies[3]["result"]: "pending"}
        while {"heads", "logs", "pending"} - {kinds[n["params"]["subscription"]] for n in notes}:
            notes.append(json.loads((await ws.receive(timeout=10)).data))
        await ws.send_str(
            json.dumps({"jsonrpc": "2.0", "id": 6, "method": "eth_unsubscribe", "params": [replies[1]["result"]]})
        )
        while True:
            message = json.loads((await ws.receive(timeout=10)).data)
            if message.get("id") == 6:
                replies[6] = message
                break
        return {"replies": replies, "kinds": kinds, "receipt": receipt}, notes


def test_subscriptions_over_websocket(node):
    process, listing = node
    chain = Chain(process.url, listing)
    result, notes = asyncio.run(_subscriptions(process.url, chain))
    replies, kinds, receipt = result["replies"], result["kinds"], result["receipt"]
    assert replies[4]["result"].startswith("0x")
    assert replies[5]["error"]["code"] == -32602
    assert replies[6]["result"] is True
    by_kind = {kinds[n["params"]["subscription"]]: n["params"]["result"] for n in notes}
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    assert by_kind["pending"] == tx_hash
    assert by_kind["logs"]["transactionHash"] == tx_hash and by_kind["logs"]["address"] == EUR
    assert int(by_kind["heads"]["number"], 16) >= 1 and "transactions" not in by_kind["heads"]
    assert by_kind["heads"]["baseFeePerGas"] == "0x0"


def test_filters_and_txpool(node):
    process, listing = node
    url = process.url
    chain = Chain(url, listing)
    blocks = rpc(url, "eth_newBlockFilter")["result"]
    pending = rpc(url, "eth_newPendingTransactionFilter")["result"]
    logs = rpc(url, "eth_newFilter", {"address": EUR})["result"]
    assert rpc(url, "txpool_status", headers=home_credentials(process.home))["result"] == {
        "pending": "0x0",
        "queued": "0x0",
    }
    eur = chain.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])
    receipt = chain.send(eur.functions.transfer(chain.address(2), 3), 1)
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    assert rpc(url, "eth_getFilterChanges", pending)["result"] == [tx_hash]
    assert "0x" + bytes(receipt["blockHash"]).hex() in rpc(url, "eth_getFilterChanges", blocks)["result"]
    assert [entry["transactionHash"] for entry in rpc(url, "eth_getFilterChanges", logs)["result"]] == [tx_hash]
    assert rpc(url, "eth_getFilterChanges", logs)["result"] == []
    assert rpc(url, "eth_getFilterLogs", logs)["result"][-1]["transactionHash"] == tx_hash
    assert rpc(url, "eth_uninstallFilter", logs)["result"] is True
    assert rpc(url, "eth_getFilterChanges", logs)["error"] == {"code": -32000, "message": "filter not found"}
    bad = rpc(url, "eth_newFilter", {"address": "0x12"})
    assert bad["error"]["code"] == -32602


def test_txpool_content_lists_a_pending_transaction_by_sender_and_nonce(tmp_path):
    home, listing = make_home(tmp_path, block_interval_ms=4000)  # the transaction waits for its block
    process = start_node(home)
    try:
        chain = Chain(process.url, listing)
        sender = chain.accounts[1]
        fields = {"to": chain.address(2), "value": 5, "gas": 21_000, "gasPrice": chain.w3.eth.gas_price,
                  "nonce": 0, "chainId": chain.w3.eth.chain_id}  # fmt: skip
        first = chain.w3.eth.send_raw_transaction(sender.sign_transaction(fields).raw_transaction)
        chain.w3.eth.wait_for_transaction_receipt(first, timeout=20)  # a block now: the next one is 4 s away
        fields["nonce"] = 1
        tx_hash = chain.w3.eth.send_raw_transaction(sender.sign_transaction(fields).raw_transaction)
        admin = home_credentials(home)  # txpool_* is authenticated (docs/security.md)
        content = rpc(process.url, "txpool_content", headers=admin)["result"]
        assert content["queued"] == {}
        assert list(content["pending"]) == [sender.address], content
        entry = content["pending"][sender.address]["1"]
        assert entry["hash"] == "0x" + bytes(tx_hash).hex() and entry["blockNumber"] is None
        assert int(entry["value"], 16) == 5 and entry["to"] == chain.address(2)
        assert rpc(process.url, "txpool_status", headers=admin)["result"] == {"pending": "0x1", "queued": "0x0"}
        chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20)
        assert rpc(process.url, "txpool_content", headers=admin)["result"] == {"pending": {}, "queued": {}}
    finally:
        process.stop()
