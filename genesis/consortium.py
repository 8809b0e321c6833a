"""A consortium's genesis, assembled from what each bank publishes, never from its secrets.

Each bank runs `qenex genesis keygen` on its own machine: the validator key and the TLS key stay
in that bank's node home; only the public entry (address, public key, TLS certificate and its
binding to the chain id) is sent to whoever assembles the genesis. `qenex genesis assemble` puts
the entries into a template (chain id, currencies, roles, accounts) and checks the result exactly
as a node will.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import coincurve

from genesis.builder import GENESIS_FILE, P2P_KEY_FILE, VALIDATOR_KEY_FILE, p2p_fields, write_private
from genesis.schema import GenesisError, parse_genesis
from ledger.tx import address_of_key

ENTRY_FIELDS = ("name", "address", "public_key", "power", "p2p_certificate", "p2p_binding")


def keygen(home: Path, name: str, chain_id: int, power: int = 1) -> dict:
    """Write validator.key and p2p-key.pem (0600) into `home`; return the public genesis entry."""
    home = Path(home)
    for existing in (home / VALIDATOR_KEY_FILE, home / P2P_KEY_FILE):
        if existing.exists():
            raise FileExistsError(f"{existing} exists; a bank's keys are made once (rotate: docs/operations.md)")
    if power < 1:
        raise ValueError("power must be at least 1")
    home.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fields, tls_key_pem = p2p_fields(key, chain_id)
    write_private(home / VALIDATOR_KEY_FILE, "0x" + key.hex() + "\n")
    write_private(home / P2P_KEY_FILE, tls_key_pem.decode())
    public_key = coincurve.PrivateKey(key).public_key.format(compressed=False)[1:]
    return {"name": name, "address": address_of_key(key), "public_key": "0x" + public_key.hex(), "power": power,
            "chain_id": chain_id, **fields}  # fmt: skip


def assemble(template: dict, entries: list[dict]) -> dict:
    """The template with `validators` set from the entries (and a validator role for each)."""
    if "validators" in template:
        raise GenesisError("the template must not list validators: they come from the banks' entries")
    chain_id = template.get("chain_id")
    validators, roles = [], list(template.get("roles", []))
    for index, entry in enumerate(entries):
        missing = [f for f in ENTRY_FIELDS if f not in entry]
        if missing:
            raise GenesisError(f"entry {index} ({entry.get('name', '?')}): missing {', '.join(missing)}")
        if entry.get("chain_id") != chain_id:
            raise GenesisError(
                f"entry {index} ({entry['name']}): made for chain {entry.get('chain_id')}, the template is {chain_id}; "
                "its TLS binding signs the chain id, so run keygen again with --chain-id"
            )
        validators.append({f: entry[f] for f in ENTRY_FIELDS})
        if not any(r.get("role") == "validator" and r.get("holder") == entry["address"] for r in roles):
            roles.append({"role": "validator", "holder": entry["address"], "namespace": "*"})
    data = {**template, "validators": validators, "roles": roles}
    parse_genesis(data)  # the same checks a node makes when it starts
    return data


def write_genesis(path: Path, data: dict) -> None:
    path = Path(path)
    if path.is_dir():
        path = path / GENESIS_FILE
    path.write_text(json.dumps(data, indent=2) + "\n")
