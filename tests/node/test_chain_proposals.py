"""Proposals between validators (node/chain.py): a block sealed by one validator is re-executed by
another, every header field is checked, nothing is stored before a certificate exists, and the
stored root is the sealed one."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from support.nodes import signed_transfer

from consensus.commit import sign_commit
from genesis.builder import GENESIS_FILE, VALIDATOR_KEY_FILE, init_network_homes
from genesis.schema import load_genesis
from ledger.codec import address_bytes
from ledger.tx import address_of_key, decode_transaction
from node.block import Block
from node.chain import Chain
from node.execution import InvalidBlockError, SignedTransaction, execute_block


@pytest.fixture
def network(tmp_path):
    listing, nodes = init_network_homes(tmp_path / "net", validators=4, accounts=3)
    keys = [bytes.fromhex((Path(n["home"]) / VALIDATOR_KEY_FILE).read_text().strip()[2:]) for n in nodes]
    genesis = load_genesis(Path(nodes[0]["home"]) / GENESIS_FILE)
    chains = [Chain(tmp_path / f"data-{i}", genesis) for i in range(2)]
    yield listing, keys, chains
    for chain in chains:
        chain.close()


def signed(raw: bytes) -> SignedTransaction:
    tx = decode_transaction(raw)
    return SignedTransaction(tx, raw, tx.hash, tx.sender())


def propose(chain: Chain, listing: list[dict], proposer_key: bytes, amount: int = 500):
    nonce = chain.ledger.nonce(listing[0]["address"])
    transactions = [signed(signed_transfer(listing, 0, 1, amount, nonce, 7 + amount))]
    timestamp = max(chain.head.header.timestamp, int(time.time()))
    outcome = execute_block(chain.ledger, chain.rules, chain.height + 1, timestamp, transactions)
    return chain.seal(transactions, outcome, timestamp, address_bytes(address_of_key(proposer_key))), transactions


def certificate(block: Block, keys: list[bytes], signers: int = 3) -> tuple[bytes, ...]:
    return tuple(sign_commit(block.hash, key) for key in keys[:signers])


def test_a_sealed_proposal_is_re_executed_and_committed_by_another_validator(network):
    listing, keys, (a, b) = network
    root_before = a.ledger.root
    proposal, transactions = propose(a, listing, keys[0])
    assert a.ledger.root == root_before and a.height == 0  # sealing stores nothing
    executed = b.execute_proposal(proposal.block, transactions)
    assert executed.block.hash == proposal.block.hash
    for chain, outcome in ((a, proposal), (b, executed)):
        stored = chain.commit_executed(outcome, certificate(proposal.block, keys))
        assert chain.height == 1 and chain.ledger.root == stored.header.state_root == proposal.block.header.state_root
    assert a.block(1) == b.block(1)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("state_root", bytes(32), "state_root"),
        ("receipts_root", bytes(32), "receipts_root"),
        ("transactions_root", bytes(32), "transactions_root"),
        ("parent_hash", bytes(32), "parent_hash"),
        ("number", 2, "number"),
        ("proposer", bytes(20), "proposer"),
        ("extra_data", b"other", "extra_data"),
        ("gas_limit", 1, "gas_limit"),
        ("timestamp", 0, "timestamp"),
    ],
)
def test_a_proposal_with_a_wrong_header_field_is_refused_and_changes_nothing(network, field, value, named):
    listing, keys, (a, b) = network
    proposal, transactions = propose(a, listing, keys[0])
    forged = Block(dataclasses.replace(proposal.block.header, **{field: value}), proposal.block.transactions)
    root = b.ledger.root
    with pytest.raises(InvalidBlockError, match=named):
        b.execute_proposal(forged, transactions)
    assert b.ledger.root == root and b.height == 0


def test_no_block_is_stored_without_a_quorum_certificate(network):
    listing, keys, (a, _) = network
    proposal, _ = propose(a, listing, keys[0])
    with pytest.raises(InvalidBlockError, match="commit"):
        a.commit_executed(proposal, certificate(proposal.block, keys, signers=2))  # 2 of 4 is no quorum
    outsider = bytes(31) + b"\x01"
    with pytest.raises(InvalidBlockError, match="not a validator"):
        a.commit_executed(proposal, (*certificate(proposal.block, keys, 2), sign_commit(proposal.block.hash, outsider)))
    assert a.height == 0
    a.commit_executed(proposal, certificate(proposal.block, keys))
    assert a.height == 1


def test_an_outcome_executed_over_an_older_head_cannot_be_committed(network):
    listing, keys, (a, _) = network
    first, _ = propose(a, listing, keys[0], amount=100)
    stale, _ = propose(a, listing, keys[1], amount=200)  # also over block 0
    a.commit_executed(first, certificate(first.block, keys))
    with pytest.raises(InvalidBlockError, match="parent_hash"):
        a.commit_executed(stale, certificate(stale.block, keys))
