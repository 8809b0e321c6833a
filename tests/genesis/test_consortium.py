"""The runbook's consortium steps with the real commands: each bank makes its keys, one genesis is
assembled from the public entries, and the four nodes it describes commit a payment together."""

from __future__ import annotations

import json
import os
import stat

import pytest
from support.nodes import run_cli, signed_transfer, wait_receipt

from genesis.builder import GENESIS_FILE, NODE_CONFIG_FILE, P2P_KEY_FILE, VALIDATOR_KEY_FILE, build_dev_genesis
from node.cluster import free_ports, start_node
from node.rpc.client import RpcClient

BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")
CHAIN_ID = 4242


def template() -> tuple[dict, list[dict]]:
    """Everything but the validators: the dev genesis's currencies, roles and funded accounts."""
    data, listing = build_dev_genesis(os.urandom(32), accounts=2, chain_id=CHAIN_ID, block_interval_ms=300)
    del data["validators"]
    data["roles"] = [r for r in data["roles"] if r["role"] != "validator"]
    return data, listing


def keygen(tmp_path, bank: str, chain_id: int = CHAIN_ID) -> dict:
    entry_path = tmp_path / f"{bank}.json"
    result = run_cli("genesis", "keygen", "--home", str(tmp_path / bank), "--name", bank,
                     "--chain-id", str(chain_id), "--out", str(entry_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(entry_path.read_text())


def test_keygen_keeps_secrets_in_the_home_and_publishes_only_the_public_entry(tmp_path):
    entry = keygen(tmp_path, "bank-a")
    home = tmp_path / "bank-a"
    key = (home / VALIDATOR_KEY_FILE).read_text().strip()
    for name in (VALIDATOR_KEY_FILE, P2P_KEY_FILE):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    text = json.dumps(entry)
    assert key[2:] not in text and "PRIVATE KEY" not in text
    assert entry["name"] == "bank-a" and entry["chain_id"] == CHAIN_ID and entry["p2p_certificate"]
    again = run_cli("genesis", "keygen", "--home", str(home), "--name", "bank-a", "--chain-id", "1")
    assert again.returncode == 1 and "exists" in again.stderr


def test_assemble_refuses_an_entry_made_for_another_chain(tmp_path):
    data, _ = template()
    (tmp_path / "template.json").write_text(json.dumps(data))
    keygen(tmp_path, "bank-a", chain_id=1)
    result = run_cli("genesis", "assemble", "--template", str(tmp_path / "template.json"),
                     "--validator", str(tmp_path / "bank-a.json"), "--out", str(tmp_path / "genesis.json"))  # fmt: skip
    assert result.returncode == 1 and "made for chain 1, the template is 4242" in result.stderr
    assert not (tmp_path / "genesis.json").exists()


@pytest.mark.slow
def test_four_banks_assemble_a_genesis_and_their_nodes_commit_a_payment(tmp_path):
    data, listing = template()
    (tmp_path / "template.json").write_text(json.dumps(data))
    entries = [keygen(tmp_path, bank) for bank in BANKS]
    genesis_path = tmp_path / "genesis.json"
    result = run_cli("genesis", "assemble", "--template", str(tmp_path / "template.json"),
                     *[a for bank in BANKS for a in ("--validator", str(tmp_path / f"{bank}.json"))],
                     "--out", str(genesis_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert run_cli("genesis", "validate", str(genesis_path)).returncode == 0

    p2p_ports = dict(zip(BANKS, free_ports(len(BANKS)), strict=True))
    for bank, entry in zip(BANKS, entries, strict=True):
        home = tmp_path / bank
        (home / GENESIS_FILE).write_bytes(genesis_path.read_bytes())  # byte-identical for every bank
        peers = [{"name": e["name"], "address": e["address"],
                  "p2p": {"host": "127.0.0.1", "port": p2p_ports[e["name"]]}}
                 for e in entries if e is not entry]  # fmt: skip
        config = {"name": bank, "role": "validator", "rpc": {"host": "127.0.0.1", "port": 0},
                  "p2p": {"host": "127.0.0.1", "port": p2p_ports[bank]}, "peers": peers}  # fmt: skip
        (home / NODE_CONFIG_FILE).write_text(json.dumps(config))
    processes = []
    try:
        for bank in BANKS:
            processes.append(start_node(tmp_path / bank, "info"))
        rpc = RpcClient(processes[0][1], timeout=10)
        raw = signed_transfer(listing, 0, 1, 250, 0, 77, chain_id=CHAIN_ID)
        receipt = wait_receipt(rpc, rpc.call("eth_sendRawTransaction", "0x" + raw.hex()), timeout=60)
        assert receipt["status"] == "0x1"
        block = rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)
        assert len(block["commit"]) >= 3  # a quorum of the four banks signed it
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=30)
