"""Every published sample of the five supported types validates against the official XSD and parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.problems import MessageError

# tests/gateways/iso20022/<file> -> parents[4] is the folder holding both the repo and shared/.
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "iso20022"
TYPES = ("pacs.008.001.08", "pacs.002.001.10", "camt.053.001.08", "pain.001.001.09", "pain.008.001.08")
VALID = sorted(SAMPLES.glob("*.xml")) if SAMPLES.is_dir() else []
INVALID = sorted((SAMPLES / "invalid").glob("*.xml")) if SAMPLES.is_dir() else []

if not SAMPLES.is_dir():
    pytest.skip(f"ISO 20022 samples not present at {SAMPLES}", allow_module_level=True)


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_manifest_matches_folder(manifest):
    """The manifest is the oracle for which samples are negative; keep the folder and it in step."""
    negatives = {e["file"] for e in manifest if e["negative"]}
    positives = {e["file"] for e in manifest if not e["negative"] and e["type"] in TYPES}
    assert {f"invalid/{p.name}" for p in INVALID} <= negatives
    assert {p.name for p in VALID} == positives
    assert len(VALID) >= 40


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name[:70])
def test_valid_sample_validates_and_parses(path, xsd_dir):
    data = path.read_bytes()
    assert validate_bytes(data, xsd_dir) == []
    parsed = parse_bytes(data, xsd_dir)
    assert parsed["type"] == path.name.split("__")[0]
    assert json.loads(json.dumps(parsed)) == parsed
    message = parsed["message"]
    assert message["msg_id"]
    if parsed["type"] == "pacs.008.001.08":
        assert message["transactions"]
        for tx in message["transactions"]:
            assert tx["end_to_end_id"] and tx["amount"]["currency"] and tx["amount"]["value"]
    elif parsed["type"] == "pacs.002.001.10":
        assert message["transactions"] or message["groups"]
    elif parsed["type"] == "camt.053.001.08":
        assert all(s["balances"] for s in message["statements"])
    else:
        assert all(block["transactions"] for block in message["payment_blocks"])


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name[:70])
def test_negative_sample_is_refused_with_xsd_problem(path, xsd_dir):
    problems = validate_bytes(path.read_bytes(), xsd_dir)
    assert problems
    assert all(p.rule.startswith("XSD ") for p in problems)
    with pytest.raises(MessageError) as caught:
        parse_bytes(path.read_bytes(), xsd_dir)
    assert caught.value.problems == problems


def test_negative_samples_name_the_offending_value(xsd_dir):
    found = {p.name: " ".join(x.found for x in validate_bytes(p.read_bytes(), xsd_dir)) for p in INVALID}
    assert "WRONGUS33XXX" in found["INVALID_pacs.008.001.08__cbpr-ur__pacs_008_stp_2025_invalid.xml"]
    assert "NOTAVALIDBIC" in found["INVALID_pain.001.001.09__cbpr-ur__pain_001_2026_invalid.xml"]
    assert "TwnNm" in found["INVALID_pacs.008.001.08__cbpr-ur__cbprplus_pacs008_sequence_addr.xml"]


def test_pacs008_cbpr_fields_hand_checked(xsd_dir):
    parsed = parse_bytes(_sample("pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml"), xsd_dir)
    assert parsed["header"]["from_bic"] == "CBRLGB2LXXX"
    assert parsed["header"]["to_bic"] == "RBOSGBCHXXX"
    assert parsed["header"]["msg_def_id"] == "pacs.008.001.08"
    message = parsed["message"]
    assert message["msg_id"] == "pacs008bzmsgid-1"
    assert message["settlement_method"] == "INDA"
    (tx,) = message["transactions"]
    assert tx["amount"] == {"value": "2450", "currency": "GBP", "minor": 245000}
    assert tx["end_to_end_id"] == "pacs008EndToEndId-001"
    assert tx["instr_id"] == "pacs008bzmsgid-1"
    assert tx["uetr"] == "7a562c67-ca16-48ba-b074-65581be6f001"
    assert tx["settlement_date"] == "2022-10-20"
    assert tx["instructing_agent"]["bic"] == "CBRLGB2LXXX"
    assert tx["instructed_agent"]["bic"] == "RBOSGBCHXXX"
    assert [a["bic"] for a in tx["intermediary_agents"]] == ["DEUTGB2LXXX"]
    assert tx["debtor_agent"]["bic"] == "CBRLGB2LXXX"
    assert tx["creditor_agent"]["bic"] == "DEUTDEFFXXX"
    assert tx["debtor"]["name"] == "S Baldrick"
    assert tx["debtor_account"]["other"] == "25698745"
    assert tx["creditor"]["name"] == "A Tate"
    assert tx["creditor_account"]["other"] == "65479512"
    assert tx["charge_bearer"] == "DEBT"


def test_pacs008_fedwire_fields_hand_checked(xsd_dir):
    parsed = parse_bytes(
        _sample("pacs.008.001.08__fedwire__CustomerCreditTransfer_Scenario1_Step1_pacs.008.xml"), xsd_dir
    )
    assert parsed["header"] is None
    message = parsed["message"]
    assert message["msg_id"] == "20250310B1QDRCQR000001"
    assert message["settlement_method"] == "CLRG"
    (tx,) = message["transactions"]
    assert tx["amount"] == {"value": "510000.74", "currency": "USD", "minor": 51000074}
    assert tx["uetr"] == "8a562c67-ca16-48ba-b074-65581be6f011"
    assert tx["end_to_end_id"] == "Scenario01EtoEId001"
    assert tx["instructing_agent"]["member_id"] == "011104238"
    assert tx["instructed_agent"]["member_id"] == "021040078"
    assert tx["debtor"]["name"] == "Corporation A"


def test_pacs002_fields_hand_checked(xsd_dir):
    parsed = parse_bytes(_sample("pacs.002.001.10__cbpr-ur__pacs002_status_report_sample.xml"), xsd_dir)
    (tx,) = parsed["message"]["transactions"]
    assert tx["original_msg_id"] == "P008-20260412-4410"
    assert tx["original_end_to_end_id"] == "E2E-04127823"
    assert tx["original_uetr"] == "d4e5f6a7-b8c9-4123-9efa-234567890123"
    assert tx["status"] == "ACSP"
    assert tx["instructing_agent"]["bic"] == "WDCIUS3X"


def test_pacs002_rejections_carry_reason_codes(xsd_dir):
    proprietary = parse_bytes(
        _sample("pacs.002.001.10__fedwire__CustomerCreditTransfer_Scenario2_Step2_pacs.002.xml"), xsd_dir
    )
    (tx,) = proprietary["message"]["transactions"]
    assert tx["status"] == "RJCT"
    assert tx["reasons"][0]["proprietary"] == "E433"
    coded = [
        parse_bytes(_sample(name), xsd_dir)["message"]["transactions"][0]
        for name in (
            "pacs.002.001.10__mt2mx-expected__p_2_4_2_mt299_pacs_002_B_E.xml",
            "pacs.002.001.10__mt2mx-expected__p_2_5_2_mt199_pacs_002_B_A.xml",
        )
    ]
    assert any(tx["status"] == "RJCT" and tx["reasons"][0]["code"] == "XT99" for tx in coded)


def test_camt053_fields_hand_checked(xsd_dir):
    parsed = parse_bytes(_sample("camt.053.001.08__cbprplus__c.105.2.1_camt.053-BtoA.xml"), xsd_dir)
    (stmt,) = parsed["message"]["statements"]
    assert stmt["id"] == "100-01"
    assert stmt["account"]["other"] == "48751258"
    assert stmt["account"]["currency"] == "GBP"
    opening, closing = stmt["balances"]
    assert opening == {
        "type": "OPBD",
        "amount": {"value": "10", "currency": "GBP", "minor": 1000, "credit_debit": "DBIT"},
        "date": "2022-10-20",
    }
    assert closing["type"] == "CLBD"
    assert closing["amount"]["value"] == "20"
    assert closing["amount"]["credit_debit"] == "DBIT"
    (entry,) = stmt["entries"]
    assert entry["amount"]["credit_debit"] == "DBIT"
    assert entry["status"] == "BOOK"
    assert entry["value_date"] == "2022-10-20"
    assert entry["bank_tx_code"] == {"domain": "CAMT", "family": "MDOP", "subfamily": "FEES", "proprietary": None}
    assert entry["details"][0]["tx_id"] == "camt105chrgid1"


def test_pain001_fields_hand_checked(xsd_dir):
    message = parse_bytes(_sample("pain.001.001.09__sepaxml__test_00100109.xml"), xsd_dir)["message"]
    assert message["control_sum"] == "60.12"
    (block,) = message["payment_blocks"]
    assert block["requested_execution_date"] == "2018-07-24"
    assert block["debtor_account"]["iban"] == "NL50BANK1234567890"
    assert block["debtor_agent"]["bic"] == "BANKNL2A"
    amounts = [tx["amount"] for tx in block["transactions"]]
    assert amounts == [
        {"value": "10.12", "currency": "EUR", "minor": 1012},
        {"value": "50.00", "currency": "EUR", "minor": 5000},
    ]
    assert [tx["remittance"] for tx in block["transactions"]] == [["Test transaction1"], ["Test transaction2"]]


def test_pain008_parses_mandates(xsd_dir):
    message = parse_bytes(_sample("pain.008.001.08__sepaxml__test_00800108.xml"), xsd_dir)["message"]
    transactions = [tx for block in message["payment_blocks"] for tx in block["transactions"]]
    assert transactions
    assert all(tx["mandate_id"] and tx["amount"]["currency"] == "EUR" for tx in transactions)
