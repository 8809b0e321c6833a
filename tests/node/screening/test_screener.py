"""The screener inside a chain (in process): the node's features equal the offline replay of the
same blocks, and two nodes given the same blocks give byte-identical receipts and verdicts."""

from __future__ import annotations

import shutil

import coincurve

from genesis.builder import build_dev_genesis
from genesis.schema import parse_genesis
from ledger.hashing import keccak
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction, address_of_key, decode_transaction
from node.block import encode_receipts
from node.chain import Chain
from node.execution import SignedTransaction
from node.screening.actions import decision_action, report_action
from node.screening.features import DAY, FEATURE_NAMES, replay_blocks
from node.screening.model import model_hash
from node.screening.review import decision_message, report_message
from node.screening.screener import MODEL_DIR, install_screening, payments_of

VALIDATOR_KEY = keccak(b"screening test validator")
COMPLIANCE_KEY = keccak(b"screening test compliance")
START = 1_800_000_000


def make_chain(tmp_path, name, model):
    data, listing = build_dev_genesis(VALIDATOR_KEY, accounts=4)
    data["genesis_time"] = START
    data["screening"] = {"model_sha256": model_hash(model), "label_delay_seconds": 0}
    data["roles"].append({"role": "compliance", "holder": address_of_key(COMPLIANCE_KEY), "namespace": "*"})
    genesis = parse_genesis(data)
    home = tmp_path / name
    shutil.copytree(model, home / MODEL_DIR)
    chain = Chain(home / "data", genesis)
    return chain, install_screening(genesis, home, chain), listing


def signed(listing, payer, payee, amount, nonce, transfer_id):
    debit, credit = listing[payer]["accounts"][0], listing[payee]["accounts"][0]
    transfer = Transfer(transfer_id, debit["id"], credit["id"], amount, "EUR")
    raw = LedgerTransaction(1337, nonce, (transfer,)).sign(bytes.fromhex(listing[payer]["private_key"][2:])).encode()
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, keccak(raw), tx.sender())


def schedule(listing):
    """Blocks of small payments over several days: (timestamp, transactions)."""
    nonces = [0] * len(listing)
    blocks, transfer_id = [], 1
    for number in range(12):
        txs = []
        for payer in range(len(listing)):
            payee = (payer + number + 1) % len(listing)
            if payee == payer:
                continue
            txs.append(signed(listing, payer, payee, 500 + 137 * number + payer, nonces[payer], transfer_id))
            nonces[payer] += 1
            transfer_id += 1
        blocks.append((START + 3600 * 7 * (number + 1), txs))
    return blocks


def run(chain, screener, blocks):
    receipts = []
    for timestamp, txs in blocks:
        block, block_receipts = chain.produce_block(txs, VALIDATOR_KEY, timestamp)
        screener.block_committed(block, block_receipts)
        receipts.append(encode_receipts(block_receipts))
    return receipts


def test_online_features_equal_the_offline_replay_of_the_same_blocks(tmp_path, small_model):
    chain, screener, listing = make_chain(tmp_path, "a", small_model)
    blocks = schedule(listing)
    online = []
    for timestamp, txs in blocks:
        for tx in txs:  # what the node computes for each transaction before the block
            online.extend(screener.state.block_features(timestamp, payments_of(tx.tx, screener.exponents)))
        block, receipts = chain.produce_block(txs, VALIDATOR_KEY, timestamp)
        assert all(r.screening is not None and r.screening.verdict == "allow" for r in receipts)
        screener.block_committed(block, receipts)
    blocks_read_back = [
        (
            chain.block(n).header.timestamp,
            [
                p
                for raw in chain.block(n).transactions
                for p in payments_of(decode_transaction(raw), screener.exponents)
            ],
        )
        for n in range(1, chain.height + 1)
    ]
    offline = replay_blocks(blocks_read_back, screener.state.config)
    assert online == offline
    chain.close()


