"""Screening in a running node, over JSON-RPC: verdicts in receipts, holds, compliance decisions,
expiry, rejections that never reach a block, fraud reports and the labelled export."""

from __future__ import annotations

import csv
import json
import time

import coincurve
import pytest
from support.nodes import make_home, run_cli, signed_transfer, start_node, wait_receipt

from genesis.builder import dev_compliance_key, enable_screening
from ledger.hashing import keccak
from node.rpc.client import RpcCallError
from node.rpc.errors import UNAUTHORIZED
from node.screening.model import model_hash
from node.screening.review import decision_message, report_message

from .conftest import with_thresholds

SMALL = 1_000  # 10.00 EUR: an ordinary payment
LARGE = 90_000  # 900.00 EUR: above the simulator's fraud amount (scenario 1), scored high


def send(rpc, raw: bytes) -> str:
    return rpc.call("eth_sendRawTransaction", "0x" + raw.hex())


def refused_rule(rpc, raw: bytes) -> tuple[str, str]:
    with pytest.raises(RpcCallError) as refused:
        send(rpc, raw)
    return refused.value.data["rule"], str(refused.value)


def compliance_sign(home, message: bytes) -> str:
    key = bytes.fromhex((home / "compliance.key").read_text().strip()[2:])
    return "0x" + coincurve.PrivateKey(key).sign_recoverable(message, hasher=None).hex()


def all_block_tx_hashes(rpc) -> set[str]:
    head = int(rpc.call("eth_blockNumber"), 16)
    return {h for n in range(1, head + 1) for h in rpc.call("eth_getBlockByNumber", hex(n), False)["transactions"]}


@pytest.mark.slow
def test_hold_release_reject_and_expiry(screening_node):
    node, listing, home = screening_node
    rpc, operator = node.rpc, node.operator_rpc
    pinned = json.loads((home / "genesis.json").read_text())["screening"]["model_sha256"]

    allowed = wait_receipt(rpc, send(rpc, signed_transfer(listing, 0, 1, SMALL, 0, 1)))
    assert allowed["status"] == "0x1"
    assert allowed["screening"]["verdict"] == "allow" and allowed["screening"]["modelSha256"] == pinned
    assert allowed["screening"]["scorePpm"] < 300_000

    held_raw = signed_transfer(listing, 1, 0, LARGE, 0, 2)
    rule, message = refused_rule(rpc, held_raw)
    assert rule == "fraud_hold" and "held for compliance review" in message
    with pytest.raises(RpcCallError, match="needs authentication") as anonymous:  # names customers under review
        rpc.call("qenex_getHeldTransactions")
    assert anonymous.value.code == UNAUTHORIZED
    [held] = operator.call("qenex_getHeldTransactions")
    assert held["sender"] == listing[1]["address"] and held["screening"]["scorePpm"] >= 300_000
    assert held["screening"]["topFeatures"]
    # the sender's other transactions wait for the decision on the held one (which has its nonce)
    assert refused_rule(rpc, signed_transfer(listing, 1, 0, SMALL, 0, 3))[0] == "fraud_sender_held"

    chain_id = int(rpc.call("eth_chainId"), 16)
    tx_hash = bytes.fromhex(held["hash"][2:])
    not_compliance = (
        "0x"
        + coincurve.PrivateKey(bytes.fromhex(listing[0]["private_key"][2:]))
        .sign_recoverable(decision_message(chain_id, tx_hash, "release"), hasher=None)
        .hex()
    )
    with pytest.raises(RpcCallError, match="compliance role"):
        rpc.call("qenex_reviewHeldTransaction", held["hash"], "release", not_compliance)
    released = rpc.call(
        "qenex_reviewHeldTransaction",
        held["hash"],
        "release",
        compliance_sign(home, decision_message(chain_id, tx_hash, "release")),
    )
    assert released["status"] == "submitted" and released["decision"] == "release"
    assert wait_receipt(rpc, released["actionTransaction"])["status"] == "0x1"  # the decision is on chain
    receipt = wait_receipt(rpc, held["hash"])
    assert receipt["status"] == "0x1" and receipt["screening"]["verdict"] == "released"
    assert operator.call("qenex_getHeldTransactions") == []

    # hold -> reject: never in a block, and the sender may go on
    rejected_raw = signed_transfer(listing, 2, 0, LARGE, 0, 4)
    assert refused_rule(rpc, rejected_raw)[0] == "fraud_hold"
    [held] = operator.call("qenex_getHeldTransactions")
    rejected_hash = bytes.fromhex(held["hash"][2:])
    decided = rpc.call(
        "qenex_reviewHeldTransaction",
        held["hash"],
        "reject",
        compliance_sign(home, decision_message(chain_id, rejected_hash, "reject")),
    )
    assert decided["status"] == "submitted"
    assert wait_receipt(rpc, decided["actionTransaction"])["status"] == "0x1"
    status = rpc.call("qenex_getReviewStatus", held["hash"])
    assert status["status"] == "rejected" and status["decidedBy"].lower() == dev_compliance_key().address.lower()
    with pytest.raises(RpcCallError, match="already rejected"):
        rpc.call(
            "qenex_reviewHeldTransaction",
            held["hash"],
            "release",
            compliance_sign(home, decision_message(chain_id, rejected_hash, "release")),
        )
    assert refused_rule(rpc, bytes.fromhex(held["raw"][2:]))[0] == "fraud_reject", "sent again: still rejected"
    after = wait_receipt(rpc, send(rpc, signed_transfer(listing, 2, 0, SMALL, 0, 5)))
    assert after["status"] == "0x1"
    assert held["hash"] not in all_block_tx_hashes(rpc)
    assert rpc.call("eth_getTransactionReceipt", held["hash"]) is None

    # hold -> expiry (the genesis of this node says 3 seconds)
    assert refused_rule(rpc, signed_transfer(listing, 0, 2, LARGE, 1, 6))[0] == "fraud_hold"
    [held] = operator.call("qenex_getHeldTransactions")
    deadline = time.monotonic() + 15
    while operator.call("qenex_getHeldTransactions") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert rpc.call("qenex_getReviewStatus", held["hash"])["status"] == "expired"
    assert held["hash"] not in all_block_tx_hashes(rpc)


