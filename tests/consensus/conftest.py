"""A four-validator harness for driving one state machine by hand (the unit tests' CometBFT-style
"validator stubs": we sign other validators' messages and feed them in as events)."""

from __future__ import annotations

import pytest

from consensus import state_machine as sm
from consensus.commit import ValidatorPower, ValidatorSet
from consensus.proposer import proposer
from consensus.signing import verify_proposal, verify_vote
from consensus.simulator import CHAIN_ID, block_id, honest_value, is_valid, signer, validator_key
from consensus.types import (
    Broadcast,
    Proposal,
    ProposalReceived,
    Vote,
    VoteKind,
    VoteReceived,
    proposal_digest,
    vote_digest,
)
from ledger.tx import address_of_key


class Harness:
    def __init__(self, n: int = 4) -> None:
        self.n = n
        self.addresses = [address_of_key(validator_key(i)).lower() for i in range(n)]
        self.validators = ValidatorSet(ValidatorPower(a, 1) for a in self.addresses)

    def proposer_index(self, height: int, round_: int) -> int:
        return self.addresses.index(proposer(self.validators, height, round_))

    def not_proposer(self, height: int, rounds: range) -> int:
        busy = {self.proposer_index(height, r) for r in rounds}
        return min(i for i in range(self.n) if i not in busy)

    def config(self, me: int, **overrides: object) -> sm.Config:
        fields = dict(
            chain_id=CHAIN_ID,
            validators=self.validators,
            address=self.addresses[me],
            sign=signer(me),
            verify_vote=verify_vote,
            verify_proposal=verify_proposal,
            is_valid=is_valid,
            block_id=block_id,
            get_value=honest_value(self.addresses[me]),
        )
        fields.update(overrides)
        return sm.Config(**fields)

    def start(self, me: int, **overrides: object) -> tuple[sm.State, list]:
        return sm.start(self.config(me, **overrides))

    def vote(self, i: int, kind: VoteKind, round_: int, block: bytes | None, height: int = 1,
             chain_id: int = CHAIN_ID) -> VoteReceived:  # fmt: skip
        bid = None if block is None else block_id(block)
        sign = signer(i)
        commit_signature = sign(bid) if kind == VoteKind.PRECOMMIT and bid is not None else b""
        signature = sign(vote_digest(kind, chain_id, height, round_, bid))
        return VoteReceived(Vote(kind, chain_id, height, round_, bid, self.addresses[i], signature, commit_signature))

    def prevote(self, i: int, round_: int, block: bytes | None, height: int = 1) -> VoteReceived:
        return self.vote(i, VoteKind.PREVOTE, round_, block, height)

    def precommit(self, i: int, round_: int, block: bytes | None, height: int = 1) -> VoteReceived:
        return self.vote(i, VoteKind.PRECOMMIT, round_, block, height)

    def proposal(self, round_: int, block: bytes, valid_round: int = -1, height: int = 1, by: int | None = None,
                 chain_id: int = CHAIN_ID) -> ProposalReceived:  # fmt: skip
        i = self.proposer_index(height, round_) if by is None else by
        bid = block_id(block)
        signature = signer(i)(proposal_digest(chain_id, height, round_, bid, valid_round))
        return ProposalReceived(
            Proposal(chain_id, height, round_, bid, valid_round, self.addresses[i], signature), block
        )

    @staticmethod
    def feed(state: sm.State, *events: object) -> tuple[sm.State, list]:
        """Apply events in order; return the final state and all the actions."""
        actions: list = []
        for event in events:
            state, more = sm.step(state, event)
            actions.extend(more)
        return state, actions

    @staticmethod
    def sent(actions: list, kind: VoteKind) -> list[bytes | None]:
        """The block ids of the votes of `kind` among the actions' broadcasts."""
        return [
            a.message.block_id
            for a in actions
            if isinstance(a, Broadcast) and isinstance(a.message, Vote) and a.message.kind == kind
        ]


@pytest.fixture
def harness() -> Harness:
    return Harness()
