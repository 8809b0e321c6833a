"""Chain actions (node/governance.py): validator-set changes approved by > 2/3 of the power, taking
effect two blocks later; the one-third movement rule; equivocation evidence; `ledger verify` replays
the governance records into the same state roots."""

from __future__ import annotations

import time
from pathlib import Path

import coincurve
import pytest

from consensus.commit import sign_commit
from consensus.types import Vote, VoteKind, vote_digest
from genesis.builder import GENESIS_FILE, VALIDATOR_KEY_FILE, init_network_homes
from genesis.schema import load_genesis
from ledger.codec import address_bytes
from ledger.tx import LedgerTransaction, address_of_key, decode_transaction
from node import governance
from node.chain import Chain
from node.execution import SignedTransaction, execute_block
from node.p2p import wire
from node.verify import verify_chain


class Net:
    def __init__(self, tmp_path: Path) -> None:
        _, nodes = init_network_homes(tmp_path / "net", validators=4, full_nodes=1, accounts=2)
        self.keys = [bytes.fromhex((Path(n["home"]) / VALIDATOR_KEY_FILE).read_text().strip()[2:]) for n in nodes]
        self.genesis = load_genesis(Path(nodes[0]["home"]) / GENESIS_FILE)
        self.chain = Chain(tmp_path / "data", self.genesis)
        self.nonces: dict[bytes, int] = {}

    def action(self, key: bytes, action) -> SignedTransaction:
        nonce = self.nonces.get(key, 0)
        self.nonces[key] = nonce + 1
        raw = LedgerTransaction(self.genesis.chain_id, nonce, (), action=action).sign(key).encode()
        tx = decode_transaction(raw)
        return SignedTransaction(tx, raw, tx.hash, tx.sender())

    def block(self, *transactions: SignedTransaction) -> list:
        """Execute and commit the next block, certified by the validators of its height."""
        chain = self.chain
        number = chain.height + 1
        timestamp = max(chain.head.header.timestamp, int(time.time()))
        outcome = execute_block(chain.ledger, chain.rules, number, timestamp, list(transactions))
        proposer = min(chain.validators_at(number).powers)
        executed = chain.seal(list(transactions), outcome, timestamp, address_bytes(proposer))
        signers = [k for k in self.keys if address_of_key(k).lower() in chain.validators_at(number).powers]
        chain.commit_executed(executed, tuple(sign_commit(executed.block.hash, k) for k in signers))
        return outcome.receipts

    def public_key(self, index: int) -> bytes:
        return coincurve.PrivateKey(self.keys[index]).public_key.format(compressed=False)[1:]

    def address(self, index: int) -> str:
        return address_of_key(self.keys[index])


@pytest.fixture
def net(tmp_path):
    n = Net(tmp_path)
    yield n
    n.chain.close()


def test_a_full_node_becomes_a_validator_two_blocks_after_a_two_thirds_approval(net):
    full = 4
    propose = net.action(net.keys[0], governance.propose_validator(net.address(full), net.public_key(full), 1, 50))
    (receipt,) = net.block(propose)
    assert receipt.status == 1
    assert len(net.chain.validators_at(10).powers) == 4  # one approval of four: nothing scheduled
    (second,) = net.block(net.action(net.keys[1], governance.approve(propose.hash)))
    assert second.status == 1 and len(net.chain.validators_at(10).powers) == 4  # 2 of 4 is not > 2/3
    (third,) = net.block(net.action(net.keys[2], governance.approve(propose.hash)))
    assert third.status == 1
    approved_in = net.chain.height
    assert len(net.chain.validators_at(approved_in + 1).powers) == 4
    assert net.address(full).lower() in net.chain.validators_at(approved_in + 2).powers
    (late,) = net.block(net.action(net.keys[3], governance.approve(propose.hash)))
    assert (late.status, late.error_rule) == (0, "proposal_decided")
    net.block()  # block approved_in + 2 is certified by the new set of five (4 signers of 5 > 2/3)
    assert net.chain.height == approved_in + 2
    assert verify_chain(net.chain).ok


@pytest.mark.parametrize(
    ("signer", "target", "power", "rule"),
    [
        (4, 4, 1, "not_a_validator"),  # a full node cannot propose
        (0, 4, 3, "power_shift_too_large"),  # 3 of 4 would move at once
        (0, None, 1, "validator_unregistered"),  # no P2P certificate in genesis
    ],
)
def test_refused_proposals_name_the_rule(net, signer, target, power, rule):
    if target is None:
        key = bytes(31) + b"\x07"
        address = address_of_key(key)
        public = coincurve.PrivateKey(key).public_key.format(compressed=False)[1:]
    else:
        address, public = net.address(target), net.public_key(target)
    (receipt,) = net.block(net.action(net.keys[signer], governance.propose_validator(address, public, power, 50)))
    assert (receipt.status, receipt.error_rule) == (0, rule)
    assert len(net.chain.validators_at(100).powers) == 4


