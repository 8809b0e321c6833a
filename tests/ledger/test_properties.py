"""Properties of the booking rules over random accounts and random blocks of transfers.

Each example builds accounts in two currencies (an unlimited issuer per currency plus customers,
some with the no-overdraft flag or an overdraft limit, some credits-must-not-exceed-debits),
then applies a few blocks of random transfers — single-phase, pending, post, void, linked —
with `apply_batch`, expiring timed-out reservations at the start of each block as the node does.
After every block:

* double entry: per currency, debits equal credits, posted and pending;
* no account is outside its flags;
* a linked chain succeeded or failed as a whole, and only successful transfers are stored;
* every account's four totals are exactly what its stored transfers say: single-phase amounts,
  open reservations, and the posted part of finished ones — so a post, a void and an expiry
  each release exactly the reservation and nothing else;
* replaying the postings through `book_posting` from the genesis accounts gives the same accounts.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.account import Account, AccountFlags
from ledger.apply import BookingContext, TransferRejected, apply_batch, apply_transfers, book_posting, expire_pending
from ledger.apply import split_chains as chains_of
from ledger.journal import Posting
from ledger.state import Overlay
from ledger.transfer import PendingStatus, StoredTransfer, Transfer, TransferFlags

OWNER = "0x" + "22" * 20
CURRENCIES = {"EUR": 2, "USD": 2}
T0 = 1_700_000_000
BLOCK_SECONDS = 10
MISSING_ID = 10**9

PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class MemoryLedger:
    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {a.id: a for a in accounts}
        self.transfers: dict[int, StoredTransfer] = {}

    def account(self, account_id):
        return self.accounts.get(account_id)

    def transfer(self, transfer_id):
        return self.transfers.get(transfer_id)

    def record(self, key):
        return None  # no chain records (account controls, grants) in these ledgers

    def nonce(self, address):
        return 0


# --- strategies --------------------------------------------------------------------------------

ACCOUNT_KINDS = st.sampled_from(["plain", "no_overdraft", "overdraft", "drawdown"])


@st.composite
def genesis_accounts(draw) -> list[Account]:
    accounts = []
    for currency in CURRENCIES:
        accounts.append(Account(f"GL:ISSUE:{currency}", currency, OWNER))
        for i, kind in enumerate(draw(st.lists(ACCOUNT_KINDS, min_size=1, max_size=4))):
            account_id = f"GL:{currency}:{i}"
            if kind == "plain":
                accounts.append(Account(account_id, currency, OWNER))
            elif kind == "no_overdraft":
                accounts.append(Account(account_id, currency, OWNER, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS))
            elif kind == "overdraft":
                limit = draw(st.integers(1, 500))
                accounts.append(
                    Account(
                        account_id,
                        currency,
                        OWNER,
                        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                        overdraft_limit=limit,
                    )
                )
            else:
                accounts.append(Account(account_id, currency, OWNER, flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS))
    return accounts


@dataclasses.dataclass(frozen=True)
class Op:
    """A transfer before ids are assigned: `ref` picks an earlier pending transfer to finish."""

    kind: str  # "pay", "reserve", "post", "void"
    currency: str
    debit: int
    credit: int
    amount: int
    linked: bool
    timeout_seconds: int
    ref: int


OPS = st.builds(
    Op,
    kind=st.sampled_from(["pay", "pay", "pay", "reserve", "reserve", "reserve", "post", "post", "void"]),
    currency=st.sampled_from(list(CURRENCIES)),
    debit=st.one_of(st.just(0), st.integers(0, 4)),  # 0 is the issuer: funds flow in often
    credit=st.integers(0, 3),  # an offset from the debit account, so the two differ
    amount=st.one_of(st.integers(1, 400), st.integers(0, 1_000)),
    linked=st.sampled_from([False, False, False, True]),
    timeout_seconds=st.sampled_from([0, 0, 5, 15, 40]),
    ref=st.integers(0, 20),
)
BLOCKS = st.lists(st.lists(OPS, min_size=1, max_size=10), min_size=1, max_size=5)


class Builder:
    """Turns ops into transfers with fresh ids, remembering which ids were reservations."""

    def __init__(self, accounts: list[Account]) -> None:
        self.by_currency = {c: [a.id for a in accounts if a.currency == c] for c in CURRENCIES}
        self.next_id = 1
        self.reserved: dict[int, int] = {}  # id of every reservation built -> its amount

    def transfer(self, op: Op) -> Transfer:
        transfer_id, self.next_id = self.next_id, self.next_id + 1
        ids = self.by_currency[op.currency]
        flags = TransferFlags.LINKED if op.linked else TransferFlags.NONE
        if op.kind in ("post", "void"):
            pending_id, reserved = MISSING_ID, 0
            if self.reserved:
                pending_id = list(self.reserved)[-1 - op.ref % len(self.reserved)]
                reserved = self.reserved[pending_id]
            # 0 (the full reservation), something that fits, or any amount (maybe too much).
            amount = [0, min(op.amount, reserved) or reserved, op.amount][op.ref % 3]
            flags |= TransferFlags.POST_PENDING if op.kind == "post" else TransferFlags.VOID_PENDING
            return Transfer(transfer_id, "", "", amount, "", flags=flags, pending_id=pending_id)
        debit = op.debit % len(ids)
        credit = (debit + 1 + op.credit % (len(ids) - 1)) % len(ids)
        if op.kind == "reserve":
            self.reserved[transfer_id] = op.amount
            flags |= TransferFlags.PENDING
            return Transfer(
                transfer_id,
                ids[debit],
                ids[credit],
                op.amount,
                op.currency,
                flags=flags,
                timeout_seconds=op.timeout_seconds,
            )
        return Transfer(transfer_id, ids[debit], ids[credit], op.amount, op.currency, flags=flags)


# --- invariants --------------------------------------------------------------------------------


def check_double_entry(accounts: list[Account]) -> None:
    for currency in CURRENCIES:
        mine = [a for a in accounts if a.currency == currency]
        assert sum(a.debits_posted for a in mine) == sum(a.credits_posted for a in mine), currency
        assert sum(a.debits_pending for a in mine) == sum(a.credits_pending for a in mine), currency


def check_limits(accounts: list[Account]) -> None:
    for a in accounts:
        if a.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
            assert a.debits_posted + a.debits_pending <= a.credits_posted + a.overdraft_limit, a
        if a.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            assert a.credits_posted + a.credits_pending <= a.debits_posted, a


def check_totals_match_transfers(state: Overlay, account_ids: list[str], transfer_ids: range) -> None:
    """Each account's totals, rebuilt from nothing but the stored transfers and their statuses."""
    expected = {account_id: [0, 0, 0, 0] for account_id in account_ids}  # dp, dpo, cp, cpo
    for transfer_id in transfer_ids:
        stored = state.transfer(transfer_id)
        if stored is None or stored.transfer.is_post or stored.transfer.is_void:
            continue
        t = stored.transfer
        if stored.status == PendingStatus.NONE:
            expected[t.debit_account_id][1] += t.amount
            expected[t.credit_account_id][3] += t.amount
        elif stored.status == PendingStatus.PENDING:
            expected[t.debit_account_id][0] += t.amount
            expected[t.credit_account_id][2] += t.amount
        elif stored.status == PendingStatus.POSTED:
            assert 0 < stored.amount_posted <= t.amount
            expected[t.debit_account_id][1] += stored.amount_posted
            expected[t.credit_account_id][3] += stored.amount_posted
        else:
            assert stored.status in (PendingStatus.VOIDED, PendingStatus.EXPIRED)
            assert stored.amount_posted == 0
    for account_id, want in expected.items():
        a = state.account(account_id)
        assert [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted] == want, account_id


