"""`qenex gateway pii ...` and the `--pii-vault` options of `qenex gateway submit`.

submit --pii-vault DIR --pii-keys KEYS: before booking, the message's names, addresses and
remittance text are sealed for the party banks (BICs of the message that have a public key in
KEYS, or --pii-banks) and stored in DIR under the message hash that the chain records. A message
whose personal data cannot be sealed for any bank is not booked: the data would otherwise be lost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from gateways import messages
from gateways.personal_data import (
    PersonalDataError,
    Vault,
    create_bank_key,
    extract,
    load_private_key,
    load_public_key,
    open_envelope,
    seal,
)
from ledger.hashing import keccak

BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
PASSPHRASE_ENV = "QENEX_PII_PASSPHRASE"


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _passphrase(args: argparse.Namespace) -> bytes:
    if getattr(args, "passphrase_file", None):
        return Path(args.passphrase_file).read_bytes().rstrip(b"\n")
    text = os.environ.get(PASSPHRASE_ENV)
    if text is None:
        raise PersonalDataError(f"give --passphrase-file or set {PASSPHRASE_ENV}")
    return text.encode()


def party_banks(data: bytes, keys: Path) -> list[str]:
    """BIC8s named anywhere in the message that have a public key in `keys`."""
    found: set[str] = set()
    stack: list[object] = [messages.parse(data)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and BIC.fullmatch(value):
            found.add(value[:8])
    return sorted(bank for bank in found if (keys / f"{bank}.pub").exists())


def seal_message(data: bytes, vault: Path, keys: Path, banks: list[str] | None = None) -> Path | None:
    """Seal the message's personal data for its party banks into `vault` (None: it has none)."""
    fields = extract(data)
    if not fields:
        return None
    chosen = banks or party_banks(data, keys)
    if not chosen:
        raise PersonalDataError(f"no party bank of this message has a public key in {keys}; give --pii-banks")
    envelope = seal(fields, keccak(data), {bank: load_public_key(keys, bank) for bank in chosen})
    return Vault(vault).put(envelope)


def add_submit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pii-vault", metavar="DIR", help="seal names/addresses/remittance into DIR (docs/security.md)")
    p.add_argument("--pii-keys", metavar="DIR", help="bank key store: <BIC8>.pub of the banks to seal for")
    p.add_argument("--pii-banks", help="comma-separated banks to seal for (default: the message's BICs with a key)")


def seal_for_submit(args: argparse.Namespace, data: bytes) -> str | None:
    """Called by `gateway submit` before booking; the problem as text, or None when done."""
    if not args.pii_vault:
        return None
    if not args.pii_keys:
        return "--pii-vault needs --pii-keys"
    banks = [b.strip() for b in args.pii_banks.split(",") if b.strip()] if args.pii_banks else None
    try:
        path = seal_message(data, Path(args.pii_vault), Path(args.pii_keys), banks)
    except PersonalDataError as exc:
        return str(exc)
    if path is not None:
        print(json.dumps({"personalData": str(path)}), flush=True)
    return None


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        path = create_bank_key(Path(args.keys), args.bank, _passphrase(args))
    except PersonalDataError as exc:
        return _fail(str(exc))
    print(path)
    return 0


def _hash(text: str) -> bytes:
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 32:
        raise PersonalDataError("a message hash is 32 bytes (references.messageHash of the transaction)")
    return raw


def cmd_show(args: argparse.Namespace) -> int:
    try:
        envelope = Vault(Path(args.vault)).get(_hash(args.message_hash))
        fields = open_envelope(envelope, args.bank, load_private_key(Path(args.keys), args.bank, _passphrase(args)))
    except (PersonalDataError, ValueError) as exc:
        return _fail(str(exc))
    print(json.dumps(fields, indent=2, ensure_ascii=False))
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    try:
        Vault(Path(args.vault)).erase(_hash(args.message_hash))
    except (PersonalDataError, ValueError) as exc:
        return _fail(str(exc))
    print(f"erased: the data key of {args.message_hash} is destroyed; the chain is unchanged")
    return 0


def add_commands(gateway: argparse._SubParsersAction) -> None:
    pii = gateway.add_parser("pii", help="personal data kept off chain, sealed for party banks").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = pii.add_parser("keygen", help="create a bank's X25519 key pair (<bank>.key encrypted, 0600; <bank>.pub)")
    p.add_argument("bank", help="the bank's BIC8 (how submit finds party banks)")
    p.add_argument("--keys", required=True, metavar="DIR")
    p.add_argument("--passphrase-file", help=f"passphrase of the key (else ${PASSPHRASE_ENV})")
    p.set_defaults(func=cmd_keygen)
    p = pii.add_parser("show", help="open a payment's personal data with a party bank's key")
    p.add_argument("message_hash")
    p.add_argument("--bank", required=True)
    p.add_argument("--vault", required=True, metavar="DIR")
    p.add_argument("--keys", required=True, metavar="DIR")
    p.add_argument("--passphrase-file")
    p.set_defaults(func=cmd_show)
    p = pii.add_parser("erase", help="GDPR erasure: destroy a payment's data keys (crypto-shredding)")
    p.add_argument("message_hash")
    p.add_argument("--vault", required=True, metavar="DIR")
    p.set_defaults(func=cmd_erase)
