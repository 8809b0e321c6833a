"""Responses of a running node validated against the execution-apis schemas
(tests/support/execution_apis.py): blocks (hashes and full), the three transaction types in a
block and pending, receipts of a creation, a call with logs and a revert, logs, fee history."""

from __future__ import annotations

import jsonschema
import pytest
from eth_account import Account
from support.evm import Chain, rpc
from support.execution_apis import BLOCK, FEE_HISTORY, LOG, RECEIPT, TX_INFO, TX_SIGNED
from support.nodes import make_home, start_node


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home, listing = make_home(tmp_path_factory.mktemp("schemas"), accounts=3)
    process = start_node(home)
    yield process, listing
    process.stop()


def result(url: str, method: str, *params):
    reply = rpc(url, method, *params)
    assert "result" in reply, reply
    return reply["result"]


def test_shapes_follow_the_execution_apis(node):
    process, listing = node
    url = process.url
    chain = Chain(url, listing)
    token = chain.deploy("TestToken", "Euro", "EUR", 2)
    minted = chain.send(token.functions.mint(chain.address(1), 5), 0)
    reverted = chain.send(token.functions.mint(chain.address(1), 5), 1, gas=100_000)  # not the minter
    assert reverted["status"] == 0
    key = Account.from_key(listing[2]["private_key"])
    nonce = int(result(url, "eth_getTransactionCount", key.address, "pending"), 16)
    kinds = [
        {"gasPrice": 0, "nonce": nonce},
        {
            "gasPrice": 0,
            "accessList": [{"address": token.address, "storageKeys": ["0x" + "00" * 32]}],
            "nonce": nonce + 1,
        },
        {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "nonce": nonce + 2},
    ]
    hashes = []
    for fields in kinds:
        tx = {"to": chain.address(0), "value": 1, "gas": 30_000, "chainId": 1337} | fields
        raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
        hashes.append(result(url, "eth_sendRawTransaction", raw))
        jsonschema.validate(result(url, "eth_getTransactionByHash", hashes[-1]), TX_SIGNED)  # pending
    receipts = [chain.w3.eth.wait_for_transaction_receipt(h, timeout=20) for h in hashes]

    for tx_hash in [*hashes, "0x" + bytes(minted["transactionHash"]).hex()]:
        jsonschema.validate(result(url, "eth_getTransactionByHash", tx_hash), TX_INFO)
        jsonschema.validate(result(url, "eth_getTransactionReceipt", tx_hash), RECEIPT)
    jsonschema.validate(
        result(url, "eth_getTransactionReceipt", "0x" + bytes(reverted["transactionHash"]).hex()), RECEIPT
    )
    for number in {r["blockNumber"] for r in receipts} | {minted["blockNumber"]}:
        jsonschema.validate(result(url, "eth_getBlockByNumber", hex(number), True), BLOCK)
        jsonschema.validate(result(url, "eth_getBlockByNumber", hex(number), False), BLOCK)
        for receipt in result(url, "eth_getBlockReceipts", hex(number)):
            jsonschema.validate(receipt, RECEIPT)
    logs = result(url, "eth_getLogs", {"fromBlock": "0x0", "address": token.address})
    assert logs
    for entry in logs:
        jsonschema.validate(entry, LOG)
    jsonschema.validate(result(url, "eth_feeHistory", "0x5", "latest", [10, 90]), FEE_HISTORY)
