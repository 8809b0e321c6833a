"""MT103 Single Customer Credit Transfer: fields, network validated rules, canonical view.

Rule names follow the MT103 network validated rules (C1...) with the SWIFT error code in brackets, so that
an operator can look the refusal up in the standards release.
"""

from __future__ import annotations

from gateways.problems import Problem
from gateways.swift.common import bic8_country, header, iso_date, money, presence
from gateways.swift.fields import party
from gateways.swift.fin import FinMessage

ALLOWED = [
    "13C",
    "20",
    "23B",
    "23E",
    "26T",
    "32A",
    "33B",
    "36",
    "50A",
    "50F",
    "50K",
    "51A",
    "52A",
    "52D",
    "53A",
    "53B",
    "53D",
    "54A",
    "54B",
    "54D",
    "55A",
    "55B",
    "55D",
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
    "71A",
    "71F",
    "71G",
    "72",
    "77B",
    "77T",
]
MANDATORY = (("20",), ("23B",), ("32A",), ("50A", "50F", "50K"), ("59", "59A", "59F"), ("71A",))
REPEATABLE = ("13C", "23E", "71F")
PARTIES = {
    "ordering_customer": ("50A", "50F", "50K"),
    "sending_institution": ("51A",),
    "ordering_institution": ("52A", "52D"),
    "senders_correspondent": ("53A", "53B", "53D"),
    "receivers_correspondent": ("54A", "54B", "54D"),
    "third_reimbursement_institution": ("55A", "55B", "55D"),
    "intermediary": ("56A", "56C", "56D"),
    "account_with_institution": ("57A", "57B", "57C", "57D"),
    "beneficiary": ("59", "59A", "59F"),
}
# Countries of the EU/EEA payments area checked by rule C2 (D49), by BIC country code.
EU_EEA = set(
    [
        "AD",
        "AT",
        "BE",
        "BG",
        "BV",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GF",
        "GI",
        "GP",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MC",
        "MQ",
        "MT",
        "NL",
        "NO",
        "PL",
        "PM",
        "PT",
        "RE",
        "RO",
        "SE",
        "SI",
        "SJ",
        "SK",
        "SM",
        "TF",
        "VA",
    ]
)
SPRI_23E = ("SDVA", "TELB", "PHOB", "INTC")


def _currency(value: str | None, offset: int) -> str | None:
    return value[offset : offset + 3] if value and len(value) >= offset + 3 else None


