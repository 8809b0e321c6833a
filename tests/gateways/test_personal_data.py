"""Personal data of payment messages: never on chain, sealed for the party banks only, erasable by
destroying the data key while the chain still verifies. Envelopes through the public functions;
the whole path through `qenex gateway submit --pii-vault` against a running node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from support.nodes import run_cli, wait_receipt

from gateways.personal_data import PersonalDataError, Vault, extract, open_envelope, seal
from ledger.hashing import keccak

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
MT103 = SAMPLES / "mt" / "mt103__mt2mx-input__finMessage_p_2_3_1_a_A_D.fin"
# Names and postal addresses in the MT103 sample (fields 50F and 59F).
PERSONAL = ("A Debiter", "High Street", "Epping", "B Creditor Co", "Las Ramblas", "Barcelona")


def _sample() -> bytes:
    if not MT103.is_file():
        pytest.skip(f"sample not present at {MT103}")
    return MT103.read_bytes()


def test_extract_finds_names_addresses_and_remittance():
    fields = extract(_sample())
    text = "\n".join(fields.values())
    assert all(word in text for word in PERSONAL)
    assert any(path.endswith("remittance_information") for path in fields)


def test_only_the_party_banks_open_the_envelope_and_tampering_is_detected():
    keys = {bank: X25519PrivateKey.generate() for bank in ("BANKA", "BANKB", "BANKC")}
    message_hash = keccak(b"a message")
    envelope = seal({"/debtor/name": "Dave", "/remittance": "invoice 7"}, message_hash,
                    {b: keys[b].public_key() for b in ("BANKA", "BANKB")})  # fmt: skip
    assert "Dave" not in json.dumps(envelope)
    for bank in ("BANKA", "BANKB"):
        assert open_envelope(envelope, bank, keys[bank]) == {"/debtor/name": "Dave", "/remittance": "invoice 7"}
    with pytest.raises(PersonalDataError, match="not a party"):
        open_envelope(envelope, "BANKC", keys["BANKC"])
    stolen = {**envelope, "keys": {"BANKC": envelope["keys"]["BANKA"]}}  # a third member's key on A's wrap
    with pytest.raises(PersonalDataError, match="does not open"):
        open_envelope(stolen, "BANKC", keys["BANKC"])
    moved = {**envelope, "message_hash": keccak(b"another message").hex()}  # bound to its payment
    with pytest.raises(PersonalDataError):
        open_envelope(moved, "BANKA", keys["BANKA"])


def test_submit_keeps_personal_data_off_chain_for_party_banks_and_erasure_keeps_the_chain_verifiable(
    running_node, tmp_path: Path
):
    data = _sample()
    node, listing = running_node
    keys, vault = tmp_path / "bank-keys", tmp_path / "vault"
    (tmp_path / "pass").write_text("a long bank passphrase")
    for bank in ("CLYDGB2S", "BSCHESMM", "THRDDEFF"):  # the two banks of the MT103 and a third member
        made = run_cli("gateway", "pii", "keygen", bank, "--keys", str(keys),
                       "--passphrase-file", str(tmp_path / "pass"))  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert (keys / f"{bank}.key").stat().st_mode & 0o777 == 0o600
        assert b"ENCRYPTED" in (keys / f"{bank}.key").read_bytes()
    debit, credit = listing[1]["accounts"][0], listing[2]["accounts"][0]
    (tmp_path / "map.json").write_text(json.dumps({"25698745": debit["id"], "65479512": credit["id"]}))
    (tmp_path / "mt103.fin").write_bytes(data)
    done = run_cli("gateway", "submit", str(tmp_path / "mt103.fin"), "--rpc", node.url, "--from",
                   listing[0]["private_key"], "--accounts-map", str(tmp_path / "map.json"), "--wait",
                   "--pii-vault", str(vault), "--pii-keys", str(keys))  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    [sent] = [line for line in lines if "transactionHash" in line and "receipt" not in line]
    receipt = wait_receipt(node.rpc, sent["transactionHash"])
    message_hash = "0x" + keccak(data).hex()

    # What every member sees: the transaction, its block, the journal. No name, no address.
    seen = json.dumps([
        node.rpc.call("eth_getTransactionByHash", sent["transactionHash"]),
        node.rpc.call("eth_getBlockByNumber", receipt["blockNumber"], True),
        node.rpc.call("qenex_getJournal", debit["id"]),
        receipt,
    ])  # fmt: skip
    assert message_hash in seen
    assert not [word for word in PERSONAL if word in seen]
    assert not [word for word in PERSONAL if word.encode() in (vault / f"{message_hash[2:]}.json").read_bytes()]

    def show(bank: str) -> object:
        return run_cli("gateway", "pii", "show", message_hash, "--bank", bank, "--vault", str(vault),
                       "--keys", str(keys), "--passphrase-file", str(tmp_path / "pass"))  # fmt: skip

    for bank in ("CLYDGB2S", "BSCHESMM"):
        opened = show(bank)
        assert opened.returncode == 0, opened.stderr
        assert all(word in opened.stdout for word in PERSONAL)
    third = show("THRDDEFF")
    assert third.returncode == 1 and "not a party" in third.stderr

    state_root = node.rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)["stateRoot"]
    erased = run_cli("gateway", "pii", "erase", message_hash, "--vault", str(vault))
    assert erased.returncode == 0, erased.stderr
    after = show("CLYDGB2S")
    assert after.returncode == 1 and "erased" in after.stderr
    assert node.rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)["stateRoot"] == state_root
    assert node.stop() == 0
    verified = run_cli("ledger", "verify", "--home", str(node.home))
    assert verified.returncode == 0, verified.stderr + verified.stdout


def test_vault_refuses_unknown_payments(tmp_path: Path):
    with pytest.raises(PersonalDataError, match="no personal data"):
        Vault(tmp_path).get(b"\x00" * 32)
