"""Hostile and malformed inputs are refused with Problems before anything is expanded or fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.iso20022 import MAX_MESSAGE_BYTES, parse_bytes, validate_bytes
from gateways.iso20022.xmlsafe import parse_xml
from gateways.problems import MessageError, Problem

PACS008_NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><x>&lol9;</x></Document>"""


def _xxe(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "{target}">]>'
        f'<Document xmlns="{PACS008_NS}"><FIToFICstmrCdtTrf>&xxe;</FIToFICstmrCdtTrf></Document>'
    ).encode()


def _refused(data: bytes, rule_fragment: str, schema_dir: Path | None = None) -> list[Problem]:
    problems = validate_bytes(data, schema_dir)
    assert problems, "expected the message to be refused"
    assert any(rule_fragment in p.rule for p in problems), problems
    with pytest.raises(MessageError):
        parse_bytes(data, schema_dir)
    return problems


def test_billion_laughs_is_refused_not_expanded():
    problems = _refused(BILLION_LAUGHS, "DOCTYPE")
    assert all(len(p.found) < 400 for p in problems)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://127.0.0.1:9/evil", "/etc/hostname"])
def test_xxe_is_refused(target):
    problems = _refused(_xxe(target), "DOCTYPE")
    assert not any("root:" in p.found for p in problems)


def test_doctype_without_entities_is_refused():
    _refused(b'<!DOCTYPE Document><Document xmlns="' + PACS008_NS.encode() + b'"/>', "DOCTYPE")


def test_utf16_doctype_is_refused():
    data = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]><Document>&a;</Document>').encode(
        "utf-16"
    )
    _refused(data, "DOCTYPE")


def test_parser_itself_never_resolves_entities_even_without_marker_scan(monkeypatch):
    """Defence in depth: if the byte scan missed a DOCTYPE, the docinfo check still refuses it."""
    monkeypatch.setattr("gateways.iso20022.xmlsafe._DOCTYPE_MARKERS", ())
    root, problems = parse_xml(_xxe("file:///etc/passwd"))
    assert root is None
    assert problems and "DOCTYPE" in problems[0].rule
    root, problems = parse_xml(BILLION_LAUGHS)
    assert root is None and problems


def test_oversize_is_refused_before_parsing():
    data = b"<Document>" + b" " * MAX_MESSAGE_BYTES + b"</Document>"
    (problem,) = _refused(data, "larger than")
    assert str(len(data)) in problem.found


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"not xml at all", b'{"json": true}', b"<Document", b"\x00\xff\xfe\x00", b"<a></b>"],
)
def test_not_xml_is_refused(data):
    problems = validate_bytes(data)
    assert problems
    assert {p.rule for p in problems} <= {"not XML", "not well-formed XML"}


def test_non_bytes_is_a_problem_not_a_crash():
    assert validate_bytes("<Document/>")[0].rule == "input must be bytes"  # type: ignore[arg-type]


def test_wrong_namespace_is_refused():
    _refused(b'<Document xmlns="urn:example:not-iso"><x/></Document>', "namespace")
    _refused(b"<Document><x/></Document>", "namespace")


def test_unsupported_and_malformed_message_types_are_refused():
    _refused(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08"/>', "unsupported")
    _refused(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:../../etc/passwd"/>', "malformed")


def test_no_document_and_two_documents_are_refused():
    _refused(b"<Envelope><AppHdr/></Envelope>", "no ISO 20022 Document")
    two = f'<Envelope><Document xmlns="{PACS008_NS}"/><Document xmlns="{PACS008_NS}"/></Envelope>'.encode()
    _refused(two, "more than one Document")


def test_apphdr_naming_another_message_type_is_refused():
    data = (
        '<Envelope><AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">'
        "<MsgDefIdr>pacs.009.001.08</MsgDefIdr></AppHdr>"
        f'<Document xmlns="{PACS008_NS}"/></Envelope>'
    ).encode()
    _refused(data, "does not match")


def test_schema_invalid_document_is_refused(xsd_dir):
    problems = _refused(f'<Document xmlns="{PACS008_NS}"><Nope/></Document>'.encode(), "XSD", xsd_dir)
    assert "Nope" in problems[0].found


def test_deep_nesting_is_refused_without_recursion_error():
    data = b'<Document xmlns="' + PACS008_NS.encode() + b'">' + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Document>"
    problems = validate_bytes(data)
    assert problems and problems[0].rule == "not well-formed XML"


def test_wrapped_envelope_is_accepted(xsd_dir):
    """An Envelope inside a transport wrapper still yields its Document and AppHdr."""
    sample = Path(__file__).resolve().parents[4] / "shared" / "samples" / "iso20022"
    inner = (sample / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml").read_bytes()
    inner = inner[inner.index(b"<Envelope") :]
    parsed = parse_bytes(b"<Transport><Payload>" + inner + b"</Payload></Transport>", xsd_dir)
    assert parsed["header"]["biz_msg_id"] == "pacs008bzmsgid-1"
    assert parsed["message"]["transactions"][0]["uetr"] == "7a562c67-ca16-48ba-b074-65581be6f001"


def test_concurrent_validation_keeps_each_messages_problems(xsd_dir):
    from concurrent.futures import ThreadPoolExecutor

    good = f'<Document xmlns="{PACS008_NS}"><FIToFICstmrCdtTrf/></Document>'.encode()
    bad = f'<Document xmlns="{PACS008_NS}"><Nope/></Document>'.encode()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda d: validate_bytes(d, xsd_dir), [good, bad] * 100))
    for index, problems in enumerate(results):
        marker = "GrpHdr" if index % 2 == 0 else "Nope"
        assert problems and all(marker in p.found for p in problems), problems
