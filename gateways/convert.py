"""MT103 <-> pacs.008.001.08 following the SWIFT CBPR+ translation rules for the fields we carry.

During the MT/MX coexistence a bank receives the same customer payment in either format and must
forward it in the other. The mapping (CBPR+ "MT103 to pacs.008" and "pacs.008 to MT103" translation
rules, as the SWIFT translator and the samples in ../shared/samples apply them):

| MT103                         | pacs.008.001.08                                              |
|-------------------------------|--------------------------------------------------------------|
| {3:{121:}} UETR               | PmtId/UETR                                                   |
| :20: (16x)                    | GrpHdr/MsgId, PmtId/InstrId (MX->MT: InstrId cut to 15 + '+')|
| :70: /ROC/ref                 | PmtId/EndToEndId (else NOTPROVIDED); :70: text -> RmtInf/Ustrd |
| :32A: date, currency, amount  | IntrBkSttlmDt, IntrBkSttlmAmt                                |
| :33B:                         | InstdAmt (MX->MT: InstdAmt, else the settlement amount)      |
| :71A: OUR / SHA / BEN         | ChrgBr DEBT / SHAR / CRED (SLEV -> SHA)                      |
| sender / receiver (blocks 1-2)| InstgAgt / InstdAgt                                          |
| :53A: / :54A:                 | SttlmMtd COVE, InstgRmbrsmntAgt / InstdRmbrsmntAgt (else INDA) |
| :52A:, :56A:, :57A:           | DbtrAgt, IntrmyAgt1, CdtrAgt (absent agents: sender/receiver)|
| :50F:/:50K:/:50A: + account   | Dbtr (Nm, PstlAdr, AnyBIC), DbtrAcct (IBAN or Othr/Id)       |
| :59F:/:59:/:59A: + account    | Cdtr, CdtrAcct                                               |

Every output is validated (MT network rules, or the XSD) before it is returned: a conversion that
would produce an invalid message is refused with the problems, never emitted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from gateways import messages, swift
from gateways.iso20022.document import load_and_validate
from gateways.iso20022.generators import _Builder, _serialise
from gateways.problems import MessageError, Problem
from gateways.swift.fin import FinMessage
from ledger.currency import ISO_4217_EXPONENTS

PACS008_NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
NOT_PROVIDED = "NOTPROVIDED"
CHARGES_MT_TO_MX = {"OUR": "DEBT", "SHA": "SHAR", "BEN": "CRED"}
CHARGES_MX_TO_MT = {"DEBT": "OUR", "SHAR": "SHA", "CRED": "BEN", "SLEV": "SHA"}
TARGETS = ("pacs.008", "mt103", "camt.053", "mt940")
_ROC = re.compile(r"^/ROC/([^\n/]{1,35})")
_X_CHARSET = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def _cut(text: str, width: int) -> str:
    """CBPR+ truncation: a reference longer than the MT field keeps width-1 characters and ends with '+'."""
    return text if len(text) <= width else text[: width - 1] + "+"


def _x(text: str) -> str:
    """SWIFT x character set; anything else becomes '.' rather than breaking the message."""
    return _X_CHARSET.sub(".", text)


# --- MT103 -> pacs.008 ----------------------------------------------------------------------------


def _party_lines(value: str, tag: str) -> tuple[str | None, dict[str, object]]:
    """(account, party) of a 50a/59a field: 'F' structured lines, 'A' BIC, else name and address lines."""
    lines = value.split("\n")
    account = None
    if lines and lines[0].startswith("/"):
        account, lines = lines[0][1:], lines[1:]
    elif tag == "50F" and lines:
        account, lines = lines[0], lines[1:]  # a party identifier (e.g. NIDN/...): kept as the account id
    party: dict[str, object] = {}
    if tag.endswith("A"):
        party["bic"] = lines[-1] if lines else None
        return account, party
    if tag.endswith("F"):
        address: list[str] = []
        for line in lines:
            number, _, text = line.partition("/")
            if number == "1":
                party["name"] = (str(party.get("name", "")) + " " + text).strip()
            elif number == "2":
                address.append(text)
            elif number == "3":
                country, _, town = text.partition("/")
                party["country"], party["town"] = country, town or None
        party["address"] = address
        return account, party
    party["name"] = lines[0] if lines else NOT_PROVIDED
    party["address"] = lines[1:]
    return account, party


def _account(b: _Builder, parent: etree._Element, tag: str, account: str | None) -> None:
    if not account:
        return
    ident = b.add(b.add(parent, tag), "Id")
    try:
        b.add(ident, "IBAN", IBAN(account).compact)
    except (SchwiftyException, ValueError):
        b.add(b.add(ident, "Othr"), "Id", account[:34])


def _party(b: _Builder, parent: etree._Element, tag: str, party: dict[str, object]) -> None:
    node = b.add(parent, tag)
    if party.get("bic") and not party.get("name"):
        b.add(b.add(b.add(node, "Id"), "OrgId"), "AnyBIC", str(party["bic"]))
        return
    b.add(node, "Nm", str(party.get("name") or NOT_PROVIDED)[:140])
    address = [str(a) for a in party.get("address") or [] if a]  # type: ignore[attr-defined]
    if party.get("town") or party.get("country") or address:
        postal = b.add(node, "PstlAdr")
        b.opt(postal, "TwnNm", str(party["town"]) if party.get("town") else None)
        b.opt(postal, "Ctry", str(party["country"]) if party.get("country") else None)
        for line in address[:7]:
            b.add(postal, "AdrLine", line[:70])


def _iso_amount(text: str) -> str:
    """SWIFT '2450,' -> ISO '2450' (plain notation: the XSD refuses '2.45E+3')."""
    value = Decimal(text.replace(",", ".") or "0")
    return format(value.normalize(), "f") if value else "0"


def _sent_at(message: FinMessage, value_date: str) -> str:
    """The output message's input time and date (block 2), else the value date at midnight UTC."""
    app = message.application or ""
    if app.startswith("O") and len(app) >= 14 and app[4:14].isdigit():
        stamp = datetime.strptime(app[8:14] + app[4:8], "%y%m%d%H%M").replace(tzinfo=UTC)
        return stamp.isoformat(timespec="seconds")
    return f"{value_date}T00:00:00+00:00"


