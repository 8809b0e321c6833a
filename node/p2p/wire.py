"""Messages between nodes: one type byte, then one RLP item, decoded strictly and within bounds.

Every frame comes from a peer we authenticated, but a faulty or compromised peer can still send
anything, so decoding checks every length and type and raises WireError naming the field; the
receiver drops the frame and counts it. Consensus messages are small; a proposal carries its whole
block (at most MAX_BLOCK_TRANSACTIONS raw transactions inside the transport's 4 MiB frame).

  PROPOSAL   [chain_id, height, round, block_id, valid_round + 1, proposer, signature, block]
  VOTE       [kind, chain_id, height, round, block_id | "", validator, signature, commit_signature]
  TXS        [raw transaction, ...]                         mempool gossip
  STATUS     [head height, consensus height, round]         sent on connect and periodically
  GET_BLOCKS [first height, count]                          block sync request
  BLOCKS     [block, ...]                                   block sync answer (blocks with commits)
  PERSONAL_DATA [request]                                   a sealed envelope (node/pii/), JSON <= 1 MiB

  block = [header fields (11), [raw transaction, ...], [commit signature, ...]]
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.types import BLOCK_ID_BYTES, SIGNATURE_BYTES, Proposal, Vote, VoteKind
from ledger import rlp_encode
from ledger.codec import address_bytes, bytes_to_int, checksum_address, int_to_bytes
from ledger.rlp_decode import RlpDecodingError, decode
from ledger.tx import MAX_TX_BYTES
from node.block import MAX_EXTRA_DATA, Block, Header

PROPOSAL, VOTE, TXS, STATUS, GET_BLOCKS, BLOCKS = 1, 2, 3, 4, 5, 6
PERSONAL_DATA = 7
MAX_PERSONAL_DATA_BYTES = 1024 * 1024  # node/pii/request.py REQUEST_BYTES_MAX
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # the transport's frame limit
MAX_BLOCK_TRANSACTIONS = 100_000
MAX_GOSSIP_TRANSACTIONS = 4096
MAX_SYNC_BLOCKS = 64
MAX_COMMIT_SIGNATURES = 1024
MAX_INT_BYTES = 8


class WireError(ValueError):
    """A peer's message is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class ProposalMessage:
    proposal: Proposal
    block: Block


@dataclass(frozen=True, slots=True)
class VoteMessage:
    vote: Vote


@dataclass(frozen=True, slots=True)
class TxsMessage:
    transactions: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class StatusMessage:
    head: int
    height: int
    round: int


@dataclass(frozen=True, slots=True)
class GetBlocksMessage:
    first: int
    count: int


@dataclass(frozen=True, slots=True)
class BlocksMessage:
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class PersonalDataMessage:
    request: bytes  # parsed and checked by node/pii/request.py on receipt


Message = (
    ProposalMessage | VoteMessage | TxsMessage | StatusMessage | GetBlocksMessage | BlocksMessage | PersonalDataMessage
)


# --- encoding ----------------------------------------------------------------------------------


def block_fields(block: Block) -> list:
    return [block.header.fields(), list(block.transactions), list(block.commit)]


_ENCODED_BLOCKS: dict[int, tuple[Block, rlp_encode.Encoded]] = {}
ENCODED_BLOCKS_KEPT = 8


def encoded_block(block: Block) -> rlp_encode.Encoded:
    """`block_fields(block)` as RLP, made once per block object for the few blocks in play.

    The consensus state file holds the proposal of the current height up to three times and is
    rewritten at every step (2,000 transfers: 6.7 ms of encoding per write before). Blocks are
    immutable; an entry keeps its block alive, so the id it is found by cannot be reused."""
    entry = _ENCODED_BLOCKS.get(id(block))
    if entry is not None and entry[0] is block:
        return entry[1]
    encoded = rlp_encode.Encoded(rlp_encode.encode(block_fields(block)))
    if len(_ENCODED_BLOCKS) >= ENCODED_BLOCKS_KEPT:
        del _ENCODED_BLOCKS[next(iter(_ENCODED_BLOCKS))]  # the oldest: dicts keep insertion order
    _ENCODED_BLOCKS[id(block)] = (block, encoded)
    return encoded


