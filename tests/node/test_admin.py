"""Administrative chain actions (node/admin.py) executed in real blocks over a real chain store:
the authorisation matrix against the permission table, governance votes (too few, expired,
twice, self-grant), and account controls (freeze, close, limits) enforced in block application,
with `ledger verify` replaying the resulting state roots."""

from __future__ import annotations

import os
import time
from pathlib import Path

import coincurve
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.commit import sign_commit
from genesis.builder import build_dev_genesis, dev_iban, dev_key
from genesis.schema import GenesisError, parse_genesis
from ledger.authz import DEBITING_ROLES, ROLES, RoleGrant
from ledger.codec import address_bytes
from ledger.permissions import PERMISSIONS, allowed, current_grants
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction, address_of_key, decode_transaction
from node import governance
from node.admin import (
    PROPOSAL_PREFIX,
    AdminKind,
    ChangeKind,
    Proposal,
    account_action,
    describe_proposal,
    propose,
    vote,
)
from node.chain import Chain
from node.execution import SignedTransaction, execute_block
from node.verify import verify_chain

BANK = f"iban:DE:{dev_iban(0, 0)[4:12]}"
GOVERNORS = [dev_key(10).private_key, dev_key(11).private_key, dev_key(12).private_key]
ACTORS = {  # one key per role; "validator" is the chain's validator key (set in Harness)
    "governor": dev_key(11).private_key,
    "operator": dev_key(0).private_key,
    "gateway": dev_key(13).private_key,
    "compliance": dev_key(14).private_key,
    "auditor": dev_key(15).private_key,
    "nobody": dev_key(16).private_key,
}


def grant(role: str, key: bytes, namespace: str = "*") -> dict:
    return {"role": role, "holder": address_of_key(key), "namespace": namespace}


class Harness:
    def __init__(self, tmp_path: Path, governors: list[bytes] = GOVERNORS, governance: dict | None = None) -> None:
        self.validator_key = os.urandom(32)
        data, self.listing = build_dev_genesis(self.validator_key, accounts=6)
        data["roles"] = [
            *(grant("governor", k) for k in governors),
            *(grant("operator", ACTORS["operator"], ns) for ns in (BANK, "prefix:FX:DEVBANK:", "prefix:ISSUANCE:")),
            grant("gateway", ACTORS["gateway"], BANK),
            grant("compliance", ACTORS["compliance"], BANK),
            grant("auditor", ACTORS["auditor"]),
        ]
        if governance is not None:
            data["governance"] = governance
        self.genesis = parse_genesis(data)
        self.chain = Chain(tmp_path / "data", self.genesis)
        self.timestamp = int(time.time())
        self.transfer_id = 1

    def signed(self, key: bytes, action=None, transfers=()) -> SignedTransaction:
        nonce = self.chain.ledger.nonce(address_of_key(key))
        raw = LedgerTransaction(self.genesis.chain_id, nonce, tuple(transfers), action=action).sign(key).encode()
        tx = decode_transaction(raw)
        return SignedTransaction(tx, raw, tx.hash, tx.sender())

    def block(self, *transactions: SignedTransaction, advance: int = 1) -> list:
        chain = self.chain
        self.timestamp += advance
        outcome = execute_block(chain.ledger, chain.rules, chain.height + 1, self.timestamp, list(transactions))
        validator = address_of_key(self.validator_key)
        executed = chain.seal(list(transactions), outcome, self.timestamp, address_bytes(validator))
        chain.commit_executed(executed, (sign_commit(executed.block.hash, self.validator_key),))
        return outcome.receipts

    def one(self, key: bytes, action=None, transfers=(), advance: int = 1):
        (receipt,) = self.block(self.signed(key, action, transfers), advance=advance)
        return receipt

    def transfer(self, debit: str, credit: str, amount: int) -> Transfer:
        self.transfer_id += 1
        return Transfer(self.transfer_id, debit, credit, amount, "EUR")

    def grants(self) -> tuple[RoleGrant, ...]:
        return current_grants(self.chain.ledger, self.genesis.roles)

    def proposal(self, proposal_id: bytes) -> dict:
        data = self.chain.ledger.record(PROPOSAL_PREFIX + proposal_id)
        assert data is not None
        return describe_proposal(proposal_id, Proposal.decode(data), self.chain.ledger, self.genesis, self.chain.height)


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    report = verify_chain(harness.chain)  # the controls and grants are records the state root covers
    assert report.ok, report.problems
    harness.chain.close()


