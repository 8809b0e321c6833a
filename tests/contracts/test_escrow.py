"""The Escrow's life cycles through JSON-RPC on a running node, with web3.py and no middleware."""

from __future__ import annotations

import time

import pytest
from support.evm import rpc
from web3.exceptions import ContractCustomError

BUYER, SELLER, ARBITER, STRANGER = 1, 2, 3, 4
AMOUNT = 250_00  # 250.00 in a 2-decimal token


@pytest.fixture(scope="module")
def token(chain):
    token = chain.deploy("TestToken", "Euro", "EUR", 2)
    chain.send(token.functions.mint(chain.address(BUYER), 10_000_00))
    return token


def new_escrow(chain, token, deadline_seconds: int = 3600):
    deadline = int(time.time()) + deadline_seconds
    escrow = chain.deploy(
        "Escrow", token.address, chain.address(BUYER), chain.address(SELLER), chain.address(ARBITER), AMOUNT, deadline
    )
    chain.send(token.functions.approve(escrow.address, AMOUNT), BUYER)
    return escrow, deadline


def balances(chain, token, escrow) -> tuple[int, int, int]:
    of = token.functions.balanceOf
    return (
        of(chain.address(BUYER)).call(),
        of(chain.address(SELLER)).call(),
        of(escrow.address).call(),
    )


def test_fund_and_release_with_wrong_callers_and_double_release_refused(chain, token, evm_node):
    escrow, _ = new_escrow(chain, token)
    buyer_before, seller_before, _ = balances(chain, token, escrow)

    # a stranger cannot fund: eth_call (via estimate) answers code 3 with the custom error's data
    with pytest.raises(ContractCustomError):
        escrow.functions.fund().call({"from": chain.address(STRANGER)})
    reply = rpc(
        evm_node[0].url, "eth_call", {"from": chain.address(STRANGER), "to": escrow.address, "data": "0xa65e2cfd"}
    )
    assert reply["error"]["code"] == 3
    assert reply["error"]["message"] == "execution reverted"
    assert reply["error"]["data"].startswith("0x")

    # sent anyway (explicit gas): included, status 0, gas paid, state unchanged
    failed = chain.send(escrow.functions.fund(), STRANGER, gas=200_000)
    assert failed["status"] == 0 and failed["gasUsed"] > 21_000
    assert escrow.functions.state().call() == 0

    funded = chain.send(escrow.functions.fund(), BUYER)
    assert funded["status"] == 1
    assert balances(chain, token, escrow) == (buyer_before - AMOUNT, seller_before, AMOUNT)
    events = escrow.events.Funded().process_receipt(funded)
    assert events[0]["args"]["amount"] == AMOUNT

    assert chain.send(escrow.functions.release(), SELLER, gas=200_000)["status"] == 0  # only the buyer releases
    assert chain.send(escrow.functions.release(), BUYER)["status"] == 1
    assert balances(chain, token, escrow) == (buyer_before - AMOUNT, seller_before + AMOUNT, 0)
    assert chain.send(escrow.functions.release(), BUYER, gas=200_000)["status"] == 0  # double release
    assert balances(chain, token, escrow) == (buyer_before - AMOUNT, seller_before + AMOUNT, 0)

    logs = chain.w3.eth.get_logs({"address": escrow.address, "fromBlock": funded["blockNumber"], "toBlock": "latest"})
    assert [log["topics"][0] for log in logs] == [
        chain.w3.keccak(text="Funded(address,uint256)"),
        chain.w3.keccak(text="Released(address,uint256)"),
    ]


def test_dispute_goes_to_the_arbiter(chain, token):
    escrow, _ = new_escrow(chain, token)
    buyer_before, seller_before, _ = balances(chain, token, escrow)
    chain.send(escrow.functions.fund(), BUYER)
    assert chain.send(escrow.functions.dispute(), STRANGER, gas=200_000)["status"] == 0
    assert chain.send(escrow.functions.dispute(), SELLER)["status"] == 1
    assert chain.send(escrow.functions.release(), BUYER, gas=200_000)["status"] == 0  # frozen for the arbiter
    assert chain.send(escrow.functions.resolve(False), BUYER, gas=200_000)["status"] == 0
    assert chain.send(escrow.functions.resolve(False), ARBITER)["status"] == 1
    assert balances(chain, token, escrow) == (buyer_before, seller_before, 0)
    assert escrow.functions.state().call() == 4  # Refunded


def test_deadline_lets_the_buyer_reclaim_and_stops_funding(chain, token):
    escrow, deadline = new_escrow(chain, token, deadline_seconds=3)
    buyer_before, _, _ = balances(chain, token, escrow)
    chain.send(escrow.functions.fund(), BUYER)
    assert chain.send(escrow.functions.reclaim(), BUYER, gas=200_000)["status"] == 0  # not yet
    chain.wait_until(deadline)
    assert chain.send(escrow.functions.reclaim(), BUYER)["status"] == 1
    assert balances(chain, token, escrow)[0] == buyer_before

    late, late_deadline = new_escrow(chain, token, deadline_seconds=2)
    chain.wait_until(late_deadline)
    with pytest.raises(ContractCustomError):
        late.functions.fund().call({"from": chain.address(BUYER)})


def test_insufficient_token_funds_revert_with_the_tokens_error(chain, token):
    escrow, _ = new_escrow(chain, token)
    broke = STRANGER
    chain.send(token.functions.approve(escrow.address, AMOUNT), broke)
    assert chain.send(escrow.functions.fund(), broke, gas=200_000)["status"] == 0