def rules(message: FinMessage) -> list[Problem]:
    """The network validated rules C1-C10 (cross-field conditions)."""
    problems: list[Problem] = []
    tags = {tag for tag, _ in message.fields or []}
    value = {tag: v for tag, v in reversed(message.fields or [])}
    ccy_32a = _currency(value.get("32A"), 6)
    # C1 (D75): 33B in another currency than 32A needs the exchange rate 36; otherwise 36 is not allowed.
    if "33B" in tags and _currency(value["33B"], 0) != ccy_32a:
        if "36" not in tags:
            problems.append(Problem(":36:", "MT103 C1 (D75)", "33B currency differs from 32A but 36 is missing"))
    elif "36" in tags:
        problems.append(Problem(":36:", "MT103 C1 (D75)", "36 present without 33B in another currency"))
    # C2 (D49): between two EU/EEA countries the instructed amount 33B is mandatory.
    head = header(message, "mt103")
    countries = (bic8_country(head["sender"]), bic8_country(head["receiver"]))  # type: ignore[arg-type]
    if all(c in EU_EEA for c in countries) and "33B" not in tags:
        problems.append(Problem(":33B:", "MT103 C2 (D49)", f"33B missing between {countries[0]} and {countries[1]}"))
    # C3 (E01, E02): 23E codes allowed with the bank operation code.
    operation = value.get("23B")
    codes = [v.split("/")[0] for v in message.field_values("23E")]
    if operation == "SPRI":
        for instruction in codes:
            if instruction not in SPRI_23E:
                problems.append(Problem(":23E:", "MT103 C3 (E01)", f"23E {instruction} not allowed with 23B SPRI"))
    elif operation in ("SSTD", "SPAY") and codes:
        problems.append(Problem(":23E:", "MT103 C3 (E02)", f"23E present with 23B {operation}"))
    # C4 (E06): a third reimbursement institution needs both correspondents.
    if tags & {"55A", "55B", "55D"} and not (tags & {"53A", "53B", "53D"} and tags & {"54A", "54B", "54D"}):
        problems.append(Problem(":55a:", "MT103 C4 (E06)", "55a present without both 53a and 54a"))
    # C5 (E81): an intermediary needs an account with institution.
    if tags & {"56A", "56C", "56D"} and not tags & {"57A", "57B", "57C", "57D"}:
        problems.append(Problem(":57a:", "MT103 C5 (E81)", "56a present without 57a"))
    # C6 (E16, E17): SPRI forbids 56a; SSTD/SPAY allow 56a only as option A, or C with a clearing code.
    intermediary = message.first("56A", "56C", "56D")
    if intermediary and operation == "SPRI":
        problems.append(Problem(f":{intermediary[0]}:", "MT103 C6 (E16)", "56a present with 23B SPRI"))
    elif intermediary and operation in ("SSTD", "SPAY"):
        tag, text = intermediary
        if tag == "56D" or (tag == "56C" and not text.startswith("//")):
            problems.append(Problem(f":{tag}:", "MT103 C6 (E17)", f"56{tag[2]} with 23B {operation}"))
    # C7 (E13, D50, E15): charges fields must agree with the charges code.
    charges = value.get("71A")
    if charges == "OUR" and "71F" in tags:
        problems.append(Problem(":71F:", "MT103 C7 (E13)", "71F present with 71A OUR"))
    if charges == "SHA" and "71G" in tags:
        problems.append(Problem(":71G:", "MT103 C7 (D50)", "71G present with 71A SHA"))
    if charges == "BEN":
        if "71F" not in tags:
            problems.append(Problem(":71F:", "MT103 C7 (E15)", "71F missing with 71A BEN"))
        if "71G" in tags:
            problems.append(Problem(":71G:", "MT103 C7 (E15)", "71G present with 71A BEN"))
    # C8 (D51): charges need the instructed amount.
    if tags & {"71F", "71G"} and "33B" not in tags:
        problems.append(Problem(":33B:", "MT103 C8 (D51)", "71F/71G present without 33B"))
    # C9 (C02): receiver's charges are in the currency of the settlement amount.
    if "71G" in tags and ccy_32a and _currency(value["71G"], 0) != ccy_32a:
        found = f"71G currency {_currency(value['71G'], 0)} differs from 32A {ccy_32a}"
        problems.append(Problem(":71G:", "MT103 C9 (C02)", found))
    # C10 (E44, E45): telephone/telecom instructions need the party they are addressed to.
    if not tags & {"56A", "56C", "56D"}:
        for instruction in codes:
            if instruction in ("TELI", "PHOI"):
                problems.append(Problem(":23E:", "MT103 C10 (E44)", f"23E {instruction} without 56a"))
    if not tags & {"57A", "57B", "57C", "57D"}:
        for instruction in codes:
            if instruction in ("TELE", "PHON"):
                problems.append(Problem(":23E:", "MT103 C10 (E45)", f"23E {instruction} without 57a"))
    return problems


def validate(message: FinMessage) -> list[Problem]:
    return presence(message, "MT103", ALLOWED, MANDATORY, REPEATABLE) + rules(message)


def canonical(message: FinMessage) -> dict[str, object]:
    result = header(message, "mt103")
    value = {tag: v for tag, v in reversed(message.fields or [])}
    settlement = value.get("32A")
    result["references"] = {"sender": value.get("20")}
    result["bank_operation_code"] = value.get("23B")
    result["instruction_codes"] = message.field_values("23E")
    result["value_date"] = iso_date(settlement[:6]) if settlement else None
    result.update(money(settlement) or {"currency": None, "amount": None})
    result["instructed"] = money(value.get("33B"))
    result["exchange_rate"] = value.get("36")
    parties: dict[str, object] = {}
    for name, options in PARTIES.items():
        found = message.first(*options)
        if found:
            parties[name] = party(*found)
    result["parties"] = parties
    beneficiary = parties.get("beneficiary", {})
    ordering = parties.get("ordering_customer", {})
    result["accounts"] = {
        "debtor": ordering.get("account") if isinstance(ordering, dict) else None,
        "creditor": beneficiary.get("account") if isinstance(beneficiary, dict) else None,
    }
    result["remittance_information"] = value.get("70")
    result["charges"] = value.get("71A")
    result["senders_charges"] = [money(v) for v in message.field_values("71F")]
    result["receivers_charges"] = money(value.get("71G"))
    result["sender_to_receiver"] = value.get("72")
    return result
