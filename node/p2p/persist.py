"""The consensus state a validator must not forget across a crash: its round, step, lock, valid
value and everything it signed at the current height.

Forgetting the lock after a restart is the amnesia fault: with enough validators restarting
together, a block some honest node already committed could be replaced by another. So the
driver writes this file (atomically: temporary file, fsync, rename, fsync of the directory)
before any message it signed leaves the node, and `restore` rebuilds the state machine from it.
Votes received from others are not kept: peers re-send them (gossip).
"""

from __future__ import annotations

import os
from pathlib import Path

from consensus import state_machine as sm
from consensus.types import Step
from ledger import rlp_encode
from ledger.codec import bytes_to_int, int_to_bytes
from ledger.rlp_decode import RlpDecodingError, decode
from node.block import Block
from node.p2p import wire

MAX_STATE_BYTES = 64 * 1024 * 1024


class ConsensusStateError(RuntimeError):
    """The consensus state file is damaged: the node must not guess what it signed."""


def _block_item(block: object) -> bytes:
    return wire.encoded_block(block) if isinstance(block, Block) else b""


def encode_state(s: sm.State) -> bytes:
    proposals = [wire.encode(wire.ProposalMessage(p, block)) for p, block in s.signed_proposals.values()]
    votes = [wire.encode(wire.VoteMessage(v)) for v in s.signed_votes.values()]
    return rlp_encode.encode([
        int_to_bytes(s.height), int_to_bytes(s.round), int_to_bytes(s.step), int_to_bytes(s.round_started),
        int_to_bytes(s.locked_round + 1), _block_item(s.locked_value),
        int_to_bytes(s.valid_round + 1), _block_item(s.valid_value),
        proposals, votes,
    ])  # fmt: skip


def save_state(path: Path, s: sm.State) -> None:
    data = encode_state(s)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def restore(path: Path, config: sm.Config, height: int) -> sm.State | None:
    """The persisted state for `height`, or None if there is none (a fresh start at that height)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) > MAX_STATE_BYTES:
        raise ConsensusStateError(f"{path} is larger than {MAX_STATE_BYTES} bytes")
    try:
        f = decode(data, max_depth=6)
        if bytes_to_int(f[0]) != height:
            return None  # written at an earlier height, which is committed now
        s = sm.State(config=config, height=height)
        s.round, s.step, s.round_started = bytes_to_int(f[1]), Step(bytes_to_int(f[2])), bool(bytes_to_int(f[3]))
        s.locked_round = bytes_to_int(f[4]) - 1
        s.locked_value = wire.decode_block(f[5]) if f[5] else None
        s.valid_round = bytes_to_int(f[6]) - 1
        s.valid_value = wire.decode_block(f[7]) if f[7] else None
        for item in f[8]:
            message = wire.decode_message(item)
            assert isinstance(message, wire.ProposalMessage)
            s.signed_proposals[(message.proposal.height, message.proposal.round)] = (message.proposal, message.block)
        for item in f[9]:
            message = wire.decode_message(item)
            assert isinstance(message, wire.VoteMessage)
            vote = message.vote
            s.signed_votes[(vote.height, vote.round, vote.kind)] = vote
    except (RlpDecodingError, wire.WireError, IndexError, ValueError, AssertionError) as exc:
        raise ConsensusStateError(f"{path} is damaged ({exc}); check the signing WAL before removing it") from None
    return s