def encode(message: Message) -> bytes:
    if isinstance(message, ProposalMessage):
        p = message.proposal
        fields = [int_to_bytes(p.chain_id), int_to_bytes(p.height), int_to_bytes(p.round), p.block_id,
                  int_to_bytes(p.valid_round + 1), address_bytes(p.proposer), p.signature,
                  encoded_block(message.block)]  # fmt: skip
        return bytes([PROPOSAL]) + rlp_encode.encode(fields)
    if isinstance(message, VoteMessage):
        v = message.vote
        fields = [int_to_bytes(v.kind), int_to_bytes(v.chain_id), int_to_bytes(v.height), int_to_bytes(v.round),
                  v.block_id or b"", address_bytes(v.validator), v.signature, v.commit_signature]  # fmt: skip
        return bytes([VOTE]) + rlp_encode.encode(fields)
    if isinstance(message, TxsMessage):
        return bytes([TXS]) + rlp_encode.encode(list(message.transactions))
    if isinstance(message, StatusMessage):
        fields = [int_to_bytes(message.head), int_to_bytes(message.height), int_to_bytes(message.round)]
        return bytes([STATUS]) + rlp_encode.encode(fields)
    if isinstance(message, GetBlocksMessage):
        return bytes([GET_BLOCKS]) + rlp_encode.encode([int_to_bytes(message.first), int_to_bytes(message.count)])
    if isinstance(message, BlocksMessage):
        return bytes([BLOCKS]) + rlp_encode.encode([block_fields(b) for b in message.blocks])
    if isinstance(message, PersonalDataMessage):
        return bytes([PERSONAL_DATA]) + rlp_encode.encode([message.request])
    raise TypeError(f"not a wire message: {type(message).__name__}")


# --- decoding ----------------------------------------------------------------------------------


def decode_message(data: bytes) -> Message:
    """Decode one frame; raise WireError naming what is wrong."""
    if not data:
        raise WireError("empty message")
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    kind, body = data[0], data[1:]
    if kind not in _DECODERS:
        raise WireError(f"unknown message type {kind}")
    name, decoder = _DECODERS[kind]
    try:
        item = decode(body, max_depth=4)
    except RlpDecodingError as exc:
        raise WireError(f"{name}: {exc}") from None
    return decoder(_list(item, name))


def _list(item: object, where: str, length: int | None = None, max_length: int | None = None) -> list:
    if not isinstance(item, list):
        raise WireError(f"{where} must be a list")
    if length is not None and len(item) != length:
        raise WireError(f"{where} must have {length} fields, not {len(item)}")
    if max_length is not None and len(item) > max_length:
        raise WireError(f"{where} has {len(item)} items, more than {max_length}")
    return item


def _bytes(item: object, where: str, size: int | None = None, max_size: int | None = None) -> bytes:
    if not isinstance(item, bytes):
        raise WireError(f"{where} must be a byte string")
    if size is not None and len(item) != size:
        raise WireError(f"{where} must be {size} bytes, not {len(item)}")
    if max_size is not None and len(item) > max_size:
        raise WireError(f"{where} is {len(item)} bytes, more than {max_size}")
    return item


def _int(item: object, where: str) -> int:
    data = _bytes(item, where, max_size=MAX_INT_BYTES)
    if data[:1] == b"\x00":
        raise WireError(f"{where} has a leading zero byte")
    return bytes_to_int(data)


def _header(item: object) -> Header:
    f = _list(item, "block.header", 13)
    sizes = {0: 32, 3: 20, 4: 32, 5: 32, 6: 32, 11: 32, 12: 256}  # 11: EVM state root, 12: logs bloom
    for index, size in sizes.items():
        _bytes(f[index], f"block.header[{index}]", size)
    for index in (1, 2, 7, 8, 9):
        _int(f[index], f"block.header[{index}]")
    _bytes(f[10], "block.header.extra_data", max_size=MAX_EXTRA_DATA)
    return Header.from_fields(f)


