"""MultiSig, Loan and PaymentSplitter life cycles on ledger euros (the EUR token of the ledger
bridge), through JSON-RPC on a running node with web3.py; after each, the ledger balances."""

from __future__ import annotations

import pytest
from support.evm import rpc
from web3 import Web3

from contracts.bridge.addresses import token_address
from contracts.compiler import load_artifact

EUR = Web3.to_checksum_address(token_address("EUR"))

OWNERS = (0, 1, 2)
OUTSIDER = 4


@pytest.fixture(scope="module")
def token(chain):
    return chain.w3.eth.contract(address=EUR, abi=load_artifact("TestToken")["abi"])


@pytest.fixture(autouse=True)
def ledger_stays_balanced(evm_node):
    yield
    supply = rpc(evm_node[0].url, "qenex_getSupply")["result"]
    assert all(entry["balanced"] for entry in supply)


def test_multisig_two_of_three(chain, token):
    wallet = chain.deploy("MultiSig", [chain.address(i) for i in OWNERS], 2)
    chain.send(token.functions.transfer(wallet.address, 5_000), 3)
    payout = token.functions.transfer(chain.address(OUTSIDER), 1_200)._encode_transaction_data()
    before = token.functions.balanceOf(chain.address(OUTSIDER)).call()

    assert chain.send(wallet.functions.submit(token.address, 0, payout), OUTSIDER, gas=300_000)["status"] == 0
    assert chain.send(wallet.functions.submit(token.address, 0, payout), 0)["status"] == 1
    assert chain.send(wallet.functions.execute(0), 0, gas=300_000)["status"] == 0  # 1 of 2
    assert chain.send(wallet.functions.confirm(0), 0, gas=300_000)["status"] == 0  # confirmed already
    assert chain.send(wallet.functions.confirm(0), 1)["status"] == 1
    assert chain.send(wallet.functions.revoke(0), 1)["status"] == 1
    assert chain.send(wallet.functions.execute(0), 0, gas=300_000)["status"] == 0  # revoked: 1 of 2 again
    assert chain.send(wallet.functions.confirm(0), 2)["status"] == 1
    assert chain.send(wallet.functions.execute(0), 2)["status"] == 1
    assert token.functions.balanceOf(chain.address(OUTSIDER)).call() == before + 1_200
    assert token.functions.balanceOf(wallet.address).call() == 3_800
    assert chain.send(wallet.functions.execute(0), 2, gas=300_000)["status"] == 0  # executed once

    # owners and threshold change only through the wallet itself
    assert chain.send(wallet.functions.changeThreshold(3), 0, gas=300_000)["status"] == 0
    change = wallet.functions.changeThreshold(3)._encode_transaction_data()
    chain.send(wallet.functions.submit(wallet.address, 0, change), 0)
    chain.send(wallet.functions.confirm(1), 1)
    assert chain.send(wallet.functions.execute(1), 1)["status"] == 1
    assert wallet.functions.threshold().call() == 3


def test_loan_repaid_in_installments_with_a_late_fee(chain, token):
    lender, borrower = 0, 1
    loan = chain.deploy(
        "Loan",
        token.address,
        token.address,
        chain.address(lender),
        chain.address(borrower),
        10_000,  # principal
        500,  # 5.00 % interest over the term
        100,  # 1.00 % late fee
        20_000,  # collateral
        2,  # instalments
        3,  # seconds between instalments
        60,  # grace
    )
    of = token.functions.balanceOf
    lender_start, borrower_start = of(chain.address(lender)).call(), of(chain.address(borrower)).call()
    chain.send(token.functions.approve(loan.address, 100_000), borrower)
    chain.send(token.functions.approve(loan.address, 10_000), lender)
    assert chain.send(loan.functions.disburse(), lender, gas=300_000)["status"] == 0  # no collateral yet
    assert chain.send(loan.functions.lockCollateral(), borrower)["status"] == 1
    assert chain.send(loan.functions.disburse(), borrower, gas=300_000)["status"] == 0  # lender only
    disbursed = chain.send(loan.functions.disburse(), lender)
    assert disbursed["status"] == 1
    assert loan.functions.installmentAmount(0).call() == 5_250
    assert chain.send(loan.functions.repay(), borrower)["status"] == 1  # on time
    chain.wait_until(loan.functions.dueAt(1).call())
    late = chain.send(loan.functions.repay(), borrower)
    assert late["status"] == 1
    paid = loan.events.InstallmentPaid().process_receipt(late)[0]["args"]
    assert (paid["amount"], paid["lateFee"]) == (5_250, 52)
    assert loan.functions.state().call() == 3  # Repaid
    assert of(chain.address(lender)).call() == lender_start - 10_000 + 10_500 + 52
    assert of(chain.address(borrower)).call() == borrower_start + 10_000 - 10_500 - 52  # collateral returned
    assert chain.send(loan.functions.repay(), borrower, gas=300_000)["status"] == 0


def test_loan_default_seizes_the_collateral(chain, token):
    lender, borrower = 2, 3
    loan = chain.deploy(
        "Loan", token.address, token.address, chain.address(lender), chain.address(borrower),
        10_000, 0, 0, 15_000, 1, 1, 1,
    )  # fmt: skip
    chain.send(token.functions.approve(loan.address, 15_000), borrower)
    chain.send(token.functions.approve(loan.address, 10_000), lender)
    chain.send(loan.functions.lockCollateral(), borrower)
    chain.send(loan.functions.disburse(), lender)
    assert chain.send(loan.functions.declareDefault(), lender, gas=300_000)["status"] == 0  # not overdue yet
    lender_before = token.functions.balanceOf(chain.address(lender)).call()
    chain.wait_until(loan.functions.dueAt(0).call() + 1)
    assert chain.send(loan.functions.declareDefault(), borrower, gas=300_000)["status"] == 0
    assert chain.send(loan.functions.declareDefault(), lender)["status"] == 1
    assert token.functions.balanceOf(chain.address(lender)).call() == lender_before + 15_000
    assert loan.functions.state().call() == 4  # Defaulted


def test_payment_splitter_pays_by_shares(chain, token):
    a, b = chain.address(3), chain.address(4)
    splitter = chain.deploy("PaymentSplitter", [a, b], [1, 3])
    chain.send(token.functions.transfer(splitter.address, 4_001), 0)
    of = token.functions.balanceOf
    a_before, b_before = of(a).call(), of(b).call()
    assert chain.send(splitter.functions.release(token.address, chain.address(0)), 0, gas=200_000)["status"] == 0
    assert chain.send(splitter.functions.release(token.address, a), 0)["status"] == 1
    assert chain.send(splitter.functions.release(token.address, b), 1)["status"] == 1
    assert (of(a).call() - a_before, of(b).call() - b_before) == (1_000, 3_000)
    assert chain.send(splitter.functions.release(token.address, a), 0, gas=200_000)["status"] == 0  # nothing due
    assert of(splitter.address).call() == 1  # rounding dust stays
