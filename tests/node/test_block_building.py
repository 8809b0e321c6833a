"""The node books each transaction once, at admission, into the block it prepares; the block it
commits must be exactly what executing the same transactions afresh gives."""

from __future__ import annotations

import json

import pytest
from support.nodes import signed_transfer

from genesis.builder import GENESIS_FILE, init_dev_home
from genesis.schema import load_genesis
from ledger.tx import decode_transaction
from node.chain import Chain
from node.execution import SignedTransaction, TransactionRejected
from node.service import Node, NodeConfig, read_validator_key


def make_node(tmp_path, max_transactions: int = 10_000):
    home = tmp_path / "home"
    listing = init_dev_home(home, accounts=3)
    genesis_path = home / GENESIS_FILE
    data = json.loads(genesis_path.read_text())
    data["block"]["max_transactions"] = max_transactions
    genesis_path.write_text(json.dumps(data))
    return Node(NodeConfig(home, verify_workers=0)), listing, home


def signed(raw: bytes) -> SignedTransaction:
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, tx.hash, tx.sender())


@pytest.mark.parametrize("max_transactions", [10_000, 4])
def test_committed_blocks_equal_fresh_execution(tmp_path, max_transactions):
    node, listing, home = make_node(tmp_path, max_transactions)
    fresh = Chain(tmp_path / "fresh", load_genesis(home / GENESIS_FILE))
    try:
        raws = [signed_transfer(listing, i % 3, (i + 1) % 3, 100 + i, i // 3, i + 1) for i in range(10)]
        for raw in raws:
            node.admit(raw)
        while len(node.mempool):
            number = node.chain.height + 1
            node.produce()
            block = node.chain.block(number)
            replayed, receipts = fresh.produce_block(
                [signed(raw) for raw in block.transactions], read_validator_key(home), block.header.timestamp
            )
            assert replayed.header.state_root == block.header.state_root
            assert replayed.header.receipts_root == block.header.receipts_root
            assert all(r.status == 1 for r in receipts)
        assert node.chain.height == (1 if max_transactions > 10 else 3)
        assert fresh.ledger.root == node.chain.ledger.root
    finally:
        fresh.close()
        node.close()


def test_admission_sees_the_transactions_admitted_before(tmp_path):
    node, listing, _ = make_node(tmp_path)
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
