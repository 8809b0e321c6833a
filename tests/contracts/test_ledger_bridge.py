"""Ledger money in the EVM: each currency is an ERC-20 at a fixed address, contracts move real
ledger postings atomically with their calls (an inner revert undoes exactly its postings), and
the journal names the Ethereum transaction. Through JSON-RPC on a running node, with web3.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.evm import rpc
from web3 import Web3

from contracts.bridge.addresses import BRIDGE_ADDRESS, evm_account_id, token_address
from contracts.compiler import compile_sources, load_artifact
from node.rpc.auth import home_credentials

EUR = Web3.to_checksum_address(token_address("EUR"))
PROBE = Path(__file__).parent / "solidity" / "RevertProbe.sol"


@pytest.fixture(scope="module")
def eur(chain):
    return chain.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])


def eur_account(listing, index: int) -> str:
    return next(a["id"] for a in listing[index]["accounts"] if a["currency"] == "EUR")


def ledger_balance(url: str, account_id: str) -> int:
    return int(rpc(url, "qenex_getAccount", account_id)["result"]["balance"])


def postings(url: str, receipt: dict) -> list[dict]:
    """The ledger postings of a transaction (Ethereum receipts keep the execution-apis shape)."""
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    return rpc(url, "qenex_getTransactionPostings", tx_hash)["result"]["postings"]


def supply_balanced(url: str) -> bool:
    return all(entry["balanced"] for entry in rpc(url, "qenex_getSupply")["result"])


def test_a_wallet_sees_its_euros_as_an_erc20(chain, eur, evm_node):
    node, listing = evm_node
    assert (eur.functions.symbol().call(), eur.functions.decimals().call()) == ("EUR", 2)
    assert eur.functions.name().call() == "QENEX EUR"
    assert eur.functions.balanceOf(chain.address(1)).call() == ledger_balance(node.url, eur_account(listing, 1))
    assert eur.functions.totalSupply().call() == int(rpc(node.url, "qenex_getSupply", "EUR")["result"][0]["issued"])
    assert chain.w3.eth.get_code(EUR) != b""
    bridge = chain.w3.eth.contract(
        address=Web3.to_checksum_address(BRIDGE_ADDRESS),
        abi=[{"type": "function", "name": "tokenOf", "stateMutability": "view",
              "inputs": [{"name": "code", "type": "string"}], "outputs": [{"name": "", "type": "address"}]}],
    )  # fmt: skip
    assert bridge.functions.tokenOf("EUR").call() == EUR


def test_token_transfer_books_a_ledger_posting_journaled_with_the_tx_hash(chain, eur, evm_node):
    node, listing = evm_node
    payer, payee = eur_account(listing, 0), eur_account(listing, 2)
    before = ledger_balance(node.url, payer), ledger_balance(node.url, payee)
    receipt = chain.send(eur.functions.transfer(chain.address(2), 12_34), 0)
    assert receipt["status"] == 1
    (posting,) = postings(node.url, receipt)
    assert (posting["debitAccountId"], posting["creditAccountId"], posting["amount"]) == (payer, payee, "1234")
    assert (ledger_balance(node.url, payer), ledger_balance(node.url, payee)) == (before[0] - 1234, before[1] + 1234)
    (event,) = eur.events.Transfer().process_receipt(receipt)
    assert event["args"]["value"] == 1234
    journal = rpc(node.url, "qenex_getJournal", payee, {"limit": 1})["result"]["entries"]
    assert journal[0]["transactionHash"] == "0x" + bytes(receipt["transactionHash"]).hex()
    assert supply_balanced(node.url)


def test_escrow_on_ledger_euros(chain, eur, evm_node):
    node, listing = evm_node
    buyer, seller, arbiter = 1, 2, 3
    amount = 500_00
    escrow = chain.deploy(
        "Escrow",
        EUR,
        chain.address(buyer),
        chain.address(seller),
        chain.address(arbiter),
        amount,
        int(time.time()) + 600,
    )
    chain.send(eur.functions.approve(escrow.address, amount), buyer)
    assert eur.functions.allowance(chain.address(buyer), escrow.address).call() == amount
    buyer_before = ledger_balance(node.url, eur_account(listing, buyer))
    seller_before = ledger_balance(node.url, eur_account(listing, seller))

    assert chain.send(escrow.functions.fund(), seller, gas=300_000)["status"] == 0  # wrong caller
    funded = chain.send(escrow.functions.fund(), buyer)
    assert funded["status"] == 1
    holding = evm_account_id(bytes.fromhex(escrow.address[2:]), "EUR")
    assert [p["creditAccountId"] for p in postings(node.url, funded)] == [holding]
    assert ledger_balance(node.url, holding) == amount
    assert eur.functions.allowance(chain.address(buyer), escrow.address).call() == 0

    released = chain.send(escrow.functions.release(), buyer)
    assert [(p["debitAccountId"], p["creditAccountId"]) for p in postings(node.url, released)] == [
        (holding, eur_account(listing, seller))
    ]
    assert ledger_balance(node.url, eur_account(listing, buyer)) == buyer_before - amount
    assert ledger_balance(node.url, eur_account(listing, seller)) == seller_before + amount
    assert ledger_balance(node.url, holding) == 0
    again = chain.send(escrow.functions.release(), buyer, gas=300_000)  # double release
    assert again["status"] == 0 and postings(node.url, again) == []
    assert supply_balanced(node.url)


def test_ledger_refusal_reverts_with_its_rule(chain, eur, evm_node):
    node, _ = evm_node
    too_much = eur.functions.balanceOf(chain.address(4)).call() + 1
    data = eur.functions.transfer(chain.address(0), too_much)._encode_transaction_data()
    reply = rpc(node.url, "eth_call", {"from": chain.address(4), "to": EUR, "data": data})
    assert reply["error"]["code"] == 3
    assert reply["error"]["message"].startswith("execution reverted: ledger: exceeds_credits")


def test_an_inner_revert_undoes_exactly_its_postings(chain, eur, evm_node):
    node, listing = evm_node
    (compiled,) = compile_sources({"RevertProbe.sol": PROBE.read_text()}).values()
    factory = chain.w3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
    deployed = chain.send(factory.constructor(), 0)
    probe = chain.w3.eth.contract(address=deployed["contractAddress"], abi=compiled["abi"])
    chain.send(eur.functions.transfer(probe.address, 100_00), 0)
    probe_account = evm_account_id(bytes.fromhex(probe.address[2:]), "EUR")
    payee = eur_account(listing, 4)
    payee_before = ledger_balance(node.url, payee)

    receipt = chain.send(probe.functions.run(EUR, chain.address(4), 10_00, 20_00), 0)
    assert receipt["status"] == 1
    assert [(p["debitAccountId"], p["amount"]) for p in postings(node.url, receipt)] == [(probe_account, "1000")]
    assert ledger_balance(node.url, payee) == payee_before + 10_00
    assert ledger_balance(node.url, probe_account) == 90_00

    # callTracer shows the internal calls, the reverted one with its reason
    trace = rpc(
        node.url,
        "debug_traceTransaction",
        "0x" + bytes(receipt["transactionHash"]).hex(),
        {"tracer": "callTracer"},
        headers=home_credentials(node.home),
    )
    frame = trace["result"]
    assert (frame["type"], frame["to"]) == ("CALL", probe.address)
    inner = frame["calls"]
    assert [(c["type"], c["to"]) for c in inner] == [("CALL", EUR), ("CALL", probe.address)], json.dumps(frame)
    assert inner[1]["error"] == "execution reverted" and inner[1]["calls"][0]["to"] == EUR
    block_trace = rpc(
        node.url,
        "debug_traceBlockByNumber",
        hex(receipt["blockNumber"]),
        {"tracer": "callTracer"},
        headers=home_credentials(node.home),
    )
    assert block_trace["result"][0]["result"] == frame
    assert (
        rpc(
            node.url,
            "debug_traceTransaction",
            "0x" + "00" * 32,
            {"tracer": "prestateTracer"},
            headers=home_credentials(node.home),
        )["error"]["code"]
        == -32602
    )

    # the outer call failing (the first transfer exceeds what the probe holds) books nothing
    failed = chain.send(probe.functions.run(EUR, chain.address(4), 1_000_00, 1), 0, gas=500_000)
    assert failed["status"] == 0 and postings(node.url, failed) == []
    assert ledger_balance(node.url, probe_account) == 90_00
    assert supply_balanced(node.url)


def test_ledger_verify_replays_bridge_postings_after_the_node_stops(chain, eur, evm_node):
    from support.nodes import run_cli, start_node

    node, _ = evm_node
    # one more bridge transfer into a fresh address (the bridge opens its account)
    fresh = Web3.to_checksum_address("0x" + "ab" * 20)
    assert chain.send(eur.functions.transfer(fresh, 1), 0)["status"] == 1
    node.stop()
    try:
        result = run_cli("ledger", "verify", "--home", str(node.home))
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        restarted = start_node(node.home)
        node.process, node.url = restarted.process, restarted.url
