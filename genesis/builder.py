"""Build genesis files: the dev preset with funded, printed keys, and the home directory layout.

The dev keys are derived from a fixed phrase, like Hardhat's and Anvil's default accounts, so
scripts and docs can rely on them. They are public: never fund them on a real network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import coincurve
from schwifty import IBAN

from contracts.evm.genesis import alloc_json
from genesis.files import (
    COMPLIANCE_KEY_FILE,
    DEV_ACCOUNTS_FILE,
    GENESIS_FILE,
    NODE_CONFIG_FILE,
    P2P_KEY_FILE,
    VALIDATOR_KEY_FILE,
)
from genesis.schema import parse_genesis
from ledger.hashing import keccak
from ledger.tx import address_of_key

DEV_CHAIN_ID = 1337
DEV_BANK_CODE = "37040044"
DEV_CURRENCIES = (("EUR", 2), ("USD", 2), ("GBP", 2))
DEV_BALANCE_MAJOR = 1_000_000
DEV_NATIVE_WEI = 1_000_000 * 10**18  # each dev key's native coin (18 decimals), for gas and value


@dataclass(frozen=True)
class DevKey:
    private_key: bytes

    @property
    def address(self) -> str:
        return address_of_key(self.private_key)


def dev_key(index: int) -> DevKey:
    return DevKey(keccak(f"qenex dev account {index}".encode()))


def dev_iban(currency_index: int, key_index: int) -> str:
    return str(
        IBAN.generate("DE", bank_code=DEV_BANK_CODE, account_code=f"{currency_index * 1000 + key_index + 1:010d}")
    )


def build_dev_genesis(
    validator_key: bytes | Sequence[bytes],
    accounts: int = 5,
    chain_id: int = DEV_CHAIN_ID,
    block_interval_ms: int = 1000,
    p2p: dict[bytes, dict] | None = None,
    full_nodes: Sequence[dict] = (),
) -> tuple[dict, list[dict]]:
    """A dev chain of one or more validators; dev key 0 is governor and the dev bank's operator.

    `p2p` maps a validator key to its genesis P2P fields (p2p_certificate, p2p_binding);
    `full_nodes` are genesis entries of registered non-validator nodes."""
    if not 1 <= accounts <= 1000:
        raise ValueError("the dev genesis funds between 1 and 1000 accounts")
    validator_keys = [validator_key] if isinstance(validator_key, bytes) else list(validator_key)
    keys = [dev_key(i) for i in range(accounts)]
    operator = keys[0].address
    genesis_accounts: list[dict] = []
    listing: list[dict] = []
    for key_index, key in enumerate(keys):
        owned = []
        for currency_index, (code, exponent) in enumerate(DEV_CURRENCIES):
            balance = DEV_BALANCE_MAJOR * 10**exponent
            iban = dev_iban(currency_index, key_index)
            genesis_accounts.append(
                {
                    "id": iban,
                    "currency": code,
                    "owner": key.address,
                    "flags": ["debits_must_not_exceed_credits"],
                    "balance": balance,
                }
            )
            owned.append({"id": iban, "currency": code, "balance": balance})
        listing.append(
            {
                "address": key.address,
                "private_key": "0x" + key.private_key.hex(),
                "accounts": owned,
                "native_wei": str(DEV_NATIVE_WEI),
            }
        )
    for code, _ in DEV_CURRENCIES:
        genesis_accounts.append({"id": f"FX:DEVBANK:{code}", "currency": code, "owner": operator})
    data = {
        "chain_id": chain_id,
        "genesis_time": int(time.time()),
        "block": {"interval_ms": block_interval_ms, "max_transactions": 10_000, "empty_blocks": False},
        "currencies": [{"code": code, "exponent": exponent} for code, exponent in DEV_CURRENCIES],
        "validators": [
            {
                "name": "dev-validator" if len(validator_keys) == 1 else f"validator-{index}",
                "address": address_of_key(key),
                "public_key": "0x" + coincurve.PrivateKey(key).public_key.format(compressed=False)[1:].hex(),
                "power": 1,
                **(p2p or {}).get(key, {}),
            }
            for index, key in enumerate(validator_keys)
        ],
        "roles": [
            {"role": "governor", "holder": operator, "namespace": "*"},
            {"role": "operator", "holder": operator, "namespace": f"iban:DE:{DEV_BANK_CODE}"},
            {"role": "operator", "holder": operator, "namespace": "prefix:FX:DEVBANK:"},
            {"role": "operator", "holder": operator, "namespace": "prefix:ISSUANCE:"},
            *({"role": "validator", "holder": address_of_key(key), "namespace": "*"} for key in validator_keys),
        ],
        "issuance": {code: {"account": f"ISSUANCE:{code}", "owner": operator} for code, _ in DEV_CURRENCIES},
        "accounts": genesis_accounts,
        "evm": {"alloc": alloc_json({key.address: DEV_NATIVE_WEI for key in keys})},
    }
    if full_nodes:
        data["full_nodes"] = list(full_nodes)
    parse_genesis(data)  # the builder never writes a file the node would refuse
    return data, listing


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def init_dev_home(
    home: Path, accounts: int = 5, chain_id: int = DEV_CHAIN_ID, force: bool = False, block_interval_ms: int = 1000
) -> list[dict]:
    """Write genesis.json, validator.key and dev-accounts.json into `home`."""
    home = Path(home)
    genesis_path = home / GENESIS_FILE
    if genesis_path.exists() and not force:
        raise FileExistsError(f"{genesis_path} exists; pass --force to overwrite it (and delete {home / 'data'})")
    home.mkdir(parents=True, exist_ok=True)
    validator_key = os.urandom(32)
    data, listing = build_dev_genesis(validator_key, accounts, chain_id, block_interval_ms)
    genesis_path.write_text(json.dumps(data, indent=2) + "\n")
    write_private(home / VALIDATOR_KEY_FILE, "0x" + validator_key.hex() + "\n")
    write_private(home / DEV_ACCOUNTS_FILE, json.dumps(listing, indent=2) + "\n")
    return listing


SCREENING_MODEL_DIR = "screening-model"


def dev_compliance_key() -> DevKey:
    """The dev chain's compliance officer (public like the other dev keys)."""
    return DevKey(keccak(b"qenex dev compliance"))


