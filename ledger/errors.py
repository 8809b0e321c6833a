"""Errors named for the rule they enforce.

Each error carries `rule`, a stable snake_case code that receipts, RPC errors and tests use,
and a message that names the offending account, transfer or field.
"""

from __future__ import annotations


class LedgerError(ValueError):
    """A ledger rule was broken; nothing was booked."""

    rule = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAmountError(LedgerError):
    """An amount is zero, negative, too large, or has more decimals than its currency."""

    rule = "invalid_amount"


class UnknownCurrencyError(LedgerError):
    """A currency code is malformed or not configured on this chain."""

    rule = "unknown_currency"


class CurrencyMismatchError(LedgerError):
    """A transfer's currency differs from one of its accounts' currency."""

    rule = "currency_mismatch"


class AccountNotFoundError(LedgerError):
    """A transfer names an account that does not exist."""

    rule = "account_not_found"


class InvalidAccountError(LedgerError):
    """An account definition is malformed (bad id, IBAN check digits, flags)."""

    rule = "invalid_account"


class AccountNotActiveError(LedgerError):
    """The account is frozen or closed and cannot be debited or credited."""

    rule = "account_not_active"


class SameAccountError(LedgerError):
    """A transfer debits and credits the same account."""

    rule = "accounts_must_be_different"


class ExceedsCreditsError(LedgerError):
    """The debit would take a no-overdraft account past its credits plus overdraft limit."""

    rule = "exceeds_credits"


class ExceedsDebitsError(LedgerError):
    """The credit would take a credits-must-not-exceed-debits account past its debits."""

    rule = "exceeds_debits"


class AmountOverflowError(LedgerError):
    """An account total would exceed 2^128-1 minor units."""

    rule = "overflow"


class DuplicateTransferError(LedgerError):
    """A transfer with this id was already booked (idempotency: the second one books nothing)."""

    rule = "duplicate_transfer_id"


class InvalidTransferError(LedgerError):
    """A transfer's fields contradict each other (flags, pending id, timeout, id zero)."""

    rule = "invalid_transfer"


class PendingTransferNotFoundError(LedgerError):
    """A post/void names a pending transfer that does not exist."""

    rule = "pending_transfer_not_found"


class PendingTransferNotPendingError(LedgerError):
    """A post/void names a transfer that was not created with the pending flag."""

    rule = "pending_transfer_not_pending"


class PendingTransferAlreadyPostedError(LedgerError):
    """The pending transfer was already posted."""

    rule = "pending_transfer_already_posted"


class PendingTransferAlreadyVoidedError(LedgerError):
    """The pending transfer was already voided."""

    rule = "pending_transfer_already_voided"


class PendingTransferExpiredError(LedgerError):
    """The pending transfer's timeout passed; its reservation was released."""

    rule = "pending_transfer_expired"


class PendingTransferMismatchError(LedgerError):
    """A post/void disagrees with its pending transfer (accounts, currency, amount too large)."""

    rule = "pending_transfer_mismatch"


class LinkedChainOpenError(LedgerError):
    """The last transfer of a batch has the linked flag, so its chain never closes."""

    rule = "linked_chain_open"


class LinkedChainFailedError(LedgerError):
    """Another transfer in this linked chain failed, so this one was not applied either."""

    rule = "linked_event_failed"


class FxRateError(LedgerError):
    """A currency-conversion pair is malformed or its amounts disagree with the recorded rate."""

    rule = "fx_rate_mismatch"


class UnauthorizedDebitError(LedgerError):
    """The signer neither owns the debited account nor holds a role covering it."""

    rule = "unauthorized_debit"


class InvariantViolation(AssertionError):
    """The ledger found itself in a state its rules forbid. This is a bug, never user input:
    the node stops rather than commit such a state."""
