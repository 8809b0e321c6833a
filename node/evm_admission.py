"""Admission of Ethereum transactions: decode, signature, chain id and nonce, in geth's words.

The node decodes every raw transaction that is not a ledger transaction (type 0x51) with
`decode_ethereum_signed` (from RPC, from gossip, in a proposal), and before the mempool's own
checks gives an Ethereum transaction geth's nonce messages (`check_ethereum_nonce`); the rest of
admission (known hash, mempool bounds, execution into the next block) is shared by both kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.evm.transaction import EvmTxInvalid, decode_ethereum
from node.execution import SignedTransaction, TransactionRejected

if TYPE_CHECKING:
    from node.service import Node


def decode_ethereum_signed(raw: bytes, chain_id: int) -> SignedTransaction:
    try:
        tx, sender = decode_ethereum(raw, chain_id)
    except EvmTxInvalid as invalid:
        raise TransactionRejected(invalid.rule, invalid.message) from None
    return SignedTransaction(tx, bytes(raw), tx.evm_tx.hash, sender)


def check_ethereum_nonce(node: Node, signed: SignedTransaction) -> None:
    expected = node.chain.ledger.nonce(signed.sender) + node.mempool.pending_count(signed.sender)
    nonce = signed.tx.nonce
    if nonce < expected:
        raise TransactionRejected(
            "nonce_too_low", f"nonce too low: address {signed.sender}, tx: {nonce} state: {expected}"
        )
    if nonce > expected:
        raise TransactionRejected(
            "nonce_too_high", f"nonce too high: address {signed.sender}, tx: {nonce} state: {expected}"
        )
