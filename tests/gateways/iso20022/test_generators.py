"""Generated pacs.002 and camt.053 validate against the official XSDs and parse back to their inputs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateways.iso20022 import camt053_statement, pacs002_status_report, parse_bytes, validate_bytes
from gateways.problems import MessageError

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples" / "iso20022"
PACS008 = sorted(SAMPLES.glob("pacs.008.001.08__*.xml")) if SAMPLES.is_dir() else []

if not SAMPLES.is_dir():
    pytest.skip(f"ISO 20022 samples not present at {SAMPLES}", allow_module_level=True)

CREATED = "2026-11-24T00:30:00+00:00"


@pytest.mark.parametrize("path", PACS008, ids=lambda p: p.name[:70])
@pytest.mark.parametrize(("status", "reason"), [("ACSC", None), ("ACCP", None), ("RJCT", "AC01")])
def test_status_report_for_every_pacs008_sample_validates(path, status, reason, xsd_dir):
    original = parse_bytes(path.read_bytes(), xsd_dir)
    report = pacs002_status_report(original, status, reason, msg_id="QNX-STS-1", created=CREATED)
    assert validate_bytes(report, xsd_dir) == []
    parsed = parse_bytes(report, xsd_dir)
    assert parsed["type"] == "pacs.002.001.10"
    txs = parsed["message"]["transactions"]
    assert len(txs) == len(original["message"]["transactions"])
    for sent, answer in zip(original["message"]["transactions"], txs, strict=True):
        assert answer["status"] == status
        assert answer["original_msg_id"] == original["message"]["msg_id"]
        assert answer["original_end_to_end_id"] == sent["end_to_end_id"]
        assert answer["original_uetr"] == sent["uetr"]
        assert answer["reasons"] == ([{"code": reason, "proprietary": None, "additional_info": []}] if reason else [])


def test_status_report_swaps_agents(xsd_dir):
    original = parse_bytes((SAMPLES / "pacs.008.001.08__cbprplus__c.105.1.1_pacs.008_AtoB.xml").read_bytes(), xsd_dir)
    report = pacs002_status_report(original, "RJCT", "AM04", msg_id="R1", additional_info="insufficient funds")
    (tx,) = parse_bytes(report, xsd_dir)["message"]["transactions"]
    assert tx["instructing_agent"]["bic"] == "RBOSGBCHXXX"
    assert tx["instructed_agent"]["bic"] == "CBRLGB2LXXX"
    assert tx["reasons"] == [{"code": "AM04", "proprietary": None, "additional_info": ["insufficient funds"]}]


@pytest.mark.parametrize(
    ("status", "reason", "msg_id"),
    [("RJCT", None, "M1"), ("RJCT", "nope!", "M1"), ("DONE", None, "M1"), ("ACSC", None, ""), ("ACSC", None, "x" * 36)],
)
def test_status_report_refuses_bad_input(status, reason, msg_id):
    original = {"type": "pacs.008.001.08", "message": {"msg_id": "M0", "transactions": [{"end_to_end_id": "E"}]}}
    with pytest.raises(MessageError):
        pacs002_status_report(original, status, reason, msg_id=msg_id)


def test_status_report_refuses_other_message_types():
    with pytest.raises(MessageError):
        pacs002_status_report({"type": "camt.053.001.08", "message": {}}, "ACSC", msg_id="M1")


def _statement(**overrides: object) -> dict:
    statement = {
        "msg_id": "QNX-STMT-1",
        "statement_id": "STMT-2026-11-23",
        "sequence": 7,
        "currency": "EUR",
        "account": {"iban": "DE89370400440532013000"},
        "from": "2026-11-23T00:00:00+00:00",
        "to": "2026-11-23T23:59:59+00:00",
        "opening": {"amount": "-12.50", "date": "2026-11-23"},
        "closing": {"amount": Decimal("1087.50"), "date": "2026-11-23"},
        "entries": [
            {
                "amount": 110000,
                "credit_debit": "CRDT",
                "booking_date": "2026-11-23",
                "value_date": "2026-11-23",
                "reference": "N1",
                "end_to_end_id": "E2E-1",
                "uetr": "7a562c67-ca16-48ba-b074-65581be6f001",
                "remittance": "invoice 42",
            },
            {"amount": "0.00", "credit_debit": "DBIT", "booking_date": "2026-11-23"},
        ],
    }
    statement.update(overrides)
    return statement


def test_camt053_generated_validates_and_round_trips(xsd_dir):
    data = camt053_statement(_statement(), created=CREATED)
    assert validate_bytes(data, xsd_dir) == []
    (stmt,) = parse_bytes(data, xsd_dir)["message"]["statements"]
    assert stmt["account"]["iban"] == "DE89370400440532013000"
    assert stmt["from"] == "2026-11-23T00:00:00+00:00"
    assert [(b["type"], b["amount"]["value"], b["amount"]["credit_debit"]) for b in stmt["balances"]] == [
        ("OPBD", "12.50", "DBIT"),
        ("CLBD", "1087.50", "CRDT"),
    ]
    first, second = stmt["entries"]
    assert first["amount"] == {"value": "1100.00", "currency": "EUR", "minor": 110000, "credit_debit": "CRDT"}
    assert first["details"][0]["end_to_end_id"] == "E2E-1"
    assert first["details"][0]["uetr"] == "7a562c67-ca16-48ba-b074-65581be6f001"
    assert first["details"][0]["remittance"] == ["invoice 42"]
    assert second["amount"]["credit_debit"] == "DBIT"


def test_camt053_other_account_and_zero_decimal_currency(xsd_dir):
    data = camt053_statement(
        _statement(
            currency="JPY",
            account={"other": "ACC-1"},
            opening={"amount": 0, "date": "2026-11-23"},
            closing={"amount": "500", "date": "2026-11-23"},
            entries=[],
        ),
    )
    assert validate_bytes(data, xsd_dir) == []
    (stmt,) = parse_bytes(data, xsd_dir)["message"]["statements"]
    assert stmt["account"]["other"] == "ACC-1"
    assert stmt["balances"][1]["amount"]["minor"] == 500


@pytest.mark.parametrize(
    "overrides",
    [
        {"opening": {"amount": 12.5, "date": "2026-11-23"}},
        {"closing": {"amount": "1.001", "date": "2026-11-23"}},
        {"closing": {"amount": "abc", "date": "2026-11-23"}},
        {"closing": None},
        {"currency": "euro"},
        {"account": {}},
        {"account": {"iban": "X", "other": "Y"}},
        {"entries": [{"amount": "-1.00", "credit_debit": "CRDT"}]},
        {"entries": [{"amount": "1.00", "credit_debit": "BOTH"}]},
        {"entries": [{"amount": "1.00", "credit_debit": "CRDT", "status": "DONE"}]},
        {"msg_id": "m" * 36},
    ],
)
def test_camt053_refuses_bad_input(overrides):
    with pytest.raises(MessageError):
        camt053_statement(_statement(**overrides))
