"""camt.053.001.08 <-> MT940 statement conversion, following the CBPR+ translation of the fields we carry.

| MT940                          | camt.053.001.08                                            |
|--------------------------------|------------------------------------------------------------|
| sender / receiver (blocks 1-2) | AppHdr Fr / To BIC, else Acct/Svcr BICFI, else the IBAN's bank (sender) |
| :20:                           | Stmt/Id (16x, cut with '+')                                |
| :25:                           | Acct/Id/IBAN or Othr/Id                                    |
| :28C: n/p                      | LglSeqNb (else ElctrncSeqNb) / StmtPgntn/PgNb              |
| :60F: / :62F: / :64: / :65:    | Bal OPBD / CLBD / CLAV / FWAV (mark D <-> DBIT, date, amount) |
| :61: date, mark, amount, type  | Ntry ValDt (else BookgDt), CdtDbtInd (+ RvslInd for RC/RD), Amt, BkTxCd/Prtry |
| :61: reference (16x)           | TxDtls/Refs InstrId, else EndToEndId, else NONREF          |
| :61: //bank reference          | Ntry/AcctSvcrRef (MX->MT: not carried, as the CBPR+ samples do) |
| :86:                           | Ntry/AddtlNtryInf                                          |

The receiver defaults to the sender. Both directions validate their output before returning it;
a statement that would be invalid is refused with the problems.
"""

from __future__ import annotations

from decimal import Decimal

from gateways import messages, swift
from gateways.accounts import as_iban, servicing_bic
from gateways.convert import NOT_PROVIDED, _cut, _logical_terminal, _mt_amount, _x
from gateways.iso20022 import parse_bytes
from gateways.iso20022.generators import CAMT053_NS, _Builder, _serialise
from gateways.problems import MessageError, Problem
from gateways.swift.fin import FinMessage

_BALANCE_TAGS = {"OPBD": "60F", "CLBD": "62F", "CLAV": "64", "FWAV": "65"}


def _mt_balance(balance: dict) -> str:
    amount = balance["amount"]
    mark = "D" if amount["credit_debit"] == "DBIT" else "C"
    date = str(balance["date"] or "")
    return (
        f"{mark}{date[2:4]}{date[5:7]}{date[8:10]}{amount['currency']}{_mt_amount(amount['value'], amount['currency'])}"
    )


def camt053_to_mt940(data: bytes) -> bytes:
    """The MT940 of a valid camt.053.001.08 holding one statement."""
    parsed = parse_bytes(data)  # MessageError listing every XSD problem
    if parsed["type"] != "camt.053.001.08":
        raise MessageError([Problem("/Document", "convert", f"{parsed['type']} is not camt.053.001.08")])
    statements = parsed["message"]["statements"]
    if len(statements) != 1:
        raise MessageError([Problem("Stmt", "convert", f"one MT940 per statement: {len(statements)} here")])
    [statement] = statements
    header = parsed.get("header") or {}
    balances = {b["type"]: b for b in statement["balances"] if b.get("amount")}
    missing = [code for code in ("OPBD", "CLBD") if code not in balances]
    if missing:
        raise MessageError([Problem("Stmt/Bal", "convert", f"MT940 needs balance {code}") for code in missing])
    account = statement["account"] or {}
    sequence = statement.get("legal_sequence") or statement.get("sequence") or "1"
    fields: list[tuple[str, str]] = [
        ("20", _cut(_x(statement["id"]), 16)),
        ("25", _cut(_x(account.get("iban") or account.get("other") or NOT_PROVIDED), 35)),
        ("28C", f"{sequence}/{statement.get('page') or 1}"),
        ("60F", _mt_balance(balances["OPBD"])),
    ]
    for entry in statement["entries"]:
        amount = entry["amount"]
        details = (entry.get("details") or [{}])[0]
        reference = details.get("instr_id") or details.get("end_to_end_id") or "NONREF"
        date = str(entry.get("value_date") or entry.get("booking_date") or "")
        mark = ("R" if entry.get("reversal") == "true" else "") + ("D" if amount["credit_debit"] == "DBIT" else "C")
        code = entry.get("bank_tx_code") or {}
        kind = code.get("proprietary") if len(code.get("proprietary") or "") == 4 else "NTRF"
        value = _mt_amount(amount["value"], amount["currency"])
        fields.append(("61", f"{date[2:4]}{date[5:7]}{date[8:10]}{mark}{value}{kind}{_cut(_x(reference), 16)}"))
        if entry.get("additional_info"):
            text = _x(entry["additional_info"])
            fields.append(("86", "\n".join(text[i : i + 65] for i in range(0, min(len(text), 390), 65))))
    fields.append(("62F", _mt_balance(balances["CLBD"])))
    for code in ("CLAV", "FWAV"):
        if code in balances:
            fields.append((_BALANCE_TAGS[code], _mt_balance(balances[code])))
    servicer = statement.get("account_servicer") or {}
    sender = header.get("from_bic") or servicer.get("bic") or servicing_bic(str(account.get("iban") or ""))
    if sender is None:
        problem = (
            "MT940 block 1 needs the sender's BIC: no AppHdr From BICFI, no Acct/Svcr BICFI and no IBAN "
            "whose bank's BIC is known"
        )
        raise MessageError([Problem("AppHdr/Fr", "convert", problem)])
    receiver = header.get("to_bic") or sender
    message = FinMessage(
        basic=f"F01{_logical_terminal(sender)}0000000000",
        application=f"I940{_logical_terminal(receiver)}N",
        fields=fields,
    )
    return swift.generate([message])


