"""Wire values, events and actions of the Tendermint state machine (consensus/state_machine.py).

Everything here is a frozen dataclass: the state machine is a pure function from (state, event)
to (state, actions), so its inputs and outputs must be values that cannot change underneath it.

Signing bytes are canonical RLP lists that name the chain, height, round, message kind and block
id, so a signature for one of them can never be replayed as another (another chain, another round,
a prevote as a precommit). A non-nil precommit also carries `commit_signature`, a plain signature
over the block hash: that is what consensus.commit.verify_commit checks, so a block store or a
light client verifies a certificate without knowing rounds or vote encodings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger import rlp_encode
from ledger.codec import int_to_bytes
from ledger.hashing import keccak

BLOCK_ID_BYTES = 32
SIGNATURE_BYTES = 65
NIL = None  # a vote for no block


class VoteKind(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


class Step(IntEnum):
    """The order matters: line 36 of Algorithm 1 tests `step >= prevote`."""

    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2


class TimeoutKind(IntEnum):
    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2


@dataclass(frozen=True, slots=True)
class Vote:
    kind: VoteKind
    chain_id: int
    height: int
    round: int
    block_id: bytes | None  # None is a vote for nil
    validator: str
    signature: bytes = b""
    commit_signature: bytes = b""  # non-nil precommits only: a signature over block_id itself

    def signing_digest(self) -> bytes:
        return vote_digest(self.kind, self.chain_id, self.height, self.round, self.block_id)


@dataclass(frozen=True, slots=True)
class Proposal:
    chain_id: int
    height: int
    round: int
    block_id: bytes
    valid_round: int  # -1: no earlier polka (line 19's validRound)
    proposer: str
    signature: bytes = b""

    def signing_digest(self) -> bytes:
        return proposal_digest(self.chain_id, self.height, self.round, self.block_id, self.valid_round)


def vote_digest(kind: VoteKind, chain_id: int, height: int, round_: int, block_id: bytes | None) -> bytes:
    fields = [b"qenex/vote", int_to_bytes(chain_id), int_to_bytes(height), int_to_bytes(round_), int_to_bytes(kind)]
    return keccak(rlp_encode.encode([*fields, block_id or b""]))


def proposal_digest(chain_id: int, height: int, round_: int, block_id: bytes, valid_round: int) -> bytes:
    # valid_round + 1 so that "none" (-1) encodes as the empty string, like every other integer 0
    fields = [b"qenex/proposal", int_to_bytes(chain_id), int_to_bytes(height), int_to_bytes(round_)]
    return keccak(rlp_encode.encode([*fields, block_id, int_to_bytes(valid_round + 1)]))


# --- events: everything that can happen to a validator ---------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    proposal: Proposal
    block: object  # opaque to consensus; its id and validity come from the Config callbacks


@dataclass(frozen=True, slots=True)
class VoteReceived:
    vote: Vote


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    kind: TimeoutKind
    height: int
    round: int


Event = ProposalReceived | VoteReceived | TimeoutFired


# --- actions: everything the driver must do for the validator --------------------------------


@dataclass(frozen=True, slots=True)
class Broadcast:
    message: Proposal | Vote
    block: object = None  # the proposed block, for proposals


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    kind: TimeoutKind
    height: int
    round: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Commit:
    """Line 51: decision[h] = v. `certificate` holds > 2/3 of the power in precommits for id(v)."""

    height: int
    round: int
    block: object
    block_id: bytes
    certificate: tuple[Vote, ...]
    proposal: Proposal  # the proposal decided on, so a driver can help peers that lag behind

    def commit_signatures(self) -> list[bytes]:
        """The signatures consensus.commit.verify_commit checks against `block_id`."""
        return [vote.commit_signature for vote in self.certificate]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two different signed votes by one validator for the same height, round and kind."""

    vote_a: Vote
    vote_b: Vote


Action = Broadcast | ScheduleTimeout | Commit | Evidence
