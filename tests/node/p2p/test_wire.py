"""node/p2p/wire.py: every message round-trips, and arbitrary peer bytes give a message or a
WireError naming the field, never another exception."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.types import Proposal, Vote, VoteKind
from ledger import rlp_encode
from node.block import Block, Header
from node.p2p import wire

ADDRESS = "0x" + "ab" * 20
SIG = bytes(range(65))


def header(number: int = 3) -> Header:
    return Header(os.urandom(32), number, 1_800_000_000, bytes(20), os.urandom(32), os.urandom(32), os.urandom(32),
                  0, 30_000_000, 0, b"qenex/0.1")  # fmt: skip


MESSAGES = [
    wire.ProposalMessage(Proposal(1337, 3, 1, os.urandom(32), 0, ADDRESS, SIG), Block(header(), (b"\x51tx",), ())),
    wire.ProposalMessage(Proposal(1337, 3, 0, os.urandom(32), -1, ADDRESS, SIG), Block(header(), (), ())),
    wire.VoteMessage(Vote(VoteKind.PREVOTE, 1337, 3, 0, None, ADDRESS, SIG)),
    wire.VoteMessage(Vote(VoteKind.PRECOMMIT, 1337, 3, 2, os.urandom(32), ADDRESS, SIG, SIG)),
    wire.TxsMessage((b"\x51a", b"\x51bc")),
    wire.StatusMessage(10, 11, 2),
    wire.GetBlocksMessage(5, 64),
    wire.BlocksMessage((Block(header(5), (b"\x51x",), (SIG, SIG)), Block(header(6), (), (SIG,)))),
    wire.PersonalDataMessage(b'{"envelope": {}}'),  # its content is parsed by node/pii/request.py
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    assert wire.decode_message(wire.encode(message)) == message


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (b"", "empty"),
        (b"\x09\xc0", "unknown message type 9"),
        (bytes([wire.STATUS]) + rlp_encode.encode([b"\x01", b"\x02"]), "status must have 3 fields"),
        (bytes([wire.GET_BLOCKS]) + rlp_encode.encode([b"\x01", b"\x00\x01"]), "get_blocks.count has a leading zero"),
        (bytes([wire.GET_BLOCKS]) + rlp_encode.encode([b"\x01", bytes([200])]), r"get_blocks.count must be 1\.\.64"),
        (bytes([wire.VOTE]) + rlp_encode.encode([b"\x03"] + [b""] * 7), "vote.kind 3"),
        (bytes([wire.TXS]) + rlp_encode.encode([b"x"] * (wire.MAX_GOSSIP_TRANSACTIONS + 1)), r"more than 4096"),
        (bytes([wire.VOTE]) + b"\xc1", "vote: "),
    ],
)
def test_malformed_messages_name_what_is_wrong(data, names):
    with pytest.raises(wire.WireError, match=names):
        wire.decode_message(data)


def test_a_vote_with_a_short_signature_is_refused():
    good = wire.encode(MESSAGES[2])
    fields = [b"\x01", b"\x05\x39", b"\x03", b"", b"", bytes(20), SIG[:64], b""]
    with pytest.raises(wire.WireError, match=r"vote\.signature must be 65 bytes"):
        wire.decode_message(bytes([wire.VOTE]) + rlp_encode.encode(fields))
    assert wire.decode_message(good) == MESSAGES[2]


def test_oversized_message_is_refused_before_decoding():
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.decode_message(bytes([wire.TXS]) + b"\x00" * wire.MAX_MESSAGE_BYTES)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash_the_decoder(data):
    with contextlib.suppress(wire.WireError):
        wire.decode_message(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MESSAGES), st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_corrupted_messages_decode_or_fail_cleanly(message, position, value):
    data = bytearray(wire.encode(message))
    data[position % len(data)] = value
    with contextlib.suppress(wire.WireError):
        wire.decode_message(bytes(data))
