"""Format detection and dispatch in gateways.messages: MT to the swift package, XML to iso20022 (lazily)."""

from __future__ import annotations

import pytest

from gateways import messages
from gateways.problems import MessageError, Problem

MT103 = (
    b"{1:F01BANKUS33AXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\r\n:20:R\r\n:23B:CRED\r\n:32A:250922USD1,\r\n"
    b":50K:JOHN\r\n:59:JANE\r\n:71A:SHA\r\n-}"
)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (MT103, "mt103"),
        (MT103.replace(b"I103", b"I202"), "mt202"),
        (b":20:X\n:25:1\n:28C:1\n:60F:C250101EUR1,\n:61:250101C1,NTRFNONREF\n:62F:C250101EUR2,\n-", "mt940"),
        (b":20:X\n:25:1\n:28C:1\n:60F:C250101EUR1,\n:62F:C250101EUR1,\n-", "mt950"),
        (b"\xef\xbb\xbf  \n<?xml version='1.0'?><Document/>", "xml"),
        (b"<Document/>", "xml"),
        (MT103 + b"$" + MT103.replace(b"I103", b"I202"), "mixed"),
        (b"{1:F01BANKUS33AXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\r\n:20:R", "mt103"),
        (b"hello", "unknown"),
        (b"", "unknown"),
        (b"{1:F01BANKUS33AXXX0000000000}{2:I999BANKDEFFXXXXN}{4:\r\n:20:R\r\n-}", "unknown"),
    ],
)
def test_detect(data, kind):
    assert messages.detect(data) == kind


def test_mt_validate_and_parse():
    assert messages.validate(MT103) == []
    view = messages.parse(MT103)
    assert view["type"] == "mt103" and view["amount"] == "1.00" and view["value_date"] == "2025-09-22"
    assert messages.validate(b"junk")[0].rule == "FIN syntax"
    with pytest.raises(MessageError):
        messages.parse(b"junk")


def test_xml_without_iso20022_support_is_a_problem(monkeypatch):
    monkeypatch.setattr(messages, "_iso20022", lambda name: None)
    assert messages.validate(b"<Document/>") == [
        Problem("(file)", "format", "ISO 20022 XML messages are not supported yet")
    ]
    with pytest.raises(MessageError, match="not supported yet"):
        messages.parse(b"<Document/>")


def test_xml_dispatches_to_iso20022(monkeypatch):
    calls: list[str] = []

    def fake(name: str):
        def function(data: bytes):
            calls.append(name)
            return [Problem("/Document", "XSD", "x")] if name == "validate_bytes" else {"type": "pacs.008"}

        return function

    monkeypatch.setattr(messages, "_iso20022", fake)
    assert messages.validate(b"<Document/>") == [Problem("/Document", "XSD", "x")]
    assert messages.parse(b"<Document/>") == {"type": "pacs.008"}
    assert calls == ["validate_bytes", "parse_bytes"]


def test_lazy_lookup_of_the_iso20022_module():
    function = messages._iso20022("no_such_function")
    assert function is None
