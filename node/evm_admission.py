"""Admission of Ethereum transactions: decode, signature, chain id and nonce, in geth's words.

The node's admission (node.service.Node.admit) calls `decode_for_admission` for every raw
transaction that is not a ledger transaction (type 0x51); the rest of admission (known hash,
mempool bounds, execution into the next block) is shared by both kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.evm.transaction import EthTransaction, EvmTxInvalid, decode_ethereum
from node.execution import TransactionRejected

if TYPE_CHECKING:
    from node.service import Node


def decode_for_admission(node: Node, raw: bytes) -> tuple[EthTransaction, str]:
    try:
        tx, sender = decode_ethereum(raw, node.genesis.chain_id)
    except EvmTxInvalid as invalid:
        raise TransactionRejected(invalid.rule, invalid.message) from None
    expected = node.chain.ledger.nonce(sender) + node.mempool.pending_count(sender)
    if tx.nonce < expected:
        raise TransactionRejected("nonce_too_low", f"nonce too low: address {sender}, tx: {tx.nonce} state: {expected}")
    if tx.nonce > expected:
        raise TransactionRejected(
            "nonce_too_high", f"nonce too high: address {sender}, tx: {tx.nonce} state: {expected}"
        )
    return tx, sender
