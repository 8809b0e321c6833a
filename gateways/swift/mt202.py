"""MT202 General Financial Institution Transfer, and MT202 COV (block 3 field 119 = COV).

COV carries the underlying customer credit transfer in sequence B (from 50a on), which has its own
parties; the rules are checked per sequence.
"""

from __future__ import annotations

from gateways.problems import Problem
from gateways.swift.common import header, iso_date, money, presence
from gateways.swift.fields import party
from gateways.swift.fin import FinMessage

ALLOWED_A = [
    "13C",
    "20",
    "21",
    "32A",
    "52A",
    "52D",
    "53A",
    "53B",
    "53D",
    "54A",
    "54B",
    "54D",
    "56A",
    "56D",
    "57A",
    "57B",
    "57D",
    "58A",
    "58D",
    "72",
]
ALLOWED_B = [
    "50A",
    "50F",
    "50K",
    "52A",
    "52D",
    "56A",
    "56C",
    "56D",
    "57A",
    "57B",
    "57C",
    "57D",
    "59",
    "59A",
    "59F",
    "70",
    "72",
    "33B",
]
MANDATORY_A = (("20",), ("21",), ("32A",), ("58A", "58D"))
MANDATORY_B = (("50A", "50F", "50K"), ("59", "59A", "59F"))
PARTIES_A = {
    "ordering_institution": ("52A", "52D"),
    "senders_correspondent": ("53A", "53B", "53D"),
    "receivers_correspondent": ("54A", "54B", "54D"),
    "intermediary": ("56A", "56D"),
    "account_with_institution": ("57A", "57B", "57D"),
    "beneficiary_institution": ("58A", "58D"),
}
PARTIES_B = {
    "ordering_customer": ("50A", "50F", "50K"),
    "ordering_institution": ("52A", "52D"),
    "intermediary": ("56A", "56C", "56D"),
    "account_with_institution": ("57A", "57B", "57C", "57D"),
    "beneficiary": ("59", "59A", "59F"),
}


def is_cov(message: FinMessage) -> bool:
    return message.user_value("119") == "COV"


def sequences(message: FinMessage) -> tuple[FinMessage, FinMessage | None]:
    """Split at the first 50a: before is sequence A (the bank transfer), after is B (the customer transfer)."""
    fields = message.fields or []
    for index, (tag, _) in enumerate(fields):
        if tag in ("50A", "50F", "50K"):
            return FinMessage(fields=fields[:index]), FinMessage(fields=fields[index:])
    return FinMessage(fields=list(fields)), None


def validate(message: FinMessage) -> list[Problem]:
    name = "MT202COV" if is_cov(message) else "MT202"
    first, second = sequences(message)
    problems = presence(first, name, ALLOWED_A, MANDATORY_A, ("13C",))
    if is_cov(message):
        if second is None:
            problems.append(Problem(":50a:", "MT202COV T13", "sequence B (underlying customer transfer) missing"))
        else:
            problems += presence(second, name, ALLOWED_B, MANDATORY_B)
    elif second is not None:
        problems.append(Problem(":50a:", "MT202 T13", "customer fields (sequence B) in an MT202 without 119:COV"))
    # C1 (C81): an intermediary needs an account with institution, in each sequence.
    for sequence, rule in ((first, f"{name} C1 (C81)"), (second, f"{name} C2 (C68)")):
        tags = {tag for tag, _ in (sequence.fields or [])} if sequence else set()
        if tags & {"56A", "56C", "56D"} and not tags & {"57A", "57B", "57C", "57D"}:
            problems.append(Problem(":57a:", rule, "56a present without 57a"))
    return problems


def _parties(sequence: FinMessage, names: dict[str, tuple[str, ...]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, options in names.items():
        found = sequence.first(*options)
        if found:
            result[name] = party(*found)
    return result


def canonical(message: FinMessage) -> dict[str, object]:
    result = header(message, "mt202cov" if is_cov(message) else "mt202")
    first, second = sequences(message)
    value = {tag: v for tag, v in reversed(first.fields or [])}
    settlement = value.get("32A")
    result["references"] = {"sender": value.get("20"), "related": value.get("21")}
    result["value_date"] = iso_date(settlement[:6]) if settlement else None
    result.update(money(settlement) or {"currency": None, "amount": None})
    result["parties"] = _parties(first, PARTIES_A)
    result["sender_to_receiver"] = value.get("72")
    if second is not None:
        underlying = _parties(second, PARTIES_B)
        b_value = {tag: v for tag, v in reversed(second.fields or [])}
        result["underlying_customer_transfer"] = {
            "parties": underlying,
            "remittance_information": b_value.get("70"),
            "instructed": money(b_value.get("33B")),
        }
    return result