def test_removing_a_validator_and_approving_twice(net):
    proposal = net.action(net.keys[1], governance.propose_validator(net.address(0), net.public_key(0), 0, 50))
    net.block(proposal)
    (twice,) = net.block(net.action(net.keys[1], governance.approve(proposal.hash)))
    assert twice.error_rule == "already_approved"
    approvals = [net.action(net.keys[i], governance.approve(proposal.hash)) for i in (2, 3)]
    net.block(*approvals)
    height = net.chain.height
    assert net.address(0).lower() not in net.chain.validators_at(height + 2).powers
    assert len(net.chain.validators_at(height + 2).powers) == 3
    net.block()
    net.block()
    assert verify_chain(net.chain).ok


def signed_vote(key: bytes, block_id: bytes | None, chain_id: int, height: int = 1) -> bytes:
    sign = coincurve.PrivateKey(key).sign_recoverable
    digest = vote_digest(VoteKind.PREVOTE, chain_id, height, 0, block_id)
    vote = Vote(VoteKind.PREVOTE, chain_id, height, 0, block_id, address_of_key(key).lower(), sign(digest, hasher=None))
    return wire.encode(wire.VoteMessage(vote))


def test_equivocation_evidence_is_recorded_once(net):
    chain_id = net.genesis.chain_id
    a, b = signed_vote(net.keys[2], b"\x01" * 32, chain_id), signed_vote(net.keys[2], b"\x02" * 32, chain_id)
    (receipt,) = net.block(net.action(net.keys[0], governance.evidence(a, b)))
    assert receipt.status == 1
    (again,) = net.block(net.action(net.keys[1], governance.evidence(b, a)))
    assert again.error_rule == "evidence_known"
    same = signed_vote(net.keys[2], b"\x01" * 32, chain_id)
    (not_two,) = net.block(net.action(net.keys[0], governance.evidence(a, same)))
    assert not_two.error_rule == "not_equivocation"
    forged = bytearray(signed_vote(net.keys[3], b"\x03" * 32, chain_id))
    other = signed_vote(net.keys[3], b"\x04" * 32, chain_id)
    forged[-10] ^= 1  # inside the signature (the last byte is the empty commit signature)
    (bad,) = net.block(net.action(net.keys[0], governance.evidence(bytes(forged), other)))
    assert (bad.status, bad.error_rule) == (0, "bad_signature")
    records = [governance.describe_evidence(v) for _, v in net.chain.ledger.records(b"ev:")]
    assert [r["validator"].lower() for r in records] == [net.address(2).lower()]
    assert verify_chain(net.chain).ok


def test_reweighting_a_validator(net):
    reweight = net.action(net.keys[0], governance.propose_validator(net.address(1), net.public_key(1), 2, 50))
    net.block(reweight, *[net.action(net.keys[i], governance.approve(reweight.hash)) for i in (2, 3)])
    effective = net.chain.validators_at(net.chain.height + 2)
    assert effective.powers[net.address(1).lower()] == 2 and effective.total_power == 5
    net.block()
    net.block()  # certified by signers holding > 2/3 of 5
    assert verify_chain(net.chain).ok


def test_removing_the_validator_due_to_propose_next(net):
    from consensus.proposer import proposer

    net.block()
    target_height = net.chain.height + 4  # proposal block, approvals block, then + 2
    due = proposer(net.chain.validators_at(target_height), target_height, 0)
    index = next(i for i in range(4) if net.address(i).lower() == due)
    others = [i for i in range(4) if i != index]
    change = governance.propose_validator(net.address(index), net.public_key(index), 0, 60)
    removal = net.action(net.keys[others[0]], change)
    net.block(removal)
    (receipt, _) = net.block(*[net.action(net.keys[i], governance.approve(removal.hash)) for i in others[1:]])
    assert receipt.status == 1 and net.chain.height + 2 == target_height
    after = net.chain.validators_at(target_height)
    assert due not in after.powers and proposer(after, target_height, 0) != due
    net.block()
    net.block()
    assert net.chain.height == target_height
    assert verify_chain(net.chain).ok
