"""ISO 4217 currencies and exact conversion between decimal text and integer minor units.

Amounts cross the boundary of the system as decimal text ("12.34") and live inside it as
integers of minor units (1234 cents). Conversion never goes through a float: a float cannot
represent 0.1 and a bank cannot lose a cent to rounding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ledger.errors import InvalidAmountError, UnknownCurrencyError

# Minor-unit exponents from the ISO 4217 list (SIX Financial, amendment 177). Only the
# exponent matters to the ledger; a genesis file may declare other codes (e.g. tokenised
# assets) with their own exponent.
ISO_4217_EXPONENTS: dict[str, int] = {
    "AED": 2,
    "AUD": 2,
    "BGN": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PLN": 2,
    "RON": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "UGX": 0,
    "USD": 2,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
    "ZAR": 2,
}

CURRENCY_CODE_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_EXPONENT = 18
# Transfers and balances are unsigned 128-bit integers, as in TigerBeetle.
AMOUNT_MAX = 2**128 - 1
# Up to 39 integer digits: AMOUNT_MAX itself has 39.
_DECIMAL_TEXT = re.compile(r"^(0|[1-9][0-9]{0,38})(\.[0-9]{1,18})?$")


@dataclass(frozen=True, slots=True)
class Currency:
    """A currency the chain books: its code and how many decimals its minor unit has."""

    code: str
    exponent: int

    def __post_init__(self) -> None:
        if not CURRENCY_CODE_PATTERN.fullmatch(self.code):
            raise UnknownCurrencyError(f"currency code {self.code!r} is not three capital letters")
        if not 0 <= self.exponent <= MAX_EXPONENT:
            raise UnknownCurrencyError(f"currency {self.code}: exponent {self.exponent} is outside 0..{MAX_EXPONENT}")

    @classmethod
    def iso(cls, code: str) -> Currency:
        """The ISO 4217 currency with this code."""
        try:
            return cls(code, ISO_4217_EXPONENTS[code])
        except KeyError:
            raise UnknownCurrencyError(f"{code!r} is not an ISO 4217 code this ledger knows") from None

    def parse(self, text: str) -> int:
        """Decimal text to minor units, exactly; more decimals than the currency has is an error."""
        return parse_amount(text, self.exponent, self.code)

    def format(self, amount_minor: int) -> str:
        return format_amount(amount_minor, self.exponent)


def parse_amount(text: str, exponent: int, code: str = "") -> int:
    """Parse "12.34" into 1234 for exponent 2; refuses signs, exponents, floats and excess decimals."""
    what = f"{code} amount" if code else "amount"
    if not isinstance(text, str):
        raise InvalidAmountError(f"{what} must be decimal text, got {type(text).__name__}")
    stripped = text.strip()
    if not _DECIMAL_TEXT.fullmatch(stripped):
        raise InvalidAmountError(f"{what} {text!r} is not a plain positive decimal number such as 12.34")
    try:
        value = Decimal(stripped)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        raise InvalidAmountError(f"{what} {text!r} is not a decimal number") from None
    decimals = -value.as_tuple().exponent if "." in stripped else 0
    if decimals > exponent:
        raise InvalidAmountError(f"{what} {text!r} has {decimals} decimals but {code or 'the currency'} has {exponent}")
    # Integer arithmetic on the digits: Decimal.scaleb would round to the context's 28 digits.
    whole, _, fraction = stripped.partition(".")
    minor = int(whole + fraction.ljust(exponent, "0"))
    if minor <= 0:
        raise InvalidAmountError(f"{what} {text!r} must be greater than zero")
    if minor > AMOUNT_MAX:
        raise InvalidAmountError(f"{what} {text!r} exceeds the largest amount (2^128-1 minor units)")
    return minor


def format_amount(amount_minor: int, exponent: int) -> str:
    """1234 with exponent 2 -> "12.34"; negative balances keep their sign."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"
