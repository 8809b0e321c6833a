from __future__ import annotations

import pytest

from genesis.builder import dev_key
from ledger.transfer import Transfer, TransferFlags
from ledger.tx import Action, LedgerTransaction, decode_transaction
from node.execution import SignedTransaction, TransactionRejected
from node.mempool import Mempool


def tx(nonce: int, *ids: int, key_index: int = 0) -> SignedTransaction:
    transfers = tuple(Transfer(i, "GL:A:X", "GL:B:Y", 1, "EUR") for i in ids)
    raw = LedgerTransaction(1337, nonce, transfers).sign(dev_key(key_index).private_key).encode()
    decoded = decode_transaction(raw)
    return SignedTransaction(decoded, raw, decoded.hash, decoded.sender())


def rule(call) -> str:
    with pytest.raises(TransactionRejected) as caught:
        call()
    return caught.value.rule


def test_admits_in_nonce_order_and_refuses_gaps_reuse_and_duplicates():
    pool = Mempool()
    pool.add(tx(0, 1), state_nonce=0)
    assert rule(lambda: pool.add(tx(0, 1), 0)) == "already_known"
    assert rule(lambda: pool.add(tx(0, 2), 0)) == "nonce_too_low"
    assert rule(lambda: pool.add(tx(2, 3), 0)) == "nonce_gap"
    assert rule(lambda: pool.add(tx(1, 1), 0)) == "duplicate_transfer_id"
    assert rule(lambda: pool.add(tx(1, 4, 4), 0)) == "duplicate_transfer_id"
    pool.add(tx(1, 2), 0)
    pool.add(tx(0, 9, key_index=1), 0)
    assert pool.pending_count(tx(0, 1).sender) == 2 and len(pool) == 3


def test_take_is_oldest_first_within_bounds_and_remove_frees_ids():
    pool = Mempool()
    txs = [tx(n, n + 1) for n in range(5)]
    for t in txs:
        pool.add(t, 0)
    assert pool.take(3, 10**6) == txs[:3]
    assert pool.take(10, len(txs[0].raw) * 2) == txs[:2]
    pool.remove(txs[:3])
    assert len(pool) == 2 and not pool.has_transfer_id(1) and pool.has_transfer_id(4)
    assert pool.pending_count(txs[0].sender) == 2


def test_bounds():
    pool = Mempool(max_transactions=2, max_per_sender=1)
    pool.add(tx(0, 1), 0)
    assert rule(lambda: pool.add(tx(1, 2), 0)) == "sender_limit"
    pool.add(tx(0, 3, key_index=1), 0)
    assert rule(lambda: pool.add(tx(0, 4, key_index=2), 0)) == "mempool_full"


def test_accounts_waiting_transfers_credit_may_gain_funds_until_they_leave():
    pool = Mempool()
    first, second = tx(0, 1), tx(1, 2)
    pool.add(first, 0)
    pool.add(second, 0)
    assert pool.may_raise_funds("GL:B:Y")  # credited twice
    assert not pool.may_raise_funds("GL:A:X")  # only debited: waiting debits never add funds
    pool.remove([first])
    assert pool.may_raise_funds("GL:B:Y")
    pool.remove([second])
    assert not pool.may_raise_funds("GL:B:Y")


def test_a_waiting_action_or_void_makes_every_account_uncertain():
    pool = Mempool()
    raw = LedgerTransaction(1337, 0, (), action=Action(1, b"\xc0")).sign(dev_key(0).private_key).encode()
    decoded = decode_transaction(raw)
    action = SignedTransaction(decoded, raw, decoded.hash, decoded.sender())
    pool.add(action, 0)
    assert pool.may_raise_funds("GL:A:X")
    pool.remove([action])
    assert not pool.may_raise_funds("GL:A:X")
    void = Transfer(7, "GL:A:X", "GL:B:Y", 0, "EUR", flags=TransferFlags.VOID_PENDING, pending_id=3)
    raw = LedgerTransaction(1337, 0, (void,)).sign(dev_key(0).private_key).encode()
    decoded = decode_transaction(raw)
    pool.add(SignedTransaction(decoded, raw, decoded.hash, decoded.sender()), 0)
    assert pool.may_raise_funds("GL:A:X")
