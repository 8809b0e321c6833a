"""What every MT type shares: field presence rules and the canonical (JSON-able) view of amounts and dates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from gateways.problems import Problem
from gateways.swift.fields import check_field, parse_amount, parse_date
from gateways.swift.fin import FinMessage
from ledger.currency import ISO_4217_EXPONENTS


def presence(
    message: FinMessage,
    name: str,
    allowed: Iterable[str],
    mandatory: Iterable[tuple[str, ...]],
    repeatable: Iterable[str] = (),
) -> list[Problem]:
    """Unknown fields, missing mandatory fields (any option of a letter-option group) and repeats."""
    allowed, repeatable = set(allowed), set(repeatable)
    problems: list[Problem] = []
    fields = message.fields or []
    seen: set[str] = set()
    for tag, value in fields:
        if tag not in allowed:
            problems.append(Problem(f":{tag}:", f"{name} T13", f"field {tag} is not allowed in {name}"))
            continue
        if tag in seen and tag not in repeatable:
            problems.append(Problem(f":{tag}:", f"{name} T13", f"field {tag} repeated"))
        seen.add(tag)
        problems += check_field(tag, value)
    present = {tag for tag, _ in fields}
    for group in mandatory:
        if not present & set(group):
            problems.append(Problem(f":{group[0]}:", f"{name} T13", f"mandatory field {'/'.join(group)} missing"))
    return problems


def iso_date(text: str) -> str | None:
    date = parse_date(text)
    return date.isoformat() if date else None


def money(value: str | None) -> dict[str, str | None] | None:
    """`3!a15d` (optionally after a 6!n date) as {"currency", "amount"} with a '.' decimal string."""
    if value is None:
        return None
    match = re.fullmatch(r"(?:[0-9]{6})?([A-Z]{3})([0-9,]+)", value)
    if not match:
        return {"currency": None, "amount": None, "raw": value}
    return {"currency": match.group(1), **amount_text(match.group(1), match.group(2))}


def amount_text(currency: str, text: str) -> dict[str, str | None]:
    """SWIFT amount as a '.' decimal string with the currency's decimals, plus exact integer minor units.

    Minor units are a string because JSON numbers lose precision beyond 2**53 in many consumers.
    """
    amount = parse_amount(text)
    if amount is None:
        return {"amount": None, "amount_minor": None}
    exponent = ISO_4217_EXPONENTS.get(currency)
    if exponent is None or -amount.as_tuple().exponent > exponent:  # type: ignore[operator]
        return {"amount": str(amount), "amount_minor": None}
    quantized = amount.quantize(Decimal(1).scaleb(-exponent))
    return {"amount": str(quantized), "amount_minor": str(int(quantized.scaleb(exponent)))}


def header(message: FinMessage, kind: str) -> dict[str, object]:
    """Envelope data: type, sender/receiver BICs (from blocks 1 and 2), direction, UETR."""
    result: dict[str, object] = {"type": kind}
    basic, app = message.basic or "", message.application or ""
    sender = receiver = None
    if message.direction == "I":
        sender, receiver = lt_bic(basic[3:15]), lt_bic(app[4:16])
    elif message.direction == "O":
        receiver, sender = lt_bic(basic[3:15]), lt_bic(app[14:26])
    result["sender"] = sender
    result["receiver"] = receiver
    result["direction"] = message.direction
    result["uetr"] = message.user_value("121")
    result["service_type"] = message.user_value("111")
    result["validation_flag"] = message.user_value("119")
    return result


def lt_bic(address: str) -> str | None:
    """Logical terminal (BIC8 + terminal letter + branch) to BIC11."""
    return address[:8] + address[9:12] if len(address) == 12 else None


def bic8_country(address: str | None) -> str | None:
    """Country code of a logical terminal / BIC (letters 5-6)."""
    return address[4:6] if address and len(address) >= 6 else None
