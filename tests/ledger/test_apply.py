"""The booking rules of ledger/apply.py, one rule at a time.

Every rejection is checked three ways: `apply_transfer` raises the error named for the rule,
`apply_transfers` wraps it in TransferRejected with the same rule, and `apply_batch` reports it
for that transfer. In all three the overlay is left without a single change.
"""

from __future__ import annotations

import dataclasses

import pytest

from ledger.account import Account, AccountFlags, AccountStatus, validate_account_id
from ledger.apply import (
    BookingContext,
    TransferRejected,
    apply_batch,
    apply_transfer,
    apply_transfers,
    book_posting,
    expire_pending,
    split_chains,
)
from ledger.currency import AMOUNT_MAX
from ledger.errors import (
    AccountNotActiveError,
    AccountNotFoundError,
    AmountOverflowError,
    CurrencyMismatchError,
    DuplicateTransferError,
    ExceedsCreditsError,
    ExceedsDebitsError,
    InvalidAccountError,
    InvalidAmountError,
    InvalidTransferError,
    InvariantViolation,
    LedgerError,
    LinkedChainFailedError,
    LinkedChainOpenError,
    PendingTransferAlreadyPostedError,
    PendingTransferAlreadyVoidedError,
    PendingTransferExpiredError,
    PendingTransferMismatchError,
    PendingTransferNotFoundError,
    PendingTransferNotPendingError,
    SameAccountError,
    UnknownCurrencyError,
)
from ledger.journal import Posting, PostingKind
from ledger.state import Overlay
from ledger.transfer import ID_MAX, PendingStatus, StoredTransfer, Transfer, TransferFlags

OWNER = "0x" + "11" * 20
SENDER = "0x" + "12" * 20
CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0}
T0 = 1_700_000_000

CASH = "GL:BANKA:CASH"  # no limits: may go negative (a bank's own books)
ALICE = "DE89370400440532013000"  # customer, no overdraft, 100.00 EUR
BOB = "DE44500105175407324931"  # customer, no overdraft, empty
OVERDRAFT = "GL:BANKA:OD"  # no overdraft flag but a 50.00 limit, empty
LOAN = "GL:BANKA:LOAN"  # credits must not exceed debits; 100.00 drawn
FROZEN = "GL:BANKA:FROZEN"
CLOSED = "GL:BANKA:CLOSED"
DOLLARS = "GL:BANKA:USD"
FULL = "GL:BANKA:FULL"  # totals near 2^128-1

LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


