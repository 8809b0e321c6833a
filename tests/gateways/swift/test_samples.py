"""The real sample messages in /work/shared/samples/mt: which are valid, which are refused and why.

Upstream marks none of them negative, but SOURCES.md warns they are parser-robustness data (deliberately
broken prowide cases, bank exports without envelope). Each refusal below was checked by hand against the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateways.messages import detect, parse, validate
from gateways.problems import MessageError
from gateways.swift.fin import generate, parse_file

# tests/gateways/swift/<file> -> parents[4] is the directory holding both the repo (main/) and shared/.
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "mt"
FILES = sorted(p.name for p in SAMPLES.glob("mt*")) if SAMPLES.is_dir() else []

# file -> rule of the first problem; the comment says what is wrong in the file.
REFUSED = {
    "mt103__prowide__MT103ParserTest__L250.fin": "T26",  # 13C time /RNCTIME/123123123+0000
    "mt103__prowide__MT103ParserTest__L475.fin": "FIN syntax",  # "SHA-}": no line end before -}
    "mt103__prowide__MtSwiftMessageJsonSchemaTest__L38.fin": "FIN syntax",  # block 5 not closed
    "mt103__prowide__MtSwiftMessageTest__L114.fin": "UETR (T54)",  # UETR d]8b27e4-...
    "mt103__prowide__SwiftMessageComparatorTest__L300.fin": "MT103 T13",  # only 20 and 72
    "mt103__prowide__SwiftMessageComparatorTest__L313.fin": "MT103 T13",  # only 20 and 72
    "mt103__prowide__SwiftMessageUtilsTest__L240.fin": "MT103 T13",  # fragment without 23B/32A/50a/59a
    "mt103__prowide__SwiftMessageUtilsTest__L250.fin": "MT103 T13",  # only 20 and 32A
    "mt103__prowide__SwiftParserTest__L265.fin": "FIN syntax",  # "-}foo"
    "mt103__prowide__SwiftParserTest__L294.fin": "FIN syntax",  # "-}}}}}"
    "mt940__mt940py__betterplace__amount_formats.sta": "MT950 T13",  # a list of 60F lines, no statement
    "mt940__mt940py__betterplace__with_binary_character.sta": "T26 character set X",  # Ü, ß
    "mt940__mt940py__cmxl__mt940.sta": "MT940 T13",  # old :28: instead of :28C:, DEM
    "mt940__mt940py__jejik__generic.sta": "MT940 T13",  # :28:
    "mt940__mt940py__jejik__rabobank.sta": "FIN syntax",  # Rabobank ":940:" file header line
    "mt940__mt940py__mBank__with_newline_in_tnr.sta": "T26 character set X",  # ';' in :86:
    "mt940__mt940py__self-provided__details_60-63.sta": "T26 reference",  # :61: without reference
    "mt940__mt940py__self-provided__long_statement_number.sta": "MT950 T13",  # :28:
    "mt940__mt940py__self-provided__malformed_details.sta": "T26 reference",  # :61: without reference
    "mt940__mt940py__self-provided__overly_long_details.sta": "T26 reference",  # :61: without reference
    "mt940__mt940py__self-provided__raiffeisen-cmi.sta": "T40",  # 28C "0072" then a blank line
    "mt940__mt940py__self-provided__raphaelm.sta": "MT940 T13",  # :28:, DEM
    "mt940__mt940py__self-provided__whitespace.sta": "T26 reference",  # :61: without reference
    "mt940__mt940py__self-provided__wrapped_timestamp.sta": "T50 date",  # value date 160230
    "mt940__prowide__IssueGh148Test__L30.fin": "C03 decimals",  # XOF 2644893271,0 (XOF has no decimals)
    "mt940__prowide__TabInFieldValueTest__L34.fin": "T26 reference",  # 25-character reference with '_'
    "mt940__prowide__TabInFieldValueTest__L45.fin": "T26 reference",  # tabs (VT) in the reference
    "mt940__prowide__UnparsedTextListTest__L157.fin": "T26 line length",  # 28-character :20:
    "mt950__prowide__MtSwiftMessageJsonSchemaTest__L480.fin": "FIN syntax",  # block 5 not closed
}
STRUCTURALLY_BROKEN = {name for name, rule in REFUSED.items() if rule == "FIN syntax"}


def test_samples_are_present(samples):
    names = {p.name for p in samples.glob("mt*")}
    manifest = {entry["file"] for entry in json.loads((samples / "manifest.json").read_text())}
    assert names == manifest
    assert set(REFUSED) <= names


@pytest.mark.parametrize("name", FILES)
def test_sample_validates_or_is_refused_with_its_reason(name):
    problems = validate((SAMPLES / name).read_bytes())
    if name in REFUSED:
        assert problems, f"{name} should be refused"
        assert problems[0].rule == REFUSED[name], problems[:3]
        assert all(p.path and p.rule and p.found for p in problems)
    else:
        assert problems == [], [p.line() for p in problems]


@pytest.mark.parametrize("name", [n for n in FILES if n not in STRUCTURALLY_BROKEN])
def test_sample_round_trip_is_lossless_and_parses_to_json(name):
    data = (SAMPLES / name).read_bytes()
    messages = parse_file(data)
    again = parse_file(generate(messages))
    assert again == messages
    assert generate(again) == generate(messages)
    view = parse(data)
    assert json.loads(json.dumps(view)) == view
    kind = name.split("__")[0]
    assert detect(data) in (kind, "mt950" if kind == "mt940" else kind, "mixed")


@pytest.mark.parametrize("name", sorted(STRUCTURALLY_BROKEN & set(FILES)))
def test_structurally_broken_samples_raise_message_error_on_parse(name):
    with pytest.raises(MessageError):
        parse((SAMPLES / name).read_bytes())


def test_rje_with_ack_sample(samples):
    view = parse((samples / "mt103__prowide__MT103-out-ack.rje").read_bytes())
    assert view["type"] == "batch" and len(view["messages"]) == 13
    assert all(m["type"] == "mt103" and m["problems"] == [] for m in view["messages"])


def test_canonical_mt103(samples):
    view = parse((samples / "mt103__mt2mx-input__fin2.fin").read_bytes())
    assert view["type"] == "mt103" and view["uetr"] == "09797101-a670-4e81-98ed-34b409736305"
    assert (view["currency"], view["amount"], view["amount_minor"]) == ("USD", "700.00", "70000")
    assert view["value_date"] == "2025-09-22" and view["charges"] == "OUR"
    assert view["sender"] == "AABSLKLXXXX" and view["receiver"] == "HANYUS33XXX"
    assert view["accounts"] == {"debtor": "/100611002421", "creditor": "/LK123456"}
    assert view["parties"]["intermediary"] == {"option": "A", "account": "/123456", "bic": "CITIUS33XXX"}


def test_canonical_mt202_cov_and_statement(samples):
    cov = [n for n in FILES if n.startswith("mt202") and b"{119:COV}" in (samples / n).read_bytes()]
    for name in cov:
        view = parse((samples / name).read_bytes())
        assert view["type"] == "mt202cov" and "underlying_customer_transfer" in view
    statement = parse((samples / "mt940__mx2mt-expected__finMessage_231a_C_D.fin").read_bytes())
    assert statement["opening_balance"] == {
        "mark": "D",
        "date": "2022-10-20",
        "currency": "EUR",
        "amount": "8547.25",
        "amount_minor": "854725",
    }
    assert statement["entries"][0]["amount"] == "65784.32" and statement["entries"][0]["mark"] == "C"
