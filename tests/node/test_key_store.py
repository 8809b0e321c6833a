"""Node keys encrypted at rest: `qenex keys protect` turns a home's plaintext validator and TLS keys
into an eth-account keystore and an encrypted PKCS#8 PEM; the node starts only with the password
file QENEX_KEY_PASSWORD_FILE names, and says what to do otherwise."""

from __future__ import annotations

import json
import os
import stat

import pytest
from support.nodes import make_home, run_cli, signed_transfer, start_node, wait_receipt

from genesis.builder import P2P_KEY_FILE, init_network_homes, write_private
from node.key_store import KEYSTORE_FILE, PASSWORD_FILE_ENV, KeyStoreError, read_validator_key, tls_key_password

PASSWORD = "correct horse battery staple"


def password_file(tmp_path, text: str = PASSWORD):
    path = tmp_path / f"password-{len(text)}"
    write_private(path, text + "\n")
    return path


@pytest.mark.slow
def test_a_protected_home_starts_only_with_its_password(tmp_path, monkeypatch):
    home, listing = make_home(tmp_path)
    key_before = read_validator_key(home)
    protected = run_cli("keys", "protect", "--home", str(home), "--password-file", str(password_file(tmp_path)))
    assert protected.returncode == 0, protected.stderr
    assert not (home / "validator.key").exists()
    keystore = home / KEYSTORE_FILE
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert json.loads(keystore.read_text())["crypto"]["kdf"] == "scrypt"
    assert key_before.hex() not in keystore.read_text()

    monkeypatch.delenv(PASSWORD_FILE_ENV, raising=False)
    refused = run_cli("node", "run", "--home", str(home), "--rpc-port", "0", timeout=60)
    assert refused.returncode == 1 and f"set {PASSWORD_FILE_ENV}=" in refused.stderr
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(password_file(tmp_path, "not the password at all")))
    wrong = run_cli("node", "run", "--home", str(home), "--rpc-port", "0", timeout=60)
    assert wrong.returncode == 1 and "cannot be decrypted" in wrong.stderr

    monkeypatch.setenv(PASSWORD_FILE_ENV, str(password_file(tmp_path)))
    assert read_validator_key(home) == key_before
    node = start_node(home)
    try:
        tx = node.rpc.call("eth_sendRawTransaction", "0x" + signed_transfer(listing, 0, 1, 100, 0, 5).hex())
        assert wait_receipt(node.rpc, tx)["status"] == "0x1"
    finally:
        node.stop()


def test_short_passwords_and_readable_password_files_are_refused(tmp_path):
    home, _ = make_home(tmp_path)
    short = run_cli("keys", "protect", "--home", str(home), "--password-file", str(password_file(tmp_path, "short")))
    assert short.returncode == 1 and "at least 12 bytes" in short.stderr
    loose = password_file(tmp_path)
    os.chmod(loose, 0o644)
    refused = run_cli("keys", "protect", "--home", str(home), "--password-file", str(loose))
    assert refused.returncode == 1 and f"chmod 600 {loose}" in refused.stderr
    assert (home / "validator.key").exists(), "nothing changed"


def test_a_network_home_keeps_its_tls_key_encrypted(tmp_path, monkeypatch):
    _, nodes = init_network_homes(tmp_path / "net", validators=1, full_nodes=0, accounts=1)
    home = tmp_path / "net" / nodes[0]["name"]
    assert (
        run_cli("keys", "protect", "--home", str(home), "--password-file", str(password_file(tmp_path))).returncode == 0
    )
    pem = (home / P2P_KEY_FILE).read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(password_file(tmp_path)))
    assert tls_key_password(pem, home / P2P_KEY_FILE) == PASSWORD.encode()
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(password_file(tmp_path, "some other password")))
    with pytest.raises(KeyStoreError, match="cannot be decrypted"):
        tls_key_password(pem, home / P2P_KEY_FILE)