def _iso_amount(text: str) -> str:
    value = Decimal(text)
    return format(value.normalize(), "f") if value else "0"


def _camt_balance(b: _Builder, parent: object, code: str, balance: dict) -> None:
    node = b.add(parent, "Bal")  # type: ignore[arg-type]
    b.add(b.add(b.add(node, "Tp"), "CdOrPrtry"), "Cd", code)
    b.add(node, "Amt", _iso_amount(balance["amount"]), Ccy=balance["currency"])
    b.add(node, "CdtDbtInd", "DBIT" if balance["mark"] == "D" else "CRDT")
    b.add(b.add(node, "Dt"), "Dt", balance["date"])


def mt940_to_camt053(data: bytes, created: str | None = None) -> bytes:
    """The camt.053.001.08 of a valid single MT940."""
    problems = swift.validate(data)
    file_messages = swift.parse_file(data) if not problems else []
    if not problems and (len(file_messages) != 1 or file_messages[0].mt_type != "940"):
        problems = [Problem("(file)", "convert", "MT940->camt.053 converts exactly one MT940")]
    if problems:
        raise MessageError(problems)
    view = swift.canonical_message(file_messages[0])
    opening, closing = view["opening_balance"], view["closing_balance"]
    if not isinstance(opening, dict) or not isinstance(closing, dict) or "raw" in opening or "raw" in closing:
        raise MessageError([Problem(":60a:", "convert", "balances must be readable")])
    currency = str(opening["currency"])
    number, _, page = str(view["statement_number"] or "1").partition("/")
    b = _Builder(CAMT053_NS)
    doc = b.root()
    body = b.add(doc, "BkToCstmrStmt")
    group = b.add(body, "GrpHdr")
    statement_id = str((view["references"] or {}).get("sender") or NOT_PROVIDED)  # type: ignore[union-attr]
    b.add(group, "MsgId", statement_id)
    stamp = created or f"{closing['date']}T00:00:00+00:00"
    b.add(group, "CreDtTm", stamp)
    stmt = b.add(body, "Stmt")
    b.add(stmt, "Id", statement_id)
    pagination = b.add(stmt, "StmtPgntn")
    b.add(pagination, "PgNb", page.lstrip("0") or "1")
    b.add(pagination, "LastPgInd", "true")
    b.add(stmt, "LglSeqNb", number.lstrip("0") or "0")
    b.add(stmt, "CreDtTm", stamp)
    acct_id = b.add(b.add(stmt, "Acct"), "Id")
    account = str(view["account"] or NOT_PROVIDED).lstrip("/")
    iban = as_iban(account)
    if iban:
        b.add(acct_id, "IBAN", iban)
    else:
        b.add(b.add(acct_id, "Othr"), "Id", account[:34])
    b.add(acct_id.getparent(), "Ccy", currency)
    if view.get("sender"):  # the MT940's sender keeps the account: Acct/Svcr carries it back to block 1
        servicer = b.add(b.add(acct_id.getparent(), "Svcr"), "FinInstnId")
        b.add(servicer, "BICFI", str(view["sender"]))
    _camt_balance(b, stmt, "OPBD", opening)
    _camt_balance(b, stmt, "CLBD", closing)
    if isinstance(view.get("available_balance"), dict):
        _camt_balance(b, stmt, "CLAV", view["available_balance"])  # type: ignore[arg-type]
    for entry in view["entries"]:  # type: ignore[union-attr]
        if "raw" in entry:
            raise MessageError([Problem(":61:", "convert", f"unreadable statement line {entry['raw']!r}"[:120])])
        ntry = b.add(stmt, "Ntry")
        b.add(ntry, "Amt", _iso_amount(entry["amount"]), Ccy=currency)
        b.add(ntry, "CdtDbtInd", "DBIT" if entry["mark"].endswith("D") else "CRDT")
        if entry["mark"].startswith("R"):
            b.add(ntry, "RvslInd", "true")
        b.add(b.add(ntry, "Sts"), "Cd", "BOOK")
        b.add(b.add(ntry, "ValDt"), "Dt", entry["value_date"])
        b.opt(ntry, "AcctSvcrRef", entry.get("bank_reference"))
        b.add(b.add(b.add(ntry, "BkTxCd"), "Prtry"), "Cd", entry["transaction_type"])
        reference = entry.get("reference")
        if reference and reference != "NONREF":
            b.add(b.add(b.add(b.add(ntry, "NtryDtls"), "TxDtls"), "Refs"), "InstrId", reference)
        b.opt(ntry, "AddtlNtryInf", (entry.get("information") or "").replace("\n", "")[:500] or None)
    return _serialise(doc)


def convert_statement(data: bytes, target: str) -> bytes:
    """`data` converted to "mt940" or "camt.053"; the result is validated before it is returned."""
    kind = messages.detect(data)
    if target == "mt940":
        if kind != "xml":
            raise MessageError([Problem("(file)", "convert", f"converts a camt.053 to MT940, not {kind}")])
        output = camt053_to_mt940(data)
    elif target == "camt.053":
        if kind != "mt940":
            raise MessageError([Problem("(file)", "convert", f"converts an MT940 to camt.053, not {kind}")])
        output = mt940_to_camt053(data)
    else:
        raise MessageError([Problem("--to", "convert", f"{target!r} is not mt940 or camt.053")])
    problems = messages.validate(output)
    if problems:
        raise MessageError([Problem(p.path, f"converted message: {p.rule}", p.found) for p in problems])
    return output
