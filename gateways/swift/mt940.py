"""MT940 Customer Statement and MT950 Statement Message: balances and statement lines.

Statements report what a correspondent booked; the gateway reads them to reconcile nostro accounts, so
each :61: entry keeps its value date, debit/credit mark, amount (as a decimal string) and references.
"""

from __future__ import annotations

import re

from gateways.problems import Problem
from gateways.swift.common import amount_text, header, iso_date, presence
from gateways.swift.fields import STATEMENT_LINE
from gateways.swift.fin import FinMessage
from ledger.currency import ISO_4217_EXPONENTS

ALLOWED = {
    "940": ["20", "21", "25", "25P", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65"],
    "950": ["20", "25", "28C", "60F", "60M", "61", "62F", "62M", "64"],
}
MANDATORY = (("20",), ("25", "25P"), ("28C",), ("60F", "60M"), ("62F", "62M"))
REPEATABLE = ("61", "86", "65")
BALANCE = re.compile(r"([CD])([0-9]{6})([A-Z]{3})([0-9,]+)")


def _balance(value: str | None) -> dict[str, str | None] | None:
    match = BALANCE.fullmatch(value or "")
    if not match:
        return None if value is None else {"raw": value}
    return {
        "mark": match.group(1),
        "date": iso_date(match.group(2)),
        "currency": match.group(3),
        **amount_text(match.group(3), match.group(4)),
    }


def validate(message: FinMessage, kind: str) -> list[Problem]:
    name = f"MT{kind}"
    problems = presence(message, name, ALLOWED[kind], MANDATORY, REPEATABLE)
    # C1 (C27): all balances are in one currency; the entries' amounts use its decimals.
    currencies = {(tag, v[7:10]) for tag, v in message.fields or [] if tag in ("60F", "60M", "62F", "62M", "64", "65")}
    if len({ccy for _, ccy in currencies}) > 1:
        found = ", ".join(f"{tag}={ccy}" for tag, ccy in sorted(currencies))
        problems.append(Problem(":62a:", f"{name} C1 (C27)", f"balances in several currencies: {found}"))
    currency = next(iter(sorted(ccy for _, ccy in currencies)), None)
    exponent = ISO_4217_EXPONENTS.get(currency or "")
    for tag, value in message.fields or []:
        match = STATEMENT_LINE.fullmatch(value) if tag == "61" else None
        if match and exponent is not None and len(match["amount"].split(",")[1]) > exponent:
            problems.append(
                Problem(":61:", f"{name} C03 decimals", f"{match['amount']} has more decimals than {currency}")
            )
    return problems


def canonical(message: FinMessage, kind: str) -> dict[str, object]:
    result = header(message, f"mt{kind}")
    value = {tag: v for tag, v in reversed(message.fields or [])}
    result["references"] = {"sender": value.get("20"), "related": value.get("21")}
    result["account"] = value.get("25") or value.get("25P")
    result["statement_number"] = value.get("28C")
    result["opening_balance"] = _balance(value.get("60F") or value.get("60M"))
    result["closing_balance"] = _balance(value.get("62F") or value.get("62M"))
    result["available_balance"] = _balance(value.get("64"))
    result["forward_balances"] = [_balance(v) for v in message.field_values("65")]
    opening = result["opening_balance"]
    currency = opening.get("currency") if isinstance(opening, dict) else None
    result["currency"] = currency
    entries: list[dict[str, object]] = []
    for tag, text in message.fields or []:
        if tag == "61":
            match = STATEMENT_LINE.fullmatch(text)
            if not match:
                entries.append({"raw": text})
                continue
            entries.append(
                {
                    "value_date": iso_date(match["value_date"]),
                    "entry_date": match["entry_date"],
                    "mark": match["mark"],
                    "funds_code": match["funds"],
                    **amount_text(currency or "", match["amount"]),
                    "transaction_type": match["type"],
                    "reference": match["reference"],
                    "bank_reference": match["bank_reference"],
                    "supplementary_details": match["details"],
                }
            )
        elif tag == "86" and entries and "information" not in entries[-1]:
            entries[-1]["information"] = text
        elif tag == "86":
            result["information"] = text
    result["entries"] = entries
    return result
