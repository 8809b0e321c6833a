"""The booking rules: how a transfer changes two accounts, or why it may not.

Reads top to bottom like the rules it enforces (TigerBeetle's create_transfers semantics):
validate the transfer's own fields, then the accounts it names, then the balance limits,
then book. Every check raises an error named for its rule before anything is written, and
`book_posting` is the single place where account totals change, shared with journal replay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.account import Account, AccountFlags, AccountStatus
from ledger.controls import check_movement
from ledger.currency import AMOUNT_MAX
from ledger.errors import (
    AccountNotActiveError,
    AccountNotFoundError,
    AmountOverflowError,
    CurrencyMismatchError,
    DuplicateTransferError,
    ExceedsCreditsError,
    ExceedsDebitsError,
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
from ledger.fx import check_fx_pairs
from ledger.journal import Posting, PostingKind
from ledger.state import Overlay
from ledger.transfer import (
    CODE_MAX,
    FX_RATE_MAX_LENGTH,
    ID_MAX,
    KNOWN_FLAGS,
    TIMEOUT_MAX_SECONDS,
    TWO_PHASE_FLAGS,
    PendingStatus,
    StoredTransfer,
    Transfer,
)


@dataclass(frozen=True, slots=True)
class BookingContext:
    """Where a transfer is booked: the block it lands in and the chain's currencies."""

    block_number: int
    timestamp: int  # block time, seconds
    tx_hash: bytes
    currencies: Mapping[str, int]  # code -> minor-unit exponent


class TransferRejected(LedgerError):
    """A transfer at `index` of a batch broke a rule; `cause` names which."""

    def __init__(self, index: int, cause: LedgerError) -> None:
        super().__init__(f"transfer {index}: {cause.message}")
        self.index = index
        self.cause = cause
        self.rule = cause.rule


# --- entry points -----------------------------------------------------------------------------


def apply_transfers(state: Overlay, transfers: Sequence[Transfer], ctx: BookingContext) -> list[Posting]:
    """Book every transfer or none: the semantics of one ledger transaction.

    A transaction is one linked chain in TigerBeetle's sense whatever its flags say, because a
    signed instruction is either carried out or not. The linked flags must still close (the
    last transfer unlinked) so that the same batch means the same thing under `apply_batch`.
    """
    if not transfers:
        raise InvalidTransferError("a transaction must carry at least one transfer")
    if transfers[-1].is_linked:
        raise TransferRejected(len(transfers) - 1, LinkedChainOpenError("the last transfer has the linked flag"))
    scratch = state.child()
    postings: list[Posting] = []
    for index, transfer in enumerate(transfers):
        try:
            postings.append(apply_transfer(scratch, transfer, ctx))
        except LedgerError as error:
            raise TransferRejected(index, error) from None
    try:
        check_fx_pairs(transfers, ctx.currencies)
    except LedgerError as error:
        raise TransferRejected(getattr(error, "index", 0), error) from None
    scratch.merge_into_parent()
    return postings


@dataclass(frozen=True, slots=True)
class BatchResult:
    index: int
    posting: Posting | None
    error: LedgerError | None


def apply_batch(state: Overlay, transfers: Sequence[Transfer], ctx: BookingContext) -> list[BatchResult]:
    """TigerBeetle's batch semantics: each unlinked transfer stands alone; a linked chain
    (transfers with the linked flag plus the first one after them without it) is all-or-nothing.
    Used to import batches (e.g. a file of payments) where one bad line must not stop the rest.
    """
    results: list[BatchResult] = []
    for chain in split_chains(transfers):
        scratch = state.child()
        chain_postings: list[Posting] = []
        failed_at: int | None = None
        failure: LedgerError | None = None
        if transfers[chain[-1]].is_linked:
            failed_at, failure = chain[-1], LinkedChainOpenError("the last transfer of the batch has the linked flag")
        else:
            for index in chain:
                try:
                    chain_postings.append(apply_transfer(scratch, transfers[index], ctx))
                except LedgerError as error:
                    failed_at, failure = index, error
                    break
        if failure is None:
            try:
                check_fx_pairs([transfers[i] for i in chain], ctx.currencies)
            except LedgerError as error:
                failed_at, failure = chain[getattr(error, "index", 0)], error
        if failure is None:
            scratch.merge_into_parent()
            results.extend(BatchResult(i, p, None) for i, p in zip(chain, chain_postings, strict=True))
            continue
        for index in chain:
            error = (
                failure
                if index == failed_at
                else LinkedChainFailedError(
                    f"transfer {index} was not applied because transfer {failed_at} of its chain failed"
                )
            )
            results.append(BatchResult(index, None, error))
    return results


