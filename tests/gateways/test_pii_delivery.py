"""Every way a gateway books seals first (gateways/pii_delivery.py): `qenex gateway serve --pii-keys`
hands the envelope to the node before booking a POSTed message or a dropped file, and a message
whose personal data cannot be sealed or is refused by the node is not booked, with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.nodes import REPO, run_cli

from gateways.booking import transactions_from_message
from gateways.personal_data import create_bank_key, load_private_key, open_envelope
from ledger.hashing import keccak
from node.rpc.auth import home_credentials
from node.rpc.client import RpcClient

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
PACS008 = SAMPLES / "iso20022" / "pacs.008.001.08__mt2mx-expected__p_2_3_1_a_mt103_pacs_008_A_D.xml"
MT103 = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
PASSPHRASE = b"a long bank passphrase"


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _booked(node: object, mapping: Path, data: bytes) -> list:
    """The message's payments the ledger holds (by the transfer ids derived from the message)."""
    payments = transactions_from_message(data, json.loads(mapping.read_text()))
    found = [node.rpc.call("qenex_getTransfer", p.transfer_id_hex()) for p in payments]  # type: ignore[attr-defined]
    return [f for f in found if f is not None]


def test_service_and_drop_folder_seal_before_booking_and_refuse_what_cannot_be_sealed(running_node, tmp_path):
    if not PACS008.is_file() or not MT103.is_file():
        pytest.skip("shared samples not present")
    node, listing = running_node
    keys, inbox = tmp_path / "bank-keys", tmp_path / "inbox"
    inbox.mkdir()
    create_bank_key(keys, "OTHRBANK", PASSPHRASE)  # no key yet for the messages' party banks
    ours, theirs = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"25698745": ours, "65479512": theirs}))
    mt103 = MT103.read_bytes()  # the same payment as the pacs.008 (same UETR, so the same transfer id)
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "gateway", "serve", "--rpc", node.url, "--from", listing[0]["private_key"],
         "--accounts-map", str(mapping), "--port", "0", "--pii-keys", str(keys), "--inbox", str(inbox)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Gateway REST: "), line + (process.communicate()[1] if process.poll() else "")
        url = line.split(" ", 2)[2].strip()

        # The drop folder: with no key for any party bank, nothing is booked and the reason is kept.
        (inbox / "mt103.fin").write_bytes(mt103)
        deadline = time.monotonic() + 30
        while not list(inbox.glob("rejected/mt103*.json")):
            assert time.monotonic() < deadline, "the dropped file was never processed"
            time.sleep(0.2)
        [outcome] = list(inbox.glob("rejected/mt103*.json"))
        assert "no party bank of this message has a public key" in outcome.read_text()
        assert not _booked(node, mapping, mt103)
        status, answer = _post(url + "/messages", mt103)
        assert status == 422 and "personal data not sealed, nothing booked" in answer["error"], answer
        assert not _booked(node, mapping, mt103)

        # A gateway key without the gateway/operator role: the node refuses the envelope, nothing is booked.
        outsider = tmp_path / "keys-again"
        for bank in ("CLYDGB2S", "BSCHESMM"):
            create_bank_key(outsider, bank, PASSPHRASE)
        (tmp_path / "mt103.fin").write_bytes(mt103)
        refused = run_cli("gateway", "submit", str(tmp_path / "mt103.fin"), "--rpc", node.url,
                          "--from", listing[2]["private_key"], "--accounts-map", str(mapping), "--wait",
                          "--pii-keys", str(outsider))  # fmt: skip
        assert refused.returncode == 1
        assert "the node refused the sealed personal data" in refused.stderr and "personal_data.put" in refused.stderr
        assert not _booked(node, mapping, mt103)

        # With the party banks' keys: sealed, handed to the node, then booked.
        for bank in ("CLYDGB2S", "BSCHESMM"):
            create_bank_key(keys, bank, PASSPHRASE)
        data = PACS008.read_bytes()
        status, answer = _post(url + "/messages", data)
        assert status == 200, answer
        assert answer["personalData"]["stored"] and answer["personalData"]["banks"] == ["BSCHESMM", "CLYDGB2S"]
        assert _booked(node, mapping, data)
        reader = RpcClient(node.url, headers=home_credentials(node.home))
        served = reader.call("qenex_getPersonalData", "0x" + keccak(data).hex())
        opened = open_envelope(served["envelope"], "BSCHESMM", load_private_key(keys, "BSCHESMM", PASSPHRASE))
        assert "A Debiter" in "\n".join(opened.values())
        assert "A Debiter" not in json.dumps(served)
    finally:
        process.terminate()
        process.wait(timeout=15)
