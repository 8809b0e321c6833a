"""Node keys encrypted at rest: the validator key as an eth-account keystore (scrypt + AES-128-CTR,
the format wallets and geth use) and the P2P TLS key as an encrypted PKCS#8 PEM.

Why: a key file that is only mode 0600 is readable by anyone who gets a copy of the disk or a
backup. `qenex keys protect --home HOME --password-file F` converts a home's plaintext keys; the
node then reads the password from the file named by QENEX_KEY_PASSWORD_FILE (itself mode 0600,
kept apart from the home, e.g. a Kubernetes Secret or a tmpfs), as geth's --password does for
unattended restarts. The TLS key stays encrypted on disk even while the node runs: OpenSSL
decrypts it in memory (ssl.load_cert_chain with the password).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from eth_account import Account

from genesis.builder import P2P_KEY_FILE, VALIDATOR_KEY_FILE, write_private
from node.secret_files import check_private

KEYSTORE_FILE = "validator.keystore.json"
PASSWORD_FILE_ENV = "QENEX_KEY_PASSWORD_FILE"
MIN_PASSWORD_BYTES = 12


class KeyStoreError(ValueError):
    """An encrypted key cannot be used; the message says what to do."""


def key_password() -> bytes | None:
    """The password of the node's encrypted keys, from the file QENEX_KEY_PASSWORD_FILE names."""
    name = os.environ.get(PASSWORD_FILE_ENV)
    if not name:
        return None
    path = Path(name)
    check_private(path)
    try:
        password = path.read_bytes().rstrip(b"\r\n")
    except FileNotFoundError:
        raise KeyStoreError(f"{PASSWORD_FILE_ENV} names {path}, which does not exist") from None
    if not password:
        raise KeyStoreError(f"{path} is empty: it must hold the keys' password")
    return password


def _needed(path: Path) -> bytes:
    password = key_password()
    if password is None:
        raise KeyStoreError(
            f"{path} is encrypted: set {PASSWORD_FILE_ENV}=/path/to/password-file (mode 0600) and start again"
        )
    return password


def read_validator_key(home: Path) -> bytes:
    """The node's secp256k1 key: plaintext validator.key, or the encrypted validator.keystore.json."""
    plain, encrypted = Path(home) / VALIDATOR_KEY_FILE, Path(home) / KEYSTORE_FILE
    if plain.exists():
        key = bytes.fromhex(plain.read_text().strip().removeprefix("0x"))
        if len(key) != 32:
            raise ValueError(f"{plain} must hold a 32-byte hex private key")
        return key
    if not encrypted.exists():
        raise FileNotFoundError(f"no validator key at {plain}; run `qenex genesis init --dev --home {home}`")
    try:
        return bytes(Account.decrypt(json.loads(encrypted.read_text()), _needed(encrypted)))
    except ValueError as exc:
        if isinstance(exc, KeyStoreError):
            raise
        raise KeyStoreError(
            f"{encrypted} cannot be decrypted ({exc}): is {PASSWORD_FILE_ENV} the right file?"
        ) from None


def tls_key_password(key_pem: bytes, path: Path) -> bytes | None:
    """The password an encrypted TLS key needs (None for a plaintext one), checked against it."""
    if b"ENCRYPTED" not in key_pem:
        return None
    password = _needed(path)
    try:
        serialization.load_pem_private_key(key_pem, password=password)
    except (ValueError, TypeError):
        raise KeyStoreError(f"{path} cannot be decrypted: is {PASSWORD_FILE_ENV} the right file?") from None
    return password


def protect_home(home: Path, password: bytes) -> list[Path]:
    """Encrypt a home's plaintext validator key and TLS key in place; returns the files written."""
    if len(password) < MIN_PASSWORD_BYTES:
        raise KeyStoreError(f"the password must be at least {MIN_PASSWORD_BYTES} bytes")
    home = Path(home)
    written = []
    plain = home / VALIDATOR_KEY_FILE
    if plain.exists():
        keystore = Account.encrypt(read_validator_key(home), password)
        write_private(home / KEYSTORE_FILE, json.dumps(keystore) + "\n")
        assert read_validator_key_from(home / KEYSTORE_FILE, password) == read_validator_key(home)
        plain.unlink()
        written.append(home / KEYSTORE_FILE)
    tls = home / P2P_KEY_FILE
    if tls.exists() and b"ENCRYPTED" not in tls.read_bytes():
        key = serialization.load_pem_private_key(tls.read_bytes(), password=None)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
        write_private(tls, pem.decode())
        written.append(tls)
    return written


def read_validator_key_from(path: Path, password: bytes) -> bytes:
    return bytes(Account.decrypt(json.loads(path.read_text()), password))