def _owner_key(index: int) -> bytes:
    return dev_key(index).private_key


DENIED = {"unauthorized", "not_a_validator", "unauthorized_debit"}


def test_every_role_may_take_exactly_the_actions_the_table_allows(h):
    """The authorisation matrix: every role x every administrative action, in real blocks."""
    actors = {**ACTORS, "validator": h.validator_key}
    public_key = coincurve.PrivateKey(h.validator_key).public_key.format(compressed=False)[1:]
    frozen, limited, closable = dev_iban(0, 1), dev_iban(0, 2), "FX:DEVBANK:EUR"
    # One open proposal per actor to vote on, made by another governor.
    ballots = {}
    for role in actors:
        ballot = h.signed(GOVERNORS[0], propose(ChangeKind.GRANT_ROLE, RoleGrant("auditor", address_of_key(
            dev_key(40 + len(ballots)).private_key)), h.chain.height + 500))  # fmt: skip
        assert h.block(ballot)[0].status == 1
        ballots[role] = ballot.hash
    builders = {
        "governance.propose": lambda role, i: propose(
            ChangeKind.GRANT_ROLE, RoleGrant("auditor", address_of_key(dev_key(60 + i).private_key)), 10_000
        ),
        "governance.vote": lambda role, i: vote(ballots[role]),
        "validator.propose": lambda role, i: governance.propose_validator(
            address_of_key(h.validator_key), public_key, 1, 10_000
        ),
        "validator.approve": lambda role, i: governance.approve(bytes(32)),
        "account.freeze": lambda role, i: account_action(AdminKind.ACCOUNT_FREEZE, frozen),
        "account.unfreeze": lambda role, i: account_action(AdminKind.ACCOUNT_UNFREEZE, frozen),
        "account.close": lambda role, i: account_action(AdminKind.ACCOUNT_CLOSE, closable),
        "account.limits": lambda role, i: account_action(AdminKind.ACCOUNT_LIMITS, limited, 500, 1000),
    }
    for action, build in builders.items():
        for i, (role, key) in enumerate(actors.items()):
            receipt = h.one(key, build(role, i))
            may = role in PERMISSIONS[action].roles
            if may:
                assert receipt.error_rule not in DENIED, (role, action, receipt.error_message)
            else:
                assert receipt.status == 0 and receipt.error_rule in DENIED, (role, action, receipt.error_rule)
    # transfer.debit: a debit of a customer's account signed by each role (not its owner)
    for role, key in actors.items():
        receipt = h.one(key, transfers=[h.transfer(dev_iban(0, 3), dev_iban(0, 4), 1)])
        may = role in PERMISSIONS["transfer.debit"].roles
        assert (receipt.status == 1) == may, (role, receipt.error_rule)
        if not may:
            assert receipt.error_rule == "unauthorized_debit"
    # screening.review is an RPC decision, not a chain action: the same table decides
    for role, key in actors.items():
        validators = [address_of_key(h.validator_key)]
        assert allowed("screening.review", address_of_key(key), h.grants(), validators) == (
            role in PERMISSIONS["screening.review"].roles
        )
    assert set(DEBITING_ROLES) == set(PERMISSIONS["transfer.debit"].roles)
    assert {r for p in PERMISSIONS.values() for r in p.roles} <= set(ROLES)


def test_scoped_roles_act_only_inside_their_namespace(h):
    outside = "FX:DEVBANK:EUR"  # not an IBAN of the dev bank: outside the compliance grant
    receipt = h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_FREEZE, outside))
    assert receipt.error_rule == "unauthorized" and "covering FX:DEVBANK:EUR" in receipt.error_message
    assert h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_FREEZE, dev_iban(0, 1))).status == 1


