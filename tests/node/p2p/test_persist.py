"""The consensus state file (node/p2p/persist.py): what a validator signed, its lock and valid
value survive a save and restore exactly; a block kept in several places is encoded once and the
file's bytes are the same as encoding it each time."""

from __future__ import annotations

import os

from consensus import state_machine as sm
from consensus.types import Proposal, Vote, VoteKind
from ledger import rlp_encode
from node.block import Block, Header
from node.p2p import persist, wire

ADDRESS = "0x" + "ab" * 20


def _block(transactions: int, salt: bytes = b"q") -> Block:
    header = Header(bytes(32), 3, 1_800_000_000, bytes(20), bytes(32), bytes(32), bytes(32), 0, 30_000_000, 0, salt)
    return Block(header, tuple(os.urandom(150) for _ in range(transactions)), (bytes(65),))


def _state(block: Block) -> sm.State:
    s = sm.State(config=None, height=3)  # type: ignore[arg-type] - restore needs no callbacks
    s.round, s.step = 1, sm.Step.PRECOMMIT
    s.locked_value = s.valid_value = block
    s.locked_round = s.valid_round = 1
    proposal = Proposal(1337, 3, 1, block.hash, -1, ADDRESS, bytes(range(65)))
    s.signed_proposals[(3, 1)] = (proposal, block)
    vote = Vote(VoteKind.PREVOTE, 1337, 3, 1, block.hash, ADDRESS, bytes(65), b"")
    s.signed_votes[(3, 1, VoteKind.PREVOTE)] = vote
    return s


def test_a_saved_state_is_restored_exactly(tmp_path):
    block = _block(50)
    saved = _state(block)
    path = tmp_path / "consensus-state"
    persist.save_state(path, saved)
    restored = persist.restore(path, None, 3)  # type: ignore[arg-type]
    assert restored is not None
    assert (restored.round, restored.step, restored.locked_round, restored.valid_round) == (1, sm.Step.PRECOMMIT, 1, 1)
    assert restored.locked_value == block and restored.valid_value == block
    assert restored.signed_proposals == saved.signed_proposals
    assert restored.signed_votes == saved.signed_votes
    assert persist.restore(path, None, 4) is None  # type: ignore[arg-type] - written at an earlier height


def test_a_block_encoded_once_gives_the_bytes_of_encoding_it_each_time():
    block = _block(200)
    plain = rlp_encode.encode(wire.block_fields(block))
    assert wire.encoded_block(block) == plain
    assert wire.encoded_block(block) is wire.encoded_block(block)  # made once for this block
    twin = Block(block.header, block.transactions, block.commit)  # equal, another object: its own entry
    assert wire.encoded_block(twin) == plain
    other = _block(3, b"r")
    assert wire.encoded_block(other) == rlp_encode.encode(wire.block_fields(other))
    proposal = Proposal(1337, 3, 1, block.hash, -1, ADDRESS, bytes(range(65)))
    decoded = wire.decode_message(wire.encode(wire.ProposalMessage(proposal, block)))
    assert isinstance(decoded, wire.ProposalMessage) and decoded.block == block


def test_the_cache_of_encoded_blocks_is_bounded():
    blocks = [_block(1, bytes([i])) for i in range(3 * wire.ENCODED_BLOCKS_KEPT)]
    for block in blocks:
        assert wire.encoded_block(block) == rlp_encode.encode(wire.block_fields(block))
        assert len(wire._ENCODED_BLOCKS) <= wire.ENCODED_BLOCKS_KEPT  # the bound is the point here
    assert wire.encoded_block(blocks[0]) == rlp_encode.encode(wire.block_fields(blocks[0]))  # made again
