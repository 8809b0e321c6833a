"""The LevelDB store: staging a block's overlay, reading it back, its indexes and its invariants."""

from __future__ import annotations

import dataclasses

import plyvel
import pytest

from ledger.account import Account, AccountFlags
from ledger.apply import BookingContext, apply_transfers, expire_pending
from ledger.codec import encode_account, encode_stored_transfer, int_to_bytes
from ledger.commitment import BucketTree, verify_leaf_proof
from ledger.errors import InvariantViolation
from ledger.journal import JournalEntry
from ledger.state import Overlay
from ledger.store import (
    JOURNAL_PAGE_MAX,
    CurrencyTotals,
    LedgerStore,
    account_leaf_key,
    nonce_leaf_key,
    pending_leaf_key,
)
from ledger.transfer import PendingStatus, Transfer, TransferFlags

OWNER = "0x" + "44" * 20
SENDER = "0x" + "ab" * 20
CURRENCIES = {"EUR": 2, "USD": 2}
T0 = 1_700_000_000

ISSUER = "GL:ISSUE:EUR"
ALICE = "GL:BANKA:ALICE"
ALICE_TOO = "GL:BANKA:ALICE2"  # an id that starts with another id
BOB = "DE89370400440532013000"
DOLLARS = "GL:ISSUE:USD"
CAROL = "GL:BANKA:CAROL:USD"


@pytest.fixture
def db(tmp_path):
    database = plyvel.DB(str(tmp_path / "ledger"), create_if_missing=True)
    yield database
    database.close()


