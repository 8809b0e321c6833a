"""`qenex gateway pii ...` and the `--pii-*` options of `qenex gateway submit` and `serve`.

submit --pii-keys KEYS [--pii-vault DIR]: before booking, the message's names, addresses and
remittance text are sealed for the party banks (BICs of the message that have a public key in
KEYS, or --pii-banks) and handed to the node (`qenex_putPersonalData`, gateways/pii_delivery.py),
which passes the envelope to every node of the consortium; with --pii-vault a local copy is kept
too. A message whose personal data cannot be sealed and delivered is not booked.

show/erase work on a node (`--rpc URL`: any node serves the envelope; erasure is a chain action
every node applies) or on a local vault (`--vault DIR`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from gateways.personal_data import (
    PersonalDataError,
    Vault,
    create_bank_key,
    load_private_key,
    open_envelope,
)
from gateways.pii_delivery import Sealer
from node.rpc.client import RpcCallError, RpcClient

PASSPHRASE_ENV = "QENEX_PII_PASSPHRASE"
API_KEY_ENV = "QENEX_RPC_API_KEY"


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


def add_submit_options(p: argparse.ArgumentParser, vault: bool = True) -> None:
    p.add_argument("--pii-keys", metavar="DIR",
                   help="seal names/addresses/remittance for the party banks (<BIC8>.pub in DIR) and hand the "
                        "envelope to the node before booking (docs/security.md)")  # fmt: skip
    p.add_argument("--pii-banks", help="comma-separated banks to seal for (default: the message's BICs with a key)")
    if vault:
        p.add_argument("--pii-vault", metavar="DIR", help="also keep the sealed envelope in DIR")


def sealer_for(args: argparse.Namespace) -> Sealer | None:
    """The sealer the options ask for (None: no sealing); ValueError naming a missing option."""
    vault = getattr(args, "pii_vault", None)
    if not args.pii_keys:
        if vault or args.pii_banks:
            raise ValueError("--pii-vault and --pii-banks need --pii-keys")
        return None
    banks = tuple(b.strip() for b in args.pii_banks.split(",") if b.strip()) if args.pii_banks else ()
    return Sealer(Path(args.pii_keys), banks, Path(vault) if vault else None)


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        path = create_bank_key(Path(args.keys), args.bank, _passphrase(args))
    except PersonalDataError as exc:
        return _fail(str(exc))
    print(path)
    return 0


def _hash(args: argparse.Namespace) -> bytes:
    text = args.message_hash_option or args.message_hash
    if not text:
        raise PersonalDataError("give the message hash (references.messageHash of the transaction)")
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 32:
        raise PersonalDataError("a message hash is 32 bytes (references.messageHash of the transaction)")
    return raw


def _client(args: argparse.Namespace) -> RpcClient:
    """The node's RPC with the caller's credential: reading an envelope needs a role (docs/security.md)."""
    key = args.api_key or os.environ.get(API_KEY_ENV)
    return RpcClient(args.rpc, headers={"X-API-Key": key} if key else None)


def _from_node(args: argparse.Namespace, message_hash: bytes) -> dict:
    try:
        found = _client(args).call("qenex_getPersonalData", "0x" + message_hash.hex())
    except (RpcCallError, ConnectionError) as exc:
        raise PersonalDataError(str(exc)) from None
    if "erased" in found:
        raise PersonalDataError(f"personal data of 0x{message_hash.hex()} was erased in block {found['erased']}")
    return found


def cmd_show(args: argparse.Namespace) -> int:
    try:
        message_hash = _hash(args)
        node = _from_node(args, message_hash) if args.rpc else None
        envelope = node["envelope"] if node is not None else Vault(Path(args.vault)).get(message_hash)
        fields = open_envelope(envelope, args.bank, load_private_key(Path(args.keys), args.bank, _passphrase(args)))
    except (PersonalDataError, ValueError) as exc:
        return _fail(str(exc))
    print(json.dumps(fields, indent=2, ensure_ascii=False))
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    try:
        message_hash = _hash(args)
        if not args.rpc:
            Vault(Path(args.vault)).erase(message_hash)
            print(f"erased: the data key of 0x{message_hash.hex()} is destroyed; the chain is unchanged")
            return 0
        if not args.key:
            raise PersonalDataError("--rpc needs --key: the compliance officer's or bank operator's key")
        account = args.account or _from_node(args, message_hash)["account"]
    except (PersonalDataError, ValueError) as exc:
        return _fail(str(exc))
    from node.cli import load_private_key as load_signing_key
    from node.pii.erasure import erase_action
    from node.validator_cli import send_action

    try:
        key = load_signing_key(args.key, args.password_file)
        result = send_action(RpcClient(args.rpc), key, erase_action(message_hash, account), True, args.timeout)
    except (ValueError, RpcCallError, ConnectionError, TimeoutError) as exc:
        return _fail(str(exc))
    print(json.dumps(result, indent=2))
    if result.get("status") != "0x1":
        error = result.get("error") or {}
        return _fail(f"refused: {error.get('rule', '?')}: {error.get('message', '')}")
    return 0


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument("message_hash", nargs="?", help="the payment's message hash (or --message-hash)")
    p.add_argument("--message-hash", dest="message_hash_option", metavar="HASH")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--rpc", metavar="URL", help="a node of the consortium (any node holds the envelope)")
    where.add_argument("--vault", metavar="DIR", help="a local vault (`submit --pii-vault`)")
    p.add_argument("--api-key", help=f"RPC credential with the gateway, operator, compliance or auditor role "
                                     f"(else ${API_KEY_ENV})")  # fmt: skip


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
    _target(p)
    p.add_argument("--bank", required=True)
    p.add_argument("--keys", required=True, metavar="DIR")
    p.add_argument("--passphrase-file")
    p.set_defaults(func=cmd_show)
    p = pii.add_parser("erase", help="GDPR erasure: destroy a payment's data keys (crypto-shredding)")
    _target(p)
    p.add_argument("--key", help="with --rpc: the compliance officer's or bank operator's key (hex or keystore)")
    p.add_argument("--password-file", help="keystore password file (else prompted)")
    p.add_argument("--account", help="the debited account the erasure is scoped to (default: as the node stored it)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the erasure's block")
    p.set_defaults(func=cmd_erase)