def replay(genesis: list[Account], postings: list[Posting]) -> dict[str, Account]:
    accounts = {a.id: a for a in genesis}
    for p in postings:
        accounts[p.debit_account_id], accounts[p.credit_account_id] = book_posting(
            accounts[p.debit_account_id], accounts[p.credit_account_id], p
        )
    return accounts


def due_for_expiry(state: Overlay, transfer_ids: range, timestamp: int) -> list[int]:
    due = []
    for transfer_id in transfer_ids:
        stored = state.transfer(transfer_id)
        if stored is not None and stored.status == PendingStatus.PENDING and 0 < stored.expires_at <= timestamp:
            due.append(transfer_id)
    return due


# --- properties --------------------------------------------------------------------------------


@PROFILE
@given(genesis_accounts(), BLOCKS)
def test_random_batches_keep_the_ledger_invariants(genesis, blocks):
    base = MemoryLedger(genesis)
    state = Overlay(base)
    builder = Builder(genesis)
    account_ids = [a.id for a in genesis]
    journal: list[Posting] = []

    for number, ops in enumerate(blocks, start=1):
        ctx = BookingContext(number, T0 + number * BLOCK_SECONDS, number.to_bytes(32, "big"), CURRENCIES)
        journal += expire_pending(state, due_for_expiry(state, range(1, builder.next_id), ctx.timestamp), ctx)

        transfers = [builder.transfer(op) for op in ops]
        results = apply_batch(state, transfers, ctx)

        assert [r.index for r in sorted(results, key=lambda r: r.index)] == list(range(len(transfers)))
        by_index = {r.index: r for r in results}
        for chain in chains_of(transfers):
            failed = [by_index[i].error is not None for i in chain]
            assert all(failed) or not any(failed), chain
            if all(failed):
                assert sum(by_index[i].error.rule != "linked_event_failed" for i in chain) == 1
        for result in results:
            assert (result.error is None) == (result.posting is not None)
            assert (state.transfer(transfers[result.index].id) is not None) == (result.error is None)
        journal += [by_index[i].posting for i in range(len(transfers)) if by_index[i].posting is not None]

        accounts = [state.account(i) for i in account_ids]
        check_double_entry(accounts)
        check_limits(accounts)
        check_totals_match_transfers(state, account_ids, range(1, builder.next_id))
        assert replay(genesis, journal) == {a.id: a for a in accounts}

    # Every open reservation is still open because its time has not come.
    final = T0 + len(blocks) * BLOCK_SECONDS
    for transfer_id in range(1, builder.next_id):
        stored = state.transfer(transfer_id)
        if stored is not None and stored.status == PendingStatus.PENDING:
            assert stored.expires_at == 0 or stored.expires_at > final


