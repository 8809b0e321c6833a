"""Currency conversion as two linked transfers through FX position accounts.

A customer paying EUR to receive USD is two transfers in one linked pair:
  customer EUR  -> bank's FX position EUR   (amount in EUR, fx_rate "1.0825")
  bank's FX position USD -> beneficiary USD (amount in USD, the same fx_rate)
Each currency still sums to zero on its own; the rate (units of the target currency per unit
of the source) is recorded on both legs, and the ledger checks the target amount is the
source amount times the rate, rounded half-even to the target's minor unit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from ledger.errors import FxRateError
from ledger.transfer import Transfer, TransferFlags

_RATE_TEXT = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$")


class FxPairError(FxRateError):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def parse_rate(text: str) -> Decimal:
    if not _RATE_TEXT.fullmatch(text) or Decimal(text) == 0:
        raise FxRateError(f"fx rate {text!r} is not a positive decimal such as 1.0825")
    return Decimal(text)


def convert(amount_minor: int, source_exponent: int, target_exponent: int, rate: str) -> int:
    """Source minor units times rate, in target minor units, rounded half-even (exact Decimal)."""
    with localcontext() as ctx:
        ctx.prec = 80
        major = Decimal(amount_minor).scaleb(-source_exponent) * parse_rate(rate)
        return int(major.scaleb(target_exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def fx_legs(
    transfer_ids: tuple[int, int],
    source: tuple[str, str],
    target: tuple[str, str],
    amount_minor: int,
    currencies: tuple[str, str],
    exponents: tuple[int, int],
    rate: str,
    code: int = 1,
) -> tuple[Transfer, Transfer]:
    """Build the linked pair for converting `amount_minor` of currencies[0] at `rate`.

    source = (customer account, FX position account in the source currency)
    target = (FX position account in the target currency, beneficiary account)
    """
    target_amount = convert(amount_minor, exponents[0], exponents[1], rate)
    if target_amount <= 0:
        raise FxRateError(f"converting {amount_minor} at {rate} gives nothing in {currencies[1]}")
    first = Transfer(
        id=transfer_ids[0],
        debit_account_id=source[0],
        credit_account_id=source[1],
        amount=amount_minor,
        currency=currencies[0],
        code=code,
        flags=TransferFlags.LINKED,
        fx_rate=rate,
    )
    second = Transfer(
        id=transfer_ids[1],
        debit_account_id=target[0],
        credit_account_id=target[1],
        amount=target_amount,
        currency=currencies[1],
        code=code,
        fx_rate=rate,
    )
    return first, second


def check_fx_pairs(transfers: Sequence[Transfer], exponents: Mapping[str, int]) -> None:
    """Every transfer carrying a rate must be the linked first leg of a matching pair."""
    index = 0
    while index < len(transfers):
        first = transfers[index]
        if not first.fx_rate:
            index += 1
            continue
        if index + 1 >= len(transfers) or not first.flags & TransferFlags.LINKED:
            raise FxPairError(index, f"transfer {index} carries an fx rate but is not linked to a second leg")
        second = transfers[index + 1]
        if second.fx_rate != first.fx_rate:
            raise FxPairError(index + 1, f"transfer {index + 1} must record the same fx rate {first.fx_rate!r}")
        if second.currency == first.currency:
            raise FxPairError(index + 1, f"both legs of the conversion at transfer {index} are in {first.currency}")
        if first.currency not in exponents or second.currency not in exponents:
            raise FxPairError(index, f"conversion at transfer {index} names a currency not on this chain")
        expected = convert(first.amount, exponents[first.currency], exponents[second.currency], first.fx_rate)
        if second.amount != expected:
            raise FxPairError(
                index + 1,
                f"transfer {index + 1} credits {second.amount} {second.currency}, but {first.amount} "
                f"{first.currency} at {first.fx_rate} is {expected}",
            )
        index += 2
