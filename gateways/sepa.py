"""EPC SEPA Credit Transfer rulebook checks on top of the ISO 20022 XSD, for pain.001.001.09 and pacs.008.001.08
(pain.008.001.08 direct debits are checked by `gateways.sdd`, which `sepa_problems` calls for them).

The XSD (checked by `gateways.messages.validate`) accepts any currency, any Unicode text and any charge
bearer; a SEPA scheme participant must refuse much of that. These checks read the XML tree directly
(through the hardened parser) rather than the canonical dict, so that every Problem can name the exact
XML path it is about and so that fields the parsers do not extract (service level, local instrument,
structured creditor references) are covered too. Nothing here rewrites a message: `transliterate` is
offered for a caller who decides to convert text, but a non-SEPA character is always reported, never fixed.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from gateways.iso20022.document import locate
from gateways.iso20022.xmlsafe import parse_xml
from gateways.problems import Problem

SEPA_TYPES = ("pain.001.001.09", "pacs.008.001.08")
DEFAULT_SCT_INST_MAX_MINOR = 100_000_00
"""EPC SCT Inst scheme maximum since 2020-07: 100,000.00 EUR; a participant may configure a lower one."""

SEPA_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
"""The EPC basic Latin character set every SEPA participant must support (EPC217-08)."""

MAX_UNSTRUCTURED_REMITTANCE = 140

# Elements whose text travels end to end and must therefore stay inside the SEPA character set.
_TEXT_ELEMENTS = frozenset({"Nm", "Ustrd", "Ref", "EndToEndId", "InstrId", "MsgId", "PmtInfId", "TxId"})
_BIC_ELEMENTS = frozenset({"BICFI", "AnyBIC"})

# Characters with no ASCII base letter that NFKD cannot take apart.
_SPECIAL = {
    "ß": "ss",
    "Æ": "AE",
    "æ": "ae",
    "Ø": "O",
    "ø": "o",
    "Œ": "OE",
    "œ": "oe",
    "Ð": "D",
    "ð": "d",
    "Þ": "TH",
    "þ": "th",
    "Ł": "L",
    "ł": "l",
    "&": "+",
}


def transliterate(text: str) -> str:
    """`text` mapped into the SEPA character set (é->e, ü->u, ß->ss, & -> +, anything else -> '.').

    Offered for callers that choose to convert before sending; the validators never apply it, because
    silently changing a name or a creditor reference changes what the beneficiary's bank matches on.
    """
    out: list[str] = []
    for char in text:
        if char in SEPA_CHARACTERS:
            out.append(char)
            continue
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(c in SEPA_CHARACTERS for c in base) else ".")
    return "".join(out)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _path(node: etree._Element) -> str:
    """/Document/CstmrCdtTrfInitn/PmtInf[1]/... with namespaces dropped and indices only where siblings repeat."""
    steps: list[str] = []
    current: etree._Element | None = node
    while current is not None:
        name = _local(current)
        parent = current.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == current.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(current) + 1}]"
        steps.append(name)
        current = parent
    return "/" + "/".join(reversed(steps))


def _text(node: etree._Element) -> str:
    return (node.text or "").strip()


def _child(node: etree._Element | None, *names: str) -> etree._Element | None:
    """The first descendant along local names `names` (namespace-agnostic)."""
    for name in names:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and _local(c) == name), None)
    return node


def _elements(document: etree._Element) -> list[etree._Element]:
    return [e for e in document.iter() if isinstance(e.tag, str)]


def _currency_problems(document: etree._Element) -> list[Problem]:
    return [
        Problem(_path(e), "EPC SCT: euro only", f"{e.get('Ccy')} {_text(e)}")
        for e in _elements(document)
        if e.get("Ccy") is not None and e.get("Ccy") != "EUR"
    ]


def _iban_problems(document: etree._Element) -> list[Problem]:
    problems = []
    for e in _elements(document):
        if _local(e) != "IBAN":
            continue
        try:
            IBAN(_text(e))
        except (SchwiftyException, ValueError) as error:
            problems.append(Problem(_path(e), "EPC SCT: valid IBAN required", f"{_text(e)[:40]} ({error})"))
    return problems


def _bic_problems(document: etree._Element) -> list[Problem]:
    problems = []
    for e in _elements(document):
        if _local(e) not in _BIC_ELEMENTS:
            continue
        try:
            BIC(_text(e))
        except (SchwiftyException, ValueError) as error:
            problems.append(Problem(_path(e), "EPC SCT: valid BIC required", f"{_text(e)[:20]} ({error})"))
    return problems


def _charset_problems(document: etree._Element) -> list[Problem]:
    problems = []
    for e in _elements(document):
        if _local(e) not in _TEXT_ELEMENTS:
            continue
        bad = sorted({c for c in (e.text or "") if c not in SEPA_CHARACTERS})
        if bad:
            shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in bad[:5])
            problems.append(Problem(_path(e), "EPC SCT: SEPA character set", f"{shown} in {(e.text or '')[:60]!r}"))
    return problems


def _remittance_problems(document: etree._Element) -> list[Problem]:
    """At most one Ustrd of at most 140 characters: the EPC caps the unstructured remittance per transaction."""
    problems = []
    for e in _elements(document):
        if _local(e) != "RmtInf":
            continue
        lines = [c.text or "" for c in e if isinstance(c.tag, str) and _local(c) == "Ustrd"]
        total = sum(len(line) for line in lines)
        if len(lines) > 1 or total > MAX_UNSTRUCTURED_REMITTANCE:
            problems.append(
                Problem(
                    _path(e) + "/Ustrd",
                    f"EPC SCT: one unstructured remittance of at most {MAX_UNSTRUCTURED_REMITTANCE} characters",
                    f"{len(lines)} Ustrd, {total} characters",
                )
            )
    return problems


def _code_problems(document: etree._Element) -> list[Problem]:
    problems = []
    for e in _elements(document):
        name = _local(e)
        if name == "SvcLvl":
            code = _child(e, "Cd")
            proprietary = _child(e, "Prtry")
            found = (
                _text(code) if code is not None else "Prtry " + (_text(proprietary) if proprietary is not None else "")
            )
            if found != "SEPA":
                problems.append(Problem(_path(e), "EPC SCT: service level SEPA", found))
        elif name == "ChrgBr" and _text(e) != "SLEV":
            problems.append(Problem(_path(e), "EPC SCT: charge bearer SLEV", _text(e)))
    return problems


def _is_inst(*nodes: etree._Element | None) -> bool:
    for node in nodes:
        code = _child(node, "PmtTpInf", "LclInstrm", "Cd")
        if code is not None and _text(code) == "INST":
            return True
    return False


def _inst_problems(document: etree._Element, message_type: str, max_minor: int) -> list[Problem]:
    """SCT Inst amounts above the configured maximum; the local instrument may sit on the batch or the transaction."""
    body = next((c for c in document if isinstance(c.tag, str)), None)
    pairs: list[tuple[etree._Element, etree._Element | None]] = []
    if body is None:
        return []
    if message_type == "pain.001.001.09":
        for pmt in (c for c in body if isinstance(c.tag, str) and _local(c) == "PmtInf"):
            for tx in (c for c in pmt if isinstance(c.tag, str) and _local(c) == "CdtTrfTxInf"):
                if _is_inst(pmt, tx):
                    instructed = _child(tx, "Amt", "InstdAmt")
                    pairs.append((tx, instructed if instructed is not None else _child(tx, "Amt", "EqvtAmt", "Amt")))
    else:
        grp = _child(body, "GrpHdr")
        for tx in (c for c in body if isinstance(c.tag, str) and _local(c) == "CdtTrfTxInf"):
            if _is_inst(grp, tx):
                pairs.append((tx, _child(tx, "IntrBkSttlmAmt")))
    problems = []
    limit = Decimal(max_minor).scaleb(-2)
    for _tx, amount in pairs:
        if amount is None:
            continue
        try:
            value = Decimal(_text(amount))
        except InvalidOperation:
            continue  # the XSD reports malformed amounts
        if value > limit:
            problems.append(
                Problem(_path(amount), f"EPC SCT Inst: amount at most {limit:,.2f} EUR", f"{_text(amount)}")
            )
    return problems


def sepa_problems(data: bytes, sct_inst_max_minor: int | None = None) -> list[Problem]:
    """Every EPC SCT / SCT Inst rulebook violation in a pain.001.001.09 or pacs.008.001.08 message.

    Runs even when the XSD fails, so one pass shows both kinds of problem; XSD problems themselves are
    left to `gateways.messages.validate`. `sct_inst_max_minor` is the SCT Inst maximum in euro cents
    (default 100,000.00 EUR).
    """
    max_minor = DEFAULT_SCT_INST_MAX_MINOR if sct_inst_max_minor is None else sct_inst_max_minor
    root, problems = parse_xml(data)
    if root is None:
        return problems
    located, problems = locate(root)
    if located is None:
        return problems
    if located.message_type == "pain.008.001.08":
        from gateways.sdd import sdd_document_problems  # sdd builds on this module's checks

        return sdd_document_problems(located.document)
    if located.message_type not in SEPA_TYPES:
        covered = " and ".join((*SEPA_TYPES, "pain.008.001.08"))
        return [Problem("/Document", f"SEPA checks cover {covered} only", located.message_type)]
    document = located.document
    return [
        *_currency_problems(document),
        *_iban_problems(document),
        *_bic_problems(document),
        *_charset_problems(document),
        *_remittance_problems(document),
        *_code_problems(document),
        *_inst_problems(document, located.message_type, max_minor),
    ]
