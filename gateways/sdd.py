"""EPC SEPA Direct Debit (SDD Core and SDD B2B) rulebook checks on a pain.008.001.08 collection file.

A direct debit takes money out of the debtor's account on the creditor's word alone, so the scheme
protects the debtor with a mandate: the creditor must name it (mandate id, date of signature), say
who it is (the SEPA creditor identifier, checked with ISO 7064 MOD 97-10 like an IBAN), which
collection of the mandate this is (sequence type FRST/RCUR/OOFF/FNAL) and under which scheme (CORE for
consumers, B2B for businesses, never both in one message: the two schemes have different refund
rights and are cleared separately). The gateway refuses to book a pain.008 that breaks any of these
rules, on top of the euro / IBAN / BIC / character-set rules shared with SCT (`gateways.sepa`).
Each Problem names the XML path and the rulebook rule.
"""

from __future__ import annotations

import re

from lxml import etree

from gateways.iso20022.document import locate
from gateways.iso20022.xmlsafe import parse_xml
from gateways.problems import Problem
from gateways.sepa import (
    SEPA_CHARACTERS,
    _bic_problems,
    _charset_problems,
    _child,
    _currency_problems,
    _iban_problems,
    _local,
    _path,
    _remittance_problems,
    _text,
)

SDD_TYPE = "pain.008.001.08"
SCHEMES = ("CORE", "B2B")
SEQUENCE_TYPES = ("FRST", "RCUR", "OOFF", "FNAL")
MAX_MANDATE_ID = 35
_CREDITOR_ID = re.compile(r"^([A-Z]{2})([0-9]{2})([A-Za-z0-9]{3})([A-Za-z0-9]{1,28})$")


def creditor_id_problem(value: str) -> str | None:
    """Why `value` is not a valid SEPA creditor identifier (EPC262-08), or None if it is.

    Layout: country code, two check digits, a three-character creditor business code that the check
    ignores, then the national identifier. The check digits make national id + country + digits,
    letters as 10..35, equal 1 modulo 97 (ISO 7064 MOD 97-10).
    """
    match = _CREDITOR_ID.fullmatch(value)
    if match is None:
        return "not CC + 2 check digits + 3-character business code + national identifier (at most 35)"
    country, check, _business, national = match.groups()
    digits = "".join(str(int(c, 36)) for c in (national + country).upper()) + check
    if int(digits) % 97 != 1:
        expected = 98 - int("".join(str(int(c, 36)) for c in (national + country).upper()) + "00") % 97
        return f"check digits {check} do not match (MOD 97-10 gives {expected:02d})"
    return None


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and _local(c) == name]