def split_chains(transfers: Sequence[Transfer]) -> list[list[int]]:
    """Indices grouped into chains: a run of linked transfers plus the one that closes it."""
    chains: list[list[int]] = []
    current: list[int] = []
    for index, transfer in enumerate(transfers):
        current.append(index)
        if not transfer.is_linked:
            chains.append(current)
            current = []
    if current:
        chains.append(current)
    return chains


def expire_pending(state: Overlay, expiring: Sequence[int], ctx: BookingContext) -> list[Posting]:
    """Release the reservations of pending transfers whose timeout has passed.

    Runs at the start of each block with the ids the store's expiry index yields for
    `expires_at <= ctx.timestamp`, so every validator expires the same set at the same block.
    """
    postings = []
    for pending_id in expiring:
        stored = state.transfer(pending_id)
        _assert(stored is not None and stored.status == PendingStatus.PENDING, f"expiry of non-pending {pending_id}")
        assert stored is not None
        _assert(0 < stored.expires_at <= ctx.timestamp, f"premature expiry of {pending_id}")
        pending = stored.transfer
        posting = Posting(
            kind=PostingKind.EXPIRED,
            transfer_id=pending.id,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=0,
            currency=pending.currency,
            code=pending.code,
            pending_id=pending.id,
            released=pending.amount,
        )
        _book(state, posting)
        state.put_transfer(dataclasses.replace(stored, status=PendingStatus.EXPIRED))
        postings.append(posting)
    return postings


# --- one transfer -----------------------------------------------------------------------------


def apply_transfer(state: Overlay, transfer: Transfer, ctx: BookingContext) -> Posting:
    """Check every rule for one transfer, then book it into `state`."""
    validate_transfer_fields(transfer)
    if state.transfer(transfer.id) is not None:
        raise DuplicateTransferError(f"transfer id {transfer.id:#x} was already booked")
    if transfer.is_post or transfer.is_void:
        return _finish_pending(state, transfer, ctx)
    return _create(state, transfer, ctx)


def validate_transfer_fields(transfer: Transfer) -> None:
    """Rules that need no state: ranges, flag combinations, field presence."""
    if not isinstance(transfer.id, int) or not 0 < transfer.id <= ID_MAX:
        raise InvalidTransferError("transfer id must be a non-zero u128")
    if int(transfer.flags) & ~int(KNOWN_FLAGS):  # IntFlag.__invert__ drops unknown bits
        raise InvalidTransferError(f"transfer {transfer.id:#x}: unknown flags {int(transfer.flags):#x}")
    if bin(int(transfer.flags & TWO_PHASE_FLAGS)).count("1") > 1:
        raise InvalidTransferError(
            f"transfer {transfer.id:#x}: pending, post_pending and void_pending exclude each other"
        )
    if not 0 <= transfer.code <= CODE_MAX:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: code {transfer.code} is not a u16")
    if not 0 <= transfer.amount <= AMOUNT_MAX:
        raise InvalidAmountError(f"transfer {transfer.id:#x}: amount {transfer.amount} is not a u128")
    if not 0 <= transfer.timeout_seconds <= TIMEOUT_MAX_SECONDS:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: timeout {transfer.timeout_seconds} is not a u32")
    if transfer.timeout_seconds and not transfer.is_pending:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: a timeout needs the pending flag")
    finishing = transfer.is_post or transfer.is_void
    if finishing and not 0 < transfer.pending_id <= ID_MAX:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: post/void needs the pending transfer's id")
    if not finishing and transfer.pending_id:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: pending_id is only for post/void transfers")
    if transfer.pending_id == transfer.id:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: pending_id names the transfer itself")
    if len(transfer.fx_rate) > FX_RATE_MAX_LENGTH:
        raise InvalidTransferError(f"transfer {transfer.id:#x}: fx_rate longer than {FX_RATE_MAX_LENGTH}")


