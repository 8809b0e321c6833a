"""The chain on disk: genesis, the blocks, their receipts, and the ledger state they produce.

One LevelDB (plyvel) database holds the ledger (b"L" keys, ledger.store) and the chain (b"C"
keys, below). Each block, its receipts, its transaction index, the ledger changes and the new
head are written in one synced write batch: a crash leaves a block fully applied or absent.

  Cb <number u64>  header + commit           Ct <number u64><index u32>  raw transaction
  Ch <hash>        number                    Cr <number u64><index u32>  receipt
  Cx <tx hash>     number u64 + index u32   Cm head / Cm genesis
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import coincurve
import plyvel
import rlp

from consensus.commit import InvalidCommitError, ValidatorPower, ValidatorSet, sign_commit, verify_commit
from contracts.bridge.layers import BridgeCurrency
from contracts.evm.db import LevelDBView, release_trie_cache
from contracts.evm.executor import EvmBlock, EvmParams, execution_context
from contracts.evm.genesis import genesis_state_root
from genesis.schema import Genesis, canonical_json
from ledger import rlp_encode
from ledger.apply import BookingContext, apply_transfers
from ledger.errors import InvariantViolation
from ledger.hashing import keccak
from ledger.journal import JournalEntry
from ledger.state import Overlay
from ledger.store import LedgerStore
from node.admin import max_transactions
from node.block import Block, Header, Receipt, encode_receipts, receipts_root, transactions_root
from node.execution import (
    BlockBuilder,
    BlockOutcome,
    ChainRules,
    InvalidBlockError,
    SignedTransaction,
    execute_block,
)
from node.governance import members_at, validator_set

BLOCK = b"Cb"
BLOCK_TX = b"Ct"
BLOCK_BY_HASH = b"Ch"
RECEIPTS = b"Cr"
TX_INDEX = b"Cx"
HEAD = b"Cm:head"
GENESIS = b"Cm:genesis"
EXTRA_DATA = b"qenex/0.1"


class DataDirLockedError(RuntimeError):
    """Another process (a running node) holds the LevelDB lock."""


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block and the outcome of executing it over the current head, held in memory until a
    commit certificate for it exists (then Chain.commit_executed stores both)."""

    block: Block
    outcome: BlockOutcome
    encoded_receipts: list[bytes]
    tx_hashes: list[bytes]


@dataclass(frozen=True, slots=True)
class TxLocation:
    block_number: int
    index: int


def role_leaves(genesis: Genesis) -> dict[bytes, bytes | None]:
    """Role grants as state leaves: key b"r" + keccak(record), value the record."""
    records = [
        rlp_encode.encode([g.role.encode(), g.holder.lower().encode(), g.namespace.encode()]) for g in genesis.roles
    ]
    return {b"r" + keccak(record): record for record in records}


def open_database(data_dir: Path) -> plyvel.DB:
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Admission and booking look up transfer ids and transaction hashes that mostly do not
        # exist yet (duplicate checks); a bloom filter answers those without reading a block.
        return plyvel.DB(str(data_dir), create_if_missing=True, bloom_filter_bits=10, lru_cache_size=64 * 1024 * 1024)
    except plyvel.IOError as exc:
        if "lock" in str(exc).lower():
            raise DataDirLockedError(
                f"{data_dir} is in use by another process (is the node running?); stop it first"
            ) from None
        raise