def decode_block(item: object, where: str = "block") -> Block:
    f = _list(item, where, 3)
    header = _header(f[0])
    txs = _list(f[1], f"{where}.transactions", max_length=MAX_BLOCK_TRANSACTIONS)
    transactions = tuple(_bytes(t, f"{where}.transactions[{i}]", max_size=MAX_TX_BYTES) for i, t in enumerate(txs))
    sigs = _list(f[2], f"{where}.commit", max_length=MAX_COMMIT_SIGNATURES)
    commit = tuple(_bytes(s, f"{where}.commit[{i}]", SIGNATURE_BYTES) for i, s in enumerate(sigs))
    return Block(header, transactions, commit)


def _proposal(f: list) -> ProposalMessage:
    _list(f, "proposal", 8)
    valid_round = _int(f[4], "proposal.valid_round") - 1
    proposal = Proposal(
        chain_id=_int(f[0], "proposal.chain_id"),
        height=_int(f[1], "proposal.height"),
        round=_int(f[2], "proposal.round"),
        block_id=_bytes(f[3], "proposal.block_id", BLOCK_ID_BYTES),
        valid_round=valid_round,
        proposer=checksum_address(_bytes(f[5], "proposal.proposer", 20)).lower(),
        signature=_bytes(f[6], "proposal.signature", SIGNATURE_BYTES),
    )
    return ProposalMessage(proposal, decode_block(f[7]))


def _vote(f: list) -> VoteMessage:
    _list(f, "vote", 8)
    kind = _int(f[0], "vote.kind")
    if kind not in (VoteKind.PREVOTE, VoteKind.PRECOMMIT):
        raise WireError(f"vote.kind {kind} is neither prevote (1) nor precommit (2)")
    block_id = _bytes(f[4], "vote.block_id")
    if block_id and len(block_id) != BLOCK_ID_BYTES:
        raise WireError(f"vote.block_id must be empty (nil) or {BLOCK_ID_BYTES} bytes")
    commit_signature = _bytes(f[7], "vote.commit_signature")
    if commit_signature and len(commit_signature) != SIGNATURE_BYTES:
        raise WireError(f"vote.commit_signature must be empty or {SIGNATURE_BYTES} bytes")
    vote = Vote(
        kind=VoteKind(kind),
        chain_id=_int(f[1], "vote.chain_id"),
        height=_int(f[2], "vote.height"),
        round=_int(f[3], "vote.round"),
        block_id=block_id or None,
        validator=checksum_address(_bytes(f[5], "vote.validator", 20)).lower(),
        signature=_bytes(f[6], "vote.signature", SIGNATURE_BYTES),
        commit_signature=commit_signature,
    )
    return VoteMessage(vote)


def _txs(f: list) -> TxsMessage:
    _list(f, "txs", max_length=MAX_GOSSIP_TRANSACTIONS)
    return TxsMessage(tuple(_bytes(t, f"txs[{i}]", max_size=MAX_TX_BYTES) for i, t in enumerate(f)))


def _status(f: list) -> StatusMessage:
    _list(f, "status", 3)
    return StatusMessage(_int(f[0], "status.head"), _int(f[1], "status.height"), _int(f[2], "status.round"))


def _get_blocks(f: list) -> GetBlocksMessage:
    _list(f, "get_blocks", 2)
    count = _int(f[1], "get_blocks.count")
    if not 1 <= count <= MAX_SYNC_BLOCKS:
        raise WireError(f"get_blocks.count must be 1..{MAX_SYNC_BLOCKS}")
    return GetBlocksMessage(_int(f[0], "get_blocks.first"), count)


def _blocks(f: list) -> BlocksMessage:
    _list(f, "blocks", max_length=MAX_SYNC_BLOCKS)
    return BlocksMessage(tuple(decode_block(b, f"blocks[{i}]") for i, b in enumerate(f)))


def _personal_data(f: list) -> PersonalDataMessage:
    _list(f, "personal_data", 1)
    return PersonalDataMessage(_bytes(f[0], "personal_data.request", max_size=MAX_PERSONAL_DATA_BYTES))


_DECODERS = {
    PROPOSAL: ("proposal", _proposal),
    VOTE: ("vote", _vote),
    TXS: ("txs", _txs),
    STATUS: ("status", _status),
    GET_BLOCKS: ("get_blocks", _get_blocks),
    BLOCKS: ("blocks", _blocks),
    PERSONAL_DATA: ("personal_data", _personal_data),
}