class MemoryLedger:
    """A LedgerReader over plain dicts: the store, minus LevelDB."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {a.id: a for a in accounts}
        self.transfers: dict[int, StoredTransfer] = {}
        self.nonces: dict[str, int] = {}

    def account(self, account_id):
        return self.accounts.get(account_id)

    def transfer(self, transfer_id):
        return self.transfers.get(transfer_id)

    def record(self, key):
        return None  # no chain records (account controls, grants) in these ledgers

    def nonce(self, address):
        return self.nonces.get(address, 0)

    def commit(self, overlay: Overlay) -> None:
        self.accounts.update(overlay.accounts)
        self.transfers.update(overlay.transfers)
        self.nonces.update(overlay.nonces)


def ctx(timestamp: int = T0, block: int = 1) -> BookingContext:
    return BookingContext(
        block_number=block, timestamp=timestamp, tx_hash=bytes([block % 256]) * 32, currencies=CURRENCIES
    )


def account(account_id: str, currency: str = "EUR", **fields) -> Account:
    return Account(id=account_id, currency=currency, owner=OWNER, **fields)


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger(
        [
            account(CASH),
            account(ALICE, flags=LIMITED, credits_posted=10_000),
            account(BOB, flags=LIMITED),
            account(OVERDRAFT, flags=LIMITED, overdraft_limit=5_000),
            account(LOAN, flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS, debits_posted=10_000),
            account(FROZEN, status=AccountStatus.FROZEN),
            account(CLOSED, status=AccountStatus.CLOSED),
            account(DOLLARS, "USD"),
            account(FULL, debits_posted=AMOUNT_MAX - 5, credits_posted=AMOUNT_MAX - 5),
        ]
    )


def pay(transfer_id: int, debit: str, credit: str, amount: int, currency: str = "EUR", **fields) -> Transfer:
    return Transfer(
        id=transfer_id, debit_account_id=debit, credit_account_id=credit, amount=amount, currency=currency, **fields
    )


def reserve(transfer_id: int, debit: str, credit: str, amount: int, timeout_seconds: int = 0) -> Transfer:
    return pay(transfer_id, debit, credit, amount, flags=TransferFlags.PENDING, timeout_seconds=timeout_seconds)


def post(transfer_id: int, pending_id: int, amount: int = 0, **fields) -> Transfer:
    return Transfer(
        id=transfer_id,
        debit_account_id=fields.pop("debit", ""),
        credit_account_id=fields.pop("credit", ""),
        amount=amount,
        currency=fields.pop("currency", ""),
        flags=TransferFlags.POST_PENDING,
        pending_id=pending_id,
        **fields,
    )


def void(transfer_id: int, pending_id: int, amount: int = 0, **fields) -> Transfer:
    return dataclasses.replace(post(transfer_id, pending_id, amount, **fields), flags=TransferFlags.VOID_PENDING)


def book(ledger: MemoryLedger, transfers: list[Transfer], context: BookingContext | None = None) -> list[Posting]:
    """Apply a transaction and make it part of the base state."""
    overlay = Overlay(ledger)
    postings = apply_transfers(overlay, transfers, context or ctx())
    ledger.commit(overlay)
    return postings


def assert_unchanged(overlay: Overlay) -> None:
    assert overlay.accounts == {}
    assert overlay.transfers == {}
    assert overlay.nonces == {}


def assert_rejected(
    ledger: MemoryLedger, transfer: Transfer, error: type[LedgerError], context: BookingContext | None = None
) -> LedgerError:
    context = context or ctx()
    before = (dict(ledger.accounts), dict(ledger.transfers))
    overlay = Overlay(ledger)
    with pytest.raises(error) as raised:
        apply_transfer(overlay, transfer, context)
    assert type(raised.value) is error
    assert raised.value.rule == error.rule
    assert_unchanged(overlay)

    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(overlay, [transfer], context)
    assert type(rejected.value.cause) is error
    assert (rejected.value.rule, rejected.value.index) == (error.rule, 0)
    assert_unchanged(overlay)

    [result] = apply_batch(overlay, [transfer], context)
    assert type(result.error) is error and result.posting is None
    assert_unchanged(overlay)
    assert (ledger.accounts, ledger.transfers) == before
    return raised.value


def totals(ledger_or_overlay, account_id: str) -> tuple[int, int, int, int]:
    a = ledger_or_overlay.account(account_id)
    return a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted


# --- accepted transfers ------------------------------------------------------------------------


def test_single_phase_transfer_moves_posted_totals(ledger):
    [posting] = book(ledger, [pay(1, ALICE, BOB, 2_500)])
    assert posting == Posting(PostingKind.POSTED, 1, ALICE, BOB, 2_500, "EUR", 1)
    assert totals(ledger, ALICE) == (0, 2_500, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 0, 2_500)
    stored = ledger.transfer(1)
    assert (stored.status, stored.block_number, stored.timestamp, stored.expires_at) == (PendingStatus.NONE, 1, T0, 0)
    assert ledger.account(ALICE).balance_posted == 7_500


def test_transfer_writes_only_into_the_overlay(ledger):
    overlay = Overlay(ledger)
    apply_transfer(overlay, pay(1, ALICE, BOB, 100), ctx())
    assert totals(overlay, BOB) == (0, 0, 0, 100)
    assert totals(ledger, BOB) == (0, 0, 0, 0)
    assert ledger.transfer(1) is None


def test_no_overdraft_account_may_spend_exactly_its_credits(ledger):
    book(ledger, [pay(1, ALICE, BOB, 10_000)])
    assert ledger.account(ALICE).balance_posted == 0


def test_unlimited_account_may_go_negative(ledger):
    book(ledger, [pay(1, CASH, BOB, 1_000_000)])
    assert ledger.account(CASH).balance_posted == -1_000_000


def test_overdraft_limit_allows_debits_up_to_the_limit(ledger):
    book(ledger, [pay(1, OVERDRAFT, BOB, 5_000)])
    assert ledger.account(OVERDRAFT).balance_posted == -5_000
    assert_rejected(ledger, pay(2, OVERDRAFT, BOB, 1), ExceedsCreditsError)


def test_credits_must_not_exceed_debits_allows_repaying_exactly(ledger):
    book(ledger, [pay(1, CASH, LOAN, 10_000)])
    assert ledger.account(LOAN).balance_posted == 0


def test_linked_flags_may_close_in_one_transaction(ledger):
    postings = book(ledger, [pay(1, ALICE, BOB, 100, flags=TransferFlags.LINKED), pay(2, BOB, CASH, 100)])
    assert [p.transfer_id for p in postings] == [1, 2]
    assert totals(ledger, BOB) == (0, 100, 0, 100)


def test_a_transfer_may_spend_what_an_earlier_one_in_the_transaction_credited(ledger):
    book(ledger, [pay(1, CASH, BOB, 300), pay(2, BOB, ALICE, 300)])
    assert ledger.account(BOB).balance_posted == 0


# --- field rules -------------------------------------------------------------------------------


def test_zero_amount_is_rejected(ledger):
    assert_rejected(ledger, pay(1, ALICE, BOB, 0), InvalidAmountError)


def test_amount_beyond_u128_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, BOB, AMOUNT_MAX + 1), InvalidAmountError)


@pytest.mark.parametrize("transfer_id", [0, ID_MAX + 1, -1])
def test_transfer_id_must_be_a_nonzero_u128(ledger, transfer_id):
    assert_rejected(ledger, pay(transfer_id, CASH, BOB, 1), InvalidTransferError)


@pytest.mark.parametrize(
    "flags",
    [
        TransferFlags.PENDING | TransferFlags.POST_PENDING,
        TransferFlags.PENDING | TransferFlags.VOID_PENDING,
        TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING,
        TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING,
        TransferFlags(16),
        TransferFlags(0x8000) | TransferFlags.PENDING,
    ],
)
def test_contradictory_or_unknown_flags_are_rejected(ledger, flags):
    book(ledger, [reserve(1, CASH, BOB, 1)])
    finishing = flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
    transfer = pay(5, CASH, BOB, 1, flags=flags, pending_id=1 if finishing else 0)
    error = assert_rejected(ledger, transfer, InvalidTransferError)
    assert "flags" in error.message or "exclude each other" in error.message


def test_linked_pending_is_a_valid_combination(ledger):
    linked_reservation = pay(1, CASH, BOB, 5, flags=TransferFlags.PENDING | TransferFlags.LINKED)
    book(ledger, [linked_reservation, pay(2, CASH, BOB, 5)])
    assert totals(ledger, BOB) == (0, 0, 5, 5)


@pytest.mark.parametrize("code", [-1, 2**16])
def test_code_must_be_a_u16(ledger, code):
    assert_rejected(ledger, pay(1, CASH, BOB, 1, code=code), InvalidTransferError)


def test_timeout_without_pending_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, BOB, 1, timeout_seconds=60), InvalidTransferError)


def test_timeout_beyond_u32_is_rejected(ledger):
    assert_rejected(ledger, reserve(1, CASH, BOB, 1, timeout_seconds=2**32), InvalidTransferError)


def test_pending_id_on_a_plain_transfer_is_rejected(ledger):
    assert_rejected(ledger, pay(2, CASH, BOB, 1, pending_id=1), InvalidTransferError)


def test_post_without_pending_id_is_rejected(ledger):
    assert_rejected(ledger, post(2, 0), InvalidTransferError)


def test_post_naming_itself_is_rejected(ledger):
    assert_rejected(ledger, post(2, 2), InvalidTransferError)


def test_overlong_fx_rate_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, BOB, 1, fx_rate="1." + "0" * 31), InvalidTransferError)


def test_empty_transaction_is_rejected(ledger):
    overlay = Overlay(ledger)
    with pytest.raises(InvalidTransferError):
        apply_transfers(overlay, [], ctx())
    assert_unchanged(overlay)


# --- account rules -----------------------------------------------------------------------------


def test_duplicate_transfer_id_is_rejected(ledger):
    book(ledger, [pay(7, CASH, BOB, 100)])
    # Even an identical resubmission books nothing the second time.
    assert_rejected(ledger, pay(7, CASH, BOB, 100), DuplicateTransferError)
    assert totals(ledger, BOB) == (0, 0, 0, 100)


def test_duplicate_id_within_one_transaction_is_rejected(ledger):
    overlay = Overlay(ledger)
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(overlay, [pay(7, CASH, BOB, 1), pay(7, CASH, BOB, 1)], ctx())
    assert (rejected.value.rule, rejected.value.index) == ("duplicate_transfer_id", 1)
    assert_unchanged(overlay)


def test_same_account_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, CASH, 1), SameAccountError)


def test_unknown_currency_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, BOB, 1, currency="GBP"), UnknownCurrencyError)


def test_empty_currency_on_a_new_transfer_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, BOB, 1, currency=""), UnknownCurrencyError)


@pytest.mark.parametrize(("debit", "credit"), [(CASH, DOLLARS), (DOLLARS, CASH)])
def test_currency_mismatch_is_rejected(ledger, debit, credit):
    assert_rejected(ledger, pay(1, debit, credit, 1), CurrencyMismatchError)


def test_transfer_in_the_accounts_other_currency_is_rejected(ledger):
    assert_rejected(ledger, pay(1, DOLLARS, CASH, 1, currency="USD"), CurrencyMismatchError)


@pytest.mark.parametrize(("debit", "credit"), [("GL:BANKA:NOPE", BOB), (CASH, "GL:BANKA:NOPE")])
def test_unknown_account_is_rejected(ledger, debit, credit):
    error = assert_rejected(ledger, pay(1, debit, credit, 1), AccountNotFoundError)
    assert "GL:BANKA:NOPE" in error.message


@pytest.mark.parametrize("inactive", [FROZEN, CLOSED])
@pytest.mark.parametrize("side", ["debit", "credit"])
def test_frozen_or_closed_account_is_rejected(ledger, inactive, side):
    transfer = pay(1, inactive, BOB, 1) if side == "debit" else pay(1, CASH, inactive, 1)
    error = assert_rejected(ledger, transfer, AccountNotActiveError)
    assert side in error.message


def test_overdraft_of_a_no_overdraft_account_is_rejected(ledger):
    assert_rejected(ledger, pay(1, ALICE, BOB, 10_001), ExceedsCreditsError)
    assert_rejected(ledger, pay(1, BOB, ALICE, 1), ExceedsCreditsError)


def test_pending_debits_count_against_the_limit(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 6_000)])
    assert ledger.account(ALICE).balance_available == 4_000
    assert_rejected(ledger, pay(2, ALICE, BOB, 4_001), ExceedsCreditsError)
    assert_rejected(ledger, reserve(2, ALICE, BOB, 4_001), ExceedsCreditsError)
    book(ledger, [pay(2, ALICE, BOB, 4_000)])


def test_pending_credits_cannot_be_spent(ledger):
    book(ledger, [reserve(1, CASH, BOB, 500)])
    assert_rejected(ledger, pay(2, BOB, CASH, 1), ExceedsCreditsError)


def test_credits_must_not_exceed_debits_is_enforced(ledger):
    assert_rejected(ledger, pay(1, CASH, LOAN, 10_001), ExceedsDebitsError)
    assert_rejected(ledger, reserve(1, CASH, LOAN, 10_001), ExceedsDebitsError)


def test_debit_total_overflow_is_rejected(ledger):
    assert_rejected(ledger, pay(1, FULL, CASH, 6), AmountOverflowError)
    book(ledger, [pay(1, FULL, CASH, 5)])
    assert ledger.account(FULL).debits_posted == AMOUNT_MAX


def test_credit_total_overflow_is_rejected(ledger):
    assert_rejected(ledger, pay(1, CASH, FULL, 6), AmountOverflowError)
    assert_rejected(ledger, reserve(1, CASH, FULL, 6), AmountOverflowError)


def test_pending_totals_count_towards_overflow(ledger):
    book(ledger, [reserve(1, CASH, FULL, 5), reserve(2, FULL, CASH, 5)])  # both totals now exactly 2^128-1
    assert_rejected(ledger, pay(3, CASH, FULL, 1), AmountOverflowError)
    assert_rejected(ledger, pay(3, FULL, CASH, 1), AmountOverflowError)


# --- two-phase transfers -----------------------------------------------------------------------


def test_pending_transfer_reserves_and_post_books_it(ledger):
    [reservation] = book(ledger, [reserve(1, ALICE, BOB, 3_000, timeout_seconds=60)])
    assert reservation.kind == PostingKind.PENDING
    assert totals(ledger, ALICE) == (3_000, 0, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 3_000, 0)
    assert ledger.transfer(1).status == PendingStatus.PENDING
    assert ledger.transfer(1).expires_at == T0 + 60

    [posting] = book(ledger, [post(2, 1)], ctx(T0 + 59, block=2))
    assert (posting.kind, posting.amount, posting.released, posting.pending_id) == (
        PostingKind.POST_PENDING,
        3_000,
        3_000,
        1,
    )
    assert totals(ledger, ALICE) == (0, 3_000, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 0, 3_000)
    assert (ledger.transfer(1).status, ledger.transfer(1).amount_posted) == (PendingStatus.POSTED, 3_000)
    assert ledger.transfer(2).transfer.pending_id == 1


def test_partial_post_books_less_and_releases_the_whole_reservation(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 3_000)])
    [posting] = book(ledger, [post(2, 1, amount=1_200)])
    assert (posting.amount, posting.released) == (1_200, 3_000)
    assert totals(ledger, ALICE) == (0, 1_200, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 0, 1_200)
    assert ledger.transfer(1).amount_posted == 1_200


def test_post_may_repeat_the_pending_fields(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 3_000)])
    book(ledger, [post(2, 1, amount=3_000, debit=ALICE, credit=BOB, currency="EUR")])
    assert ledger.transfer(1).status == PendingStatus.POSTED


def test_void_releases_the_reservation(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 3_000)])
    [posting] = book(ledger, [void(2, 1)])
    assert (posting.kind, posting.amount, posting.released) == (PostingKind.VOID_PENDING, 0, 3_000)
    assert totals(ledger, ALICE) == (0, 0, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 0, 0)
    assert ledger.transfer(1).status == PendingStatus.VOIDED


def test_void_may_name_the_full_amount(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 3_000)])
    book(ledger, [void(2, 1, amount=3_000)])
    assert ledger.transfer(1).status == PendingStatus.VOIDED


def test_pending_and_post_in_one_transaction(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 700), post(2, 1)])
    assert totals(ledger, BOB) == (0, 0, 0, 700)


def test_post_of_unknown_pending_is_rejected(ledger):
    assert_rejected(ledger, post(2, 99), PendingTransferNotFoundError)
    assert_rejected(ledger, void(2, 99), PendingTransferNotFoundError)


def test_post_of_a_single_phase_transfer_is_rejected(ledger):
    book(ledger, [pay(1, CASH, BOB, 100)])
    assert_rejected(ledger, post(2, 1), PendingTransferNotPendingError)
    assert_rejected(ledger, void(2, 1), PendingTransferNotPendingError)


def test_already_posted_is_rejected(ledger):
    book(ledger, [reserve(1, CASH, BOB, 100), post(2, 1)])
    assert_rejected(ledger, post(3, 1), PendingTransferAlreadyPostedError)
    assert_rejected(ledger, void(3, 1), PendingTransferAlreadyPostedError)


def test_already_voided_is_rejected(ledger):
    book(ledger, [reserve(1, CASH, BOB, 100), void(2, 1)])
    assert_rejected(ledger, post(3, 1), PendingTransferAlreadyVoidedError)
    assert_rejected(ledger, void(3, 1), PendingTransferAlreadyVoidedError)


def test_repeating_a_post_with_the_same_id_is_a_duplicate(ledger):
    book(ledger, [reserve(1, CASH, BOB, 100), post(2, 1)])
    assert_rejected(ledger, post(2, 1), DuplicateTransferError)


@pytest.mark.parametrize("late_by", [0, 1, 3600])
def test_post_at_or_after_expiry_is_rejected(ledger, late_by):
    book(ledger, [reserve(1, ALICE, BOB, 100, timeout_seconds=30)])
    assert_rejected(ledger, post(2, 1), PendingTransferExpiredError, ctx(T0 + 30 + late_by))
    assert_rejected(ledger, void(2, 1), PendingTransferExpiredError, ctx(T0 + 30 + late_by))


def test_post_more_than_reserved_is_rejected(ledger):
    book(ledger, [reserve(1, CASH, BOB, 100)])
    assert_rejected(ledger, post(2, 1, amount=101), PendingTransferMismatchError)


@pytest.mark.parametrize("amount", [1, 99, 101])
def test_void_with_a_wrong_amount_is_rejected(ledger, amount):
    book(ledger, [reserve(1, CASH, BOB, 100)])
    assert_rejected(ledger, void(2, 1, amount=amount), PendingTransferMismatchError)


@pytest.mark.parametrize(
    "mismatch",
    [{"debit": ALICE}, {"credit": CASH}, {"currency": "USD"}, {"debit": BOB, "credit": CASH}],
)
@pytest.mark.parametrize("finish", [post, void])
def test_post_or_void_with_mismatched_fields_is_rejected(ledger, finish, mismatch):
    book(ledger, [reserve(1, CASH, BOB, 100)])
    assert_rejected(ledger, finish(2, 1, **mismatch), PendingTransferMismatchError)


@pytest.mark.parametrize("frozen", [CASH, BOB])
@pytest.mark.parametrize("status", [AccountStatus.FROZEN, AccountStatus.CLOSED])
def test_post_to_an_inactive_account_is_rejected_but_void_is_allowed(ledger, frozen, status):
    book(ledger, [reserve(1, CASH, BOB, 100)])
    ledger.accounts[frozen] = dataclasses.replace(ledger.accounts[frozen], status=status)
    assert_rejected(ledger, post(2, 1), AccountNotActiveError)
    book(ledger, [void(2, 1)])
    assert totals(ledger, BOB) == (0, 0, 0, 0)
    assert totals(ledger, CASH) == (0, 0, 0, 0)


# --- expiry ------------------------------------------------------------------------------------


def test_expire_pending_releases_the_reservation(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 4_000, timeout_seconds=10)])
    overlay = Overlay(ledger)
    [posting] = expire_pending(overlay, [1], ctx(T0 + 10, block=2))
    assert (posting.kind, posting.amount, posting.released, posting.pending_id) == (PostingKind.EXPIRED, 0, 4_000, 1)
    ledger.commit(overlay)
    assert totals(ledger, ALICE) == (0, 0, 0, 10_000)
    assert totals(ledger, BOB) == (0, 0, 0, 0)
    assert ledger.transfer(1).status == PendingStatus.EXPIRED
    assert_rejected(ledger, post(2, 1), PendingTransferExpiredError, ctx(T0 + 11))
    # The released funds are spendable again.
    book(ledger, [pay(3, ALICE, BOB, 10_000)], ctx(T0 + 11))


def test_premature_expiry_is_an_invariant_violation(ledger):
    book(ledger, [reserve(1, ALICE, BOB, 4_000, timeout_seconds=10)])
    with pytest.raises(InvariantViolation):
        expire_pending(Overlay(ledger), [1], ctx(T0 + 9))


@pytest.mark.parametrize("setup", ["plain", "posted", "missing"])
def test_expiring_a_non_pending_transfer_is_an_invariant_violation(ledger, setup):
    if setup == "plain":
        book(ledger, [pay(1, CASH, BOB, 1)])
    elif setup == "posted":
        book(ledger, [reserve(1, CASH, BOB, 1, timeout_seconds=5), post(2, 1)])
    with pytest.raises(InvariantViolation):
        expire_pending(Overlay(ledger), [1], ctx(T0 + 100))


def test_expiring_a_pending_transfer_without_timeout_is_an_invariant_violation(ledger):
    book(ledger, [reserve(1, CASH, BOB, 1)])
    with pytest.raises(InvariantViolation):
        expire_pending(Overlay(ledger), [1], ctx(T0 + 10**6))


def test_book_posting_refuses_to_release_more_than_reserved():
    debit, credit = account(CASH), account(BOB)
    posting = Posting(PostingKind.VOID_PENDING, 2, CASH, BOB, 0, "EUR", 1, pending_id=1, released=1)
    with pytest.raises(InvariantViolation):
        book_posting(debit, credit, posting)


# --- transactions and batches ------------------------------------------------------------------


def test_apply_transfers_is_all_or_nothing(ledger):
    overlay = Overlay(ledger)
    transfers = [pay(1, CASH, BOB, 100), reserve(2, ALICE, BOB, 100), pay(3, BOB, ALICE, 10_000)]
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(overlay, transfers, ctx())
    assert (rejected.value.index, rejected.value.rule) == (2, "exceeds_credits")
    assert isinstance(rejected.value.cause, ExceedsCreditsError)
    assert_unchanged(overlay)


def test_apply_transfers_rejects_an_open_linked_chain(ledger):
    overlay = Overlay(ledger)
    transfers = [pay(1, CASH, BOB, 100), pay(2, CASH, BOB, 100, flags=TransferFlags.LINKED)]
    with pytest.raises(TransferRejected) as rejected:
        apply_transfers(overlay, transfers, ctx())
    assert (rejected.value.index, rejected.value.rule) == (1, LinkedChainOpenError.rule)
    assert isinstance(rejected.value.cause, LinkedChainOpenError)
    assert_unchanged(overlay)


def test_split_chains():
    linked, plain = TransferFlags.LINKED, TransferFlags.NONE
    flags = [plain, linked, linked, plain, plain, linked]
    transfers = [pay(i + 1, CASH, BOB, 1, flags=f) for i, f in enumerate(flags)]
    assert split_chains(transfers) == [[0], [1, 2, 3], [4], [5]]


def test_apply_batch_applies_independent_transfers_independently(ledger):
    overlay = Overlay(ledger)
    results = apply_batch(overlay, [pay(1, CASH, BOB, 100), pay(2, BOB, ALICE, 500), pay(3, CASH, ALICE, 7)], ctx())
    assert [r.index for r in results] == [0, 1, 2]
    assert results[0].error is None and results[0].posting.amount == 100
    assert isinstance(results[1].error, ExceedsCreditsError) and results[1].posting is None
    assert results[2].error is None
    assert set(overlay.transfers) == {1, 3}
    assert totals(overlay, BOB) == (0, 0, 0, 100)
    assert totals(overlay, ALICE) == (0, 0, 0, 10_007)


def test_apply_batch_fails_a_linked_chain_as_a_whole(ledger):
    linked = TransferFlags.LINKED
    transfers = [
        pay(1, CASH, BOB, 100),  # chain [0]
        pay(2, CASH, BOB, 300, flags=linked),  # chain [1, 2, 3]: 3 fails
        pay(3, BOB, ALICE, 200, flags=linked),
        pay(4, BOB, ALICE, 10_000),
        pay(5, CASH, ALICE, 1, flags=linked),  # chain [4, 5]
        pay(6, ALICE, BOB, 1),
    ]
    overlay = Overlay(ledger)
    results = apply_batch(overlay, transfers, ctx())
    errors = [None if r.error is None else r.error.rule for r in results]
    assert errors == [None, "linked_event_failed", "linked_event_failed", "exceeds_credits", None, None]
    assert isinstance(results[1].error, LinkedChainFailedError)
    assert "transfer 3" in results[1].error.message
    assert set(overlay.transfers) == {1, 5, 6}
    # Chain [1, 2, 3]'s first two transfers left no trace.
    assert totals(overlay, BOB) == (0, 0, 0, 101)
    assert totals(overlay, ALICE) == (0, 1, 0, 10_001)


def test_apply_batch_reports_an_open_final_chain(ledger):
    linked = TransferFlags.LINKED
    transfers = [pay(1, CASH, BOB, 100), pay(2, CASH, BOB, 1, flags=linked), pay(3, CASH, BOB, 1, flags=linked)]
    overlay = Overlay(ledger)
    results = apply_batch(overlay, transfers, ctx())
    assert [None if r.error is None else r.error.rule for r in results] == [
        None,
        "linked_event_failed",
        "linked_chain_open",
    ]
    assert set(overlay.transfers) == {1}


def test_apply_batch_duplicate_inside_a_chain_fails_the_chain(ledger):
    transfers = [pay(1, CASH, BOB, 1, flags=TransferFlags.LINKED), pay(1, CASH, BOB, 1)]
    overlay = Overlay(ledger)
    results = apply_batch(overlay, transfers, ctx())
    assert [r.error.rule for r in results] == ["linked_event_failed", "duplicate_transfer_id"]
    assert_unchanged(overlay)


def test_apply_batch_later_transfers_see_earlier_ones(ledger):
    overlay = Overlay(ledger)
    results = apply_batch(overlay, [reserve(1, CASH, BOB, 50), post(2, 1, amount=20), pay(3, BOB, CASH, 20)], ctx())
    assert all(r.error is None for r in results)
    assert totals(overlay, BOB) == (0, 20, 0, 20)


# --- overlay -----------------------------------------------------------------------------------


def test_child_overlay_reads_through_and_merges(ledger):
    parent = Overlay(ledger)
    child = parent.child()
    child.put_account(dataclasses.replace(ledger.account(BOB), credits_posted=5))
    child.set_nonce(OWNER, 3)
    assert parent.account(BOB).credits_posted == 0
    assert child.account(BOB).credits_posted == 5
    child.merge_into_parent()
    assert parent.account(BOB).credits_posted == 5
    assert parent.nonce(OWNER) == 3
    assert ledger.nonce(OWNER) == 0
    ledger.nonces[SENDER] = 7
    assert child.child().nonce(SENDER) == 7  # reads fall through every level
    assert child.child().transfer(99) is None
    with pytest.raises(TypeError):
        parent.merge_into_parent()


# --- accounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"currency": "eur"},
        {"owner": "0x1234"},
        {"flags": AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS},
        {"overdraft_limit": 5},
        {"credits_posted": -1},
        {"debits_posted": AMOUNT_MAX + 1},
    ],
)
def test_malformed_accounts_are_rejected(fields):
    with pytest.raises(InvalidAccountError):
        Account(**{"id": CASH, "currency": "EUR", "owner": OWNER, **fields})


@pytest.mark.parametrize(
    ("text", "canonical"),
    [(ALICE, ALICE), ("GL:BANKA:FX:EUR", "GL:BANKA:FX:EUR"), ("ISSUANCE:EUR", "ISSUANCE:EUR")],
)
def test_valid_account_ids(text, canonical):
    assert validate_account_id(text) == canonical


@pytest.mark.parametrize(
    "text",
    ["", "DE89370400440532013001", "cash", "GL", "GL:", "gl:banka", "GL:" + "A" * 62, 42],
)
def test_invalid_account_ids(text):
    with pytest.raises(InvalidAccountError):
        validate_account_id(text)
