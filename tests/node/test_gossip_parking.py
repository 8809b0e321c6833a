"""A node one block behind its peers is sent transactions whose earlier nonces are in that block:
it parks them and admits them once it has committed the block, instead of losing them."""

from __future__ import annotations

from support.nodes import signed_transfer

from consensus.commit import sign_commit
from genesis.builder import init_dev_home
from ledger.hashing import keccak
from node.service import Node, NodeConfig


def test_a_gossiped_transaction_ahead_of_our_nonces_is_admitted_after_the_next_commit(tmp_path):
    listing = init_dev_home(tmp_path / "home", accounts=2)
    node = Node(NodeConfig(tmp_path / "home", verify_workers=0))
    try:
        first = signed_transfer(listing, 0, 1, 100, 0, 1)
        second = signed_transfer(listing, 0, 1, 200, 1, 2)
        assert node.admit_gossiped(second) is False  # nonce 1 before nonce 0: a gap here
        assert keccak(second) not in node.mempool and second in node.parked
        parked = node.parked[second]
        assert parked is not None and parked.hash == keccak(second)  # kept decoded, with its signer
        assert parked.sender.lower() == listing[0]["address"].lower()
        node.admit(first)
        executed = node.propose()
        node.commit_decided(executed, (sign_commit(executed.block.hash, node.validator_key),))
        assert keccak(second) in node.mempool and not node.parked
        again = node.propose()  # and it makes the next block
        node.commit_decided(again, (sign_commit(again.block.hash, node.validator_key),))
        assert node.chain.locate_transaction(keccak(second)) is not None
    finally:
        node.close()
