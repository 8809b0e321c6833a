"""A node in the test's own process (no sockets) on a fresh dev home, for block-building tests that
call Node.admit / Node.produce directly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from contracts.evm.transaction import decode_ethereum, is_ethereum_raw
from genesis.builder import GENESIS_FILE, init_dev_home
from ledger.tx import decode_transaction
from node.block import Block, Receipt
from node.chain import Chain
from node.execution import SignedTransaction
from node.service import Node, NodeConfig, read_validator_key


def in_process_node(tmp_path: Path, **block: int) -> tuple[Node, list[dict], Path]:
    """(node, dev accounts listing, home); `block` overrides genesis's block section
    (max_transactions, base_fee_per_gas, ...)."""
    home = tmp_path / "home"
    listing = init_dev_home(home, accounts=3)
    path = home / GENESIS_FILE
    data = json.loads(path.read_text())
    data["block"].update(block)
    path.write_text(json.dumps(data))
    return Node(NodeConfig(home, verify_workers=0)), listing, home


def signed(raw: bytes, chain_id: int = 1337) -> SignedTransaction:
    """A raw ledger, action or Ethereum transaction decoded with its sender, as admission does."""
    if is_ethereum_raw(raw):
        tx, sender = decode_ethereum(raw, chain_id)
        return SignedTransaction(tx, raw, tx.evm_tx.hash, sender)
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, tx.hash, tx.sender())


def produce_and_replay(node: Node, fresh: Chain, home: Path) -> Iterator[tuple[Block, Block, list[Receipt]]]:
    """Produce blocks until the mempool is empty; each one is replayed on `fresh` (a chain from the
    same genesis) from its raw transactions: (committed block, replayed block, replayed receipts)."""
    while len(node.mempool):
        number = node.chain.height + 1
        node.produce()
        block = node.chain.block(number)
        transactions = [signed(raw) for raw in block.transactions]
        replayed, receipts = fresh.produce_block(transactions, read_validator_key(home), block.header.timestamp)
        yield block, replayed, receipts
