"""Ethereum transactions in the node's blocks beside ledger transactions: one nonce per sender,
EVM root / gas / bloom in the header, fresh execution equals the committed block, and a restart
reads the same EVM state back from LevelDB."""

from __future__ import annotations

import pytest
from eth_account import Account
from support.in_process import in_process_node, produce_and_replay
from support.nodes import signed_transfer

from genesis.builder import DEV_NATIVE_WEI, GENESIS_FILE
from genesis.schema import load_genesis
from node.chain import Chain
from node.execution import TransactionRejected
from node.service import Node, NodeConfig

BOB = Account.create()


def eth_raw(listing, index: int, nonce: int, **fields) -> bytes:
    tx = {"to": BOB.address, "value": 1, "gas": 21_000, "nonce": nonce, "chainId": 1337}
    tx |= {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0} | fields
    return bytes(Account.from_key(listing[index]["private_key"]).sign_transaction(tx).raw_transaction)


@pytest.mark.parametrize("max_transactions", [10_000, 3])
def test_mixed_blocks_equal_fresh_execution_and_survive_restart(tmp_path, max_transactions):
    node, listing, home = in_process_node(tmp_path, max_transactions=max_transactions)
    fresh = Chain(tmp_path / "fresh", load_genesis(home / GENESIS_FILE))
    try:
        # sender 0 alternates kinds on one nonce sequence
        raws = [
            signed_transfer(listing, 0, 1, 100, 0, 1),
            eth_raw(listing, 0, 1, value=7),
            signed_transfer(listing, 0, 2, 100, 2, 2),
            eth_raw(listing, 0, 3, value=8),
            eth_raw(listing, 1, 0, value=9),
        ]
        for raw in raws:
            node.admit(raw)
        for block, replayed, _ in produce_and_replay(node, fresh, home):
            for name in ("state_root", "evm_state_root", "receipts_root", "gas_used", "logs_bloom"):
                assert getattr(replayed.header, name) == getattr(block.header, name), name
        head = node.chain.head.header
        assert node.chain.ledger.nonce(listing[0]["address"]) == 4
        assert sum(node.chain.header(n).gas_used for n in range(1, head.number + 1)) == 3 * 21_000
    finally:
        fresh.close()
        node.close()
    reopened = Node(NodeConfig(home, verify_workers=0))
    try:
        reader = reopened.chain.evm_block(reopened.chain.height + 1, head.timestamp)
        assert reader.state.get_balance(bytes.fromhex(BOB.address[2:])) == 24
        sender = bytes.fromhex(listing[0]["address"][2:])
        assert reader.state.get_balance(sender) == DEV_NATIVE_WEI - 15
    finally:
        reopened.close()


def test_admission_refuses_what_cannot_pay_and_keeps_nonce_order(tmp_path):
    node, listing, _ = in_process_node(tmp_path, base_fee_per_gas=7)
    try:
        with pytest.raises(TransactionRejected) as low:
            node.admit(eth_raw(listing, 0, 0, maxFeePerGas=6))
        assert low.value.rule == "fee_too_low"
        with pytest.raises(TransactionRejected) as gap:
            node.admit(eth_raw(listing, 0, 1, maxFeePerGas=7))
        assert gap.value.message.startswith("nonce too high: address")
        node.admit(eth_raw(listing, 0, 0, maxFeePerGas=7))
        with pytest.raises(TransactionRejected) as again:
            node.admit(eth_raw(listing, 0, 0, maxFeePerGas=8))
        assert again.value.message.startswith("nonce too low")
        with pytest.raises(TransactionRejected) as poor:
            node.admit(eth_raw(listing, 0, 1, maxFeePerGas=7, value=DEV_NATIVE_WEI))
        assert poor.value.rule == "insufficient_funds"
        node.produce()
        assert node.chain.head.header.gas_used == 21_000
        assert node.chain.ledger.nonce(listing[0]["address"]) == 1
    finally:
        node.close()
