"""Ledger -> messages against a real node: payments submitted in four formats come back out in
MT940/MT950/camt.053 statements whose balances are the ledger's, and each submission is answered by a
pacs.002 status report (valid against the official XSD) that says booked, then duplicate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from support.gateway_samples import pain008
from support.nodes import NodeProcess, run_cli

from gateways.accounts import servicing_bic
from gateways.convert import convert
from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.messages import parse, validate
from gateways.statements import StatementError, blocks_for_dates, fetch_statement, statement_bics

SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLES = SHARED / "samples"
XSD_DIR = SHARED / "iso20022" / "xsd"
PACS008 = SAMPLES / "iso20022" / "pacs.008.001.08__mt2mx-expected__p_2_3_1_a_mt103_pacs_008_A_D.xml"
MT103_SAME_UETR = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
MT202 = SAMPLES / "mt" / "mt202__prowide__MT202ParserTest__L293.fin"


def _sample(path: Path) -> bytes:
    if not path.is_file() or not XSD_DIR.is_dir():
        pytest.skip(f"shared samples/XSDs not present at {SHARED}")
    return path.read_bytes()


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _balance(node: NodeProcess, account_id: str) -> int:
    return int(node.rpc.call("qenex_getAccount", account_id)["balance"])


def _submit(node: NodeProcess, key: str, path: Path, mapping: Path, report: Path) -> list[dict]:
    done = run_cli(
        "gateway", "submit", str(path), "--rpc", node.url, "--from", key, "--accounts-map", str(mapping),
        "--wait", "--status-report", str(report),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return _lines(done.stdout)


def test_statements_and_status_reports_match_the_ledger(running_node, tmp_path: Path) -> None:
    node, listing = running_node
    key = listing[0]["private_key"]  # operates the dev IBAN namespace
    ours, theirs = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"25698745": theirs, "65479512": ours, "CHASGB2L": ours, "FOOBARYY": theirs}))
    files = {
        "pacs008.xml": _sample(PACS008),  # 65,784.32 EUR theirs -> ours
        "mt103.fin": _sample(MT103_SAME_UETR),  # the same payment (same UETR) as an MT103
        "mt202.fin": _sample(MT202),  # 339,262.00 EUR ours -> theirs
        "pain008.xml": pain008(debtor_iban=ours, creditor_iban=theirs),  # 10.12 + 50.00 EUR collected from ours
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    start_block = int(node.rpc.call("eth_blockNumber"), 16) + 1
    opening = _balance(node, ours)

    booked = _submit(node, key, tmp_path / "pacs008.xml", mapping, tmp_path / "pacs002-1.xml")
    assert [line.get("status") for line in booked if "transactionHash" in line] == ["0x1"]
    report = (tmp_path / "pacs002-1.xml").read_bytes()
    assert validate_bytes(report, XSD_DIR) == []
    [status] = parse_bytes(report, XSD_DIR)["message"]["transactions"]
    assert (status["status"], status["original_end_to_end_id"]) == ("ACSC", "pacs008EndToEndId-001")

    # Cross-format duplicate: the MT103 with the pacs.008's UETR is the same payment, not booked again.
    again = _submit(node, key, tmp_path / "mt103.fin", mapping, tmp_path / "pacs002-2.xml")
    assert [line.get("duplicate") for line in again] == [True]
    [status] = parse_bytes((tmp_path / "pacs002-2.xml").read_bytes(), XSD_DIR)["message"]["transactions"]
    assert status["status"] == "RJCT" and status["reasons"][0]["code"] == "DUPL"

    # The same UETR with another amount is not a re-delivery but a conflict: refused, reported, exit 1.
    (tmp_path / "conflict.xml").write_bytes(files["pacs008.xml"].replace(b">65784.32<", b">65784.33<"))
    # (Signed with the gateway's keystore file this time, as the command line has it.)
    keystore, password = tmp_path / "gateway.json", tmp_path / "password"
    keystore.write_text(json.dumps(Account.encrypt(key, "gateway password")))
    password.write_text("gateway password\n")
    done = run_cli(
        "gateway", "submit", str(tmp_path / "conflict.xml"), "--rpc", node.url,
        "--keystore", str(keystore), "--password-file", str(password),
        "--accounts-map", str(mapping), "--status-report", str(tmp_path / "pacs002-3.xml"), "--pacs002-version", "12",
    )  # fmt: skip
    assert done.returncode == 1 and "amount 6578432 (message: 6578433)" in done.stderr
    [line] = _lines(done.stdout)
    assert line["duplicate"] is True and "other terms" in line["conflict"]
    conflict_report = (tmp_path / "pacs002-3.xml").read_bytes()
    assert b"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.12" in conflict_report and b"<Cd>DUPL</Cd>" in conflict_report

    for name in ("mt202.fin", "pain008.xml"):
        lines = _submit(node, key, tmp_path / name, mapping, tmp_path / f"{name}.pacs002.xml")
        assert all(line.get("status") == "0x1" for line in lines if "transactionHash" in line), lines
    moved = 6578432 - 33926200 - 1012 - 5000
    assert _balance(node, ours) == opening + moved

    url = ["--rpc", node.url, "--account", ours, "--from-block", str(start_block)]
    camt = run_cli("gateway", "statement", *url, "--format", "camt053")
    assert camt.returncode == 0, camt.stderr
    assert validate_bytes(camt.stdout.encode(), XSD_DIR) == []
    [statement] = parse_bytes(camt.stdout.encode(), XSD_DIR)["message"]["statements"]
    balances = {b["type"]: b for b in statement["balances"]}
    assert Decimal(balances["OPBD"]["amount"]["value"]) == Decimal(opening) / 100
    assert Decimal(balances["CLBD"]["amount"]["value"]) == Decimal(_balance(node, ours)) / 100
    signed = [(e["amount"]["credit_debit"], e["amount"]["minor"]) for e in statement["entries"]]
    assert sorted(signed) == sorted([("CRDT", 6578432), ("DBIT", 33926200), ("DBIT", 1012), ("DBIT", 5000)])
    references = {e["details"][0]["end_to_end_id"]: e["details"][0]["uetr"] for e in statement["entries"]}
    assert references["pacs008EndToEndId-001"] == "7a562c67-ca16-48ba-b074-65581be6f001"

    for kind in ("mt940", "mt950"):
        mt = run_cli("gateway", "statement", *url, "--format", kind, "--bic", "DEUTDEFFXXX")
        assert mt.returncode == 0, mt.stderr
        data = mt.stdout.encode()
        assert validate(data) == [], validate(data)
        view = parse(data)
        assert view["type"] == kind and view["sender"] == "DEUTDEFFXXX"
        assert view["opening_balance"]["amount_minor"] == str(opening)
        closing = view["closing_balance"]
        assert (closing["mark"], closing["amount_minor"]) == ("C", str(_balance(node, ours)))
        assert len(view["entries"]) == 4
        if kind == "mt940":  # the ledger's MT940 converts to a valid camt.053 with the same balances
            converted = parse_bytes(convert(data, "camt.053"), XSD_DIR)["message"]["statements"][0]
            closing_camt = next(b for b in converted["balances"] if b["type"] == "CLBD")
            assert closing_camt["amount"]["minor"] == _balance(node, ours)


def test_statement_for_a_period_of_days(running_node) -> None:
    node, listing = running_node
    account = listing[1]["accounts"][0]["id"]
    head = int(node.rpc.call("eth_blockNumber"), 16)
    today = datetime.now(UTC).date()
    first, last = blocks_for_dates(node.rpc, today - timedelta(days=1), today)
    assert (first, last) == (0, head)  # the whole dev chain was made today (or yesterday, at midnight)
    with pytest.raises(StatementError, match="no block"):
        blocks_for_dates(node.rpc, date(2000, 1, 1), date(2000, 1, 2))
    with pytest.raises(StatementError, match="ends before"):
        blocks_for_dates(node.rpc, today, today - timedelta(days=1))
    common = ["gateway", "statement", "--rpc", node.url, "--account", account]
    done = run_cli(*common, "--format", "camt.053", "--from", str(today - timedelta(days=1)), "--to", str(today))
    assert done.returncode == 0, done.stderr
    [statement] = parse_bytes(done.stdout.encode(), XSD_DIR)["message"]["statements"]
    closing = next(b for b in statement["balances"] if b["type"] == "CLBD")
    assert closing["amount"]["minor"] == _balance(node, account)
    both = run_cli(*common, "--format", "mt940", "--from", str(today), "--from-block", "1")
    assert both.returncode == 2 and "not both" in both.stderr
    bad = run_cli(*common, "--format", "mt940", "--from", "yesterday")
    assert bad.returncode == 2 and "yesterday" in bad.stderr


def test_statement_refuses_what_it_cannot_state(running_node) -> None:
    node, listing = running_node
    account = listing[1]["accounts"][0]["id"]
    with pytest.raises(StatementError, match="does not exist"):
        fetch_statement(node.rpc, "DE02120300000000202051")
    with pytest.raises(StatementError, match="beyond the chain head"):
        fetch_statement(node.rpc, account, 0, 10**9)
    with pytest.raises(StatementError, match="empty"):
        fetch_statement(node.rpc, account, 5, 1)
    genesis = fetch_statement(node.rpc, account, 0, 0)
    assert genesis.opening == 0 and genesis.closing == _balance(node, account) == sum(e.amount for e in genesis.entries)
    done = run_cli("gateway", "statement", "--rpc", node.url, "--account", "NOPE:1", "--format", "mt940")
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_an_mt_statement_is_sent_by_the_accounts_bank_unless_told_otherwise(running_node) -> None:
    node, listing = running_node
    account = listing[1]["accounts"][0]["id"]  # a DE IBAN of bank code 37040044
    assert servicing_bic(account) == "COBADEFFXXX"
    mt = run_cli("gateway", "statement", "--rpc", node.url, "--account", account, "--format", "mt940")
    assert mt.returncode == 0, mt.stderr
    view = parse(mt.stdout.encode())
    assert (view["sender"], view["receiver"]) == ("COBADEFFXXX", "COBADEFFXXX")
    assert statement_bics(account, None, "DEUTDEFFXXX") == ("COBADEFFXXX", "DEUTDEFFXXX")
    with pytest.raises(StatementError, match="pass the sender's BIC"):
        statement_bics("GL:NOSTRO:EUR", None, None)  # no IBAN: no bank to derive
