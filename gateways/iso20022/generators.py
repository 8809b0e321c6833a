"""Outgoing ISO 20022 messages built with lxml: pacs.002 status reports and camt.053 statements.

Built element by element in the XSD's sequence order rather than from text templates, so no value
can inject markup, and every output is meant to validate against the official XSD (the tests check
it). Inputs are checked before building and refused with MessageError listing every Problem: a
malformed reply sent to a counterparty bank is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from gateways.problems import MessageError, Problem
from ledger.currency import ISO_4217_EXPONENTS, format_amount

PACS002_NS = "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"
CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

ACCEPTED_STATUSES = frozenset({"ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PDNG"})
REJECTED_STATUS = "RJCT"
# ExternalStatusReason1Code values are four characters from the ISO external code list (AC01, AM04, ...).
_REASON_CODE = re.compile(r"^[A-Z0-9]{4}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX35 = 35
_CREDIT_DEBIT = frozenset({"CRDT", "DBIT"})
_ENTRY_STATUSES = frozenset({"BOOK", "PDNG", "INFO", "FUTR"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Builder:
    """SubElement helpers bound to one namespace, written as the default namespace of the Document."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def root(self) -> etree._Element:
        return etree.Element(f"{{{self.ns}}}Document", nsmap={None: self.ns})

    def add(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        node = etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrs)
        if text is not None:
            try:
                node.text = text
            except ValueError:  # NUL or control characters: XML cannot carry them
                raise MessageError([Problem(tag, "xml_characters", repr(text)[:80])]) from None
        return node

    def opt(self, parent: etree._Element, tag: str, text: str | None) -> None:
        if text:
            self.add(parent, tag, text)

    def agent(self, parent: etree._Element, tag: str, bic: str | None) -> None:
        if bic:
            self.add(self.add(self.add(parent, tag), "FinInstnId"), "BICFI", bic)


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _check_id(problems: list[Problem], path: str, value: object, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX35:
        problems.append(Problem(path, "must be text of 1 to 35 characters", repr(value)[:80]))


def pacs002_status_report(
    pacs008: Mapping[str, Any],
    status: str,
    reason: str | None = None,
    *,
    msg_id: str,
    created: str | None = None,
    additional_info: str | None = None,
) -> bytes:
    """A pacs.002.001.10 reporting `status` for every transaction of a parsed pacs.008.

    `pacs008` is the dict `parse_bytes` returned (or its "message" part). Accepted statuses are
    ACCP/ACSC/ACSP/ACTC/ACWC/PDNG; RJCT needs an ISO external status reason code (e.g. AC01, AM04)
    because a rejection without a reason cannot be acted on by the sender.
    """
    message = pacs008.get("message", pacs008)
    problems: list[Problem] = []
    if pacs008.get("type", "pacs.008.001.08") != "pacs.008.001.08":
        problems.append(Problem("type", "status reports answer pacs.008.001.08", str(pacs008.get("type"))))
    if status not in ACCEPTED_STATUSES and status != REJECTED_STATUS:
        problems.append(Problem("TxSts", "unknown transaction status", repr(status)))
    if status == REJECTED_STATUS and (reason is None or not _REASON_CODE.fullmatch(reason)):
        problems.append(Problem("StsRsnInf/Rsn/Cd", "RJCT needs a 4-character ISO reason code", repr(reason)))
    if status != REJECTED_STATUS and reason is not None and not _REASON_CODE.fullmatch(reason):
        problems.append(Problem("StsRsnInf/Rsn/Cd", "reason must be a 4-character ISO code", repr(reason)))
    if additional_info is not None and not 1 <= len(additional_info) <= 105:
        problems.append(Problem("StsRsnInf/AddtlInf", "must be 1 to 105 characters", repr(additional_info)[:80]))
    _check_id(problems, "GrpHdr/MsgId", msg_id)
    _check_id(problems, "OrgnlGrpInf/OrgnlMsgId", message.get("msg_id"))
    transactions = message.get("transactions")
    if not isinstance(transactions, Sequence) or not transactions:
        problems.append(Problem("transactions", "the pacs.008 has no transactions to report on", repr(transactions)))
    if problems:
        raise MessageError(problems)

    b = _Builder(PACS002_NS)
    doc = b.root()
    report = b.add(doc, "FIToFIPmtStsRpt")
    grp = b.add(report, "GrpHdr")
    b.add(grp, "MsgId", msg_id)
    b.add(grp, "CreDtTm", created or _now())
    for tx in transactions:
        info = b.add(report, "TxInfAndSts")
        orig = b.add(info, "OrgnlGrpInf")
        b.add(orig, "OrgnlMsgId", message["msg_id"])
        b.add(orig, "OrgnlMsgNmId", "pacs.008.001.08")
        b.opt(info, "OrgnlInstrId", tx.get("instr_id"))
        b.opt(info, "OrgnlEndToEndId", tx.get("end_to_end_id"))
        b.opt(info, "OrgnlTxId", tx.get("tx_id"))
        b.opt(info, "OrgnlUETR", tx.get("uetr"))
        b.add(info, "TxSts", status)
        if reason is not None:
            rsn_inf = b.add(info, "StsRsnInf")
            b.add(b.add(rsn_inf, "Rsn"), "Cd", reason)
            if additional_info:
                b.add(rsn_inf, "AddtlInf", additional_info)
        # The reply travels the other way: the original instructed agent now instructs.
        b.agent(info, "InstgAgt", (tx.get("instructed_agent") or {}).get("bic"))
        b.agent(info, "InstdAgt", (tx.get("instructing_agent") or {}).get("bic"))
    return _serialise(doc)


def _decimal_text(problems: list[Problem], path: str, value: object, currency: str, signed: bool) -> Decimal | None:
    """Decimal amount from text, Decimal or int minor units; floats are refused (they lose cents)."""
    exponent = ISO_4217_EXPONENTS.get(currency)
    if isinstance(value, bool | float):
        problems.append(Problem(path, "amount must be decimal text, Decimal or int minor units", repr(value)))
        return None
    if isinstance(value, int):
        if exponent is None:
            problems.append(Problem(path, "int minor units need an ISO 4217 currency", currency))
            return None
        return Decimal(format_amount(value, exponent))
    try:
        amount = Decimal(value) if isinstance(value, str | Decimal) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        problems.append(Problem(path, "not a decimal amount", repr(value)[:80]))
        return None
    if amount < 0 and not signed:
        problems.append(Problem(path, "entry amounts are unsigned; use credit_debit", repr(value)[:80]))
        return None
    decimals = max(0, -int(amount.as_tuple().exponent))
    if exponent is not None and decimals > exponent:
        problems.append(Problem(path, f"{currency} has {exponent} decimals", str(value)))
        return None
    if len(amount.as_tuple().digits) > 18 or decimals > 5:
        problems.append(Problem(path, "more digits than ISO 20022 amounts allow", str(value)))
        return None
    return amount


def _amount_text(amount: Decimal, currency: str) -> str:
    exponent = ISO_4217_EXPONENTS.get(currency)
    magnitude = abs(amount)
    if exponent is not None:
        return f"{magnitude:.{exponent}f}"
    return format(magnitude, "f")


def camt053_statement(statement: Mapping[str, Any], *, created: str | None = None) -> bytes:
    """A camt.053.001.08 for one account from a simple dict.

    Keys: msg_id, statement_id, currency, account {"iban" | "other"}, from/to (ISO date-times),
    opening/closing {"amount", "date"} where a negative balance amount means debit, and entries:
    [{"amount", "credit_debit" CRDT|DBIT, "booking_date", "value_date", "status" (BOOK),
    "reference", "servicer_ref", "end_to_end_id", "uetr", "tx_id", "remittance",
    "bank_tx_code" (domain, family, subfamily)}]. Amounts: decimal text, Decimal or int minor units.
    """
    problems: list[Problem] = []
    currency = statement.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        problems.append(Problem("currency", "must be an ISO 4217 code", repr(currency)))
        currency = ""  # already a problem; amounts are still checked for the rest of the report
    _check_id(problems, "msg_id", statement.get("msg_id"))
    _check_id(problems, "statement_id", statement.get("statement_id"))
    account = statement.get("account") or {}
    iban, other = account.get("iban"), account.get("other")
    if bool(iban) == bool(other):
        problems.append(Problem("account", "give exactly one of iban or other", repr(account)[:80]))
    balances: list[tuple[str, Decimal, str]] = []
    for code, key in (("OPBD", "opening"), ("CLBD", "closing")):
        balance = statement.get(key)
        if not isinstance(balance, Mapping):
            problems.append(Problem(key, "balance is required", repr(balance)[:80]))
            continue
        value = _decimal_text(problems, f"{key}.amount", balance.get("amount"), currency, signed=True)
        date = balance.get("date")
        if not isinstance(date, str) or not date:
            problems.append(Problem(f"{key}.date", "ISO date is required", repr(date)))
        elif value is not None:
            balances.append((code, value, date))
    entries: list[tuple[Decimal, Mapping[str, Any]]] = []
    for index, entry in enumerate(statement.get("entries") or []):
        path = f"entries[{index}]"
        value = _decimal_text(problems, f"{path}.amount", entry.get("amount"), currency, signed=False)
        if entry.get("credit_debit") not in _CREDIT_DEBIT:
            problems.append(Problem(f"{path}.credit_debit", "must be CRDT or DBIT", repr(entry.get("credit_debit"))))
        if entry.get("status", "BOOK") not in _ENTRY_STATUSES:
            problems.append(Problem(f"{path}.status", "must be BOOK, PDNG, INFO or FUTR", repr(entry.get("status"))))
        for key in ("reference", "servicer_ref", "end_to_end_id", "tx_id"):
            _check_id(problems, f"{path}.{key}", entry.get(key), required=False)
        if value is not None:
            entries.append((value, entry))
    if problems:
        raise MessageError(problems)

    b = _Builder(CAMT053_NS)
    doc = b.root()
    body = b.add(doc, "BkToCstmrStmt")
    grp = b.add(body, "GrpHdr")
    b.add(grp, "MsgId", statement["msg_id"])
    b.add(grp, "CreDtTm", created or _now())
    stmt = b.add(body, "Stmt")
    b.add(stmt, "Id", statement["statement_id"])
    b.opt(stmt, "ElctrncSeqNb", str(statement["sequence"]) if statement.get("sequence") is not None else None)
    b.add(stmt, "CreDtTm", created or _now())
    if statement.get("from") and statement.get("to"):
        period = b.add(stmt, "FrToDt")
        b.add(period, "FrDtTm", statement["from"])
        b.add(period, "ToDtTm", statement["to"])
    acct = b.add(stmt, "Acct")
    acct_id = b.add(acct, "Id")
    if iban:
        b.add(acct_id, "IBAN", iban)
    else:
        b.add(b.add(acct_id, "Othr"), "Id", other)
    b.add(acct, "Ccy", currency)
    for code, value, date in balances:
        bal = b.add(stmt, "Bal")
        b.add(b.add(b.add(bal, "Tp"), "CdOrPrtry"), "Cd", code)
        b.add(bal, "Amt", _amount_text(value, currency), Ccy=currency)
        b.add(bal, "CdtDbtInd", "DBIT" if value < 0 else "CRDT")
        b.add(b.add(bal, "Dt"), "Dt", date)
    for value, entry in entries:
        ntry = b.add(stmt, "Ntry")
        b.opt(ntry, "NtryRef", entry.get("reference"))
        b.add(ntry, "Amt", _amount_text(value, currency), Ccy=currency)
        b.add(ntry, "CdtDbtInd", entry["credit_debit"])
        b.add(b.add(ntry, "Sts"), "Cd", entry.get("status", "BOOK"))
        if entry.get("booking_date"):
            b.add(b.add(ntry, "BookgDt"), "Dt", entry["booking_date"])
        if entry.get("value_date"):
            b.add(b.add(ntry, "ValDt"), "Dt", entry["value_date"])
        b.opt(ntry, "AcctSvcrRef", entry.get("servicer_ref"))
        code = entry.get("bank_tx_code") or ("PMNT", "RCDT" if entry["credit_debit"] == "CRDT" else "ICDT", "OTHR")
        domain = b.add(b.add(ntry, "BkTxCd"), "Domn")
        b.add(domain, "Cd", code[0])
        family = b.add(domain, "Fmly")
        b.add(family, "Cd", code[1])
        b.add(family, "SubFmlyCd", code[2])
        refs = {k: entry.get(k) for k in ("end_to_end_id", "uetr", "tx_id")}
        if any(refs.values()) or entry.get("remittance"):
            tx = b.add(b.add(ntry, "NtryDtls"), "TxDtls")
            if any(refs.values()):
                ref_el = b.add(tx, "Refs")
                b.opt(ref_el, "EndToEndId", refs["end_to_end_id"])
                b.opt(ref_el, "UETR", refs["uetr"])
                b.opt(ref_el, "TxId", refs["tx_id"])
            if entry.get("remittance"):
                b.add(b.add(tx, "RmtInf"), "Ustrd", str(entry["remittance"])[:140])
    return _serialise(doc)