def mt103_to_pacs008(data: bytes) -> bytes:
    """The pacs.008.001.08 Document for a valid single MT103."""
    problems = swift.validate(data)
    file_messages = swift.parse_file(data) if not problems else []
    if not problems and (len(file_messages) != 1 or file_messages[0].mt_type != "103"):
        problems = [Problem("(file)", "convert", "MT->pacs.008 converts exactly one MT103")]
    if problems:
        raise MessageError(problems)
    message = file_messages[0]
    view = swift.canonical_message(message)
    value = {tag: v for tag, v in reversed(message.fields or [])}
    sender, receiver = str(view.get("sender") or ""), str(view.get("receiver") or "")
    date, currency = str(view["value_date"]), str(view["currency"])
    amount = _iso_amount(value["32A"][9:])
    reference = value["20"]
    remittance = value.get("70")
    roc = _ROC.match(remittance or "")

    b = _Builder(PACS008_NS)
    doc = b.root()
    body = b.add(doc, "FIToFICstmrCdtTrf")
    grp = b.add(body, "GrpHdr")
    b.add(grp, "MsgId", reference)
    b.add(grp, "CreDtTm", _sent_at(message, date))
    b.add(grp, "NbOfTxs", "1")
    settlement = b.add(grp, "SttlmInf")
    reimbursing = [message.first("53A"), message.first("54A")]
    b.add(settlement, "SttlmMtd", "COVE" if any(reimbursing) else "INDA")
    for field, tag in zip(reimbursing, ("InstgRmbrsmntAgt", "InstdRmbrsmntAgt"), strict=True):
        if field:
            b.agent(settlement, tag, field[1].split("\n")[-1])
    tx = b.add(body, "CdtTrfTxInf")
    ids = b.add(tx, "PmtId")
    b.add(ids, "InstrId", reference)
    b.add(ids, "EndToEndId", roc.group(1) if roc else NOT_PROVIDED)
    b.opt(ids, "UETR", message.user_value("121"))
    b.add(tx, "IntrBkSttlmAmt", amount, Ccy=currency)
    b.add(tx, "IntrBkSttlmDt", date)
    if "33B" in value:
        b.add(tx, "InstdAmt", _iso_amount(value["33B"][3:]), Ccy=value["33B"][:3])
    b.add(tx, "ChrgBr", CHARGES_MT_TO_MX[value["71A"]])
    b.agent(tx, "InstgAgt", sender)
    b.agent(tx, "InstdAgt", receiver)
    intermediary = message.first("56A")
    if intermediary:
        b.agent(tx, "IntrmyAgt1", intermediary[1].split("\n")[-1])
    ordering = message.first("50A", "50F", "50K")
    debtor_account, debtor = _party_lines(ordering[1], ordering[0]) if ordering else (None, {})
    _party(b, tx, "Dbtr", debtor)
    _account(b, tx, "DbtrAcct", debtor_account)
    ordering_institution = message.first("52A")
    b.agent(tx, "DbtrAgt", ordering_institution[1].split("\n")[-1] if ordering_institution else sender)
    account_with = message.first("57A")
    b.agent(tx, "CdtrAgt", account_with[1].split("\n")[-1] if account_with else receiver)
    beneficiary = message.first("59", "59A", "59F")
    creditor_account, creditor = _party_lines(beneficiary[1], beneficiary[0]) if beneficiary else (None, {})
    _party(b, tx, "Cdtr", creditor)
    _account(b, tx, "CdtrAcct", creditor_account)
    if remittance:
        b.add(b.add(tx, "RmtInf"), "Ustrd", remittance.replace("\n", "")[:140])
    return _serialise(doc)


