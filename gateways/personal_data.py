"""Personal data of payment messages: kept off chain, sealed for the banks party to the payment.

The chain sees a payment's accounts, amount, identifiers and the message's hash (ledger/tx.py
References); never the names, postal addresses or remittance text a message carries, because every
consortium member reads every block. Those fields are extracted here and sealed in an envelope:

- a fresh 256-bit data key per payment encrypts each field with AES-256-GCM (nonce per field,
  the message hash and field path as associated data, so a ciphertext cannot be moved to another
  payment or field unnoticed);
- the data key is wrapped for each party bank (X25519 key agreement with an ephemeral key, HKDF-
  SHA256, AES-256-GCM): only a bank holding one of those private keys can open the envelope;
- the envelope is stored in a vault directory under the message hash, which is the link to the
  on-chain transaction (`references.messageHash`).

Erasure (GDPR art. 17) is crypto-shredding: `erase` overwrites the wrapped keys and ciphertexts with
a tombstone. The chain is untouched (it never held the data), so `qenex ledger verify` and the
state root verify exactly as before. Bank key stores are directories of `<bank>.key` (X25519
private key, PEM encrypted with the bank's passphrase, mode 0600) and `<bank>.pub`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateways import messages

PERSONAL_KEYS = frozenset({"name", "name_address", "remittance", "remittance_information", "address", "adr_line"})
FIELDS_MAX = 10_000
FIELD_BYTES_MAX = 64 * 1024
ENVELOPE_BYTES_MAX = 8 * 1024 * 1024
BANK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
WRAP_INFO = b"qenex personal data key wrap v1"


class PersonalDataError(ValueError):
    """An envelope, key or vault operation that cannot be done; the message says why."""


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return None


def extract(data: bytes) -> dict[str, str]:
    """Every name, postal address and remittance text of a message: {json path: text}."""
    found: dict[str, str] = {}
    stack: list[tuple[str, object]] = [("", messages.parse(data))]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}/{key}"
                text = _text(item) if key in PERSONAL_KEYS else None
                if text is not None:
                    found[child] = text
                else:
                    stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}/{index}", item) for index, item in enumerate(value))
        if len(found) > FIELDS_MAX:
            raise PersonalDataError(f"more than {FIELDS_MAX} personal fields in one message")
    return dict(sorted(found.items()))


# --- bank key stores ----------------------------------------------------------------------------


def create_bank_key(directory: Path, bank: str, passphrase: bytes) -> Path:
    """Write <bank>.key (encrypted PEM, 0600) and <bank>.pub into `directory`."""
    if not BANK.fullmatch(bank):
        raise PersonalDataError(f"bank name {bank!r}: letters, digits, . _ - (1..64)")
    if len(passphrase) < 12:
        raise PersonalDataError("a key store passphrase has at least 12 characters")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = directory / f"{bank}.key"
    if key_path.exists():
        raise PersonalDataError(f"{key_path} exists")
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase))  # fmt: skip
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (directory / f"{bank}.pub").write_bytes(public)
    return key_path


def load_public_key(directory: Path, bank: str) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key((directory / f"{bank}.pub").read_bytes())
    except FileNotFoundError:
        raise PersonalDataError(f"no public key for bank {bank!r} in {directory}") from None
    if not isinstance(key, X25519PublicKey):
        raise PersonalDataError(f"{directory / f'{bank}.pub'} is not an X25519 public key")
    return key


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only atomic write (the gateway keeps to node.rpc.client among node modules)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_private_key(directory: Path, bank: str, passphrase: bytes) -> X25519PrivateKey:
    path = directory / f"{bank}.key"
    if path.exists() and path.stat().st_mode & 0o077:
        raise PersonalDataError(f"{path} is readable by other users; run: chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase)
    except FileNotFoundError:
        raise PersonalDataError(f"no private key for bank {bank!r} in {directory}") from None
    except (ValueError, TypeError):
        raise PersonalDataError(f"cannot open {path}: wrong passphrase?") from None
    if not isinstance(key, X25519PrivateKey):
        raise PersonalDataError(f"{path} is not an X25519 private key")
    return key


# --- envelopes ----------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _kek(shared: bytes, message_hash: bytes, bank: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=message_hash, info=WRAP_INFO + b"/" + bank.encode()).derive(shared)


def seal(fields: dict[str, str], message_hash: bytes, banks: dict[str, X25519PublicKey]) -> dict:
    """The envelope of `fields` for the party `banks` (at least one)."""
    if not banks:
        raise PersonalDataError("personal data is sealed for at least one bank")
    assert len(message_hash) == 32
    data_key = AESGCM.generate_key(bit_length=256)
    aead = AESGCM(data_key)
    sealed = {}
    for path, text in fields.items():
        raw = text.encode()
        if len(raw) > FIELD_BYTES_MAX:
            raise PersonalDataError(f"{path}: field over {FIELD_BYTES_MAX} bytes")
        nonce = os.urandom(12)
        sealed[path] = {"nonce": _b64(nonce), "ct": _b64(aead.encrypt(nonce, raw, message_hash + path.encode()))}
    wraps = {}
    for bank, public in sorted(banks.items()):
        ephemeral = X25519PrivateKey.generate()
        nonce = os.urandom(12)
        kek = _kek(ephemeral.exchange(public), message_hash, bank)
        wraps[bank] = {
            "epk": _b64(
                ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            ),
            "nonce": _b64(nonce),
            "wrapped": _b64(AESGCM(kek).encrypt(nonce, data_key, message_hash)),
        }
    return {"version": 1, "message_hash": message_hash.hex(), "fields": sealed, "keys": wraps}


def open_envelope(envelope: dict, bank: str, private_key: X25519PrivateKey) -> dict[str, str]:
    """The fields, for a bank the envelope was sealed for; PersonalDataError for anyone else."""
    if envelope.get("erased"):
        raise PersonalDataError(f"personal data of {envelope.get('message_hash')} was erased at {envelope['erased']}")
    message_hash = bytes.fromhex(envelope["message_hash"])
    wrap = envelope["keys"].get(bank)
    if wrap is None:
        raise PersonalDataError(f"bank {bank!r} is not a party to this payment: no key was wrapped for it")
    peer = X25519PublicKey.from_public_bytes(_unb64(wrap["epk"]))
    try:
        data_key = AESGCM(_kek(private_key.exchange(peer), message_hash, bank)).decrypt(
            _unb64(wrap["nonce"]), _unb64(wrap["wrapped"]), message_hash
        )
        aead = AESGCM(data_key)
        return {
            path: aead.decrypt(_unb64(item["nonce"]), _unb64(item["ct"]), message_hash + path.encode()).decode()
            for path, item in envelope["fields"].items()
        }
    except InvalidTag:
        raise PersonalDataError(f"bank {bank!r}'s key does not open this envelope (or it was altered)") from None


# --- the vault ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vault:
    """A directory of envelopes, one file per message hash (mode 0600; directory 0700)."""

    directory: Path

    def _path(self, message_hash: bytes) -> Path:
        assert len(message_hash) == 32
        return self.directory / f"{message_hash.hex()}.json"

    def put(self, envelope: dict) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(bytes.fromhex(envelope["message_hash"]))
        _write_private(path, json.dumps(envelope, sort_keys=True).encode())
        return path

    def get(self, message_hash: bytes) -> dict:
        path = self._path(message_hash)
        try:
            if path.stat().st_size > ENVELOPE_BYTES_MAX:
                raise PersonalDataError(f"{path} is larger than {ENVELOPE_BYTES_MAX} bytes")
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise PersonalDataError(f"no personal data for message {message_hash.hex()} in {self.directory}") from None

    def erase(self, message_hash: bytes) -> None:
        """Crypto-shredding: the wrapped data keys and ciphertexts are overwritten by a tombstone."""
        self.get(message_hash)  # refuses an unknown hash
        path = self._path(message_hash)
        size = path.stat().st_size
        with open(path, "r+b") as handle:  # overwrite in place before replacing: no old copy left in the file
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        tombstone = {"version": 1, "message_hash": message_hash.hex(), "erased": int(time.time())}
        _write_private(path, json.dumps(tombstone).encode())