def _grant_compliance_proposal(h: Harness, holder: bytes, deadline: int = 1000) -> SignedTransaction:
    change = RoleGrant("compliance", address_of_key(holder), BANK)
    return h.signed(GOVERNORS[0], propose(ChangeKind.GRANT_ROLE, change, h.chain.height + deadline))


def test_a_grant_takes_more_than_two_thirds_of_governance_votes(h):
    officer = dev_key(20).private_key
    freeze = account_action(AdminKind.ACCOUNT_FREEZE, dev_iban(0, 1))
    proposal = _grant_compliance_proposal(h, officer)
    assert h.block(proposal)[0].status == 1
    assert h.one(GOVERNORS[1], vote(proposal.hash)).status == 1
    assert h.proposal(proposal.hash)["status"] == "open"  # 2 of 3 votes is not more than 2/3
    assert h.proposal(proposal.hash)["votesFor"] == 2 and h.proposal(proposal.hash)["votesTotal"] == 3
    assert h.one(officer, freeze).error_rule == "unauthorized"
    assert h.one(GOVERNORS[1], vote(proposal.hash)).error_rule == "already_voted"
    assert h.one(GOVERNORS[2], vote(proposal.hash)).status == 1
    described = h.proposal(proposal.hash)
    assert described["status"] == "executed" and described["executedIn"] == h.chain.height
    assert h.one(officer, freeze).status == 1
    officer_address = address_of_key(officer)
    granted = [g.holder for g in h.grants() if g.role == "compliance" and g.holder.lower() == officer_address.lower()]
    assert granted == [officer_address]  # EIP-55, as genesis's grants are
    assert h.one(GOVERNORS[0], vote(proposal.hash)).error_rule == "proposal_decided"
    # and revoked the same way
    revoke = h.signed(GOVERNORS[0], propose(ChangeKind.REVOKE_ROLE, RoleGrant("compliance", address_of_key(officer),
                                                                            BANK), h.chain.height + 100))  # fmt: skip
    assert h.block(revoke)[0].status == 1
    assert h.one(GOVERNORS[1], vote(revoke.hash)).status == 1
    assert h.one(GOVERNORS[2], vote(revoke.hash)).status == 1
    unfreeze = account_action(AdminKind.ACCOUNT_UNFREEZE, dev_iban(0, 1))
    assert h.one(officer, unfreeze).error_rule == "unauthorized"


def test_expired_proposals_count_no_votes(h):
    proposal = _grant_compliance_proposal(h, dev_key(21).private_key, deadline=2)
    assert h.block(proposal)[0].status == 1
    h.block()
    h.block()
    assert h.proposal(proposal.hash)["status"] == "expired"
    assert h.one(GOVERNORS[1], vote(proposal.hash)).error_rule == "proposal_expired"
    assert h.one(GOVERNORS[1], vote(b"\x01" * 32)).error_rule == "unknown_proposal"


def test_no_member_grants_itself_a_role(h):
    own = propose(ChangeKind.GRANT_ROLE, RoleGrant("operator", address_of_key(GOVERNORS[0]), BANK), 1000)
    assert h.one(GOVERNORS[0], own).error_rule == "self_grant"
    for_second = h.signed(GOVERNORS[0], propose(ChangeKind.GRANT_ROLE, RoleGrant("operator", address_of_key(
        GOVERNORS[1]), BANK), h.chain.height + 100))  # fmt: skip
    assert h.block(for_second)[0].status == 1
    assert h.one(GOVERNORS[1], vote(for_second.hash)).error_rule == "self_grant"
    assert h.proposal(for_second.hash)["votesTotal"] == 2  # the beneficiary's vote is out of the total
    assert h.one(GOVERNORS[2], vote(for_second.hash)).status == 1
    assert h.proposal(for_second.hash)["status"] == "executed"