# --- pacs.008 -> MT103 ----------------------------------------------------------------------------


class _Tx:
    """Namespace-bound reads on one CdtTrfTxInf."""

    def __init__(self, node: etree._Element, ns: str) -> None:
        self.node, self.ns = node, ns

    def find(self, path: str, node: etree._Element | None = None) -> etree._Element | None:
        base = self.node if node is None else node
        return base.find("/".join(f"{{{self.ns}}}{step}" for step in path.split("/")))

    def text(self, path: str, node: etree._Element | None = None) -> str | None:
        found = self.find(path, node)
        return found.text.strip() if found is not None and found.text else None


def _mt_amount(text: str, currency: str) -> str:
    exponent = ISO_4217_EXPONENTS.get(currency, 2)
    fixed = f"{Decimal(text):.{exponent}f}"
    whole, _, fraction = fixed.partition(".")
    return f"{whole},{fraction.rstrip('0')}"


def _mt_party(t: _Tx, party_path: str, account_path: str, letter: str) -> tuple[str, str]:
    """(tag, value) for 50a/59a: option A for a BIC-only party, F for a structured one, else K / no letter."""
    party = t.find(party_path)
    account = t.text(f"{account_path}/Id/IBAN") or t.text(f"{account_path}/Id/Othr/Id")
    bic = t.text("Id/OrgId/AnyBIC", party) if party is not None else None
    name = t.text("Nm", party) if party is not None else None
    account_line = f"/{account}" if account else None
    if bic and not name:
        return f"{letter}A", "\n".join(x for x in (account_line, bic) if x)
    postal = t.find("PstlAdr", party) if party is not None else None
    country = t.text("Ctry", postal) if postal is not None else None
    town = t.text("TwnNm", postal) if postal is not None else None
    # 50F's first line (account or party identifier) is mandatory; 59F's account line is optional.
    lines = [account_line or ("/" + NOT_PROVIDED)] if letter == "50" or account_line else []
    if country and town:
        lines.append(_cut(f"1/{_x(name or NOT_PROVIDED)}", 35))
        street = " ".join(x for x in (t.text("StrtNm", postal), t.text("BldgNb", postal)) if x)
        address = [street] if street else [a.text or "" for a in postal.findall(f"{{{t.ns}}}AdrLine")]  # type: ignore[union-attr]
        lines += [_cut(f"2/{_x(a)}", 35) for a in address[:2] if a]
        lines.append(_cut(f"3/{country}/{_x(town)}", 35))
        return f"{letter}F", "\n".join(lines[:5])
    body = [_cut(_x(name or NOT_PROVIDED), 35)]
    if postal is not None:
        body += [_cut(_x(a.text or ""), 35) for a in postal.findall(f"{{{t.ns}}}AdrLine")][:3]
    tag = f"{letter}K" if letter == "50" else "59"
    return tag, "\n".join(([account_line] if account_line else []) + body)


def _logical_terminal(bic: str) -> str:
    return bic[:8] + "X" + (bic[8:11] or "XXX")


