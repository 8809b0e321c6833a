"""The node books each transaction once, at admission, into the block it prepares; the block it
commits must be exactly what executing the same transactions afresh gives."""

from __future__ import annotations

import pytest
from support.in_process import in_process_node, produce_and_replay
from support.nodes import signed_transfer

from genesis.builder import GENESIS_FILE
from genesis.schema import load_genesis
from node.chain import Chain
from node.execution import TransactionRejected


@pytest.mark.parametrize("max_transactions", [10_000, 4])
def test_committed_blocks_equal_fresh_execution(tmp_path, max_transactions):
    node, listing, home = in_process_node(tmp_path, max_transactions=max_transactions)
    fresh = Chain(tmp_path / "fresh", load_genesis(home / GENESIS_FILE))
    try:
        raws = [signed_transfer(listing, i % 3, (i + 1) % 3, 100 + i, i // 3, i + 1) for i in range(10)]
        for raw in raws:
            node.admit(raw)
        for block, replayed, receipts in produce_and_replay(node, fresh, home):
            assert replayed.header.state_root == block.header.state_root
            assert replayed.header.receipts_root == block.header.receipts_root
            assert all(r.status == 1 for r in receipts)
        assert node.chain.height == (1 if max_transactions > 10 else 3)
        assert fresh.ledger.root == node.chain.ledger.root
    finally:
        fresh.close()
        node.close()


def test_admission_sees_the_transactions_admitted_before(tmp_path):
    node, listing, _ = in_process_node(tmp_path)
    try:
        balance = listing[0]["accounts"][0]["balance"]
        node.admit(signed_transfer(listing, 0, 1, balance - 1_000, 0, 1))
        with pytest.raises(TransactionRejected) as refused:
            node.admit(signed_transfer(listing, 0, 2, 2_000, 1, 2))  # fits the head state, not after tx 1
        assert refused.value.rule == "exceeds_credits"
        with pytest.raises(TransactionRejected) as duplicate:
            node.admit(signed_transfer(listing, 1, 2, 5, 0, 1))  # transfer id 1 is in the prepared block
        assert duplicate.value.rule == "duplicate_transfer_id"
        node.admit(signed_transfer(listing, 0, 2, 1_000, 1, 3))  # exactly what is left
        node.produce()
        assert node.chain.ledger.account(listing[0]["accounts"][0]["id"]).balance_available == 0
        assert len(node.mempool) == 0 and node.building is None
    finally:
        node.close()