@pytest.mark.slow
def test_a_rejected_transaction_never_enters_a_block(tmp_path, small_model):
    model = with_thresholds(small_model, tmp_path / "model", 300_000, 300_000)
    home, listing = make_home(tmp_path)
    enable_screening(home, model)
    node = start_node(home)
    try:
        rpc, operator = node.rpc, node.operator_rpc
        raw = signed_transfer(listing, 1, 0, LARGE, 0, 7)
        rule, message = refused_rule(rpc, raw)
        assert rule == "fraud_reject" and "top features" in message
        assert operator.call("qenex_getHeldTransactions") == []
        listed = run_cli("fraud", "held", "--rpc", node.url, "--home", str(home))  # the node's JWT
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
        refused = run_cli("fraud", "held", "--rpc", node.url)
        assert refused.returncode == 1 and "--api-key" in refused.stderr
        ok = wait_receipt(rpc, send(rpc, signed_transfer(listing, 1, 0, SMALL, 0, 8)))  # the nonce stays free
        assert ok["status"] == "0x1" and ok["screening"]["verdict"] == "allow"
        assert "0x" + keccak(raw).hex() not in all_block_tx_hashes(rpc)
    finally:
        node.stop()


@pytest.mark.slow
def test_fraud_reports_are_exported_with_their_label(screening_node, tmp_path):
    node, listing, home = screening_node
    rpc = node.rpc
    wait_receipt(rpc, send(rpc, signed_transfer(listing, 0, 1, SMALL, 0, 0x51)))
    chain_id = int(rpc.call("eth_chainId"), 16)
    dev_key = bytes.fromhex(listing[0]["private_key"][2:])
    not_compliance = coincurve.PrivateKey(dev_key).sign_recoverable(report_message(chain_id, 0x51), hasher=None)
    with pytest.raises(RpcCallError, match="compliance role"):
        rpc.call("qenex_reportFraud", "0x51", "0x" + not_compliance.hex())
    reported = rpc.call("qenex_reportFraud", "0x51", compliance_sign(home, report_message(chain_id, 0x51)))
    assert reported["status"] == "submitted"
    assert wait_receipt(rpc, reported["actionTransaction"])["status"] == "0x1"
    again = rpc.call("qenex_reportFraud", "0x51", compliance_sign(home, report_message(chain_id, 0x51)))
    assert again["status"] == "already_reported"
    wait_receipt(rpc, send(rpc, signed_transfer(listing, 0, 1, SMALL, 1, 0x52)))
    out = tmp_path / "export.csv"
    result = run_cli("fraud", "export", "--rpc", node.url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = {row["TRANSACTION_ID"]: row for row in csv.DictReader(out.open())}
    assert rows[str(0x51)]["TX_FRAUD"] == "1" and rows[str(0x52)]["TX_FRAUD"] == "0"
    assert rows[str(0x51)]["TX_AMOUNT"] == "10.00" and rows[str(0x51)]["CUSTOMER_ID"] == listing[0]["accounts"][0]["id"]


@pytest.mark.slow
def test_a_node_refuses_a_model_other_than_the_pinned_one(tmp_path, small_model):
    home, _ = make_home(tmp_path)
    enable_screening(home, small_model)
    manifest = home / "screening-model" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["thresholds"]["hold_ppm"] = 1_000_000  # screen nothing: a validator trying to wave payments through
    manifest.write_text(json.dumps(data))
    assert model_hash(home / "screening-model") != model_hash(small_model)
    with pytest.raises(RuntimeError, match="differs from the pinned"):
        start_node(home, timeout=20)


@pytest.mark.slow
def test_a_chain_without_a_pinned_model_does_not_screen(running_node):
    node, listing = running_node
    receipt = wait_receipt(node.rpc, send(node.rpc, signed_transfer(listing, 0, 1, LARGE, 0, 9)))
    assert receipt["status"] == "0x1" and receipt["screening"] is None
    with pytest.raises(RpcCallError, match="not enabled"):
        node.operator_rpc.call("qenex_getHeldTransactions")