def pacs008_to_mt103(data: bytes) -> bytes:
    """The MT103 for a valid pacs.008.001.08 holding exactly one transaction."""
    located, problems = load_and_validate(data)
    if located is not None and located.message_type != "pacs.008.001.08":
        problems = [Problem("/Document", "convert", f"{located.message_type} is not pacs.008.001.08")]
    if located is None or problems:
        raise MessageError(problems)
    ns = etree.QName(located.document).namespace or ""
    body = next(child for child in located.document if isinstance(child.tag, str))
    transactions = body.findall(f"{{{ns}}}CdtTrfTxInf")
    if len(transactions) != 1:
        raise MessageError([Problem("CdtTrfTxInf", "convert", f"one MT103 per payment: {len(transactions)} here")])
    t = _Tx(transactions[0], ns)
    group = _Tx(body.find(f"{{{ns}}}GrpHdr"), ns)  # type: ignore[arg-type]
    sender = t.text("InstgAgt/FinInstnId/BICFI")
    receiver = t.text("InstdAgt/FinInstnId/BICFI")
    missing = [
        name
        for name, value in (("InstgAgt/FinInstnId/BICFI", sender), ("InstdAgt/FinInstnId/BICFI", receiver))
        if not value
    ]
    if missing:
        raise MessageError([Problem(path, "convert", "MT103 needs the agent's BIC for its header") for path in missing])
    settlement = t.find("IntrBkSttlmAmt")
    assert settlement is not None and settlement.text  # XSD-mandatory
    currency = settlement.get("Ccy", "")
    date = t.text("IntrBkSttlmDt") or group.text("IntrBkSttlmDt") or ""
    instructed = t.find("InstdAmt")
    reference = t.text("PmtId/InstrId") or group.text("MsgId") or NOT_PROVIDED
    end_to_end = t.text("PmtId/EndToEndId") or NOT_PROVIDED
    fields: list[tuple[str, str]] = [("20", _cut(_x(reference), 16)), ("23B", "CRED")]
    fields.append(("32A", f"{date[2:4]}{date[5:7]}{date[8:10]}{currency}{_mt_amount(settlement.text, currency)}"))
    if instructed is not None and instructed.text:
        fields.append(("33B", f"{instructed.get('Ccy')}{_mt_amount(instructed.text, instructed.get('Ccy', ''))}"))
    else:
        fields.append(("33B", f"{currency}{_mt_amount(settlement.text, currency)}"))
    fields.append(_mt_party(t, "Dbtr", "DbtrAcct", "50"))
    for tag, path in (("52A", "DbtrAgt"), ("56A", "IntrmyAgt1"), ("57A", "CdtrAgt")):
        bic = t.text(f"{path}/FinInstnId/BICFI")
        if bic:
            fields.append((tag, bic))
    fields.append(_mt_party(t, "Cdtr", "CdtrAcct", "59"))
    remittance = [e.text or "" for e in transactions[0].findall(f"{{{ns}}}RmtInf/{{{ns}}}Ustrd")]
    text = "".join(remittance)
    if end_to_end != NOT_PROVIDED and not text.startswith("/ROC/"):
        text = f"/ROC/{end_to_end}" + (f"\n{text}" if text else "")
    lines = [chunk for part in text.split("\n") for chunk in (part[i : i + 35] for i in range(0, len(part), 35))]
    if lines:
        fields.append(("70", "\n".join(_x(line) for line in lines[:4])))
    fields.append(("71A", CHARGES_MX_TO_MT.get(t.text("ChrgBr") or "SHAR", "SHA")))
    uetr = t.text("PmtId/UETR")
    message = FinMessage(
        basic=f"F01{_logical_terminal(sender)}0000000000",  # type: ignore[arg-type]
        application=f"I103{_logical_terminal(receiver)}N",  # type: ignore[arg-type]
        user=[("121", uetr)] if uetr else None,
        fields=fields,
    )
    return swift.generate([message])


def convert(data: bytes, target: str) -> bytes:
    """`data` converted to `target` (pacs.008, mt103, camt.053, mt940), validated before it is returned."""
    if target not in TARGETS:
        raise MessageError([Problem("--to", "convert", f"{target!r} is not one of {', '.join(TARGETS)}")])
    if target in ("camt.053", "mt940"):
        from gateways.convert_statements import convert_statement  # builds on this module's helpers

        return convert_statement(data, target)
    kind = messages.detect(data)
    if target == "pacs.008":
        if kind != "mt103":
            raise MessageError([Problem("(file)", "convert", f"converts an MT103 to pacs.008, not {kind}")])
        output = mt103_to_pacs008(data)
    else:
        if kind != "xml":
            raise MessageError([Problem("(file)", "convert", f"converts a pacs.008 to MT103, not {kind}")])
        output = pacs008_to_mt103(data)
    problems = messages.validate(output)
    if problems:
        raise MessageError([Problem(p.path, f"converted message: {p.rule}", p.found) for p in problems])
    return output
