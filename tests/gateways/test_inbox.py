"""The drop folder of `qenex gateway serve --inbox`: an MT103 and a pain.001 dropped into the inbox of a
running node become booked transfers, a duplicate delivery is booked once, a bad file goes to rejected/
with its reasons, and the camt.053 statement shows the bookings with balances equal to the ledger's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from support.gateway_samples import pain001
from support.nodes import REPO

from gateways.inbox import Inbox
from gateways.iso20022 import parse_bytes, validate_bytes
from gateways.submit import Submitter

SHARED = Path(__file__).resolve().parents[3] / "shared"
XSD_DIR = SHARED / "iso20022" / "xsd"
MT103 = SHARED / "samples" / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the inbox"
        time.sleep(0.2)


def test_dropped_files_are_booked_once_and_stated(running_node, tmp_path: Path) -> None:
    if not MT103.is_file() or not XSD_DIR.is_dir():
        pytest.skip("shared samples/XSDs not present")
    node, listing = running_node
    ours, theirs = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"25698745": theirs, "65479512": ours}))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    start = int(node.rpc.call("eth_blockNumber"), 16) + 1
    before = int(node.rpc.call("qenex_getAccount", ours)["balance"])
    # Files are written under a temporary name and renamed in, as file transfers do.
    (inbox / "mt103.fin.part").write_bytes(MT103.read_bytes())
    (inbox / "pain001.xml.tmp").write_bytes(pain001(debtor_iban=ours, creditor_iban=theirs))
    (inbox / "broken.fin").write_bytes(b"{1:F01BANKDEFFAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:X\n-}")
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "gateway", "serve", "--rpc", node.url, "--from", listing[0]["private_key"],
         "--accounts-map", str(mapping), "--port", "0", "--inbox", str(inbox)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" ", 2)[2].strip()
        assert process.stdout.readline().startswith("Gateway inbox:")
        _wait_for(lambda: (inbox / "rejected" / "broken.fin").exists())
        assert (inbox / "mt103.fin.part").exists()  # still being written: left alone
        (inbox / "mt103.fin.part").rename(inbox / "mt103.fin")
        (inbox / "pain001.xml.tmp").rename(inbox / "pain001.xml")
        _wait_for(lambda: (inbox / "done" / "mt103.fin").exists() and (inbox / "done" / "pain001.xml").exists())
        # The same MT103 delivered again is a duplicate: done, nothing booked.
        (inbox / "mt103-again.fin").write_bytes(MT103.read_bytes())
        _wait_for(lambda: (inbox / "done" / "mt103-again.fin").exists())
        with urllib.request.urlopen(f"{url}/statements/{ours}?format=camt053&fromBlock={start}") as response:
            camt = response.read()
    finally:
        process.terminate()
        process.wait(timeout=15)

    reasons = json.loads((inbox / "rejected" / "broken.fin.result.json").read_text())["reasons"]
    assert any("mandatory" in reason for reason in reasons)
    mt_result = json.loads((inbox / "done" / "mt103.fin.result.json").read_text())
    assert [p["state"] for p in mt_result["payments"]] == ["booked"]
    pain_result = json.loads((inbox / "done" / "pain001.xml.result.json").read_text())
    assert [p["state"] for p in pain_result["payments"]] == ["booked", "booked"]
    again = json.loads((inbox / "done" / "mt103-again.fin.result.json").read_text())
    assert [p["state"] for p in again["payments"]] == ["duplicate"]
    report = (inbox / "done" / "mt103.fin.pacs002.xml").read_bytes()
    assert validate_bytes(report, XSD_DIR) == []
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == []

    after = int(node.rpc.call("qenex_getAccount", ours)["balance"])
    assert after == before + 6578432 - 1012 - 5000
    assert validate_bytes(camt, XSD_DIR) == []
    [statement] = parse_bytes(camt, XSD_DIR)["message"]["statements"]
    balances = {b["type"]: b["amount"]["minor"] for b in statement["balances"]}
    assert (balances["OPBD"], balances["CLBD"]) == (before, after)
    entries = sorted((e["amount"]["credit_debit"], e["amount"]["minor"]) for e in statement["entries"])
    assert entries == [("CRDT", 6578432), ("DBIT", 1012), ("DBIT", 5000)]


def test_unreachable_node_leaves_files_in_place_and_big_files_are_refused(tmp_path: Path) -> None:
    from node.rpc.client import RpcClient

    inbox_dir = tmp_path / "inbox"
    submitter = Submitter(RpcClient("http://127.0.0.1:9", timeout=2), b"\x01" * 32, {"25698745": "A", "65479512": "B"})
    inbox = Inbox(inbox_dir, submitter, "pacs.002.001.10", settle_seconds=0, max_file_bytes=1000)
    if not MT103.is_file():
        pytest.skip("shared samples not present")
    (inbox_dir / "mt103.fin").write_bytes(MT103.read_bytes())
    (inbox_dir / "huge.xml").write_bytes(b"<" * 1001)
    (inbox_dir / ".hidden").write_bytes(b"x")
    results = {r.name: r for r in inbox.scan()}
    assert set(results) == {"mt103.fin", "huge.xml"}
    assert results["mt103.fin"].folder == "" and (inbox_dir / "mt103.fin").exists()
    assert results["huge.xml"].folder == "rejected"
    assert "inbox limit" in json.loads((inbox_dir / "rejected" / "huge.xml.result.json").read_text())["reasons"][0]
