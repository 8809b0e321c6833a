"""The explorer in a real browser (Debian's Chromium via Playwright) against a real node."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from support.browser import run_browser_script
from support.nodes import signed_transfer, wait_receipt
from web3 import Web3

from contracts.bridge.addresses import token_address
from ledger.authz import RoleGrant
from ledger.tx import LedgerTransaction
from node.admin import ChangeKind, propose

SCRIPT = Path(__file__).with_name("explorer_browser.cjs")
PNG = b"\x89PNG\r\n\x1a\n"


def token_transfer(node, listing) -> str:
    """A signed Ethereum call of the EUR ledger token: transfer(dev account 1, 1.23 EUR) from dev account 2."""
    gas_price = int(node.rpc.call("eth_gasPrice"), 16)
    call = keccak(text="transfer(address,uint256)")[:4] + abi_encode(
        ["address", "uint256"], [listing[1]["address"], 123]
    )
    fields = {"nonce": 0, "to": Web3.to_checksum_address(token_address("EUR")), "value": 0, "gas": 200_000,
              "gasPrice": gas_price, "chainId": 1337, "data": call}  # fmt: skip
    return "0x" + Account.sign_transaction(fields, listing[2]["private_key"]).raw_transaction.hex().removeprefix("0x")


def auditor_proposal(listing) -> str:
    """Dev key 0 (the dev genesis's governor) proposes the auditor role for dev key 1; its nonce 1
    follows the transfer the script sends first."""
    change = RoleGrant("auditor", listing[1]["address"], "*")
    action = propose(ChangeKind.GRANT_ROLE, change, 10_000)
    raw = LedgerTransaction(1337, 1, (), action=action).sign(bytes.fromhex(listing[0]["private_key"][2:])).encode()
    return "0x" + raw.hex()


@pytest.mark.slow
@pytest.mark.timeout(1500)  # a fresh CI machine first installs Chromium (apt) and playwright-core (npm)
def test_a_transfer_made_through_rpc_appears_live_and_in_every_view(running_node, tmp_path):
    node, listing = running_node
    raw = signed_transfer(listing, payer=0, payee=1, amount=123_456, nonce=0, transfer_id=70_001)
    payer_iban = listing[0]["accounts"][0]["id"]
    credit_iban = listing[1]["accounts"][0]["id"]
    spaced_lowercase = " ".join(payer_iban[i : i + 4] for i in range(0, len(payer_iban), 4)).lower()

    # the block number is only known after the receipt: search for the block that holds it by
    # number, so the script gets it from the node itself
    shown = run_browser_script(
        SCRIPT,
        {
            "url": node.url,
            "rawTransaction": "0x" + raw.hex(),
            "screenshots": str(tmp_path),
            "blockSearch": "1",
            "ibanSearch": spaced_lowercase,
            "ethereumTransaction": token_transfer(node, listing),
            "governanceTransaction": auditor_proposal(listing),
        },
    )
    receipt = wait_receipt(node.rpc, shown["transactionHash"])
    block_number = int(receipt["blockNumber"], 16)

    print(f"transfer listed on the page {shown['appearedAfterMs']} ms after eth_sendRawTransaction")
    assert shown["pageErrors"] == []
    assert shown["title"] == "QENEX explorer"
    assert shown["live"] == "live"
    # within one block: when the hash appeared, the newest block on the page was its own block
    assert int(shown["tipWhenShown"]) == block_number
    assert "success" in shown["transactionPage"]
    assert "1234.56 EUR" in shown["transactionPage"]
    assert payer_iban in shown["transactionPage"] and credit_iban in shown["transactionPage"]
    assert listing[0]["address"].lower() in shown["transactionPage"].lower()
    assert f"Account {credit_iban}" in shown["accountPage"]
    assert "1001234.56 EUR" in shown["accountPage"]  # opening 1,000,000.00 + 1,234.56
    assert "1234.56 EUR" in shown["accountPage"]  # the journal entry
    assert "Block 1" in shown["blockPage"]
    assert shown["commitSignatures"] == 1  # one validator signs each commit
    assert f"Account {payer_iban}" in shown["ibanPage"]
    assert "998765.44 EUR" in shown["ibanPage"]
    evm_page = shown["ethereumPage"]
    assert "Ethereum transaction" in evm_page and "success" in evm_page and "(EUR token)" in evm_page
    payee = Web3.to_checksum_address(listing[1]["address"])
    assert f"Transfer(from: {Web3.to_checksum_address(listing[2]['address'])}, to: {payee}, value: 123)" in evm_page
    assert "1.23 EUR" in evm_page  # the bridge's ledger posting
    assert "needs an operator login" in shown["heldPage"]  # the review queue names customers: login first
    governance = shown["governancePage"]
    assert "Governance proposals (1)" in governance and f"grant auditor to {listing[1]['address'][:10]}" in governance
    assert "executed" in governance  # one governor holds every vote
    assert "Validators" in shown["validatorsPage"] and "100.00%" in shown["validatorsPage"]
    for name in ("home", "transaction", "validators"):
        picture = (tmp_path / f"{name}.png").read_bytes()
        assert picture.startswith(PNG) and len(picture) > 5_000