def test_a_lone_governor_cannot_grant_itself_anything(tmp_path):
    h = Harness(tmp_path, governors=[GOVERNORS[0]])
    try:
        own = propose(ChangeKind.GRANT_ROLE, RoleGrant("compliance", address_of_key(GOVERNORS[0]), BANK), 1000)
        assert h.one(GOVERNORS[0], own).error_rule == "self_grant"
        other = propose(ChangeKind.GRANT_ROLE, RoleGrant("compliance", address_of_key(dev_key(22).private_key),
                                                         BANK), 1000)  # fmt: skip
        assert h.one(GOVERNORS[0], other).status == 1  # everyone else's role: its one vote is all votes
        assert any(g.holder == address_of_key(dev_key(22).private_key) for g in h.grants())  # EIP-55
    finally:
        h.chain.close()


def test_genesis_weights_governance_votes(tmp_path):
    weights = {"votes": {address_of_key(GOVERNORS[0]): 5}}
    h = Harness(tmp_path, governance=weights)
    try:
        proposal = h.signed(GOVERNORS[0], propose(ChangeKind.GRANT_ROLE, RoleGrant("auditor", address_of_key(
            dev_key(23).private_key)), 100))  # fmt: skip
        assert h.block(proposal)[0].status == 1
        assert h.proposal(proposal.hash)["status"] == "executed"  # 5 of 7 votes > 2/3
    finally:
        h.chain.close()
    with pytest.raises(GenesisError, match=r"governance\.votes"):
        data, _ = build_dev_genesis(os.urandom(32), accounts=1)
        parse_genesis({**data, "governance": {"votes": {address_of_key(GOVERNORS[0]): 0}}})


def test_frozen_accounts_neither_pay_nor_receive(h):
    payer, payee = dev_iban(0, 1), dev_iban(0, 2)
    payer_key = _owner_key(1)
    assert h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_FREEZE, payer)).status == 1
    out = h.one(payer_key, transfers=[h.transfer(payer, payee, 100)])
    assert out.error_rule == "account_frozen" and payer in out.error_message
    incoming = h.one(_owner_key(2), transfers=[h.transfer(payee, payer, 100)])
    assert incoming.error_rule == "account_frozen"
    assert h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_FREEZE, payer)).error_rule == "already_frozen"
    assert h.one(ACTORS["operator"], account_action(AdminKind.ACCOUNT_CLOSE, payer)).error_rule == "account_frozen"
    assert h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_UNFREEZE, payer)).status == 1
    assert h.one(payer_key, transfers=[h.transfer(payer, payee, 100)]).status == 1


def test_only_a_zero_balance_account_closes_and_then_never_moves(h):
    funded = dev_iban(0, 3)
    refused = h.one(ACTORS["operator"], account_action(AdminKind.ACCOUNT_CLOSE, funded))
    assert refused.error_rule == "balance_not_zero"
    owner = _owner_key(3)
    balance = h.chain.ledger.account(funded).balance_posted
    assert h.one(owner, transfers=[h.transfer(funded, dev_iban(0, 4), balance)]).status == 1
    assert h.one(ACTORS["operator"], account_action(AdminKind.ACCOUNT_CLOSE, funded)).status == 1
    receipt = h.one(_owner_key(4), transfers=[h.transfer(dev_iban(0, 4), funded, 1)])
    assert receipt.error_rule == "account_closed"
    again = h.one(ACTORS["compliance"], account_action(AdminKind.ACCOUNT_FREEZE, funded))
    assert again.error_rule == "account_closed"


def test_per_transfer_and_daily_limits_are_enforced_in_blocks(h):
    account, other = dev_iban(0, 5), dev_iban(0, 4)
    owner = _owner_key(5)
    assert h.one(ACTORS["operator"], account_action(AdminKind.ACCOUNT_LIMITS, account, 100, 250)).status == 1
    over = h.one(owner, transfers=[h.transfer(account, other, 101)])
    assert over.error_rule == "per_transfer_limit" and "101" in over.error_message
    assert h.one(owner, transfers=[h.transfer(account, other, 100)]).status == 1
    assert h.one(owner, transfers=[h.transfer(account, other, 100)]).status == 1
    daily = h.one(owner, transfers=[h.transfer(account, other, 100)])
    assert daily.error_rule == "daily_limit" and "250" in daily.error_message
    # a refused debit is not counted: 50 more still fits the day's 250
    assert h.one(owner, transfers=[h.transfer(account, other, 50)]).status == 1
    assert h.one(owner, transfers=[h.transfer(account, other, 1)]).error_rule == "daily_limit"
    assert h.one(owner, transfers=[h.transfer(account, other, 100)], advance=86_400).status == 1  # a new day
    lifted = h.one(ACTORS["operator"], account_action(AdminKind.ACCOUNT_LIMITS, account, 0, 0))
    assert lifted.status == 1
    assert h.one(owner, transfers=[h.transfer(account, other, 1000)]).status == 1