def test_two_nodes_screen_the_same_blocks_identically(tmp_path, small_model):
    chain_a, screener_a, listing = make_chain(tmp_path, "a", small_model)
    chain_b, screener_b, _ = make_chain(tmp_path, "b", small_model)
    blocks = schedule(listing)
    receipts_a, receipts_b = run(chain_a, screener_a, blocks), run(chain_b, screener_b, blocks)
    assert receipts_a == receipts_b
    assert chain_a.head.header.receipts_root == chain_b.head.header.receipts_root
    assert chain_a.head.hash == chain_b.head.hash
    chain_a.close()
    chain_b.close()


def test_a_restarted_node_rebuilds_the_same_feature_state(tmp_path, small_model):
    chain, screener, listing = make_chain(tmp_path, "a", small_model)
    blocks = schedule(listing)
    run(chain, screener, blocks[:8])
    genesis, home = chain.genesis, tmp_path / "a"
    chain.close()
    reopened = Chain(home / "data", genesis)
    rebuilt = install_screening(genesis, home, reopened)
    probe_time, probe = blocks[8][0], [p for tx in blocks[8][1] for p in payments_of(tx.tx, rebuilt.exponents)]
    chain2, screener2, _ = make_chain(tmp_path, "b", small_model)
    run(chain2, screener2, blocks[:8])
    assert rebuilt.state.block_features(probe_time, probe) == screener2.state.block_features(probe_time, probe)
    reopened.close()
    chain2.close()


def test_a_fraud_report_feeds_the_counterparty_risk_from_the_next_block(tmp_path, small_model):
    chain, screener, listing = make_chain(tmp_path, "a", small_model)
    blocks = schedule(listing)
    run(chain, screener, blocks[:6])
    paid = blocks[0][1][0]
    probe = [p for p in payments_of(paid.tx, screener.exponents)]
    risk = FEATURE_NAMES.index("credit_risk_30d")
    later = blocks[6][0] + 2 * DAY
    assert screener.state.block_features(later, probe)[0][risk] == 0.0
    transfer_id = paid.tx.transfers[0].id
    report = compliance_action(report_action(transfer_id, compliance_signature(report_message(1337, transfer_id))), 0)
    timestamp, txs = blocks[6]
    run(chain, screener, [(timestamp, [*txs, report])])
    assert screener.state.block_features(later, probe)[0][risk] > 0.0, "the block recording the report"
    assert screener.reported_ids() == {transfer_id}
    again = compliance_action(report_action(transfer_id, compliance_signature(report_message(1337, transfer_id))), 1)
    _, [receipt] = chain.produce_block([again], VALIDATOR_KEY, timestamp + 60)
    assert receipt.status == 0 and receipt.error_rule == "already_reported"
    reopened_state = screener.state.block_features(later, probe)
    genesis, home = chain.genesis, tmp_path / "a"
    chain.close()
    reopened = Chain(home / "data", genesis)
    assert install_screening(genesis, home, reopened).state.block_features(later, probe) == reopened_state
    reopened.close()


def compliance_signature(message: bytes) -> bytes:
    return coincurve.PrivateKey(COMPLIANCE_KEY).sign_recoverable(message, hasher=None)


def compliance_action(action, nonce: int) -> SignedTransaction:
    raw = LedgerTransaction(1337, nonce, (), action=action).sign(COMPLIANCE_KEY).encode()
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, keccak(raw), tx.sender())


def test_compliance_decisions_are_chain_records_every_node_reads(tmp_path, small_model):
    chain, screener, listing = make_chain(tmp_path, "a", small_model)
    held = signed(listing, 0, 1, 700, 0, 99)
    decision = decision_action(held.hash, "reject", compliance_signature(decision_message(1337, held.hash, "reject")))
    forged = decision_action(held.hash, "release", compliance_signature(decision_message(1337, held.hash, "reject")))
    _, receipts = chain.produce_block(
        [compliance_action(forged, 0), compliance_action(decision, 1)], VALIDATOR_KEY, START + 60
    )
    assert [r.status for r in receipts] == [0, 1]
    assert receipts[0].error_rule == "unauthorized", "a signature over another decision recovers someone else"
    screener.block_committed(chain.head, receipts)
    assert screener.decision(held.hash).decision == "reject"
    assert screener.screen(held, START + 120).verdict == "reject"
    other, _, _ = make_chain(tmp_path, "b", small_model)
    assert other.execute_proposal(chain.head, [compliance_action(forged, 0), compliance_action(decision, 1)])
