"""MT202 / MT202 COV and pain.008 as PaymentInstructions, and the cross-format duplicate rule:
a UETR names one payment whatever format it arrives in."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.gateway_samples import CREDITOR_ID, pain008

from gateways.booking import PAYMENT_CLASSES, derive_transfer_id, transactions_from_message
from gateways.problems import MessageError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
MT103 = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
PACS008_SAME_PAYMENT = SAMPLES / "iso20022" / "pacs.008.001.08__mt2mx-expected__p_2_3_1_a_mt103_pacs_008_A_D.xml"
MT202 = SAMPLES / "mt" / "mt202__mt2mx-input__finMessage_10621a_B_A.fin"
MT202_NO_UETR = SAMPLES / "mt" / "mt202__prowide__MT202ParserTest__L293.fin"
MT202_COV = SAMPLES / "mt" / "mt202__mt2mx-input__finMessage_p_2_3_1_b_A_B.fin"
CUSTOMER_MAP = {"25698745": "DEBIT:EUR", "65479512": "CREDIT:EUR"}


def sample(path: Path) -> bytes:
    if not path.is_file():
        pytest.skip(f"sample not present at {path}")
    return path.read_bytes()


def test_same_uetr_as_mt103_and_pacs008_is_one_transfer() -> None:
    [mt] = transactions_from_message(sample(MT103), CUSTOMER_MAP)
    [mx] = transactions_from_message(sample(PACS008_SAME_PAYMENT), CUSTOMER_MAP)
    assert (mt.kind, mx.kind) == ("mt103", "pacs.008")
    assert mt.uetr == mx.uetr == uuid.UUID("7a562c67-ca16-48ba-b074-65581be6f001").bytes
    assert mt.transfer_id == mx.transfer_id == derive_transfer_id("customer-credit", [str(uuid.UUID(bytes=mt.uetr))])
    assert (mt.amount, mt.debit_account_id, mt.credit_account_id) == (mx.amount, "DEBIT:EUR", "CREDIT:EUR")
    assert mt.message_hash != mx.message_hash
    assert (mt.original.message_name, mx.original.message_name) == ("MT103", "pacs.008.001.08")


def test_mt202_books_institution_to_institution() -> None:
    data = sample(MT202)
    [payment] = transactions_from_message(data, {"INGBROBUXXX": "VOSTRO:INGB:RON", "RZBRROBUXXX": "NOSTRO:RZBR:RON"})
    assert payment.kind == "mt202"
    assert (payment.debit_account_id, payment.credit_account_id) == ("VOSTRO:INGB:RON", "NOSTRO:RZBR:RON")
    assert (payment.amount, payment.currency) == (1500, "RON")  # 15, RON has 2 decimals
    assert payment.end_to_end_id == "camt106chrgid1"  # :21: (CBPR+ pacs.009 EndToEndId)
    uetr = "7a562c67-ca16-48ba-b074-65581be6f002"
    assert payment.transfer_id == derive_transfer_id("fi-credit", [uetr])
    assert payment.original.message_id == "pacs9bizmsgidr01"


def test_mt202_without_uetr_uses_references_and_refuses_unmapped_banks() -> None:
    data = sample(MT202_NO_UETR)
    with pytest.raises(MessageError) as refused:
        transactions_from_message(data, None)
    assert {p.path for p in refused.value.problems} == {":52a:", ":58a:"}
    mapping = {"CHASGB2L": "GL:CHAS:EUR", "FOOBARYY": "GL:FOOBAR:EUR"}
    [payment] = transactions_from_message(data, mapping)
    assert payment.uetr == b"" and payment.end_to_end_id == "FTR2222222 01"  # :21: NONREF -> :20:
    parts = ["FTR2222222 01", "NONREF", "ABCDEFMMXXX", "2005-11-02", "EUR", "339262.00"]
    assert payment.transfer_id == derive_transfer_id("mt202", parts)


def test_mt202_cov_is_its_own_class_beside_the_customer_payment() -> None:
    data = sample(MT202_COV)
    [cover] = transactions_from_message(data, {"CLYDGB2S": "GL:CLYD:EUR", "BSCHGB2L": "GL:BSCH:EUR"})
    assert cover.kind == "mt202cov"
    [customer] = transactions_from_message(sample(MT103), CUSTOMER_MAP)
    assert cover.uetr == customer.uetr  # the cover repeats the customer payment's UETR ...
    assert cover.transfer_id != customer.transfer_id  # ... and is a booking of its own
    assert cover.transfer_id == derive_transfer_id("cover", [str(uuid.UUID(bytes=cover.uetr))])
    assert PAYMENT_CLASSES["mt202cov"] == PAYMENT_CLASSES["pacs.009cov"] != PAYMENT_CLASSES["mt103"]


def test_pain008_debits_the_debtor_and_credits_the_creditor() -> None:
    data = pain008()
    payments = transactions_from_message(data, None)
    assert [(p.kind, p.path, p.amount, p.currency) for p in payments] == [
        ("pain.008", "PmtInf[1]/DrctDbtTxInf[1]", 1012, "EUR"),
        ("pain.008", "PmtInf[2]/DrctDbtTxInf[1]", 5000, "EUR"),
    ]
    assert {(p.debit_account_id, p.credit_account_id) for p in payments} == {
        ("DE89370400440532013000", "DE02120300000000202051")
    }
    first = payments[0]
    assert first.transfer_id == derive_transfer_id(
        "pain.008", [CREDITOR_ID, "1234", "TestCreditor-4431989789fb", "2017-01-20"]
    )
    # A new file (new MsgId) carrying the same collection asks for the same transfer: collected once.
    renamed = data.replace(b"<MsgId>20012017014921-ba2dab283fdd</MsgId>", b"<MsgId>OTHER-FILE-1</MsgId>")
    assert transactions_from_message(renamed, None)[0].transfer_id == first.transfer_id


def test_pain008_breaking_the_rulebook_is_not_booked() -> None:
    data = pain008().replace(CREDITOR_ID.encode(), b"DE26ZZZ00000000000")
    with pytest.raises(MessageError) as refused:
        transactions_from_message(data, None)
    assert {p.rule for p in refused.value.problems} == {"EPC SDD: SEPA creditor identifier"}


def test_a_message_repeating_one_payment_is_refused() -> None:
    # Same creditor id, mandate (1234), date and now end-to-end id: the second would silently be a duplicate.
    data = pain008().replace(b"TestCreditor-7e989083e265", b"TestCreditor-4431989789fb")
    with pytest.raises(MessageError) as refused:
        transactions_from_message(data, None)
    [problem] = refused.value.problems
    assert (problem.path, problem.rule) == ("PmtInf[2]/DrctDbtTxInf[1]", "duplicate payment in message")
    assert "PmtInf[1]/DrctDbtTxInf[1]" in problem.found
