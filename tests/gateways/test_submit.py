"""Message -> signed ledger transaction: PaymentInstructions from real samples, and `qenex gateway submit`
against a running dev node (booked once, re-delivery reported as duplicate)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from support.nodes import NodeProcess, run_cli

from gateways.accounts import load_account_map, resolve
from gateways.booking import PaymentInstruction, derive_transfer_id, transactions_from_message
from gateways.problems import MessageError
from ledger.hashing import keccak

SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLES = SHARED / "samples"
PACS008 = SAMPLES / "iso20022" / "pacs.008.001.08__cbpr-ur__CBPR2025.PACS008-MinMax-0023.xml"
PAIN001 = SAMPLES / "iso20022" / "pain.001.001.09__sepaxml__test_00100109.xml"
MT103 = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
PACS008_UETR = "7a3ac869-6236-407c-8d83-28f08ece746c"
MT103_UETR = "7a562c67-ca16-48ba-b074-65581be6f001"
# The MT103 sample names proprietary account numbers, the pain.001 one an IBAN with a bad checksum:
# both need the account map, exactly as a bank's correspondent accounts would.
MT_MAP = {"/25698745": "DEBIT:EUR", "65479512": "CREDIT:EUR"}
PAIN_MAP = {"NL50 BANK 1234 5678 90": "NOSTRO:EUR"}


def sample(path: Path) -> bytes:
    if not path.is_file():
        pytest.skip(f"sample not present at {path}")
    return path.read_bytes()


def test_pacs008_payment_carries_amount_references_and_ibans() -> None:
    data = sample(PACS008)
    [payment] = transactions_from_message(data, None)
    assert (payment.kind, payment.path) == ("pacs.008", "CdtTrfTxInf[1]")
    assert (payment.amount, payment.currency) == (234, "EUR")
    assert isinstance(payment.amount, int)
    assert payment.end_to_end_id == "TTT09010900024E1"
    assert payment.uetr == uuid.UUID(PACS008_UETR).bytes
    assert payment.message_hash == keccak(data)
    assert (payment.debit_account_id, payment.credit_account_id) == ("BE24290035852938", "SE1650000000052504012345")
    assert payment.transfer_id == derive_transfer_id("customer-credit", [PACS008_UETR])
    assert 0 < payment.transfer_id < 2**128
    references = payment.references()
    assert (references.end_to_end_id, references.uetr, references.message_hash) == (
        "TTT09010900024E1",
        payment.uetr,
        payment.message_hash,
    )


def test_mt103_payment_uses_field_20_and_the_account_map() -> None:
    data = sample(MT103)
    [payment] = transactions_from_message(data, MT_MAP)
    assert (payment.amount, payment.currency) == (6578432, "EUR")
    assert payment.end_to_end_id == "pcs008bzmsgidr-1"
    assert payment.uetr == uuid.UUID(MT103_UETR).bytes
    assert (payment.debit_account_id, payment.credit_account_id) == ("DEBIT:EUR", "CREDIT:EUR")
    transfer = payment.transfer()
    assert (transfer.id, transfer.amount, transfer.currency) == (payment.transfer_id, 6578432, "EUR")


def test_mt103_without_map_names_the_unresolvable_parties() -> None:
    with pytest.raises(MessageError) as refused:
        transactions_from_message(sample(MT103), None)
    paths = {p.path for p in refused.value.problems}
    assert paths == {":50a:", ":59a:"}
    assert all(p.rule == "account" for p in refused.value.problems)


def test_pain001_gives_one_payment_per_transaction_with_distinct_ids() -> None:
    data = sample(PAIN001)
    payments = transactions_from_message(data, PAIN_MAP)
    assert [(p.path, p.amount, p.currency) for p in payments] == [
        ("PmtInf[1]/CdtTrfTxInf[1]", 1012, "EUR"),
        ("PmtInf[1]/CdtTrfTxInf[2]", 5000, "EUR"),
    ]
    # Both say EndToEndId NOTPROVIDED and carry no UETR; the ids must still differ.
    assert {p.end_to_end_id for p in payments} == {"NOTPROVIDED"}
    assert payments[0].transfer_id != payments[1].transfer_id
    assert all(p.uetr == b"" and p.debit_account_id == "NOSTRO:EUR" for p in payments)


def test_transfer_ids_are_deterministic_and_differ_between_messages() -> None:
    first: list[PaymentInstruction] = []
    for path, mapping in ((PACS008, None), (MT103, MT_MAP), (PAIN001, PAIN_MAP)):
        data = sample(path)
        again = transactions_from_message(data, mapping)
        once = transactions_from_message(bytes(data), mapping)
        assert [p.transfer_id for p in once] == [p.transfer_id for p in again]
        first += once
    assert len({p.transfer_id for p in first}) == len(first) == 4
    assert len({p.message_hash for p in first}) == 3


def test_mt103_without_uetr_derives_the_id_from_reference_sender_date_amount() -> None:
    data = sample(MT103)
    without = data.replace(b"{3:{121:" + MT103_UETR.encode() + b"}}", b"")
    assert without != data
    [payment] = transactions_from_message(without, MT_MAP)
    assert payment.uetr == b""
    expected = derive_transfer_id("mt103", ["pcs008bzmsgidr-1", "CLYDGB2SXXX", "2022-10-20", "EUR", "65784.32"])
    assert payment.transfer_id == expected
    changed = without.replace(b":32A:221020EUR65784,32", b":32A:221020EUR65784,31")
    [other] = transactions_from_message(changed, MT_MAP)
    assert other.transfer_id != payment.transfer_id


def test_amount_with_more_decimals_than_the_currency_is_refused() -> None:
    data = sample(PACS008).replace(b'Ccy="EUR">2.34<', b'Ccy="EUR">2.345<')
    with pytest.raises(MessageError) as refused:
        transactions_from_message(data, None)
    assert any("decimals" in p.found or "2.345" in p.found for p in refused.value.problems)


def test_invalid_and_non_payment_messages_are_refused() -> None:
    with pytest.raises(MessageError):
        transactions_from_message(b"not a message", None)
    statement = SAMPLES / "iso20022" / "camt.053.001.08__genkgo__camt053.v8.xml"
    with pytest.raises(MessageError):
        transactions_from_message(sample(statement), None)


def test_account_map_file_is_normalised_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"de89 3704 0044 0532 0130 00": "GL:1", "/123": "GL:2"}))
    mapping = load_account_map(path)
    assert resolve(["DE89370400440532013000"], mapping) == "GL:1"
    assert resolve(["123"], mapping) == "GL:2"
    assert resolve(["DE89370400440532013000"], None) == "DE89370400440532013000"
    assert resolve(["nothing"], mapping) is None
    path.write_text(json.dumps({"X": "not a valid id!"}))
    with pytest.raises(ValueError, match="not a ledger account id"):
        load_account_map(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        load_account_map(path)


# --- end to end: a real node, the real CLI ---------------------------------------------------------


def _balance(node: NodeProcess, account_id: str) -> int:
    return int(node.rpc.call("qenex_getAccount", account_id)["balance"])


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_submit_books_messages_once_and_redelivery_is_a_duplicate(running_node, tmp_path: Path) -> None:
    pacs, mt = sample(PACS008), sample(MT103)
    node, listing = running_node
    operator_key = listing[0]["private_key"]
    # Dev key 0 operates the dev IBAN namespace, so it may debit key 1's account.
    debit, credit = listing[1]["accounts"][0], listing[2]["accounts"][0]
    assert debit["currency"] == credit["currency"] == "EUR"
    mapping = {
        "BE24290035852938": debit["id"],
        "SE1650000000052504012345": credit["id"],
        "25698745": debit["id"],
        "65479512": credit["id"],
    }
    map_file = tmp_path / "accounts.json"
    map_file.write_text(json.dumps(mapping))
    files = {"pacs": (tmp_path / "pacs008.xml", pacs, 234), "mt": (tmp_path / "mt103.fin", mt, 6578432)}
    for path, data, _ in files.values():
        path.write_bytes(data)
    before = (_balance(node, debit["id"]), _balance(node, credit["id"]))
    args = ["--rpc", node.url, "--from", operator_key, "--accounts-map", str(map_file), "--wait"]

    total = 0
    for name, (path, data, amount) in files.items():
        credited = _balance(node, credit["id"])
        done = run_cli("gateway", "submit", str(path), *args)
        assert done.returncode == 0, done.stderr + done.stdout
        lines = _json_lines(done.stdout)
        [sent] = [line for line in lines if "transactionHash" in line and "receipt" not in line]
        [receipt_line] = [line for line in lines if "receipt" in line]
        assert receipt_line["receipt"]["status"] == "0x1", receipt_line
        assert _balance(node, credit["id"]) - credited == amount, name
        tx = node.rpc.call("eth_getTransactionByHash", sent["transactionHash"])
        references = tx["references"]
        assert references["endToEndId"] == sent["endToEndId"]
        assert references["uetr"] == (PACS008_UETR if name == "pacs" else MT103_UETR)
        assert references["messageHash"] == "0x" + keccak(data).hex()
        stored = node.rpc.call("qenex_getTransfer", sent["transferId"])
        assert stored is not None and int(stored["amount"]) == amount
        total += amount
    after = (_balance(node, debit["id"]), _balance(node, credit["id"]))
    assert (before[0] - after[0], after[1] - before[1]) == (total, total)

    for path, _, _ in files.values():
        again = run_cli("gateway", "submit", str(path), *args)
        assert again.returncode == 0, again.stderr + again.stdout
        [line] = _json_lines(again.stdout)
        assert line["duplicate"] is True and line["transferId"].startswith("0x")
    assert (_balance(node, debit["id"]), _balance(node, credit["id"])) == after


def test_submit_refuses_an_invalid_or_unmappable_message(running_node, tmp_path: Path) -> None:
    node, listing = running_node
    bad = tmp_path / "bad.fin"
    bad.write_bytes(b"{1:F01BANKDEFFAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:X\n-}")
    done = run_cli("gateway", "submit", str(bad), "--rpc", node.url, "--from", listing[0]["private_key"])
    assert done.returncode == 1 and "mandatory" in done.stderr
    mt = tmp_path / "mt103.fin"
    mt.write_bytes(sample(MT103))
    done = run_cli("gateway", "submit", str(mt), "--rpc", node.url, "--from", listing[0]["private_key"])
    assert done.returncode == 1 and ":50a:: account" in done.stderr and done.stdout == ""