def _create(state: Overlay, transfer: Transfer, ctx: BookingContext) -> Posting:
    if transfer.amount == 0:
        raise InvalidAmountError(f"transfer {transfer.id:#x}: amount must be greater than zero")
    if transfer.currency not in ctx.currencies:
        raise UnknownCurrencyError(f"transfer {transfer.id:#x}: currency {transfer.currency!r} is not on this chain")
    if transfer.debit_account_id == transfer.credit_account_id:
        raise SameAccountError(
            f"transfer {transfer.id:#x} debits and credits the same account {transfer.debit_account_id}"
        )
    debit = _active_account(state, transfer.debit_account_id, transfer, "debit")
    credit = _active_account(state, transfer.credit_account_id, transfer, "credit")
    amount = transfer.amount
    _check_limits(debit, credit, amount, transfer)
    check_movement(state, debit.id, credit.id, amount, transfer.id, ctx.timestamp, count_debit=True)
    kind = PostingKind.PENDING if transfer.is_pending else PostingKind.POSTED
    posting = Posting(
        kind=kind,
        transfer_id=transfer.id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        currency=transfer.currency,
        code=transfer.code,
        fx_rate=transfer.fx_rate,
    )
    _book(state, posting)
    expires_at = ctx.timestamp + transfer.timeout_seconds if transfer.timeout_seconds else 0
    state.put_transfer(
        StoredTransfer(
            transfer=transfer,
            block_number=ctx.block_number,
            tx_hash=ctx.tx_hash,
            timestamp=ctx.timestamp,
            status=PendingStatus.PENDING if transfer.is_pending else PendingStatus.NONE,
            expires_at=expires_at,
        )
    )
    return posting


def _finish_pending(state: Overlay, transfer: Transfer, ctx: BookingContext) -> Posting:
    stored = state.transfer(transfer.pending_id)
    if stored is None:
        raise PendingTransferNotFoundError(f"pending transfer {transfer.pending_id:#x} does not exist")
    if stored.status == PendingStatus.NONE:
        raise PendingTransferNotPendingError(f"transfer {transfer.pending_id:#x} was not created as pending")
    if stored.status == PendingStatus.POSTED:
        raise PendingTransferAlreadyPostedError(f"pending transfer {transfer.pending_id:#x} was already posted")
    if stored.status == PendingStatus.VOIDED:
        raise PendingTransferAlreadyVoidedError(f"pending transfer {transfer.pending_id:#x} was already voided")
    if stored.status == PendingStatus.EXPIRED or (stored.expires_at and stored.expires_at <= ctx.timestamp):
        raise PendingTransferExpiredError(f"pending transfer {transfer.pending_id:#x} expired at {stored.expires_at}")
    pending = stored.transfer
    for field, value, expected in (
        ("debit account", transfer.debit_account_id, pending.debit_account_id),
        ("credit account", transfer.credit_account_id, pending.credit_account_id),
        ("currency", transfer.currency, pending.currency),
    ):
        if value and value != expected:
            raise PendingTransferMismatchError(
                f"transfer {transfer.id:#x}: {field} {value!r} differs from pending transfer's {expected!r}"
            )
    if transfer.is_post:
        amount = transfer.amount or pending.amount
        if amount > pending.amount:
            raise PendingTransferMismatchError(
                f"transfer {transfer.id:#x}: posts {amount}, more than the {pending.amount} reserved"
            )
        kind, status = PostingKind.POST_PENDING, PendingStatus.POSTED
        _active_account(state, pending.debit_account_id, transfer, "debit")
        _active_account(state, pending.credit_account_id, transfer, "credit")
        check_movement(state, pending.debit_account_id, pending.credit_account_id, 0, transfer.id, ctx.timestamp, False)
    else:
        if transfer.amount not in (0, pending.amount):
            raise PendingTransferMismatchError(
                f"transfer {transfer.id:#x}: a void must name the full reserved amount {pending.amount} or 0"
            )
        amount, kind, status = 0, PostingKind.VOID_PENDING, PendingStatus.VOIDED
        _existing_account(state, pending.debit_account_id, transfer, "debit")
        _existing_account(state, pending.credit_account_id, transfer, "credit")
    posting = Posting(
        kind=kind,
        transfer_id=transfer.id,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount=amount,
        currency=pending.currency,
        code=transfer.code,
        pending_id=pending.id,
        released=pending.amount,
    )
    _book(state, posting)
    state.put_transfer(dataclasses.replace(stored, status=status, amount_posted=amount))
    state.put_transfer(
        StoredTransfer(transfer=transfer, block_number=ctx.block_number, tx_hash=ctx.tx_hash, timestamp=ctx.timestamp)
    )
    return posting


