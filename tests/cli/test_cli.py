"""The `qenex` CLI as a new user runs it: real processes, real node, real files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from support.nodes import REPO, run_cli, start_node


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("keys", "genesis", "node", "devnet", "tx", "account", "ledger", "bench", "gateway"):
        assert command in result.stdout
    for sub in (("keys", "new"), ("genesis", "init"), ("node", "run"), ("tx", "transfer"), ("ledger", "verify")):
        assert run_cli(*sub, "--help").returncode == 0


def test_genesis_init_dev_writes_keys_and_refuses_to_overwrite(tmp_path):
    home = tmp_path / "h"
    result = run_cli("genesis", "init", "--dev", "--home", str(home), "--accounts", "2")
    assert result.returncode == 0, result.stderr
    listing = json.loads((home / "dev-accounts.json").read_text())
    assert len(listing) == 2 and listing[0]["private_key"] in result.stdout
    assert listing[0]["accounts"][0]["balance"] == 100_000_000
    assert oct((home / "validator.key").stat().st_mode & 0o777) == "0o600"
    again = run_cli("genesis", "init", "--dev", "--home", str(home))
    assert again.returncode == 1 and "--force" in again.stderr
    assert run_cli("genesis", "validate", str(home / "genesis.json")).returncode == 0


def test_transfer_wait_account_show_and_verify_by_hand(tmp_path):
    home = tmp_path / "h"
    assert run_cli("genesis", "init", "--dev", "--home", str(home), "--accounts", "2").returncode == 0
    listing = json.loads((home / "dev-accounts.json").read_text())
    key0, key1 = listing[0]["private_key"], listing[1]["private_key"]
    payer, payee = listing[0]["accounts"][0]["id"], listing[1]["accounts"][0]["id"]
    node = start_node(home)

    def transfer(key: str, *options: str) -> subprocess.CompletedProcess:
        return run_cli("tx", "transfer", "--rpc", node.url, "--from", key, *options)

    def eur(amount: str, *options: str) -> list[str]:
        return ["--debit", payer, "--credit", payee, "--amount", amount, "--currency", "EUR", *options]

    try:
        ok = transfer(key0, *eur("12.34", "--wait"))
        assert ok.returncode == 0, ok.stderr
        assert '"status": "0x1"' in ok.stdout and '"amountFormatted": "12.34"' in ok.stdout

        too_precise = transfer(key0, *eur("1.234"))
        assert too_precise.returncode == 1 and "3 decimals but EUR has 2" in too_precise.stderr

        stranger = transfer(key1, *eur("1"))
        assert stranger.returncode == 1 and "unauthorized_debit" in stranger.stderr and payer in stranger.stderr

        pending = transfer(key0, *eur("5.00", "--pending", "--timeout", "3600", "--wait"))
        assert pending.returncode == 0, pending.stderr
        pending_id = json.loads(pending.stdout.splitlines()[0])["transferId"]
        post = transfer(key0, "--post-pending", pending_id, "--amount", "2.50", "--wait")
        assert post.returncode == 0, post.stderr
        twice = transfer(key0, "--void-pending", pending_id)
        assert twice.returncode == 1 and "pending_transfer_already_posted" in twice.stderr

        shown = run_cli("account", "show", payee, "--rpc", node.url, "--journal", "5")
        assert shown.returncode == 0
        account = json.loads(shown.stdout)["account"]
        assert account["balanceFormatted"] == "1000014.84"  # 12.34 + 2.50
        owner = json.loads(run_cli("account", "show", listing[1]["address"], "--rpc", node.url).stdout)
        assert len(owner["accounts"]) == 3
    finally:
        assert node.stop() == 0
    verified = run_cli("ledger", "verify", "--home", str(home))
    assert verified.returncode == 0 and "ledger verify ok" in verified.stdout, verified.stdout + verified.stderr


def test_ledger_verify_detects_a_tampered_balance(tmp_path):
    import plyvel

    from ledger.codec import decode_account, encode_account

    home = tmp_path / "h"
    assert run_cli("genesis", "init", "--dev", "--home", str(home), "--accounts", "1").returncode == 0
    node = start_node(home)
    node.stop()
    account_id = json.loads((home / "dev-accounts.json").read_text())[0]["accounts"][0]["id"]
    db = plyvel.DB(str(home / "data"))
    key = b"La" + account_id.encode()
    account = decode_account(db.get(key))
    import dataclasses

    db.put(key, encode_account(dataclasses.replace(account, credits_posted=account.credits_posted + 1)))
    db.close()
    result = run_cli("ledger", "verify", "--home", str(home))
    assert result.returncode == 2
    assert f"MISMATCH account {account_id}" in result.stdout


def test_verify_refuses_while_the_node_holds_the_database(tmp_path):
    home = tmp_path / "h"
    run_cli("genesis", "init", "--dev", "--home", str(home), "--accounts", "1")
    node = start_node(home)
    try:
        result = run_cli("ledger", "verify", "--home", str(home))
        assert result.returncode == 1 and "stop it first" in result.stderr
    finally:
        node.stop()


def test_keys_new_and_list_and_sign_with_keystore(tmp_path):
    password = tmp_path / "pw"
    password.write_text("correct horse\n")
    keystore = tmp_path / "keys"
    made = run_cli("keys", "new", "--keystore-dir", str(keystore), "--password-file", str(password))
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    listed = run_cli("keys", "list", "--keystore-dir", str(keystore))
    assert created["address"].lower()[2:] in listed.stdout.lower()
    from ledger.tx import address_of_key
    from node.cli import load_private_key

    key = load_private_key(created["keystore"], str(password))
    assert address_of_key(key) == created["address"]


def test_devnet_prints_url_and_keys_and_makes_blocks(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node.cli",
            "devnet",
            "--validators",
            "1",
            "--home",
            str(tmp_path / "devnet"),
            "--rpc-port",
            "0",
            "--traffic-interval",
            "0.3",
            "--block-interval-ms",
            "200",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            sum("payment" in line for line in lines) < 3 or not any(line.startswith("block ") for line in lines)
        ):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        url = re.search(r"JSON-RPC: (http://\S+)", text).group(1)
        assert "private key 0x" in text and "1000000.00 EUR" in text
        assert re.search(r"block [0-9]+: [0-9]+ transaction", text), text
        assert sum("payment" in line for line in lines) >= 3, text
        from node.rpc.client import RpcClient

        time.sleep(1)
        assert int(RpcClient(url).call("eth_blockNumber"), 16) >= 1
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