class Chain:
    """Blocks and state of one chain in one LevelDB directory."""

    def __init__(self, data_dir: Path, genesis: Genesis) -> None:
        self.genesis = genesis
        self.rules = ChainRules(
            genesis.chain_id, genesis.exponents, genesis.roles, genesis.block.expiries_max, genesis=genesis
        )
        self.validators = ValidatorSet(ValidatorPower(v.address, v.power) for v in genesis.validators)  # height 1
        self.db = open_database(Path(data_dir))
        self.ledger = LedgerStore(self.db)
        self.evm_params = EvmParams(
            genesis.chain_id,
            genesis.block.gas_limit,
            genesis.block.base_fee_per_gas,
            genesis.evm.min_priority_fee_per_gas,
            genesis.evm.fee_recipient,
            tuple(BridgeCurrency(c.code, c.exponent, genesis.issuance.get(c.code, "")) for c in genesis.currencies),
        )
        self.on_write_batch: Callable[[float], None] | None = None  # seconds per block write (metrics)
        stored_genesis = self.db.get(GENESIS)
        if stored_genesis is None:
            self._write_genesis()
        elif keccak(stored_genesis) != genesis.hash:
            self.db.close()
            raise InvalidBlockError("genesis", f"{data_dir} holds a chain of a different genesis file")
        self.head = self.block(int.from_bytes(self.db.get(HEAD), "big"))
        if self.ledger.root != self.head.header.state_root:
            raise InvalidBlockError(
                "state_root",
                f"stored ledger state {self.ledger.root.hex()} does not match head block "
                f"{self.head.header.number}'s {self.head.header.state_root.hex()}; run `qenex ledger verify`",
            )

    def close(self) -> None:
        if not self.db.closed:
            self.db.close()
        release_trie_cache()

    # --- reads -------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.head.header.number

    def header(self, number: int) -> Header:
        """The header alone: receipts and transaction lookups need no block body."""
        return self._header_and_commit(number)[0]

    def block(self, number: int) -> Block:
        header, commit = self._header_and_commit(number)
        prefix = BLOCK_TX + number.to_bytes(8, "big")
        transactions = tuple(value for _, value in self.db.iterator(prefix=prefix))
        return Block(header, transactions, commit)

    def transaction(self, location: TxLocation) -> bytes:
        raw = self.db.get(BLOCK_TX + location.block_number.to_bytes(8, "big") + location.index.to_bytes(4, "big"))
        if raw is None:
            raise KeyError(f"no transaction at block {location.block_number} index {location.index}")
        return raw

    def _header_and_commit(self, number: int) -> tuple[Header, tuple[bytes, ...]]:
        data = self.db.get(BLOCK + number.to_bytes(8, "big"))
        if data is None:
            raise KeyError(f"no block {number}")
        fields = rlp.decode(data)
        return Header.from_fields(fields[0]), tuple(fields[1])

    def validators_at(self, height: int) -> ValidatorSet:
        """The validator set deciding block `height` (genesis, then changes approved on chain)."""
        return validator_set(members_at(self.ledger, self.genesis, height))

    def block_number_by_hash(self, block_hash: bytes) -> int | None:
        data = self.db.get(BLOCK_BY_HASH + block_hash)
        return int.from_bytes(data, "big") if data is not None else None

    def receipts(self, number: int) -> list[Receipt]:
        prefix = RECEIPTS + number.to_bytes(8, "big")
        return [Receipt.from_fields(rlp.decode(value)) for _, value in self.db.iterator(prefix=prefix)]

    def receipt(self, location: TxLocation) -> Receipt:
        data = self.db.get(RECEIPTS + location.block_number.to_bytes(8, "big") + location.index.to_bytes(4, "big"))
        if data is None:
            raise KeyError(f"no receipt at block {location.block_number} index {location.index}")
        return Receipt.from_fields(rlp.decode(data))

    def locate_transaction(self, tx_hash: bytes) -> TxLocation | None:
        data = self.db.get(TX_INDEX + tx_hash)
        if data is None:
            return None
        return TxLocation(int.from_bytes(data[:8], "big"), int.from_bytes(data[8:], "big"))

    # --- writes ------------------------------------------------------------------------------

    def _write_genesis(self) -> None:
        genesis = self.genesis
        overlay = Overlay(self.ledger)
        for account in genesis.accounts:
            overlay.put_account(account)
        ctx = BookingContext(0, genesis.genesis_time, b"", genesis.exponents)
        scratch = overlay.child()
        postings = apply_transfers(scratch, genesis.opening_transfers(), ctx) if genesis.balances else []
        scratch.merge_into_parent()
        journal = [JournalEntry(0, -1, b"", i, p) for i, p in enumerate(postings)]
        with self.db.write_batch(transaction=True, sync=True) as batch:
            root = self.ledger.stage(batch, overlay, journal, role_leaves(genesis))
            evm_view = LevelDBView(self.db)
            evm_root = genesis_state_root(
                evm_view,
                genesis.evm,
                execution_context(self.evm_params, 0, genesis.genesis_time, ()),
                tuple(c.code for c in genesis.currencies),
            )
            evm_view.stage(batch)
            header = Header(
                parent_hash=bytes(32),
                number=0,
                timestamp=genesis.genesis_time,
                proposer=bytes(20),
                state_root=root,
                transactions_root=transactions_root([]),
                receipts_root=receipts_root(encode_receipts([])),
                gas_used=0,
                gas_limit=genesis.block.gas_limit,
                base_fee_per_gas=genesis.block.base_fee_per_gas,
                extra_data=keccak(canonical_json(genesis.raw)),
                evm_state_root=evm_root,
            )
            self._put_block(batch, Block(header, ()), [], encode_receipts([]))
            batch.put(GENESIS, canonical_json(genesis.raw))

    def produce_block(
        self, transactions: Sequence[SignedTransaction], proposer_key: bytes, timestamp: int | None = None
    ) -> tuple[Block, list[Receipt]]:
        """Execute, seal, sign and store the next block alone: a one-validator chain, tools, tests."""
        parent = self.head.header
        timestamp = max(parent.timestamp, int(time.time()) if timestamp is None else timestamp)
        number = parent.number + 1
        outcome = execute_block(
            self.ledger, self.rules, number, timestamp, transactions, self.evm_block(number, timestamp)
        )
        return self.commit_block(transactions, outcome, timestamp, proposer_key)

    def evm_block(self, number: int, timestamp: int) -> EvmBlock:
        """The EVM state for block `number` on top of the head (its parent)."""
        parent = self.head.header
        assert number == parent.number + 1, "an EVM block builds on the head"

        def prev_hashes() -> Iterable[bytes]:  # BLOCKHASH: newest first, at most 256
            for ancestor in range(parent.number, max(-1, parent.number - 256), -1):
                yield self.header(ancestor).hash

        return EvmBlock(self.db, self.evm_params, parent.evm_state_root, number, timestamp, prev_hashes(), self.ledger)

    def commit_built_block(self, builder: BlockBuilder, proposer_key: bytes) -> tuple[Block, list[Receipt]]:
        """Seal, sign and store the block a BlockBuilder prepared transaction by transaction."""
        if builder.number != self.head.header.number + 1 or builder.timestamp < self.head.header.timestamp:
            raise InvalidBlockError("number", f"builder is for block {builder.number}, head is {self.height}")
        return self.commit_block(builder.transactions, builder.outcome, builder.timestamp, proposer_key)

    def commit_block(
        self, transactions: Sequence[SignedTransaction], outcome: BlockOutcome, timestamp: int, proposer_key: bytes
    ) -> tuple[Block, list[Receipt]]:
        proposer = keccak(coincurve.PrivateKey(proposer_key).public_key.format(compressed=False)[1:])[-20:]
        executed = self.seal(transactions, outcome, timestamp, proposer)
        block = self.commit_executed(executed, (sign_commit(executed.block.hash, proposer_key),))
        return block, outcome.receipts

    def seal(
        self, transactions: Sequence[SignedTransaction], outcome: BlockOutcome, timestamp: int, proposer: bytes
    ) -> ExecutedBlock:
        """The next block's header over an executed outcome, without storing anything: what a
        proposer proposes, and what a validator recomputes to check a proposal."""
        parent = self.head.header
        if len(outcome.receipts) != len(transactions):
            raise InvalidBlockError("receipts", f"{len(outcome.receipts)} receipts, {len(transactions)} transactions")
        hashes = [t.hash for t in transactions]
        encoded_receipts = encode_receipts(outcome.receipts)
        evm = outcome.evm
        header = Header(
            parent_hash=parent.hash,
            number=parent.number + 1,
            timestamp=timestamp,
            proposer=proposer,
            state_root=self.ledger.preview_root(outcome.overlay),
            transactions_root=transactions_root(hashes),
            receipts_root=receipts_root(encoded_receipts),
            gas_used=evm.gas_used if evm is not None else 0,
            gas_limit=self.genesis.block.gas_limit,
            base_fee_per_gas=self.genesis.block.base_fee_per_gas,
            extra_data=EXTRA_DATA,
            evm_state_root=evm.root() if evm is not None else parent.evm_state_root,
            logs_bloom=(evm.bloom if evm is not None else 0).to_bytes(256, "big"),
        )
        return ExecutedBlock(Block(header, tuple(t.raw for t in transactions)), outcome, encoded_receipts, hashes)

    def execute_proposal(self, block: Block, transactions: Sequence[SignedTransaction]) -> ExecutedBlock:
        """Re-execute a block someone else built on our head and check every header field.

        `transactions` are the block's raw transactions decoded, with their senders recovered
        (the node does that in its signature pool). Nothing is written: the outcome is kept in
        memory until the block is decided (a proposal that loses must leave no trace)."""
        parent, header = self.head.header, block.header
        proposer_ok = "0x" + header.proposer.hex() in self.validators_at(header.number).powers
        checks = (
            ("parent_hash", header.parent_hash == parent.hash, f"is not the head {parent.hash.hex()}"),
            ("number", header.number == parent.number + 1, f"{header.number} does not follow {parent.number}"),
            ("timestamp", header.timestamp >= parent.timestamp, f"{header.timestamp} precedes the parent's"),
            ("gas_limit", header.gas_limit == self.genesis.block.gas_limit, "differs from genesis"),
            ("base_fee_per_gas", header.base_fee_per_gas == self.genesis.block.base_fee_per_gas, "differs"),
            ("extra_data", header.extra_data == EXTRA_DATA, f"must be {EXTRA_DATA!r}"),
            ("proposer", proposer_ok, "is not a validator"),
            ("transactions", len(transactions) == len(block.transactions), "were not all decoded"),
        )
        for name, ok, problem in checks:
            if not ok:
                raise InvalidBlockError(name, problem)
        if len(block.transactions) > (limit := max_transactions(self.ledger, self.genesis)):
            raise InvalidBlockError("transactions", f"more than {limit}")
        evm = self.evm_block(header.number, header.timestamp)
        outcome = execute_block(self.ledger, self.rules, header.number, header.timestamp, transactions, evm)
        executed = self.seal(transactions, outcome, header.timestamp, header.proposer)
        for name in ("state_root", "transactions_root", "receipts_root", "evm_state_root", "logs_bloom", "gas_used"):
            ours, theirs = getattr(executed.block.header, name), getattr(header, name)
            if ours != theirs:
                shown = (ours.hex(), theirs.hex()) if isinstance(ours, bytes) else (ours, theirs)
                raise InvalidBlockError(name, f"executing the block gives {shown[0]}, the header says {shown[1]}")
        return ExecutedBlock(Block(header, block.transactions), outcome, executed.encoded_receipts, executed.tx_hashes)

    def commit_executed(self, executed: ExecutedBlock, commit: tuple[bytes, ...]) -> Block:
        """Store an executed block with its commit certificate in one synced write batch."""
        header = executed.block.header
        if header.parent_hash != self.head.hash:
            raise InvalidBlockError("parent_hash", f"block {header.number} was executed over another head")
        block = Block(header, executed.block.transactions, tuple(commit))
        self.verify_commit(block)
        started = time.perf_counter()
        try:
            with self.db.write_batch(transaction=True, sync=True) as batch:
                root = self.ledger.stage(
                    batch, executed.outcome.overlay, executed.outcome.journal, block_number=header.number
                )
                if root != header.state_root:
                    raise InvariantViolation(
                        f"block {header.number}: staged root {root.hex()} is not the sealed {header.state_root.hex()}"
                    )
                evm = executed.outcome.evm
                evm_root = evm.commit(batch) if evm is not None else self.head.header.evm_state_root
                if evm_root != header.evm_state_root:
                    raise InvariantViolation(
                        f"block {header.number}: persisted EVM root {evm_root.hex()} is not the sealed "
                        f"{header.evm_state_root.hex()}"
                    )
                self._put_block(batch, block, executed.tx_hashes, executed.encoded_receipts)
        except BaseException:
            self.ledger.reload()
            raise
        if self.on_write_batch is not None:
            self.on_write_batch(time.perf_counter() - started)
        self.head = block
        return block

    def verify_commit(self, block: Block) -> None:
        """Signers of the block hash must hold more than 2/3 of the validators' voting power."""
        try:
            verify_commit(block.hash, block.commit, self.validators_at(block.header.number))
        except InvalidCommitError as exc:
            raise InvalidBlockError("commit", str(exc)) from None

    def _put_block(
        self, batch: plyvel.WriteBatch, block: Block, tx_hashes: list[bytes], encoded_receipts: list[bytes]
    ) -> None:
        number = block.header.number.to_bytes(8, "big")
        batch.put(BLOCK + number, rlp_encode.encode([block.header.fields(), list(block.commit)]))
        for index, raw in enumerate(block.transactions):
            batch.put(BLOCK_TX + number + index.to_bytes(4, "big"), raw)
        batch.put(BLOCK_BY_HASH + block.hash, number)
        for index, encoded in enumerate(encoded_receipts):
            batch.put(RECEIPTS + number + index.to_bytes(4, "big"), encoded)
        for index, tx_hash in enumerate(tx_hashes):
            batch.put(TX_INDEX + tx_hash, number + index.to_bytes(4, "big"))
        batch.put(HEAD, number)
