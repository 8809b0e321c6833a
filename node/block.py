"""Blocks and receipts: their fields, RLP encodings and hashes.

The header is Ethereum-shaped where it can be (parent hash, number, timestamp, state root,
transactions and receipts roots, gas, base fee, extra data of at most 32 bytes) so that
web3.py and explorers read it without middleware. `state_root` is the ledger commitment
(ledger.commitment). `commit` holds the validators' signatures over the block hash; a block
is final when signers with more than 2/3 of the voting power have signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth.constants import BLANK_ROOT_HASH

from contracts.evm.executor import EvmResult
from ledger import rlp_encode
from ledger.codec import bytes_to_int, int_to_bytes, posting_fields, posting_from_fields
from ledger.hashing import keccak
from ledger.journal import Posting

MAX_EXTRA_DATA = 32
EMPTY_ROOT = keccak(rlp_encode.encode([]))


@dataclass(frozen=True, slots=True)
class Header:
    parent_hash: bytes
    number: int
    timestamp: int
    proposer: bytes  # 20-byte validator address
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    gas_used: int
    gas_limit: int
    base_fee_per_gas: int
    extra_data: bytes = b""
    evm_state_root: bytes = BLANK_ROOT_HASH  # py-evm's state trie root after the block (contracts.evm)
    logs_bloom: bytes = bytes(256)

    def fields(self) -> list:
        return [
            self.parent_hash,
            int_to_bytes(self.number),
            int_to_bytes(self.timestamp),
            self.proposer,
            self.state_root,
            self.transactions_root,
            self.receipts_root,
            int_to_bytes(self.gas_used),
            int_to_bytes(self.gas_limit),
            int_to_bytes(self.base_fee_per_gas),
            self.extra_data,
            self.evm_state_root,
            self.logs_bloom,
        ]

    @classmethod
    def from_fields(cls, f: list) -> Header:
        return cls(
            f[0],
            bytes_to_int(f[1]),
            bytes_to_int(f[2]),
            f[3],
            f[4],
            f[5],
            f[6],
            bytes_to_int(f[7]),
            bytes_to_int(f[8]),
            bytes_to_int(f[9]),
            f[10],
            *f[11:13],
        )

    @property
    def hash(self) -> bytes:
        return keccak(rlp_encode.encode(self.fields()))


@dataclass(frozen=True, slots=True)
class Block:
    header: Header
    transactions: tuple[bytes, ...]  # raw signed transactions
    commit: tuple[bytes, ...] = ()  # 65-byte recoverable signatures over the header hash

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def encode(self) -> bytes:
        return rlp_encode.encode([self.header.fields(), list(self.transactions), list(self.commit)])


@dataclass(frozen=True, slots=True)
class ScreeningRecord:
    """Fraud screening's verdict on an included transaction (node/screening): kept in the receipt
    so anyone can see which model (by hash) let it through, with what score and why."""

    verdict: str  # "allow" or "released" (held, then released by compliance)
    score_ppm: int
    model_sha256: bytes
    top_features: tuple[str, ...] = ()

    def fields(self) -> list:
        return [
            self.verdict.encode(),
            int_to_bytes(self.score_ppm),
            self.model_sha256,
            [name.encode() for name in self.top_features],
        ]

    @classmethod
    def from_fields(cls, f: list) -> ScreeningRecord:
        return cls(f[0].decode(), bytes_to_int(f[1]), f[2], tuple(name.decode() for name in f[3]))


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of one transaction: booked (status 1) with its postings, or not (status 0)."""

    tx_hash: bytes
    sender: bytes
    status: int
    error_rule: str = ""
    error_message: str = ""
    failed_transfer_index: int = -1
    postings: tuple[Posting, ...] = ()
    evm: EvmResult | None = None  # set for Ethereum transactions: gas, logs, created contract
    screening: ScreeningRecord | None = None  # only on chains that screen: receipts elsewhere are unchanged

    def fields(self) -> list:
        """Optional tails keep receipts without them unchanged: [7] the EVM result (an empty list
        when absent but a screening record follows), [8] the screening record."""
        fields = [
            self.tx_hash,
            self.sender,
            int_to_bytes(self.status),
            self.error_rule.encode(),
            self.error_message.encode(),
            int_to_bytes(self.failed_transfer_index + 1),
            [posting_fields(p) for p in self.postings],
        ]
        if self.evm is not None or self.screening is not None:
            fields.append(self.evm.fields() if self.evm is not None else [])
        if self.screening is not None:
            fields.append(self.screening.fields())
        return fields

    @classmethod
    def from_fields(cls, f: list) -> Receipt:
        return cls(
            f[0],
            f[1],
            bytes_to_int(f[2]),
            f[3].decode(),
            f[4].decode(),
            bytes_to_int(f[5]) - 1,
            tuple(posting_from_fields(p) for p in f[6]),
            EvmResult.from_fields(f[7]) if len(f) > 7 and f[7] else None,
            ScreeningRecord.from_fields(f[8]) if len(f) > 8 else None,
        )


def transactions_root(tx_hashes: list[bytes]) -> bytes:
    """keccak of the RLP list of transaction hashes (not Ethereum's trie: nothing here needs
    per-transaction inclusion proofs against the header yet)."""
    return keccak(rlp_encode.encode(tx_hashes))


def encode_receipts(receipts: list[Receipt]) -> list[bytes]:
    """Each receipt's stored RLP form (stored one key per receipt, so one lookup reads one)."""
    return [rlp_encode.encode(r.fields()) for r in receipts]


def receipts_root(encoded_receipts: list[bytes]) -> bytes:
    """keccak of the RLP list of the block's receipts, built from their stored encodings."""
    payload = b"".join(encoded_receipts)
    return keccak(rlp_encode.list_prefix(len(payload)) + payload)
