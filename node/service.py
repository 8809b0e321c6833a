"""The node: opens the chain, admits transactions, produces blocks, serves JSON-RPC.

Flow of a payment inside the node:
  RPC eth_sendRawTransaction -> admit() [decode, signature, chain id, nonce, booked into the
  next block as prepared so far] -> mempool -> produce() every block interval commits the
  prepared block (node.chain.Chain.commit_built_block) -> receipts readable over RPC.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import time
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.evm.transaction import EthTransaction, is_ethereum_raw
from genesis.builder import GENESIS_FILE
from genesis.schema import Genesis, load_genesis
from ledger.codec import address_bytes
from ledger.hashing import keccak
from ledger.tx import (
    Action,
    InvalidSignatureError,
    LedgerTransaction,
    TransactionDecodeError,
    address_of_key,
    decode_transaction,
)
from node.admin import max_transactions  # governance may change it
from node.balance_cache import LedgerBalanceCache
from node.block import Block, Receipt
from node.chain import Chain, ExecutedBlock
from node.evm_admission import check_ethereum_nonce, decode_ethereum_signed
from node.execution import (
    BlockBuilder,
    InvalidBlockError,
    SignedTransaction,
    TransactionRejected,
    execute_block,
    screening_refusal,
)
from node.key_store import read_validator_key
from node.log import event
from node.mempool import Mempool
from node.metrics import NodeMetrics
from node.rpc.policy import RpcPolicy
from node.screening.hook import install_screening
from node.sigpool import SignaturePool, default_workers

if TYPE_CHECKING:
    from node.p2p.driver import ConsensusDriver

log = logging.getLogger("qenex.node")
PARKED_MAX = 20_000  # gossiped transactions kept while this node catches up a block
MAX_PROPOSAL_BYTES = 3 * 1024 * 1024  # a proposal travels in one transport frame (4 MiB) with its block


@dataclass(frozen=True)
class NodeConfig:
    home: Path
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 8545
    mempool_max: int = 50_000
    verify_workers: int | None = None  # signature-recovery processes; None: one per spare core
    cache: str = "auto"  # balance-cache backend: auto, kernel, shm, memory (kernel/selector.py)
    rpc_workers: int = 0  # read-only JSON-RPC worker processes (node/rpc_workers.py)
    rpc_policy: RpcPolicy = field(default_factory=RpcPolicy)  # RPC auth and limits (node/rpc/policy.py)


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.genesis: Genesis = load_genesis(config.home / GENESIS_FILE)
        self.validator_key = read_validator_key(config.home)
        self.chain = Chain(config.home / "data", self.genesis)
        self.screening = install_screening(self.genesis, config.home, self.chain)  # None: genesis pins no model
        self.mempool = Mempool(config.mempool_max)
        self.metrics = NodeMetrics()
        self.metrics.height.set(self.chain.height)
        self.balances = LedgerBalanceCache.open(
            config.home, config.cache, self.chain.ledger, self.chain.height, self.metrics.registry
        )
        self._last_block_at: float | None = None
        self.building: BlockBuilder | None = None  # the next block, prepared as transactions arrive
        self.proposed: ExecutedBlock | None = None  # our sealed proposal for the next height, if any
        self.address = address_of_key(self.validator_key)
        self.on_admitted: Callable[[bytes], None] | None = None  # the consensus driver gossips
        # Whether this node proposes the next block (the consensus driver knows): only then are
        # peers' transactions booked into a prepared block as they arrive.
        self.prepares_next_block: Callable[[], bool] = lambda: True
        self.consensus: ConsensusDriver | None = None  # set by node.runner
        self.parked: dict[bytes, SignedTransaction | None] = {}  # gossip ahead of our nonces, in arrival order
        self.signatures = SignaturePool(default_workers() if config.verify_workers is None else config.verify_workers)
        self.stopping = asyncio.Event()
        # Told of each committed block (with its receipts) and each admitted transaction:
        # WebSocket subscriptions and RPC filters (node/rpc/ws.py, node/rpc/filters.py).
        self.block_listeners: list[Callable[[Block, list[Receipt]], None]] = []
        self.pending_listeners: list[Callable[[SignedTransaction], None]] = []

    def close(self) -> None:
        self.balances.close()
        self.signatures.close()
        self.chain.close()

    async def prepare_rpc(self, payload: object) -> None:
        """Before a JSON-RPC batch runs: recover its transactions' signers in the worker pool."""
        if not isinstance(payload, list):
            return
        raws = []
        for item in payload:
            if isinstance(item, dict) and item.get("method") == "eth_sendRawTransaction":
                params = item.get("params")
                if isinstance(params, list) and params and isinstance(params[0], str) and params[0][:2] == "0x":
                    try:
                        raws.append(bytes.fromhex(params[0][2:]))
                    except ValueError:
                        continue
        await self.signatures.recover(raws)
        if self.screening is not None:
            self.screening.prescore(raws, self._admission_timestamp())  # one model call

    # --- admission ---------------------------------------------------------------------------

    def _admit_released(self, raws: list[bytes]) -> None:
        """Held transactions compliance released on chain join the mempool (they now screen as
        released); one that no longer books (its nonce was used meanwhile) is logged and dropped."""
        for raw in raws:
            try:
                self.admit(raw)
            except TransactionRejected as rejected:
                event(log, "released_tx_not_admitted", logging.WARNING, rule=rejected.rule, reason=rejected.message)

    def submit_action(self, action: Action) -> SignedTransaction:
        """Put a chain action on its way, signed with this node's key (evidence it saw, a
        compliance decision relayed for an officer whose own signature is inside the action)."""
        nonce = self.chain.ledger.nonce(self.address) + self.mempool.pending_count(self.address)
        tx = LedgerTransaction(self.genesis.chain_id, nonce, (), action=action)
        return self.admit(tx.sign(self.validator_key).encode())

    def admit(self, raw: bytes) -> SignedTransaction:
        """Check a raw transaction and put it in the mempool; raise TransactionRejected if not."""
        try:
            signed = self._admit(raw)
        except TransactionRejected as rejected:
            self.metrics.rejected.labels(rejected.rule).inc()
            raise
        self.metrics.admitted.inc()
        self.metrics.mempool_size.set(len(self.mempool))
        if self.on_admitted is not None:
            self.on_admitted(signed.raw)
        for listener in self.pending_listeners:
            listener(signed)
        return signed

    def admit_gossiped(
        self, raw: bytes, decoded: SignedTransaction | None = None, tx_hash: bytes | None = None
    ) -> bool:
        """A transaction a peer admitted: admit it here too (not gossiped again; peers are a full
        mesh). Refusals are normal (already known, already in a block) and only counted.

        One ahead of our nonces is parked, decoded and with its signer, and retried after each
        commit without decoding or recovering again (a sender's earlier transactions may reach
        us only in a block: those gossiped before we were connected to their first node)."""
        signed = decoded
        try:
            if signed is None:
                signed = self._decode_new(raw, tx_hash)
            else:
                self._refuse_known(signed.hash)
            self._admit_decoded(signed, gossiped=True)
        except TransactionRejected as rejected:
            self.metrics.rejected.labels(rejected.rule).inc()
            if rejected.rule in ("nonce_gap", "nonce_too_high") and len(self.parked) < PARKED_MAX:
                self.parked[raw] = signed  # we lag behind the peer: retried after our next commit
            return False
        self.metrics.admitted.inc()
        self.metrics.mempool_size.set(len(self.mempool))
        for listener in self.pending_listeners:
            listener(signed)
        return True

    def observe_rpc(self, method: str, outcome: str, seconds: float) -> None:
        """Told of every call of a method that exists (unknown names never become labels)."""
        self.metrics.rpc_requests.labels(method, outcome).inc()
        self.metrics.rpc_seconds.labels(method).observe(seconds)

    def decode_signed(self, raw: bytes, tx_hash: bytes | None = None) -> SignedTransaction:
        """Decode a raw transaction and recover its sender (from the signature pool if it did)."""
        if is_ethereum_raw(raw):
            return decode_ethereum_signed(raw, self.genesis.chain_id)
        try:
            tx = decode_transaction(raw)
        except TransactionDecodeError as exc:
            raise TransactionRejected("malformed", str(exc)) from None
        sender = self.signatures.claim(raw)
        if sender is None:
            try:
                sender = tx.sender()
            except InvalidSignatureError as exc:
                raise TransactionRejected("invalid_signature", str(exc)) from None
        raw = bytes(raw)
        return SignedTransaction(tx, raw, tx_hash or keccak(raw), sender)

    def is_known(self, tx_hash: bytes) -> bool:
        """In the mempool or in a block: admitting it again would be refused."""
        return tx_hash in self.mempool or self.chain.locate_transaction(tx_hash) is not None

    def _admit(self, raw: bytes) -> SignedTransaction:
        return self._admit_decoded(self._decode_new(raw))

    def _refuse_known(self, tx_hash: bytes) -> None:
        if self.chain.locate_transaction(tx_hash) is not None:
            raise TransactionRejected("already_known", f"transaction {tx_hash.hex()} is already in a block")
        if tx_hash in self.mempool:
            raise TransactionRejected("already_known", f"transaction {tx_hash.hex()} is already in the mempool")

    def _decode_new(self, raw: bytes, tx_hash: bytes | None = None) -> SignedTransaction:
        # Known hashes first: under load a peer's gossip often arrives after the block that
        # holds its transactions (the proposal carried them), and decoding and recovering the
        # signer of a transaction only to refuse it was a measured share of a validator's time.
        # (Checked again here even when the caller looked: a block may have committed since.)
        tx_hash = keccak(raw) if tx_hash is None else tx_hash
        self._refuse_known(tx_hash)
        return self.decode_signed(raw, tx_hash)

    def _books_now(self, gossiped: bool) -> bool:
        """Book an admitted transaction into the prepared next block now, or let it wait unbooked?"""
        if self.proposed is not None or self._next_block_full():
            return False
        held = 0 if self.building is None else len(self.building.transactions)
        if held != len(self.mempool):
            return False  # earlier transactions wait unbooked: booking this one alone would skip them
        return not gossiped or self.prepares_next_block()

    def _admit_decoded(self, signed: SignedTransaction, gossiped: bool = False) -> SignedTransaction:
        tx, sender = signed.tx, signed.sender
        if tx.chain_id != self.genesis.chain_id:
            raise TransactionRejected(
                "wrong_chain_id", f"transaction is for chain {tx.chain_id}, this is chain {self.genesis.chain_id}"
            )
        if isinstance(tx, EthTransaction) and signed.hash not in self.mempool:
            check_ethereum_nonce(self, signed)
        self.mempool.check(signed, self.chain.ledger.nonce(sender))
        if not self._books_now(gossiped):
            # Our proposal for the next block is out (its state is sealed), or the next block is
            # full: this transaction waits unbooked and is booked (or dropped) when its turn comes
            # (_readmit_waiting), so a flood costs one booking per transaction, not one per block.
            # Likewise a peer's transaction on a validator that does not propose the next block: it
            # executes the proposal anyway, so booking it at admission too was double work.
            # A client's transaction is still refused here when the committed balance already
            # shows it cannot book, instead of reaching a block as a failed receipt.
            if not gossiped:
                if refusal := self._refusal_for_later_block(sender, tx.transfers):
                    raise TransactionRejected(*refusal)
                self._screen_waiting(signed)
            self.mempool.insert(signed)
            return signed
        if refusal := self.balances.refusal(sender, tx.transfers, self._next_block().outcome.overlay.accounts):
            raise TransactionRejected(*refusal)
        # Book it into the next block as prepared so far: accounts, currency, funds, roles and
        # booked transfer ids are checked against the state after the transactions admitted
        # before it, and the block will not book it a second time.
        receipt = self._next_block().try_add(signed)
        if not receipt.status and receipt.evm is None:  # an executed Ethereum tx that reverted is in
            raise TransactionRejected(receipt.error_rule, receipt.error_message)
        self.mempool.insert(signed)
        event(log, "tx_admitted", logging.DEBUG, tx=signed.hash.hex(), sender=sender, nonce=tx.nonce)
        return signed

    def _admission_timestamp(self) -> int:
        """The block time a transaction admitted now is screened at: the prepared block's, else now."""
        building, head = self.building, self.chain.head.header
        if building is not None and building.transactions:
            return building.timestamp
        return max(head.timestamp, int(time.time()))

    def _screen_waiting(self, signed: SignedTransaction) -> None:
        """Screen a client's transaction that waits unbooked, as booking would have: a hold or
        reject is the sender's answer now, whether or not this validator's proposal happened to be
        out. (Its block screens it again at the block's time; that verdict is the binding one.)"""
        if self.screening is None or isinstance(signed.tx, EthTransaction):
            return  # Ethereum transactions are not screened (docs/screening.md)
        if refusal := screening_refusal(self.screening.screen(signed, self._admission_timestamp())):
            raise TransactionRejected(*refusal)

    def _refusal_for_later_block(self, sender: str, transfers: tuple) -> tuple[str, str] | None:
        building = self.building
        overlay = building.outcome.overlay.accounts if building is not None else {}
        touched = _AccountsTouched(overlay, self.mempool)
        return self.balances.refusal(sender, transfers, touched, later_block=True)

    def _next_block_full(self) -> bool:
        building = self.building
        if building is None:
            return False
        return len(building.transactions) >= max_transactions(self.chain.ledger, self.genesis)

    def _next_block(self) -> BlockBuilder:
        # An empty builder is made afresh, so the block's timestamp (which pending-transfer
        # timeouts count from) is that of its first transaction, not of an earlier refusal.
        if self.building is None or not self.building.transactions:
            head = self.chain.head.header
            timestamp = max(head.timestamp, int(time.time()))
            number = head.number + 1
            evm = self.chain.evm_block(number, timestamp)
            self.building = BlockBuilder(self.chain.ledger, self.chain.rules, number, timestamp, evm)
        return self.building

    # --- blocks through consensus (node.p2p.driver) --------------------------------------------

    def propose(self) -> ExecutedBlock:
        """getValue() of the consensus algorithm: the next block from the mempool, sealed.

        The prepared builder is reused when it holds exactly the block's share of the mempool,
        so each transaction is executed once by the proposer."""
        params = self.genesis.block
        limit = max_transactions(self.chain.ledger, self.genesis)
        batch = self.mempool.take(limit, min(params.max_bytes, MAX_PROPOSAL_BYTES))
        head = self.chain.head.header
        building, self.building = self.building, None
        reusable = building is not None and building.number == head.number + 1
        same = reusable and len(building.transactions) == len(batch)
        if same and all(map(operator.is_, building.transactions, batch)):
            transactions, outcome, timestamp = building.transactions, building.outcome, building.timestamp
        else:
            timestamp = max(head.timestamp, int(time.time()))
            transactions = batch if self.screening is None else self.screening.allowed(batch, timestamp)
            evm = self.chain.evm_block(head.number + 1, timestamp)
            outcome = execute_block(self.chain.ledger, self.chain.rules, head.number + 1, timestamp, transactions, evm)
        self.proposed = self.chain.seal(transactions, outcome, timestamp, address_bytes(self.address))
        return self.proposed

    def unknown_transactions(self, block: Block) -> list[bytes]:
        """The block's raw transactions not in our mempool: only their senders must be recovered
        (gossip has usually brought the rest, with senders, before the proposal)."""
        return [raw for raw in block.transactions if keccak(raw) not in self.mempool]

    def execute_proposal(self, block: Block) -> ExecutedBlock:
        """valid(v) of the consensus algorithm: re-execute a block over our head; raise if invalid."""
        try:
            transactions = [self.mempool.get(keccak(raw)) or self.decode_signed(raw) for raw in block.transactions]
        except TransactionRejected as rejected:
            raise InvalidBlockError("transactions", rejected.message) from None
        return self.chain.execute_proposal(block, transactions)

    def commit_decided(self, executed: ExecutedBlock, commit: tuple[bytes, ...]) -> Block:
        """Store a decided block with its certificate; then the mempool and builder follow it."""
        started = time.perf_counter()
        block = self.chain.commit_executed(executed, commit)
        if self.screening is not None:
            self.screening.block_committed(block, executed.outcome.receipts)
        self.balances.block_committed(block.header.number, executed.outcome.overlay.accounts)
        self.proposed = None
        self.building = None
        included = [t for t in (self.mempool.get(h) for h in executed.tx_hashes) if t is not None]
        self.mempool.remove(included)
        if len(self.mempool) and self.prepares_next_block():
            self._readmit_waiting()
        parked_count = len(self.parked)
        if self.parked:
            parked, self.parked = list(self.parked.items()), {}
            for raw, decoded in parked:  # in arrival order, so one sender's nonces come in sequence
                self.admit_gossiped(raw, decoded)
        if self.screening is not None:
            self._admit_released(self.screening.take_released())
        receipts = executed.outcome.receipts
        self._observe_block(block.header.number, executed.tx_hashes, receipts, time.perf_counter() - started)
        for listener in self.block_listeners:
            listener(block, receipts)
        event(
            log,
            "block_committed",
            height=block.header.number,
            txs=len(executed.tx_hashes),
            failed=sum(1 for r in receipts if not r.status),
            signatures=len(commit),
            mempool=len(self.mempool),
            parked=parked_count,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return block

    # --- block production --------------------------------------------------------------------

    def produce(self) -> int:
        """Build one block from the mempool if there is work (or empty blocks are on)."""
        params = self.genesis.block
        if not len(self.mempool) and not params.empty_blocks:
            return 0
        batch = self.mempool.take(max_transactions(self.chain.ledger, self.genesis), params.max_bytes)
        started = time.perf_counter()
        building, self.building = self.building, None
        if building is not None and len(batch) == len(building.transactions) == len(self.mempool):
            block, receipts = self.chain.commit_built_block(building, self.validator_key)
        else:
            # More waiting than one block holds (or an empty block): execute the block's share
            # afresh, then prepare the next block from what is left.
            # (At the builder's timestamp: screening verdicts were given for that block time.)
            block, receipts = self.chain.produce_block(batch, self.validator_key, building and building.timestamp)
        if self.screening is not None:
            self.screening.block_committed(block, receipts)
        self.mempool.remove(batch)
        if self.screening is not None:
            self._admit_released(self.screening.take_released())
        self.balances.block_committed(block.header.number)
        if len(self.mempool):
            self._readmit_waiting()
        self._observe_block(block.header.number, batch, receipts, time.perf_counter() - started)
        for listener in self.block_listeners:
            listener(block, receipts)
        event(
            log,
            "block_committed",
            height=block.header.number,
            txs=len(batch),
            failed=sum(1 for r in receipts if not r.status),
            ms=round((time.perf_counter() - started) * 1000, 1),
            mempool=len(self.mempool),
        )
        return len(batch)

    def _observe_block(self, height: int, batch: list, receipts: list, seconds: float) -> None:
        m = self.metrics
        now = time.monotonic()
        if self._last_block_at is not None:
            m.block_interval.observe(now - self._last_block_at)
        self._last_block_at = now
        m.height.set(height)
        m.block_transactions.observe(len(batch))
        m.block_transfers.observe(sum(len(r.postings) for r in receipts))
        m.commit_seconds.observe(seconds)
        m.failed_receipts.inc(sum(1 for r in receipts if not r.status))
        m.mempool_size.set(len(self.mempool))

    def _readmit_waiting(self) -> None:
        """Book the transactions still waiting into a builder for the next block; drop those
        that no longer book (the block before changed their accounts) or whose sender's
        earlier transaction was dropped."""
        waiting = self.mempool.transactions()
        builder = self._next_block()
        dropped = []
        limit = max_transactions(self.chain.ledger, self.genesis)
        for signed in waiting:
            if len(builder.transactions) >= limit:
                break  # the rest waits for a later block
            try:
                receipt = builder.try_add(signed)
            except InvalidBlockError as exc:
                dropped.append((signed, "nonce_gap", str(exc)))
                continue
            if not receipt.status and receipt.evm is None:
                dropped.append((signed, receipt.error_rule, receipt.error_message))
        if dropped:
            self.mempool.remove([signed for signed, _, _ in dropped])
            for signed, rule, message in dropped:
                self.metrics.dropped.labels(rule).inc()
                event(log, "tx_dropped", logging.WARNING, tx=signed.hash.hex(), rule=rule, reason=message)

    def stop(self) -> None:
        self.stopping.set()


class _AccountsTouched:
    """Accounts whose committed balance may not be what a later block books against: touched by
    the block being prepared, or possibly raised by a transaction waiting in the mempool."""

    def __init__(self, overlay: Container[str], mempool: Mempool) -> None:
        self.overlay, self.mempool = overlay, mempool

    def __contains__(self, account_id: object) -> bool:
        return account_id in self.overlay or (isinstance(account_id, str) and self.mempool.may_raise_funds(account_id))
