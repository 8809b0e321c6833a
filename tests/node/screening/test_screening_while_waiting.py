"""A client's transaction that waits unbooked (its validator's proposal is out, or earlier
transactions wait) is screened at admission all the same: a payment the model holds is refused
with the hold's rule and listed for review, exactly as when it books at once. Before, the answer
depended on the moment it arrived (seen as a flaky four-validator screening test)."""

from __future__ import annotations

import pytest
from support.nodes import make_home, signed_transfer

from genesis.builder import enable_screening
from ledger.hashing import keccak
from node.execution import TransactionRejected
from node.service import Node, NodeConfig

from .conftest import with_thresholds
from .test_node_screening import LARGE, SMALL


@pytest.fixture
def waiting_node(tmp_path, small_model):
    """A screening node that does not propose next, with a peer's transaction waiting unbooked."""
    model = with_thresholds(small_model, tmp_path / "model", 300_000, 970_000)
    home, listing = make_home(tmp_path)
    enable_screening(home, model, hold_expiry_seconds=60, label_delay_seconds=0)
    node = Node(NodeConfig(home, verify_workers=0))
    node.prepares_next_block = lambda: False
    assert node.admit_gossiped(signed_transfer(listing, 2, 0, SMALL, 0, 1)) is True
    assert node.building is None or not node.building.transactions  # it waits unbooked
    yield node, listing
    node.close()


def test_a_held_payment_is_refused_at_admission_while_others_wait(waiting_node):
    node, listing = waiting_node
    large = signed_transfer(listing, 1, 0, LARGE, 0, 2)
    with pytest.raises(TransactionRejected) as held:
        node.admit(large)
    assert held.value.rule == "fraud_hold"
    assert "held for compliance review" in held.value.message
    assert keccak(large) not in node.mempool
    assert [entry.signed.hash for entry in node.screening.queue.held()] == [keccak(large)]

    with pytest.raises(TransactionRejected) as sender_held:
        node.admit(signed_transfer(listing, 1, 0, SMALL, 0, 3))
    assert sender_held.value.rule == "fraud_sender_held"


def test_an_ordinary_payment_still_waits_unbooked(waiting_node):
    node, listing = waiting_node
    small = signed_transfer(listing, 0, 1, SMALL, 0, 4)
    node.admit(small)
    assert keccak(small) in node.mempool
    assert node.building is None or not node.building.transactions