def _existing_account(state: Overlay, account_id: str, transfer: Transfer, side: str) -> Account:
    account = state.account(account_id)
    if account is None:
        raise AccountNotFoundError(f"transfer {transfer.id:#x}: {side} account {account_id} does not exist")
    return account


def _active_account(state: Overlay, account_id: str, transfer: Transfer, side: str) -> Account:
    account = _existing_account(state, account_id, transfer, side)
    if account.currency != transfer.currency and transfer.currency:
        raise CurrencyMismatchError(
            f"transfer {transfer.id:#x} is in {transfer.currency} "
            f"but {side} account {account_id} is in {account.currency}"
        )
    if account.status != AccountStatus.ACTIVE:
        raise AccountNotActiveError(
            f"transfer {transfer.id:#x}: {side} account {account_id} is {account.status.name.lower()}"
        )
    return account


def _check_limits(debit: Account, credit: Account, amount: int, transfer: Transfer) -> None:
    if debit.debits_pending + debit.debits_posted + amount > AMOUNT_MAX:
        raise AmountOverflowError(f"transfer {transfer.id:#x}: debits of {debit.id} would overflow u128")
    if credit.credits_pending + credit.credits_posted + amount > AMOUNT_MAX:
        raise AmountOverflowError(f"transfer {transfer.id:#x}: credits of {credit.id} would overflow u128")
    if debit.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        allowed = debit.credits_posted + debit.overdraft_limit
        if debit.debits_pending + debit.debits_posted + amount > allowed:
            raise ExceedsCreditsError(
                f"transfer {transfer.id:#x}: debit of {amount} would overdraw {debit.id} "
                f"(available {allowed - debit.debits_pending - debit.debits_posted})"
            )
    if (
        credit.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        and credit.credits_pending + credit.credits_posted + amount > credit.debits_posted
    ):
        raise ExceedsDebitsError(
            f"transfer {transfer.id:#x}: credit of {amount} would exceed the debits of {credit.id}"
        )


# --- the one place totals change ----------------------------------------------------------------


def book_posting(debit: Account, credit: Account, posting: Posting) -> tuple[Account, Account]:
    """The effect of a posting on its two accounts. Used by booking and by journal replay."""
    kind, amount, released = posting.kind, posting.amount, posting.released
    if kind == PostingKind.POSTED:
        released_debit = released_credit = 0
        pending_added = 0
    elif kind == PostingKind.PENDING:
        released_debit = released_credit = 0
        pending_added, amount = amount, 0
    else:
        _assert(debit.debits_pending >= released and credit.credits_pending >= released, "release beyond reservation")
        released_debit = released_credit = released
        pending_added = 0
    return (
        debit.with_totals(
            debit.debits_pending + pending_added - released_debit,
            debit.debits_posted + amount,
            debit.credits_pending,
            debit.credits_posted,
        ),
        credit.with_totals(
            credit.debits_pending,
            credit.debits_posted,
            credit.credits_pending + pending_added - released_credit,
            credit.credits_posted + amount,
        ),
    )


def _book(state: Overlay, posting: Posting) -> None:
    debit = state.account(posting.debit_account_id)
    credit = state.account(posting.credit_account_id)
    _assert(debit is not None and credit is not None, "booking against a missing account")
    assert debit is not None and credit is not None
    _assert(debit.currency == credit.currency == posting.currency, "booking across currencies")
    new_debit, new_credit = book_posting(debit, credit, posting)
    _assert_account_limits(new_debit)
    _assert_account_limits(new_credit)
    state.put_account(new_debit)
    state.put_account(new_credit)


def _assert_account_limits(account: Account) -> None:
    """Post-condition: no booking may leave an account outside its own flags."""
    if account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        _assert(
            account.debits_posted + account.debits_pending <= account.credits_posted + account.overdraft_limit,
            f"account {account.id} overdrawn",
        )
    if account.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        _assert(
            account.credits_posted + account.credits_pending <= account.debits_posted,
            f"account {account.id} credits exceed debits",
        )


def _assert(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantViolation(what)