def test_node_identities_are_registered_and_revoked_by_governance(h, tmp_path):
    from consensus.transport import make_node_certificate
    from node.admin import NodeChange
    from node.peers import registered

    key = dev_key(50).private_key
    certificate, binding = make_node_certificate(key, h.genesis.chain_id)
    address = address_of_key(key).lower()
    public_key = coincurve.PrivateKey(key).public_key.format(compressed=False)[1:]
    as_validator = governance.propose_validator(address, public_key, 1, 10_000)
    assert h.one(h.validator_key, as_validator).error_rule == "validator_unregistered"

    forged = NodeChange(address, certificate.certificate_pem, b"\x01" * 65)
    assert h.one(GOVERNORS[0], propose(ChangeKind.REGISTER_NODE, forged, 100)).error_rule == "bad_identity"
    change = NodeChange(address, certificate.certificate_pem, binding.signature)
    proposal = h.signed(GOVERNORS[0], propose(ChangeKind.REGISTER_NODE, change, h.chain.height + 100))
    assert h.block(proposal)[0].status == 1
    assert address not in registered(h.chain.ledger, h.genesis)  # 1 of 3 votes
    assert h.one(GOVERNORS[1], vote(proposal.hash)).status == 1
    assert h.one(GOVERNORS[2], vote(proposal.hash)).status == 1
    assert registered(h.chain.ledger, h.genesis)[address] == (certificate.certificate_pem, binding.signature)
    assert h.proposal(proposal.hash)["node"]["fingerprint"] == certificate.fingerprint
    # registered: the validator-set rules now apply (one validator cannot move all its power)
    assert h.one(h.validator_key, as_validator).error_rule == "power_shift_too_large"

    validator = address_of_key(h.validator_key).lower()
    refused = propose(ChangeKind.REVOKE_NODE, NodeChange(validator), 1000)
    assert h.one(GOVERNORS[0], refused).error_rule in ("node_is_validator", "node_not_registered")
    unknown = propose(ChangeKind.REVOKE_NODE, NodeChange("0x" + "11" * 20), 1000)
    assert h.one(GOVERNORS[0], unknown).error_rule == "node_not_registered"
    revoke = h.signed(GOVERNORS[0], propose(ChangeKind.REVOKE_NODE, NodeChange(address), h.chain.height + 100))
    assert h.block(revoke)[0].status == 1
    assert h.one(GOVERNORS[1], vote(revoke.hash)).status == 1
    assert h.one(GOVERNORS[2], vote(revoke.hash)).status == 1
    assert address not in registered(h.chain.ledger, h.genesis)


_rlp_items = st.recursive(st.binary(max_size=70), lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.integers(0, 12), fields=_rlp_items, raw=st.binary(max_size=200), use_raw=st.booleans())
def test_any_action_payload_is_applied_or_refused_by_a_named_rule(h, kind, fields, raw, use_raw):
    """Payloads come from the network: whatever the bytes, an action applies or names its rule."""
    from ledger import rlp_encode
    from ledger.state import Overlay
    from ledger.tx import Action
    from node.governance import ActionContext, ActionRejected, apply_action

    payload = raw if use_raw else rlp_encode.encode(fields)
    ctx = ActionContext(Overlay(h.chain.ledger), h.genesis, h.chain.height + 1, b"\x07" * 32,
                        address_of_key(GOVERNORS[0]))  # fmt: skip
    try:
        apply_action(Action(kind, payload), ctx)
    except ActionRejected as rejected:
        assert rejected.rule and rejected.message
