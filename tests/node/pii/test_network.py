"""Personal data in band across four validator processes over TLS.

Bank A's gateway submits an MT103 through node 1 with its names and addresses sealed for the two
party banks; the envelope travels to every node over P2P; bank B opens it through node 3's RPC,
a third member's key cannot, nobody without the gateway/operator role can hand one in, and no
block holds a name. Then the bank operator erases it with a chain action: every node shreds its
copy (node 4, down meanwhile, when it syncs the block) and refuses it again, and `qenex ledger verify`
passes on every node (Network.assert_consistent).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.cluster import start_network
from support.nodes import run_cli

from gateways.personal_data import create_bank_key
from ledger.hashing import keccak
from node.pii.request import sign_request
from node.rpc.client import RpcCallError, RpcClient

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
MT103 = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
PERSONAL = ("A Debiter", "High Street", "Epping", "B Creditor Co", "Las Ramblas", "Barcelona")
BANK_A, BANK_B, BANK_C = "CLYDGB2S", "BSCHESMM", "THRDDEFF"  # the MT103's two banks and a third member


def _until(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


@pytest.fixture
def network(tmp_path):
    net = start_network(tmp_path, validators=4)
    yield net
    net.stop()


def test_envelope_travels_to_every_node_opens_only_for_party_banks_and_erasure_shreds_it_everywhere(
    network, tmp_path
):
    if not MT103.is_file():
        pytest.skip(f"sample not present at {MT103}")
    data = MT103.read_bytes()
    assert all(word.encode() in data for word in PERSONAL)  # the grep below can find them
    message_hash = "0x" + keccak(data).hex()
    listing = network.listing
    keys, passphrase = tmp_path / "bank-keys", tmp_path / "pass"
    passphrase.write_text("a long bank passphrase")
    for bank in (BANK_A, BANK_B, BANK_C):
        create_bank_key(keys, bank, passphrase.read_bytes())
    # Bank B's gateway reads through node 3 with an API key its operator issued there; node 1 too.
    api_keys = {}
    for index in (0, 2):
        made = run_cli("rpc", "api-key", "add", f"bank-gateway-{index}", "--role", "gateway",
                       "--home", str(network.nodes[index].home))  # fmt: skip
        assert made.returncode == 0, made.stderr
        api_keys[index] = made.stdout.split()[0]

    # 1. Bank A's gateway (dev key 0: operator of the dev bank's IBANs) submits through node 1.
    debit, credit = listing[1]["accounts"][0]["id"], listing[2]["accounts"][0]["id"]
    (tmp_path / "map.json").write_text(json.dumps({"25698745": debit, "65479512": credit}))
    (tmp_path / "mt103.fin").write_bytes(data)
    network.kill(3)  # node 4 is down while the envelope is gossiped
    submitted = run_cli("gateway", "submit", str(tmp_path / "mt103.fin"), "--rpc", network.nodes[0].rpc_url,
                        "--from", listing[0]["private_key"], "--accounts-map", str(tmp_path / "map.json"),
                        "--wait", "--pii-keys", str(keys))  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr + submitted.stdout
    lines = [json.loads(line) for line in submitted.stdout.splitlines() if line.strip()]
    [sealed] = [line["personalData"] for line in lines if "personalData" in line]
    assert sealed["messageHash"] == message_hash and sealed["stored"] and sealed["banks"] == [BANK_B, BANK_A]
    [booked] = [line for line in lines if "transactionHash" in line and "receipt" not in line]

    # 2. Every node holds the envelope (gossip), as ciphertext only, in an owner-only file. Node 4 missed
    # the gossip; what another node serves is a signed request it takes, as any node would.
    def holds(index: int) -> bool:
        path = network.nodes[index].home / "personal-data" / f"{message_hash[2:]}.json"
        return path.exists() and b'"keys"' in path.read_bytes()  # bytes: an erasure shreds it in place first

    for index in range(3):
        _until(lambda index=index: holds(index), f"node {index + 1} never received the envelope")
    network.restart(3)
    network.wait_height(3, network.height(0))
    assert not holds(3)
    copied = RpcClient(network.nodes[2].rpc_url, headers={"X-API-Key": api_keys[2]}).call(
        "qenex_getPersonalData", message_hash
    )
    request = {key: copied[key] for key in ("envelope", "account", "signature")}
    assert network.rpc(3).call("qenex_putPersonalData", request)["stored"]
    assert not network.rpc(0).call("qenex_putPersonalData", request)["stored"]  # the same request: held already
    for index in range(4):
        _until(lambda index=index: holds(index), f"node {index + 1} never received the envelope")
        path = network.nodes[index].home / "personal-data" / f"{message_hash[2:]}.json"
        assert path.stat().st_mode & 0o777 == 0o600
        assert not [word for word in PERSONAL if word.encode() in path.read_bytes()]

    # 3. Bank B opens it through node 3; bank C (a member, not a party) sees only ciphertext.
    def show(bank: str, index: int = 2, *extra: str) -> object:
        return run_cli("gateway", "pii", "show", "--rpc", network.nodes[index].rpc_url, "--message-hash",
                       message_hash, "--bank", bank, "--keys", str(keys), "--passphrase-file", str(passphrase),
                       *extra)  # fmt: skip

    opened = show(BANK_B, 2, "--api-key", api_keys[2])
    assert opened.returncode == 0, opened.stderr
    assert all(word in opened.stdout for word in PERSONAL)
    third = show(BANK_C, 2, "--api-key", api_keys[2])
    assert third.returncode == 1 and "not a party" in third.stderr
    anonymous = show(BANK_B, 2)
    assert anonymous.returncode == 1 and "needs authentication" in anonymous.stderr
    with pytest.raises(RpcCallError, match="needs authentication"):
        network.rpc(3).call("qenex_getPersonalData", message_hash)

    # 4. Nobody without the role puts: dev key 1 holds none; a forged or altered request names no role holder.
    served = RpcClient(network.nodes[2].rpc_url, headers={"X-API-Key": api_keys[2]}).call(
        "qenex_getPersonalData", message_hash
    )
    assert served["account"] == debit
    chain_id = int(network.rpc(0).call("eth_chainId"), 16)
    operator_key = bytes.fromhex(listing[0]["private_key"][2:])
    other = keccak(b"another message")
    moved = {**served["envelope"], "message_hash": other.hex()}
    outsider = sign_request(moved, debit, chain_id, bytes.fromhex(listing[1]["private_key"][2:]))
    with pytest.raises(RpcCallError, match=r"may not personal_data\.put"):
        network.rpc(1).call("qenex_putPersonalData", outsider)
    stolen = {**outsider, "signature": sign_request(served["envelope"], debit, chain_id, operator_key)["signature"]}
    with pytest.raises(RpcCallError, match=r"may not personal_data\.put"):
        network.rpc(1).call("qenex_putPersonalData", stolen)  # a role holder's signature over another envelope
    with pytest.raises(RpcCallError, match="request must have exactly the members"):
        network.rpc(1).call("qenex_putPersonalData", {"envelope": served["envelope"]})
    assert not (network.nodes[1].home / "personal-data" / f"{other.hex()}.json").exists()

    # 5. No block holds a name: every block of every node, with its transactions.
    receipt = network.rpc(0).call("eth_getTransactionReceipt", booked["transactionHash"])
    assert receipt["status"] == "0x1"
    for index in range(4):
        head = network.height(index)
        blocks = json.dumps([network.rpc(index).call("eth_getBlockByNumber", hex(n), True) for n in range(head + 1)])
        assert message_hash in blocks  # the link to the envelope is on chain
        assert not [word for word in PERSONAL if word in blocks]

    # 6. Erasure: refused for a key without the role; done by the bank operator; shredded everywhere.
    refused = run_cli("gateway", "pii", "erase", "--rpc", network.nodes[1].rpc_url, "--message-hash", message_hash,
                      "--key", listing[1]["private_key"], "--account", debit)  # fmt: skip
    assert refused.returncode == 1 and "unauthorized" in refused.stderr
    assert holds(1)
    network.kill(3)  # node 4 is down while the erasure commits: it shreds when it syncs the block
    erased = run_cli("gateway", "pii", "erase", "--rpc", network.nodes[0].rpc_url, "--message-hash", message_hash,
                     "--key", listing[0]["private_key"], "--api-key", api_keys[0])  # the account: as stored
    assert holds(3)
    network.restart(3)
    assert erased.returncode == 0, erased.stderr + erased.stdout
    block = json.loads(erased.stdout)["blockNumber"]
    for index in range(4):
        _until(lambda index=index: not holds(index), f"node {index + 1} kept the envelope after the erasure")
        path = network.nodes[index].home / "personal-data" / f"{message_hash[2:]}.json"
        assert json.loads(path.read_text()) == {"message_hash": message_hash[2:], "erased": block}
    gone = show(BANK_B, 0, "--api-key", api_keys[0])
    assert gone.returncode == 1 and f"erased in block {block}" in gone.stderr
    with pytest.raises(RpcCallError, match=f"erased in block {block}"):
        network.rpc(3).call("qenex_putPersonalData", sign_request(served["envelope"], debit, chain_id, operator_key))
    # The submission and the shredding are in the hash-chained audit log of the node that took them.
    audit = [json.loads(line) for line in (network.nodes[0].home / "audit.log").read_text().splitlines()]
    put, erase = [e for e in audit if e["action"].startswith("personal_data")]
    assert (put["action"], put["actor"].lower(), put["detail"]["message_hash"], put["detail"]["account"]) == (
        "personal_data.put", listing[0]["address"].lower(), message_hash, debit)
    assert (erase["action"], erase["outcome"], erase["detail"]) == (
        "personal_data.erase", "shredded", {"message_hash": message_hash, "height": block})
    verified = run_cli("audit", "verify", "--home", str(network.nodes[0].home))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    network.assert_consistent()  # same blocks everywhere; `qenex ledger verify` passes on every node
