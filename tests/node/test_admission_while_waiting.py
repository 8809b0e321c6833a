"""A validator that does not propose the next block lets admitted transactions wait unbooked.
A client's transaction is still refused there when the committed balance already shows it cannot
book, instead of reaching a block as a failed receipt; one that waiting transactions could fund
is let through to booking."""

from __future__ import annotations

import pytest
from support.nodes import signed_transfer

from genesis.builder import init_dev_home
from ledger.hashing import keccak
from node.execution import TransactionRejected
from node.service import Node, NodeConfig


@pytest.fixture
def waiting_node(tmp_path):
    """A node that is not the next proposer, with a peer's transaction (0 -> 1) waiting unbooked."""
    listing = init_dev_home(tmp_path / "home", accounts=3)
    node = Node(NodeConfig(tmp_path / "home", verify_workers=0))
    node.prepares_next_block = lambda: False
    gossiped = signed_transfer(listing, 0, 1, 5_000, 0, 1)
    assert node.admit_gossiped(gossiped) is True
    assert node.building is None or not node.building.transactions  # it waits unbooked
    yield node, listing
    node.close()


def balance(listing: list[dict], index: int) -> int:
    return listing[index]["accounts"][0]["balance"]


def test_a_client_transaction_the_committed_balance_cannot_fund_is_refused(waiting_node):
    node, listing = waiting_node
    overdraw = signed_transfer(listing, 2, 0, balance(listing, 2) + 1, 0, 2)
    with pytest.raises(TransactionRejected) as refused:
        node.admit(overdraw)
    assert refused.value.rule == "exceeds_credits"
    assert keccak(overdraw) not in node.mempool


def test_a_transaction_waiting_credits_could_fund_is_left_to_booking(waiting_node):
    node, listing = waiting_node
    funded_by_the_wait = signed_transfer(listing, 1, 2, balance(listing, 1) + 1, 0, 3)
    node.admit(funded_by_the_wait)  # account 1 is credited 5,000 by the waiting transfer
    assert keccak(funded_by_the_wait) in node.mempool


def test_an_affordable_client_transaction_waits_unbooked(waiting_node):
    node, listing = waiting_node
    affordable = signed_transfer(listing, 2, 0, 100, 0, 4)
    node.admit(affordable)
    assert keccak(affordable) in node.mempool
    assert node.building is None or not node.building.transactions