@pytest.fixture
def store(db) -> LedgerStore:
    store = LedgerStore(db)
    overlay = Overlay(store)
    for account in (
        Account(ISSUER, "EUR", OWNER),
        Account(ALICE, "EUR", OWNER, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
        Account(ALICE_TOO, "EUR", OWNER),
        Account(BOB, "EUR", OWNER),
        Account(DOLLARS, "USD", OWNER),
        Account(CAROL, "USD", OWNER),
    ):
        overlay.put_account(account)
    write(db, store, overlay, [])
    return store


def write(db, store: LedgerStore, overlay: Overlay, journal: list[JournalEntry]) -> bytes:
    batch = db.write_batch()
    root = store.stage(batch, overlay, journal)
    batch.write()
    return root


def block(
    db,
    store: LedgerStore,
    number: int,
    transactions: list[list[Transfer]],
    expire: bool = True,
    nonce: tuple[str, int] | None = None,
) -> tuple[bytes, list[JournalEntry]]:
    """Apply one block the way the node does: expiries first, then each transaction."""
    timestamp = T0 + number * 10
    ctx = BookingContext(number, timestamp, bytes(32), CURRENCIES)
    overlay = Overlay(store)
    journal: list[JournalEntry] = []
    if expire:
        for posting in expire_pending(overlay, store.expiring(timestamp, 1000), ctx):
            journal.append(JournalEntry(number, -1, b"", len(journal), posting))
    for tx_index, transfers in enumerate(transactions):
        tx_hash = bytes([number % 256, tx_index % 256]) * 16
        for posting in apply_transfers(overlay, transfers, dataclasses.replace(ctx, tx_hash=tx_hash)):
            journal.append(JournalEntry(number, tx_index, tx_hash, len(journal), posting))
    if nonce is not None:
        overlay.set_nonce(*nonce)
    return write(db, store, overlay, journal), journal


def pay(transfer_id: int, debit: str, credit: str, amount: int, currency: str = "EUR", **fields) -> Transfer:
    return Transfer(transfer_id, debit, credit, amount, currency, **fields)


def totals(account: Account) -> tuple[int, int, int, int]:
    return account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted


# --- staging and reading back ------------------------------------------------------------------


def test_genesis_accounts_are_stored_and_committed(db, store):
    assert store.account(ALICE) == Account(ALICE, "EUR", OWNER, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    assert store.account("GL:BANKA:NOBODY") is None
    assert {a.id for a in store.accounts()} == {ISSUER, ALICE, ALICE_TOO, BOB, DOLLARS, CAROL}
    assert store.root != BucketTree().root
    proof = store.proof(account_leaf_key(ALICE))
    assert verify_leaf_proof(store.root, proof, encode_account(store.account(ALICE)))


def test_block_changes_root_and_reads_back(db, store):
    genesis_root = store.root
    root, journal = block(db, store, 1, [[pay(1, ISSUER, ALICE, 500)], [pay(2, ALICE, BOB, 200)]], nonce=(SENDER, 2))
    assert root == store.root != genesis_root
    assert [e.posting.transfer_id for e in journal] == [1, 2]

    reopened = LedgerStore(db)  # nothing cached: everything comes from LevelDB
    assert reopened.root == root
    assert totals(reopened.account(ALICE)) == (0, 200, 0, 500)
    assert totals(reopened.account(BOB)) == (0, 0, 0, 200)
    stored = reopened.transfer(2)
    assert stored.transfer == pay(2, ALICE, BOB, 200)
    assert (stored.block_number, stored.timestamp, stored.status) == (1, T0 + 10, PendingStatus.NONE)
    assert reopened.transfer(3) is None
    assert reopened.nonce(SENDER) == 2
    assert reopened.nonce("0x" + "cd" * 20) == 0
    assert verify_leaf_proof(root, reopened.proof(nonce_leaf_key(SENDER)), int_to_bytes(2))
    assert verify_leaf_proof(root, reopened.proof(account_leaf_key(BOB)), encode_account(reopened.account(BOB)))
    assert not verify_leaf_proof(root, reopened.proof(account_leaf_key(BOB)), encode_account(store.account(ALICE)))


def test_every_block_moves_the_root(db, store):
    roots = [store.root]
    for number in range(1, 5):
        roots.append(block(db, store, number, [[pay(number, ISSUER, BOB, number)]])[0])
    assert len(set(roots)) == len(roots)


def test_identical_histories_give_identical_roots(tmp_path):
    roots = []
    for name in ("one", "two"):
        database = plyvel.DB(str(tmp_path / name), create_if_missing=True)
        try:
            store = LedgerStore(database)
            overlay = Overlay(store)
            overlay.put_account(Account(ISSUER, "EUR", OWNER))
            overlay.put_account(Account(BOB, "EUR", OWNER))
            write(database, store, overlay, [])
            roots.append(block(database, store, 1, [[pay(1, ISSUER, BOB, 5)]])[0])
        finally:
            database.close()
    assert roots[0] == roots[1]


def test_extra_leaves_are_committed(db, store):
    overlay = Overlay(store)
    root = write(db, store, overlay, [])
    assert root == store.root
    overlay = Overlay(store)
    batch = db.write_batch()
    new_root = store.stage(batch, overlay, [], extra_leaves={b"r:grant": b"operator"})
    batch.write()
    assert new_root != root
    assert verify_leaf_proof(new_root, LedgerStore(db).proof(b"r:grant"), b"operator")


def test_stage_not_written_then_reload(db, store):
    block(db, store, 1, [[pay(1, ISSUER, BOB, 500)]])
    persisted_root = store.root
    overlay = Overlay(store)
    apply_transfers(overlay, [pay(2, ISSUER, BOB, 1)], BookingContext(2, T0 + 20, bytes(32), CURRENCIES))
    store.stage(db.write_batch(), overlay, [])  # staged, never written
    assert store.root != persisted_root
    store.reload()
    assert store.root == persisted_root
    assert store.account(BOB).credits_posted == 500
    assert store.transfer(2) is None


# --- invariants --------------------------------------------------------------------------------


def test_stage_refuses_an_overlay_that_does_not_balance(db, store):
    root = store.root
    overlay = Overlay(store)
    overlay.put_account(dataclasses.replace(store.account(BOB), credits_posted=100))  # money from nowhere
    with pytest.raises(InvariantViolation, match="does not balance in EUR"):
        store.stage(db.write_batch(), overlay, [])
    assert store.root == root
    assert LedgerStore(db).account(BOB).credits_posted == 0


def test_stage_refuses_unbalanced_pending_totals(db, store):
    overlay = Overlay(store)
    overlay.put_account(dataclasses.replace(store.account(ISSUER), debits_pending=7))  # posted totals still balance
    with pytest.raises(InvariantViolation, match="does not balance in EUR"):
        store.stage(db.write_batch(), overlay, [])


def test_stage_refuses_a_new_account_with_a_balance(db, store):
    overlay = Overlay(store)
    overlay.put_account(Account("GL:BANKA:NEW", "EUR", OWNER, credits_posted=1))
    with pytest.raises(InvariantViolation):
        store.stage(db.write_batch(), overlay, [])


def test_stage_refuses_imbalance_hidden_across_currencies(db, store):
    overlay = Overlay(store)
    overlay.put_account(dataclasses.replace(store.account(ISSUER), debits_posted=5))
    overlay.put_account(dataclasses.replace(store.account(CAROL), credits_posted=5))
    with pytest.raises(InvariantViolation):
        store.stage(db.write_batch(), overlay, [])


def test_stage_refuses_a_nested_overlay(db, store):
    with pytest.raises(InvariantViolation):
        store.stage(db.write_batch(), Overlay(store).child(), [])


def test_currency_totals_track_every_block(db, store):
    assert store.currency_totals("EUR") == CurrencyTotals()
    block(db, store, 1, [[pay(1, ISSUER, ALICE, 500)], [pay(2, DOLLARS, CAROL, 70, "USD")]])
    block(db, store, 2, [[pay(3, ALICE, BOB, 100, flags=TransferFlags.PENDING)]])
    reopened = LedgerStore(db)
    assert reopened.currency_totals("EUR") == CurrencyTotals(100, 500, 100, 500)
    assert reopened.currency_totals("USD") == CurrencyTotals(0, 70, 0, 70)
    assert reopened.currency_totals("JPY") == CurrencyTotals()
    for currency in CURRENCIES:
        accounts = [a for a in reopened.accounts() if a.currency == currency]
        assert reopened.currency_totals(currency) == CurrencyTotals(
            sum(a.debits_pending for a in accounts),
            sum(a.debits_posted for a in accounts),
            sum(a.credits_pending for a in accounts),
            sum(a.credits_posted for a in accounts),
        )
    block(db, store, 3, [[Transfer(4, "", "", 0, "", flags=TransferFlags.VOID_PENDING, pending_id=3)]])
    assert LedgerStore(db).currency_totals("EUR") == CurrencyTotals(0, 500, 0, 500)


def test_currency_totals_codec():
    totals_ = CurrencyTotals(1, 2**128 - 1, 0, 5)
    assert CurrencyTotals.decode(totals_.encode()) == totals_


# --- pending transfers and the expiry index ----------------------------------------------------


def reservation(transfer_id: int, amount: int, timeout_seconds: int) -> Transfer:
    return pay(transfer_id, ISSUER, BOB, amount, flags=TransferFlags.PENDING, timeout_seconds=timeout_seconds)


def test_expiring_index(db, store):
    # Block 1 is at T0+10: expiries at T0+40, T0+25, T0+25, T0+70, and one that never expires.
    block(
        db,
        store,
        1,
        [
            [
                reservation(1, 10, 30),
                reservation(2, 20, 15),
                reservation(3, 30, 15),
                reservation(4, 40, 60),
                reservation(5, 50, 0),
            ]
        ],
    )
    assert store.expiring(T0 + 24, 100) == []
    assert store.expiring(T0 + 25, 100) == [2, 3]
    assert store.expiring(T0 + 40, 100) == [2, 3, 1]
    assert store.expiring(T0 + 40, 2) == [2, 3]
    assert store.expiring(T0 + 10**9, 100) == [2, 3, 1, 4]

    # Block 2 posts 3 and voids 1: both leave the index.
    block(
        db,
        store,
        2,
        [
            [Transfer(6, "", "", 0, "", flags=TransferFlags.POST_PENDING, pending_id=3)],
            [Transfer(7, "", "", 0, "", flags=TransferFlags.VOID_PENDING, pending_id=1)],
        ],
    )
    assert store.expiring(T0 + 10**9, 100) == [2, 4]

    # Block 3 (T0+30) expires 2 at its start.
    root, journal = block(db, store, 3, [])
    assert [(e.tx_index, e.posting.pending_id, e.posting.released) for e in journal] == [(-1, 2, 20)]
    assert store.expiring(T0 + 10**9, 100) == [4]
    assert store.transfer(2).status == PendingStatus.EXPIRED
    assert totals(store.account(BOB)) == (0, 0, 90, 30)  # 4 and 5 still reserved, 3 posted
    assert verify_leaf_proof(root, store.proof(pending_leaf_key(2)), None)
    assert verify_leaf_proof(root, store.proof(pending_leaf_key(4)), encode_stored_transfer(store.transfer(4)))


def test_pending_leaf_is_removed_when_finished(db, store):
    root, _ = block(db, store, 1, [[reservation(1, 10, 0)]])
    assert verify_leaf_proof(root, store.proof(pending_leaf_key(1)), encode_stored_transfer(store.transfer(1)))
    root, _ = block(db, store, 2, [[Transfer(2, "", "", 4, "", flags=TransferFlags.POST_PENDING, pending_id=1)]])
    assert verify_leaf_proof(root, store.proof(pending_leaf_key(1)), None)
    assert store.transfer(1).amount_posted == 4


# --- the journal -------------------------------------------------------------------------------


@pytest.fixture
def busy_store(db, store) -> tuple[LedgerStore, list[JournalEntry]]:
    """Four blocks; ALICE is in 23 postings, ALICE_TOO (whose id extends ALICE's) in others."""
    journal: list[JournalEntry] = []
    next_id = iter(range(1, 10_000))
    for number in range(1, 5):
        transactions = [[pay(next(next_id), ISSUER, ALICE, 100 + i)] for i in range(4)]
        transactions += [[pay(next(next_id), ALICE, BOB, 1), pay(next(next_id), ISSUER, ALICE_TOO, 1)]]
        transactions += [[pay(next(next_id), ISSUER, BOB, 1)]]
        if number == 4:
            transactions += [[pay(next(next_id), ALICE, BOB, 2)] for _ in range(3)]
        journal += block(db, store, number, transactions)[1]
    return store, journal


def position(entry: JournalEntry) -> tuple[int, int]:
    return entry.block_number, entry.sequence


def involves(entry: JournalEntry, account_id: str) -> bool:
    return account_id in (entry.posting.debit_account_id, entry.posting.credit_account_id)


def test_journal_entries_are_stored_in_order(busy_store):
    store, journal = busy_store
    assert list(store.journal_entries()) == journal
    assert list(store.journal_entries(start_block=3)) == [e for e in journal if e.block_number >= 3]


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("limit", [1, 5, 7, 23, 100])
def test_account_journal_pages_cover_everything_once(busy_store, newest_first, limit):
    store, journal = busy_store
    expected = [e for e in journal if involves(e, ALICE)]
    assert len(expected) == 23
    if newest_first:
        expected.reverse()
    pages, after = [], None
    while True:
        page = store.account_journal(ALICE, after=after, limit=limit, newest_first=newest_first)
        if not page:
            break
        assert len(page) <= limit
        pages.append(page)
        after = position(page[-1])
        assert len(pages) <= 23, "paging does not terminate"
    seen = [entry for page in pages for entry in page]
    assert seen == expected  # in order, nothing skipped, nothing twice
    assert all(len(page) == limit for page in pages[:-1])
    keys = [position(e) for e in seen]
    assert keys == sorted(keys, reverse=newest_first)
    assert len(set(keys)) == len(keys)


def test_account_journal_keeps_accounts_apart(busy_store):
    store, journal = busy_store
    alice_too = store.account_journal(ALICE_TOO, limit=1000, newest_first=False)
    assert alice_too == [e for e in journal if involves(e, ALICE_TOO)]
    assert all(not involves(e, ALICE) for e in alice_too)
    assert store.account_journal("GL:BANKA:NOBODY") == []


def test_account_journal_cursor_in_the_middle(busy_store):
    store, journal = busy_store
    mine = [e for e in journal if involves(e, ALICE)]
    middle = mine[10]
    older = store.account_journal(ALICE, after=position(middle), limit=1000, newest_first=True)
    newer = store.account_journal(ALICE, after=position(middle), limit=1000, newest_first=False)
    assert older == list(reversed(mine[:10]))
    assert newer == mine[11:]


def test_account_journal_limit_is_clamped(busy_store):
    store, _ = busy_store
    assert len(store.account_journal(ALICE, limit=0)) == 1
    assert len(store.account_journal(ALICE, limit=-5)) == 1
    assert len(store.account_journal(ALICE, limit=JOURNAL_PAGE_MAX * 10)) == 23


def test_account_journal_notices_a_missing_entry(db, busy_store):
    store, journal = busy_store
    target = next(e for e in journal if involves(e, ALICE))
    db.delete(b"Lj" + target.block_number.to_bytes(8, "big") + target.sequence.to_bytes(4, "big"))
    with pytest.raises(InvariantViolation):
        store.account_journal(ALICE, limit=1000, newest_first=False)