def _scheme_problems(body: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    schemes: dict[str, str] = {}
    for pmt in _children(body, "PmtInf"):
        instrument = _child(pmt, "PmtTpInf", "LclInstrm", "Cd")
        if instrument is None or _text(instrument) not in SCHEMES:
            found = _text(instrument) if instrument is not None else "no PmtTpInf/LclInstrm/Cd"
            problems.append(Problem(_path(pmt) + "/PmtTpInf/LclInstrm/Cd", "EPC SDD: scheme CORE or B2B", found))
        else:
            schemes.setdefault(_text(instrument), _path(instrument))
        sequence = _child(pmt, "PmtTpInf", "SeqTp")
        if sequence is None or _text(sequence) not in SEQUENCE_TYPES:
            found = _text(sequence) if sequence is not None else "no PmtTpInf/SeqTp"
            rule = f"EPC SDD: sequence type {'/'.join(SEQUENCE_TYPES)}"
            problems.append(Problem(_path(pmt) + "/PmtTpInf/SeqTp", rule, found))
    if len(schemes) > 1:
        found = ", ".join(f"{scheme} at {path}" for scheme, path in sorted(schemes.items()))
        problems.append(Problem("/Document", "EPC SDD: CORE and B2B collections never share a message", found))
    return problems


def _creditor_id_problems(pmt: etree._Element, tx: etree._Element) -> list[Problem]:
    """The creditor identifier may sit on the batch or the transaction (the transaction's wins)."""
    holder = _child(tx, "DrctDbtTx", "CdtrSchmeId")
    if holder is None:
        holder = _child(pmt, "CdtrSchmeId")
    if holder is None:
        return [
            Problem(_path(tx), "EPC SDD: creditor identifier (CdtrSchmeId) required", "none on batch or transaction")
        ]
    other = _child(holder, "Id", "PrvtId", "Othr")
    identifier = _child(other, "Id")
    if identifier is None:
        return [Problem(_path(holder), "EPC SDD: creditor identifier in Id/PrvtId/Othr/Id", "missing")]
    problems = []
    reason = creditor_id_problem(_text(identifier))
    if reason is not None:
        problems.append(
            Problem(_path(identifier), "EPC SDD: SEPA creditor identifier", f"{_text(identifier)}: {reason}")
        )
    scheme = _child(other, "SchmeNm", "Prtry")
    if scheme is None or _text(scheme) != "SEPA":
        found = _text(scheme) if scheme is not None else "no SchmeNm/Prtry"
        problems.append(Problem(_path(other) + "/SchmeNm/Prtry", "EPC SDD: identification scheme SEPA", found))
    return problems


def _mandate_problems(pmt: etree._Element, tx: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    mandate = _child(tx, "DrctDbtTx", "MndtRltdInf")
    if mandate is None:
        return [Problem(_path(tx) + "/DrctDbtTx/MndtRltdInf", "EPC SDD: mandate information required", "missing")]
    mandate_id = _child(mandate, "MndtId")
    text = _text(mandate_id) if mandate_id is not None else ""
    if not text:
        problems.append(Problem(_path(mandate) + "/MndtId", "EPC SDD: mandate id required", "missing"))
    elif len(text) > MAX_MANDATE_ID or any(c not in SEPA_CHARACTERS for c in text):
        problems.append(
            Problem(_path(mandate_id), f"EPC SDD: mandate id of 1-{MAX_MANDATE_ID} SEPA characters", repr(text)[:60])
        )
    signed = _child(mandate, "DtOfSgntr")
    collection = _child(pmt, "ReqdColltnDt")
    if signed is None or not _text(signed):
        problems.append(
            Problem(_path(mandate) + "/DtOfSgntr", "EPC SDD: mandate date of signature required", "missing")
        )
    elif collection is not None and _text(signed) > _text(collection):  # both ISO dates: text order is date order
        problems.append(
            Problem(
                _path(signed),
                "EPC SDD: mandate signed on or before the collection date",
                f"signed {_text(signed)}, collected {_text(collection)}",
            )
        )
    return problems


def _account_problems(pmt: etree._Element, tx: etree._Element) -> list[Problem]:
    problems = []
    for node, name in ((tx, "DbtrAcct"), (pmt, "CdtrAcct")):
        if _child(node, name, "Id", "IBAN") is None:
            problems.append(Problem(_path(node) + f"/{name}/Id/IBAN", "EPC SDD: account identified by IBAN", "missing"))
    return problems


def _as_sdd(problems: list[Problem]) -> list[Problem]:
    """The SCT checks reused here name their rule 'EPC SCT'; for a collection the rulebook is SDD's."""
    return [Problem(p.path, p.rule.replace("EPC SCT", "EPC SDD"), p.found) for p in problems]


def sdd_document_problems(document: etree._Element) -> list[Problem]:
    """Every SDD rulebook violation in a located pain.008.001.08 Document element."""
    body = next((c for c in document if isinstance(c.tag, str)), None)
    if body is None:
        return [Problem("/Document", "EPC SDD: a CstmrDrctDbtInitn", "empty Document")]
    problems = _as_sdd(
        [
            *_currency_problems(document),
            *_iban_problems(document),
            *_bic_problems(document),
            *_charset_problems(document),
            *_remittance_problems(document),
        ]
    )
    problems += _scheme_problems(body)
    for pmt in _children(body, "PmtInf"):
        service_level, charge_bearer = _child(pmt, "PmtTpInf", "SvcLvl", "Cd"), _child(pmt, "ChrgBr")
        if service_level is not None and _text(service_level) != "SEPA":
            problems.append(Problem(_path(service_level), "EPC SDD: service level SEPA", _text(service_level)))
        if charge_bearer is not None and _text(charge_bearer) != "SLEV":
            problems.append(Problem(_path(charge_bearer), "EPC SDD: charge bearer SLEV", _text(charge_bearer)))
        for tx in _children(pmt, "DrctDbtTxInf"):
            problems += _creditor_id_problems(pmt, tx)
            problems += _mandate_problems(pmt, tx)
            problems += _account_problems(pmt, tx)
    return problems


def sdd_problems(data: bytes) -> list[Problem]:
    """Every EPC SDD rulebook violation in a pain.008.001.08 message; XSD problems are reported elsewhere."""
    root, problems = parse_xml(data)
    if root is None:
        return problems
    located, problems = locate(root)
    if located is None:
        return problems
    if located.message_type != SDD_TYPE:
        return [Problem("/Document", f"SDD checks cover {SDD_TYPE} only", located.message_type)]
    return sdd_document_problems(located.document)