@PROFILE
@given(genesis_accounts(), BLOCKS)
def test_expiring_everything_releases_every_reservation(genesis, blocks):
    base = MemoryLedger(genesis)
    state = Overlay(base)
    builder = Builder(genesis)
    ctx = BookingContext(1, T0, b"\x01" * 32, CURRENCIES)
    for ops in blocks:
        apply_batch(state, [builder.transfer(op) for op in ops], ctx)
    ids = range(1, builder.next_id)
    before = {i: state.transfer(i) for i in ids}
    late = BookingContext(2, T0 + 10**6, b"\x02" * 32, CURRENCIES)
    due = due_for_expiry(state, ids, late.timestamp)
    postings = expire_pending(state, due, late)

    assert [p.pending_id for p in postings] == due
    assert [p.released for p in postings] == [before[i].transfer.amount for i in due]
    assert all(p.amount == 0 for p in postings)
    for transfer_id in due:
        assert state.transfer(transfer_id).status == PendingStatus.EXPIRED
    accounts = [state.account(a.id) for a in genesis]
    check_double_entry(accounts)
    check_limits(accounts)
    check_totals_match_transfers(state, [a.id for a in genesis], ids)
    # Only reservations without a timeout may remain open.
    for transfer_id in ids:
        stored = state.transfer(transfer_id)
        if stored is not None and stored.status == PendingStatus.PENDING:
            assert stored.expires_at == 0


