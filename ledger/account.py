"""Accounts: who holds money in which currency, under which rules.

As in TigerBeetle an account never stores "a balance"; it stores four running totals
(debits/credits, posted/pending) from which every balance is derived, so a two-phase
reservation and a final posting are never confused.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ledger.currency import AMOUNT_MAX, CURRENCY_CODE_PATTERN
from ledger.errors import InvalidAccountError

ACCOUNT_ID_MAX_LENGTH = 64
# Internal (general-ledger) ids are structured: segments of capitals/digits joined by ':',
# e.g. "GL:BANKA:FX:EUR" or "ISSUANCE:EUR". IBANs are the ids of customer accounts.
_INTERNAL_ID = re.compile(r"^[A-Z][A-Z0-9_\-.]*(:[A-Z0-9_\-.]+)+$")
_IBAN_LIKE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")
ADDRESS_PATTERN = re.compile(r"^0x[0-9a-fA-F]{40}$")


class AccountFlags(enum.IntFlag):
    """Rules an account enforces on every transfer that touches it."""

    NONE = 0
    # No overdraft: debits (posted + pending) may not exceed credits posted + overdraft limit.
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    # For accounts that may only be drawn down (e.g. a loan receivable): the mirror rule.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


FLAG_NAMES = {
    "debits_must_not_exceed_credits": AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    "credits_must_not_exceed_debits": AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
}


class AccountStatus(enum.IntEnum):
    ACTIVE = 0
    FROZEN = 1
    CLOSED = 2


def validate_account_id(account_id: str) -> str:
    """Return the canonical id; customer ids must be valid IBANs (ISO 13616 check digits)."""
    if not isinstance(account_id, str) or not account_id:
        raise InvalidAccountError("account id must be a non-empty string")
    if len(account_id) > ACCOUNT_ID_MAX_LENGTH:
        raise InvalidAccountError(f"account id {account_id[:70]!r} is longer than {ACCOUNT_ID_MAX_LENGTH}")
    if _IBAN_LIKE.fullmatch(account_id):
        try:
            return str(IBAN(account_id).compact)
        except SchwiftyException as exc:
            raise InvalidAccountError(f"account id {account_id!r} is not a valid IBAN: {exc}") from None
    if _INTERNAL_ID.fullmatch(account_id):
        return account_id
    raise InvalidAccountError(f"account id {account_id!r} is neither an IBAN nor a structured id like 'GL:BANK:NAME'")


@dataclass(frozen=True, slots=True)
class Account:
    """One account in one currency. Totals are unsigned minor units."""

    id: str
    currency: str
    owner: str  # 0x-address of the key that may debit it (besides role holders)
    flags: AccountFlags = AccountFlags.NONE
    overdraft_limit: int = 0
    status: AccountStatus = AccountStatus.ACTIVE
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def __post_init__(self) -> None:
        if not CURRENCY_CODE_PATTERN.fullmatch(self.currency):
            raise InvalidAccountError(f"account {self.id}: currency {self.currency!r} is not an ISO code")
        if not ADDRESS_PATTERN.fullmatch(self.owner):
            raise InvalidAccountError(f"account {self.id}: owner {self.owner!r} is not a 0x address")
        both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        if self.flags & both == both:
            raise InvalidAccountError(f"account {self.id}: the two balance-limit flags exclude each other")
        if self.overdraft_limit and not self.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
            raise InvalidAccountError(
                f"account {self.id}: an overdraft limit needs the debits_must_not_exceed_credits flag"
            )
        for name in ("overdraft_limit", "debits_pending", "debits_posted", "credits_pending", "credits_posted"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= AMOUNT_MAX:
                raise InvalidAccountError(f"account {self.id}: {name} {value!r} is not a u128")

    def with_totals(
        self, debits_pending: int, debits_posted: int, credits_pending: int, credits_posted: int
    ) -> Account:
        """A copy with new running totals, built without re-running __post_init__.

        Booking makes two of these per transfer; re-validating id, owner and flags that did not
        change was a fifth of block application. The totals are still range-checked here.
        """
        for total in (debits_pending, debits_posted, credits_pending, credits_posted):
            if not 0 <= total <= AMOUNT_MAX:
                raise InvalidAccountError(f"account {self.id}: total {total} is not a u128")
        new = object.__new__(Account)
        for name in ("id", "currency", "owner", "flags", "overdraft_limit", "status"):
            object.__setattr__(new, name, getattr(self, name))
        object.__setattr__(new, "debits_pending", debits_pending)
        object.__setattr__(new, "debits_posted", debits_posted)
        object.__setattr__(new, "credits_pending", credits_pending)
        object.__setattr__(new, "credits_posted", credits_posted)
        return new

    @property
    def balance_posted(self) -> int:
        """Credits minus debits posted: what a customer sees as the booked balance."""
        return self.credits_posted - self.debits_posted

    @property
    def balance_available(self) -> int:
        """Booked balance less what pending (two-phase) debits have reserved."""
        return self.credits_posted - self.debits_posted - self.debits_pending