def enable_screening(
    home: Path, model_dir: Path, hold_expiry_seconds: int = 86400, label_delay_seconds: int = 7 * 86400
) -> str:
    """Turn fraud screening on in a dev home before its first start (docs/screening.md).

    Pins the model by the SHA-256 of its manifest.json (which pins model.skops), copies the model
    to <home>/screening-model, grants the compliance role to the dev compliance key and writes
    that key to <home>/compliance.key. Returns the pinned hash.
    """
    home, model_dir = Path(home), Path(model_dir)
    manifest = model_dir / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"{model_dir} has no manifest.json; train one with `qenex fraud train`")
    if (home / "data").exists():
        raise FileExistsError(f"{home / 'data'} exists: genesis can only change before the chain's first start")
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    genesis_path = home / GENESIS_FILE
    data = json.loads(genesis_path.read_text())
    data["screening"] = {
        "model_sha256": digest,
        "hold_expiry_seconds": hold_expiry_seconds,
        "label_delay_seconds": label_delay_seconds,
    }
    compliance = dev_compliance_key()
    data["roles"] = [r for r in data["roles"] if r["role"] != "compliance"] + [
        {"role": "compliance", "holder": compliance.address, "namespace": "*"}
    ]
    parse_genesis(data)
    target = home / SCREENING_MODEL_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(model_dir, target)
    genesis_path.write_text(json.dumps(data, indent=2) + "\n")
    write_private(home / COMPLIANCE_KEY_FILE, "0x" + compliance.private_key.hex() + "\n")
    return digest


NETWORK_MAX_TRANSACTIONS = 2000


def p2p_fields(node_key: bytes, chain_id: int) -> tuple[dict, bytes]:
    """A fresh TLS identity for a node: its genesis fields and its private TLS key (PEM)."""
    from consensus.transport import make_node_certificate

    certificate, binding = make_node_certificate(node_key, chain_id)
    fields = {"p2p_certificate": certificate.certificate_pem.decode(), "p2p_binding": "0x" + binding.signature.hex()}
    return fields, certificate.key_pem


def init_network_homes(
    home: Path,
    validators: int = 4,
    full_nodes: int = 0,
    accounts: int = 5,
    chain_id: int = DEV_CHAIN_ID,
    block_interval_ms: int = 1000,
    host: str = "127.0.0.1",
    rpc_base_port: int = 8545,
    p2p_base_port: int = 26656,
) -> tuple[list[dict], list[dict]]:
    """Write one home per node under `home` (validator-0.., full-0..) sharing one genesis.

    Each home holds genesis.json, validator.key (the node's secp256k1 key: it votes if the node
    is a validator, and signs the node's TLS identity either way), p2p-key.pem and node.json
    (its ports and its peers). Returns the dev accounts and one entry per node."""
    if not 1 <= validators <= 64 or not 0 <= full_nodes <= 16:
        raise ValueError("a devnet has 1..64 validators and 0..16 full nodes")
    home = Path(home)
    names = [f"validator-{i}" for i in range(validators)] + [f"full-{i}" for i in range(full_nodes)]
    keys = {name: os.urandom(32) for name in names}
    identities = {name: p2p_fields(keys[name], chain_id) for name in names}
    validator_keys = [keys[name] for name in names[:validators]]
    full_entries = [
        {"name": name, "address": address_of_key(keys[name]), **identities[name][0]} for name in names[validators:]
    ]
    p2p = {keys[name]: identities[name][0] for name in names[:validators]}
    data, listing = build_dev_genesis(validator_keys, accounts, chain_id, block_interval_ms, p2p, full_entries)
    # Every validator re-executes every block within a round's timeouts: keep blocks to what one
    # validator executes in well under a second on a small machine.
    data["block"]["max_transactions"] = NETWORK_MAX_TRANSACTIONS
    genesis_text = json.dumps(data, indent=2) + "\n"
    nodes = [
        {
            "name": name,
            "role": "validator" if index < validators else "full",
            "address": address_of_key(keys[name]),
            "home": str(home / name),
            "rpc": {"host": host, "port": rpc_base_port + index},
            "p2p": {"host": host, "port": p2p_base_port + index},
        }
        for index, name in enumerate(names)
    ]
    for node in nodes:
        node_home = Path(node["home"])
        if (node_home / GENESIS_FILE).exists():
            raise FileExistsError(f"{node_home / GENESIS_FILE} exists; remove {home} or choose another --home")
        node_home.mkdir(parents=True, exist_ok=True)
        (node_home / GENESIS_FILE).write_text(genesis_text)
        write_private(node_home / VALIDATOR_KEY_FILE, "0x" + keys[node["name"]].hex() + "\n")
        write_private(node_home / P2P_KEY_FILE, identities[node["name"]][1].decode())
        peers = [{k: other[k] for k in ("name", "address", "p2p")} for other in nodes if other is not node]
        config = {k: node[k] for k in ("name", "role", "rpc", "p2p")} | {"peers": peers}
        (node_home / NODE_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    write_private(home / DEV_ACCOUNTS_FILE, json.dumps(listing, indent=2) + "\n")
    return listing, nodes