@PROFILE
@given(genesis_accounts(), st.lists(OPS, min_size=1, max_size=12))
def test_a_transaction_books_all_or_nothing(genesis, ops):
    base = MemoryLedger(genesis)
    state = Overlay(base)
    builder = Builder(genesis)
    # Fund everybody first so that some transactions succeed.
    funding = [
        Transfer(1_000_000 + n, f"GL:ISSUE:{a.currency}", a.id, 1_000, a.currency)
        for n, a in enumerate(genesis)
        if not a.id.startswith("GL:ISSUE:") and not a.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    ]
    ctx = BookingContext(1, T0, b"\x01" * 32, CURRENCIES)
    if funding:
        apply_transfers(state, funding, ctx)
    before_accounts, before_transfers = dict(state.accounts), dict(state.transfers)

    transfers = [builder.transfer(op) for op in ops]
    try:
        postings = apply_transfers(state, transfers, ctx)
    except TransferRejected as rejected:
        assert 0 <= rejected.index < len(transfers)
        assert (state.accounts, state.transfers) == (before_accounts, before_transfers)
        return
    assert len(postings) == len(transfers)
    assert all(state.transfer(t.id) is not None for t in transfers)
    accounts = [state.account(a.id) for a in genesis]
    check_double_entry(accounts)
    check_limits(accounts)


def test_properties_reach_both_outcomes():
    """Guard against a generator that only ever produces rejected (or only accepted) transfers."""
    seen = {"ok": 0, "failed": 0}

    @settings(max_examples=60, deadline=None, database=None)
    @given(genesis_accounts(), BLOCKS)
    def run(genesis, blocks):
        state = Overlay(MemoryLedger(genesis))
        builder = Builder(genesis)
        ctx = BookingContext(1, T0, b"\x01" * 32, CURRENCIES)
        for ops in blocks:
            for result in apply_batch(state, [builder.transfer(op) for op in ops], ctx):
                seen["ok" if result.error is None else "failed"] += 1

    run()
    assert seen["ok"] > 50
    assert seen["failed"] > 50


@pytest.mark.parametrize("amount", [1, 250, 400])
def test_post_void_expire_release_exactly_the_reservation(amount):
    """The three ways to finish a reservation, side by side on the same starting state."""
    issuer, customer = (
        Account("GL:ISSUE:EUR", "EUR", OWNER),
        Account("GL:EUR:0", "EUR", OWNER, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, credits_posted=400),
    )
    genesis = [dataclasses.replace(issuer, debits_posted=400), customer]
    ctx = BookingContext(1, T0, b"\x01" * 32, CURRENCIES)
    reservation = Transfer(1, customer.id, issuer.id, amount, "EUR", flags=TransferFlags.PENDING, timeout_seconds=5)
    finishers = {
        "post": Transfer(2, "", "", 0, "", flags=TransferFlags.POST_PENDING, pending_id=1),
        "void": Transfer(2, "", "", 0, "", flags=TransferFlags.VOID_PENDING, pending_id=1),
    }
    outcomes = {}
    for name in ("post", "void", "expire"):
        state = Overlay(MemoryLedger(genesis))
        apply_transfers(state, [reservation], ctx)
        assert state.account(customer.id).balance_available == 400 - amount
        if name == "expire":
            expire_pending(state, [1], dataclasses.replace(ctx, timestamp=T0 + 5))
        else:
            apply_transfers(state, [finishers[name]], ctx)
        c = state.account(customer.id)
        assert c.debits_pending == 0 and state.account(issuer.id).credits_pending == 0
        outcomes[name] = c.debits_posted
    assert outcomes == {"post": amount, "void": 0, "expire": 0}
