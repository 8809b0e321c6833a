"""Ethereum JSON-RPC of a running node: geth's refusal codes and messages, and the shapes of
blocks, receipts, logs, fees and state reads (execution-apis)."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_utils import keccak
from support.evm import Chain, rpc
from trie import HexaryTrie
from web3 import Web3

from contracts.compiler import load_artifact


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from support.nodes import make_home, start_node

    home, listing = make_home(tmp_path_factory.mktemp("rpc"), accounts=3)
    process = start_node(home)
    yield process, listing
    process.stop()


def raw_tx(key: str, **fields) -> str:
    tx = {"to": "0x" + "22" * 20, "value": 1, "gas": 21_000, "nonce": 0, "chainId": 1337}
    tx |= {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0} | fields
    return "0x" + bytes(Account.from_key(key).sign_transaction(tx).raw_transaction).hex()


def error(url: str, method: str, *params) -> dict:
    reply = rpc(url, method, *params)
    assert "error" in reply, reply
    return reply["error"]


def test_refusals_carry_geths_codes_and_messages(node):
    process, listing = node
    url, key = process.url, listing[0]["private_key"]
    address = listing[0]["address"]
    assert error(url, "eth_sendRawTransaction", raw_tx(key, chainId=1)) == {
        "code": -32000,
        "message": "invalid chain id for signer: have 1 want 1337",
    }
    too_high = error(url, "eth_sendRawTransaction", raw_tx(key, nonce=5))
    assert too_high == {"code": -32000, "message": f"nonce too high: address {address}, tx: 5 state: 0"}
    poor = Account.create()
    broke = error(url, "eth_sendRawTransaction", raw_tx(poor.key.hex(), value=10))
    assert broke["message"] == f"insufficient funds for gas * price + value: address {poor.address} have 0 want 10"
    big = error(url, "eth_sendRawTransaction", raw_tx(key, data="0x" + "00" * 140_000, gas=3_000_000))
    assert big["code"] == -32000 and big["message"].startswith("oversized data: transaction size")
    fields = rlp.decode(bytes.fromhex(raw_tx(key)[2:])[1:])
    unsigned_r = b"\x02" + rlp.encode([*fields[:-2], b"", fields[-1]])  # r = 0 recovers no key
    assert error(url, "eth_sendRawTransaction", "0x" + unsigned_r.hex()) == {
        "code": -32000,
        "message": "invalid sender",
    }
    assert error(url, "eth_sendRawTransaction", raw_tx(key, gas=20_000))["message"] == (
        "intrinsic gas too low: gas 20000, minimum needed 21000"
    )
    assert error(url, "eth_sendRawTransaction", raw_tx(key, gas=40_000_000))["message"] == "exceeds block gas limit"

    w3 = Web3(Web3.HTTPProvider(url))
    sent = w3.eth.send_raw_transaction(raw_tx(key))
    assert error(url, "eth_sendRawTransaction", raw_tx(key))["message"] in (
        "already known",
        f"nonce too low: address {address}, tx: 0 state: 1",
    )
    w3.eth.wait_for_transaction_receipt(sent, timeout=20)
    assert error(url, "eth_sendRawTransaction", raw_tx(key, value=2))["message"] == (
        f"nonce too low: address {address}, tx: 0 state: 1"
    )


def test_reads_fees_logs_and_receipts_have_the_execution_apis_shapes(node):
    process, listing = node
    url = process.url
    chain = Chain(url, listing)
    w3 = chain.w3
    token = chain.deploy("TestToken", "Euro", "EUR", 2, sender=1)
    minted = chain.send(token.functions.mint(chain.address(2), 500), 1)
    head = w3.eth.get_block("latest")
    assert head["baseFeePerGas"] == 0 and len(head["extraData"]) <= 32
    assert head["logsBloom"] != b"\x00" * 256 and head["gasUsed"] > 0

    # balances by block tag: the native coin, 18 decimals
    assert w3.eth.get_balance(chain.address(1), "earliest") == int(listing[1]["native_wei"])
    assert w3.eth.get_code(token.address, "earliest") == b""
    runtime = load_artifact("TestToken")["deployedBytecode"]
    assert len(w3.eth.get_code(token.address)) == (len(runtime) - 2) // 2  # immutables filled in at deployment
    slot = w3.eth.get_storage_at(token.address, 2)  # ERC20._totalSupply
    assert int.from_bytes(slot, "big") == 500

    # eth_call revert with a reason string: code 3, data, decoded message
    escrow = load_artifact("Escrow")
    zero = "0x" + "00" * 20
    factory = w3.eth.contract(abi=escrow["abi"], bytecode=escrow["bytecode"])
    initcode = factory.constructor(token.address, zero, zero, zero, 1, 2**40).data_in_transaction
    reverted = error(url, "eth_call", {"from": chain.address(0), "data": initcode})
    assert reverted["code"] == 3
    assert reverted["message"] == "execution reverted: zero address"
    assert reverted["data"].startswith("0x08c379a0")
    assert error(url, "eth_estimateGas", {"from": chain.address(0), "data": initcode})["code"] == 3

    # logs: by address and topic, a block range limit with a clear error
    transfer = "0x" + w3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
    logs = rpc(url, "eth_getLogs", {"address": token.address, "topics": [transfer], "fromBlock": "0x0"})["result"]
    assert len(logs) == 1 and logs[0]["transactionHash"] == "0x" + bytes(minted["transactionHash"]).hex()
    assert set(logs[0]) >= {
        "address",
        "topics",
        "data",
        "blockNumber",
        "blockHash",
        "logIndex",
        "transactionIndex",
        "removed",
    }
    assert rpc(url, "eth_getLogs", {"topics": [["0x" + "11" * 32]], "fromBlock": "0x0"})["result"] == []
    too_wide = error(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(20_000)})
    assert too_wide["code"] == -32005 and "max block range 10000" in too_wide["message"]

    # receipts of a block, fee market reads
    receipts = rpc(url, "eth_getBlockReceipts", hex(minted["blockNumber"]))["result"]
    assert [r["transactionHash"] for r in receipts] == ["0x" + bytes(minted["transactionHash"]).hex()]
    assert receipts[0]["logs"][0]["logIndex"] == "0x0" and receipts[0]["status"] == "0x1"
    assert rpc(url, "eth_gasPrice")["result"] == "0x0"
    assert rpc(url, "eth_maxPriorityFeePerGas")["result"] == "0x0"
    history = rpc(url, "eth_feeHistory", "0x4", "pending", [25, 75])["result"]
    assert len(history["baseFeePerGas"]) == len(history["gasUsedRatio"]) + 1 == 5
    assert len(history["reward"]) == 4 and all(len(r) == 2 for r in history["reward"])

    # full blocks mix both transaction kinds; by-index lookups agree
    block = w3.eth.get_block(minted["blockNumber"], full_transactions=True)
    assert block["transactions"][0]["hash"] == minted["transactionHash"]
    by_index = w3.eth.get_transaction_by_block(minted["blockNumber"], 0)
    assert by_index["to"] == token.address and by_index["type"] == 2


def test_eth_get_proof_verifies_against_the_blocks_evm_state_root(node):
    process, listing = node
    url = process.url
    chain = Chain(url, listing)
    token = chain.deploy("TestToken", "Euro", "EUR", 2, sender=2)
    chain.send(token.functions.mint(chain.address(1), 321), 2)
    head = rpc(url, "eth_getBlockByNumber", "latest", False)["result"]
    proof = rpc(url, "eth_getProof", token.address, ["0x2"], head["number"])["result"]
    root = bytes.fromhex(head["evmStateRoot"][2:])
    account = HexaryTrie.get_from_proof(
        root,
        keccak(bytes.fromhex(token.address[2:])),
        [rlp.decode(bytes.fromhex(n[2:])) for n in proof["accountProof"]],
    )
    nonce, _balance, storage_root, code_hash = rlp.decode(account)
    assert "0x" + storage_root.hex() == proof["storageHash"] and "0x" + code_hash.hex() == proof["codeHash"]
    assert int.from_bytes(nonce, "big") == int(proof["nonce"], 16) == 1  # EIP-161: contracts start at nonce 1
    (slot,) = proof["storageProof"]
    value = HexaryTrie.get_from_proof(
        storage_root, keccak((2).to_bytes(32, "big")), [rlp.decode(bytes.fromhex(n[2:])) for n in slot["proof"]]
    )
    assert int.from_bytes(rlp.decode(value), "big") == int(slot["value"], 16) == 321
    absent = rpc(url, "eth_getProof", "0x" + "77" * 20, [], "latest")["result"]
    assert absent["balance"] == "0x0" and absent["accountProof"]
