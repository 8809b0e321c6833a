"""A real node process driven over HTTP JSON-RPC by web3.py (no middleware) and raw requests."""

from __future__ import annotations

import json
import urllib.request

import pytest
from support.nodes import signed_transfer, wait_receipt
from web3 import Web3


def post(url: str, body: bytes | str) -> tuple[int, object]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_web3_reads_blocks_and_receipts_without_middleware(running_node):
    node, listing = running_node
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert w3.is_connected()
    assert w3.eth.chain_id == 1337
    genesis = w3.eth.get_block(0)
    assert genesis["number"] == 0 and len(genesis["extraData"]) <= 32

    raw = signed_transfer(listing, payer=0, payee=1, amount=1234, nonce=0, transfer_id=7)
    tx_hash = w3.eth.send_raw_transaction(raw)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20, poll_latency=0.1)
    assert receipt["status"] == 1
    assert receipt["postings"][0]["amount"] == "1234"
    assert receipt["postings"][0]["amountFormatted"] == "12.34"

    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert block["hash"] == receipt["blockHash"]
    assert block["transactions"][0]["hash"] == tx_hash
    assert block["parentHash"] == w3.eth.get_block(receipt["blockNumber"] - 1)["hash"]
    assert w3.eth.get_block("latest")["number"] >= receipt["blockNumber"]
    for tag in ("earliest", "pending", "safe", "finalized"):
        assert w3.eth.get_block(tag)["number"] in (0, w3.eth.block_number)
    assert w3.eth.get_block(block["hash"])["number"] == block["number"]

    tx = w3.eth.get_transaction(tx_hash)
    assert tx["from"] == listing[0]["address"]
    assert tx["transfers"][0]["debitAccountId"] == listing[0]["accounts"][0]["id"]
    assert w3.eth.get_transaction_count(listing[0]["address"]) == 1
    assert w3.eth.get_block_transaction_count(receipt["blockNumber"]) == 1


def test_ledger_methods_report_balances_journal_supply(running_node):
    node, listing = running_node
    rpc = node.rpc
    payer, payee = listing[0]["accounts"][0]["id"], listing[1]["accounts"][0]["id"]
    tx_hash = rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 500, 0, 99).hex())
    assert wait_receipt(rpc, tx_hash)["status"] == "0x1"

    account = rpc.call("qenex_getAccount", payer)
    assert account["balance"] == str(100_000_000 - 500)
    assert account["balanceFormatted"] == "999995.00"
    owned = rpc.call("qenex_getBalances", listing[1]["address"])
    assert {a["id"] for a in owned} == {a["id"] for a in listing[1]["accounts"]}
    transfer = rpc.call("qenex_getTransfer", hex(99))
    assert transfer["amount"] == "500" and transfer["transactionHash"] == tx_hash
    journal = rpc.call("qenex_getJournal", payee, {"limit": 1})
    assert journal["entries"][0]["posting"]["transferId"].endswith("63")
    assert journal["nextCursor"] is not None
    older = rpc.call("qenex_getJournal", payee, {"limit": 10, "cursor": journal["nextCursor"]})
    assert [e["posting"]["kind"] for e in older["entries"]] == ["posted"]  # the genesis opening balance
    supply = {s["currency"]: s for s in rpc.call("qenex_getSupply")}
    assert supply["EUR"]["balanced"] is True
    assert supply["EUR"]["issued"] == str(3 * 100_000_000)
    assert rpc.call("qenex_getAccount", "DE00000000000000000000") is None


def test_refused_transactions_name_the_rule(running_node):
    node, listing = running_node
    url = node.url

    def send(raw: bytes) -> dict:
        _, reply = post(
            url,
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}),
        )
        return reply["error"]

    error = send(b"\x51\xc0")
    assert error["code"] == -32000 and error["data"]["rule"] == "malformed" and "transaction" in error["message"]
    error = send(signed_transfer(listing, 0, 1, 1, 0, 5, chain_id=1))
    assert error["code"] == -32003 and error["data"]["rule"] == "wrong_chain_id"
    error = send(signed_transfer(listing, 0, 1, 1, 3, 5))
    assert error["data"]["rule"] == "nonce_gap"
    error = send(signed_transfer(listing, 0, 1, 10**12, 0, 5))
    assert error["data"]["rule"] == "exceeds_credits"
    assert listing[0]["accounts"][0]["id"] in error["message"]
    ok = node.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 1, 0, 5).hex())
    assert send(signed_transfer(listing, 0, 1, 1, 1, 5))["data"]["rule"] == "duplicate_transfer_id"
    wait_receipt(node.rpc, ok)
    assert send(signed_transfer(listing, 0, 1, 1, 0, 6))["data"]["rule"] == "nonce_too_low"
    assert send(signed_transfer(listing, 0, 1, 1, 1, 5))["data"]["rule"] == "duplicate_transfer_id"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", -32700),
        ("[]", -32600),
        ('{"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"}', -32600),
        ('{"jsonrpc": "2.0", "id": 1, "method": "eth_nope", "params": []}', -32601),
        ('{"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["recent", false]}', -32602),
        ('{"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": ["0x12"]}', -32602),
        ('{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": {}}', -32600),
        ("[" * 40 + "]" * 40, -32600),
    ],
)
def test_standard_error_codes(running_node, body, code):
    node, _ = running_node
    _, reply = post(node.url, body)
    assert reply["error"]["code"] == code


def test_batches_and_limits(running_node):
    node, _ = running_node
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"} for i in range(3)]
    batch.append({"jsonrpc": "2.0", "method": "eth_blockNumber"})  # a notification gets no response
    status, reply = post(node.url, json.dumps(batch))
    assert status == 200 and [r["id"] for r in reply] == [0, 1, 2]
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(2001)]
    _, reply = post(node.url, json.dumps(too_many))
    assert reply["error"]["code"] == -32005
    status, reply = post(node.url, b"[" + b" " * (9 * 1024 * 1024) + b"]")
    assert status == 413 and reply["error"]["code"] == -32005


def test_account_proof_verifies_against_the_header_state_root(running_node):
    from ledger.codec import decode_account
    from ledger.commitment import LeafProof, verify_leaf_proof

    node, listing = running_node
    rpc = node.rpc
    wait_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 77, 0, 77).hex()))
    account_id = listing[1]["accounts"][0]["id"]
    proof = rpc.call("qenex_getAccountProof", account_id)
    header = rpc.call("eth_getBlockByNumber", proof["blockNumber"], False)
    assert proof["stateRoot"] == header["stateRoot"]
    leaf_proof = LeafProof(
        key=bytes.fromhex(proof["key"][2:]),
        bucket=proof["bucket"],
        leaves={bytes.fromhex(k[2:]): bytes.fromhex(v[2:]) for k, v in proof["bucketLeaves"]},
        siblings=[bytes.fromhex(s[2:]) for s in proof["siblings"]],
    )
    value = bytes.fromhex(proof["value"][2:])
    root = bytes.fromhex(header["stateRoot"][2:])
    assert verify_leaf_proof(root, leaf_proof, value)
    assert decode_account(value).credits_posted == 100_000_000 + 77
    tampered = decode_account(value).with_totals(0, 0, 0, 100_000_000 + 78)
    from ledger.codec import encode_account

    assert not verify_leaf_proof(root, leaf_proof, encode_account(tampered))
