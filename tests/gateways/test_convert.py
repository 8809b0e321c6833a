"""MT103 <-> pacs.008 conversion (CBPR+ mapping) against the translation pairs in ../shared/samples:
every mapped field of our output equals the expected counterpart, outputs validate, round trips hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from support.nodes import run_cli

from gateways import swift
from gateways.convert import convert
from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.messages import validate
from gateways.problems import MessageError

SHARED = Path(__file__).resolve().parents[3] / "shared"
MT, MX = SHARED / "samples" / "mt", SHARED / "samples" / "iso20022"
XSD_DIR = SHARED / "iso20022" / "xsd"


def _manifest_pairs(source: Path, counterpart: Path, keep: Callable[[dict, dict], bool]) -> list[tuple[str, str]]:
    """(file, counterpart file) for each pair of `source`'s sample manifest that `keep` accepts and
    whose counterpart is in the sample set."""
    manifest = source / "manifest.json"
    if not manifest.is_file():
        return []
    return [
        (entry["file"], pair["file"])
        for entry in json.loads(manifest.read_text())
        for pair in entry.get("pairs", [])
        if keep(entry, pair) and (counterpart / pair["file"]).is_file()
    ]


def _pairs(relation: str) -> list[tuple[str, str]]:
    """(MT file, MX file) of every MT103 sample whose translation counterpart is in the sample set."""
    return _manifest_pairs(MT, MX, lambda entry, pair: entry["type"] == "MT103" and pair["relation"] == relation)


MT_TO_MX = _pairs("MT->MX expected output")  # (MT input, expected pacs.008)
MX_TO_MT = [(mx, mt) for mt, mx in _pairs("MX->MT input")]  # (pacs.008 input, expected MT103)


def _mx_fields(data: bytes) -> dict:
    """The pacs.008 fields the CBPR+ mapping carries."""
    parsed = parse_bytes(data, XSD_DIR)["message"]
    [tx] = parsed["transactions"]

    def bic(agent: dict | None) -> str | None:
        return (agent or {}).get("bic")

    def party(value: dict | None) -> tuple:
        return ((value or {}).get("name"), (value or {}).get("country"), (value or {}).get("bic"))

    def account(value: dict | None) -> str | None:
        return (value or {}).get("iban") or (value or {}).get("other")

    return {
        "settlement_method": parsed["settlement_method"],
        "ids": (tx["instr_id"], tx["end_to_end_id"], tx["uetr"]),
        "amount": tx["amount"],
        "instructed": tx["instructed_amount"],
        "date": tx["settlement_date"],
        "charges": tx["charge_bearer"],
        "agents": [bic(tx[k]) for k in ("instructing_agent", "instructed_agent", "debtor_agent", "creditor_agent")],
        "intermediaries": [bic(a) for a in tx["intermediary_agents"]],
        "debtor": (party(tx["debtor"]), account(tx["debtor_account"])),
        "creditor": (party(tx["creditor"]), account(tx["creditor_account"])),
        "remittance": tx["remittance"],
    }


def _mt_fields(data: bytes) -> dict:
    view = swift.canonical(data)
    return {k: view[k] for k in ("sender", "receiver", "uetr", "references", "value_date", "currency", "amount")} | {
        "instructed": view["instructed"],
        "parties": view["parties"],
        "remittance": view["remittance_information"],
        "charges": view["charges"],
    }


@pytest.mark.skipif(not MT_TO_MX, reason="MT->MX sample pairs not present")
@pytest.mark.parametrize(("source", "expected"), MT_TO_MX)
def test_mt103_to_pacs008_matches_the_expected_translation(source: str, expected: str) -> None:
    output = convert((MT / source).read_bytes(), "pacs.008")
    assert validate_bytes(output, XSD_DIR) == []
    assert _mx_fields(output) == _mx_fields((MX / expected).read_bytes())


@pytest.mark.skipif(not MX_TO_MT, reason="MX->MT sample pairs not present")
@pytest.mark.parametrize(("source", "expected"), MX_TO_MT)
def test_pacs008_to_mt103_matches_the_expected_translation(source: str, expected: str) -> None:
    output = convert((MX / source).read_bytes(), "mt103")
    assert validate(output) == []
    assert _mt_fields(output) == _mt_fields((MT / expected).read_bytes())


@pytest.mark.skipif(not MX_TO_MT or not MT_TO_MX, reason="sample pairs not present")
def test_round_trips_are_lossless_on_mapped_fields() -> None:
    for source, _ in MT_TO_MX:
        mt = (MT / source).read_bytes()
        back = convert(convert(mt, "pacs.008"), "mt103")
        original, again = _mt_fields(mt), _mt_fields(back)
        for key in ("uetr", "references", "value_date", "currency", "amount", "instructed", "charges", "remittance"):
            assert again[key] == original[key], (source, key)
        for name in ("ordering_customer", "beneficiary", "ordering_institution", "account_with_institution"):
            assert again["parties"].get(name) == original["parties"].get(name), (source, name)
    for source, _ in MX_TO_MT:
        mx = (MX / source).read_bytes()
        assert _mx_fields(convert(convert(mx, "mt103"), "pacs.008"))["ids"][1:] == _mx_fields(mx)["ids"][1:]


def test_long_references_are_cut_with_a_plus() -> None:
    source = (MX / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml").read_bytes()
    longer = source.replace(b"<pacs:InstrId>pacs008bzmsgid-1<", b"<pacs:InstrId>pacs008bzmsgid-1-and-more<")
    view = swift.canonical(convert(longer, "mt103"))
    assert view["references"]["sender"] == "pacs008bzmsgid-+"


def test_what_cannot_be_converted_is_refused() -> None:
    with pytest.raises(MessageError, match="converts an MT103"):
        convert((MX / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml").read_bytes(), "pacs.008")
    with pytest.raises(MessageError, match=r"converts a pacs\.008"):
        convert((MT / "mt103__mt2mx-input__fin2.fin").read_bytes(), "mt103")
    with pytest.raises(MessageError, match=r"not pacs\.008"):
        convert((MX / "camt.053.001.08__genkgo__camt053.v8.xml").read_bytes(), "mt103")
    with pytest.raises(MessageError, match="mandatory"):
        convert(b"{1:F01BANKDEFFAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:X\n-}", "pacs.008")


def test_cli_convert_prints_a_valid_message(tmp_path: Path) -> None:
    done = run_cli(
        "gateway", "convert", str(MT / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"), "--to", "pacs.008"
    )
    assert done.returncode == 0, done.stderr
    assert validate_bytes(done.stdout.encode(), XSD_DIR) == []
    bad = tmp_path / "bad.fin"
    bad.write_bytes(b"garbage")
    done = run_cli("gateway", "convert", str(bad), "--to", "mt103")
    assert done.returncode == 1 and done.stdout == "" and "convert" in done.stderr


# --- camt.053 <-> MT940 --------------------------------------------------------------------------


def _statement_pairs() -> list[tuple[str, str]]:
    return _manifest_pairs(
        MX, MT, lambda entry, pair: entry["type"] == "camt.053.001.08" and pair["file"].startswith("mt940")
    )


STATEMENT_PAIRS = _statement_pairs()


def _statement_fields(data: bytes) -> dict:
    view = swift.canonical(data)
    entries = [
        {k: e[k] for k in ("value_date", "mark", "amount", "transaction_type", "reference")} for e in view["entries"]
    ]
    keys = ("sender", "receiver", "references", "account", "statement_number", "opening_balance", "closing_balance")
    return {k: view[k] for k in keys} | {"entries": entries}


@pytest.mark.skipif(not STATEMENT_PAIRS, reason="camt.053 -> MT940 sample pairs not present")
@pytest.mark.parametrize(("source", "expected"), STATEMENT_PAIRS)
def test_camt053_to_mt940_matches_the_expected_translation(source: str, expected: str) -> None:
    output = convert((MX / source).read_bytes(), "mt940")
    assert validate(output) == []
    assert _statement_fields(output) == _statement_fields((MT / expected).read_bytes())


@pytest.mark.skipif(not STATEMENT_PAIRS, reason="camt.053 -> MT940 sample pairs not present")
@pytest.mark.parametrize(("source", "expected"), STATEMENT_PAIRS)
def test_mt940_to_camt053_is_valid_and_round_trips(source: str, expected: str) -> None:
    mt = (MT / expected).read_bytes()
    camt = convert(mt, "camt.053")
    assert validate_bytes(camt, XSD_DIR) == []
    assert _statement_fields(convert(camt, "mt940"))["entries"] == _statement_fields(mt)["entries"]
    again = _statement_fields(convert(camt, "mt940"))
    original = _statement_fields(mt)
    for key in ("references", "account", "statement_number", "opening_balance", "closing_balance"):
        assert again[key] == original[key], key


def test_statement_conversion_refuses_other_messages() -> None:
    with pytest.raises(MessageError, match="converts an MT940"):
        convert((MT / "mt103__mt2mx-input__fin2.fin").read_bytes(), "camt.053")
    with pytest.raises(MessageError, match="is not camt"):
        convert((MX / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml").read_bytes(), "mt940")
