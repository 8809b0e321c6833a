"""qenex_getTransactionEvents: an explorer reads "Funded(buyer, amount)" and a ledger token's
"Transfer(from, to, value)" instead of topics and hex, on a running node."""

from __future__ import annotations

import time

from support.evm import rpc
from web3 import Web3

from contracts.bridge.addresses import token_address
from contracts.compiler import load_artifact
from contracts.events import decode_log

EUR = Web3.to_checksum_address(token_address("EUR"))


def events(url: str, receipt: dict) -> list[dict]:
    return rpc(url, "qenex_getTransactionEvents", "0x" + bytes(receipt["transactionHash"]).hex())["result"]


def test_a_ledger_token_transfer_and_an_escrow_funding_are_decoded(chain, evm_node):
    node, _ = evm_node
    eur = chain.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])
    paid = chain.send(eur.functions.transfer(chain.address(2), 1_23), 1)
    [transfer] = events(node.url, paid)
    assert transfer["address"] == EUR
    assert transfer["decoded"] == {
        "event": "Transfer",
        "signature": "Transfer(address,address,uint256)",
        "contract": "ERC20",
        "token": "EUR",
        "args": {"from": chain.address(1), "to": chain.address(2), "value": "123"},
    }

    escrow = chain.deploy("Escrow", EUR, chain.address(1), chain.address(2), chain.address(3), 5_00,
                          int(time.time()) + 3600)  # fmt: skip
    chain.send(eur.functions.approve(escrow.address, 5_00), 1)
    funded = chain.send(escrow.functions.fund(), 1)
    decoded = [e["decoded"] for e in events(node.url, funded)]
    assert {"event": "Funded", "contract": "Escrow", "args": {"buyer": chain.address(1), "amount": "500"}}.items() <= (
        next(d for d in decoded if d["event"] == "Funded").items()
    )
    assert any(d["event"] == "Transfer" and d["token"] == "EUR" and d["args"]["value"] == "500" for d in decoded)

    ledger_only = rpc(node.url, "qenex_getTransactionEvents", "0x" + "00" * 32)["result"]
    assert ledger_only is None  # an unknown transaction


def test_a_log_that_fits_no_known_event_stays_undecoded():
    topic = Web3.keccak(text="Transfer(address,address,uint256)")
    assert decode_log(b"\x01" * 20, [topic], b"") is None, "Transfer with no indexed topics is not the ERC-20 one"
    assert decode_log(b"\x01" * 20, [b"\x02" * 32], b"") is None
    assert decode_log(b"\x01" * 20, [], b"") is None
