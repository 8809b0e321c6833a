"""The node's screening hook: verdicts for ledger transactions before they may enter a block.

Wiring (node/service.py): `Screener.for_node` loads the model pinned in genesis and installs
`screen` as `ChainRules.screen`, so the block builder asks it about every transaction both at
admission (`try_add`: a hold or reject keeps it out, the sender gets the rule and reason) and at
block execution (`add`: a block holding a non-allowed transaction is invalid). After each
committed block the node calls `block_committed`, which folds the block into the feature state,
applies the confirmed-fraud reports and compliance decisions the block recorded (chain actions:
node/screening/actions.py) and expires held transactions.

Determinism: a verdict is a function of the feature state after the parent block, the block's
timestamp and the transaction, with a model whose hash genesis pins; scores are integers (ppm).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from contracts.evm.transaction import is_ethereum_raw
from genesis.schema import Genesis, GenesisError, ScreeningParams
from ledger.hashing import keccak
from ledger.state import LedgerReader
from ledger.transfer import Transfer
from ledger.tx import LedgerTransaction, decode_transaction
from node.block import Block, Receipt, ScreeningRecord
from node.execution import SignedTransaction
from node.governance import SCREENING_ACTION_KINDS
from node.log import event
from node.screening.actions import REPORT_PREFIX, Decision, decision_of, report_of, screening_action_of
from node.screening.features import FeatureConfig, FeatureState, Payment
from node.screening.model import ModelError, ScreeningModel, Verdict, load_model, single_threaded_inference
from node.screening.review import ReviewQueue

log = logging.getLogger("qenex.screening")
MODEL_DIR = "screening-model"
MAX_PRESCORE = 2000  # a JSON-RPC batch holds at most 2000 calls
MAX_CACHED = 200_000  # verdicts and scores kept between two blocks


class ScreeningConfigError(GenesisError):
    """Genesis pins a model this node cannot load (missing, or a different hash): the node stops
    rather than screen differently from the other validators."""


def payments_of(tx: LedgerTransaction | object | None, exponents: dict[str, int]) -> list[Payment]:
    """The transfers screening looks at: new money movements (post/void only settle earlier ones).
    An Ethereum transaction has no transfers of its own (docs/screening.md, "What is not screened")."""
    if not isinstance(tx, LedgerTransaction):
        return []
    return [_payment(t, exponents) for t in tx.transfers if not (t.is_post or t.is_void) and t.currency in exponents]


def _ledger_transactions(block: Block) -> Iterable[LedgerTransaction | None]:
    """A block's ledger transactions in order, None in place of an Ethereum one."""
    for raw in block.transactions:
        yield None if is_ethereum_raw(raw) else decode_transaction(raw)


def _payment(t: Transfer, exponents: dict[str, int]) -> Payment:
    return Payment(t.debit_account_id, t.credit_account_id, t.amount, exponents[t.currency], t.currency)


class Screener:
    def __init__(self, model: ScreeningModel, params: ScreeningParams, genesis: Genesis, home: Path) -> None:
        assert model.feature_set == "chain", "the node screens with chain features only"
        self.model = model
        self.params = params
        self.genesis = genesis
        self.exponents = genesis.exponents
        self.model_hash = bytes.fromhex(model.sha256)
        self.state = FeatureState(FeatureConfig(label_delay_seconds=params.label_delay_seconds))
        self.queue = ReviewQueue(params.max_held, params.hold_expiry_seconds)
        self.chain_state: LedgerReader | None = None  # the committed ledger (set by catch_up)
        self.released_ready: list[bytes] = []  # held here, released on chain: the node admits them
        self._cache: dict[tuple[bytes, int], ScreeningRecord] = {}  # verdicts (with the queue's decisions)
        self._scores: dict[tuple[bytes, int], ScreeningRecord] = {}  # model scores, reset each block

    @classmethod
    def for_node(cls, genesis: Genesis, home: Path, chain: object) -> Screener | None:
        """The screener genesis asks for, caught up with `chain`; None if genesis pins no model."""
        params = genesis.screening
        if params is None:
            return None
        model_dir = Path(os.environ.get("QENEX_SCREENING_MODEL", Path(home) / MODEL_DIR))
        try:
            model = load_model(model_dir, expected_sha256=params.model_sha256)
        except ModelError as exc:
            raise ScreeningConfigError(
                f"genesis pins screening model {params.model_sha256} but it cannot be used: {exc}"
            ) from None
        if model.feature_set != "chain":
            raise ScreeningConfigError(f"{model_dir}: feature set {model.feature_set!r} cannot screen ledger payments")
        single_threaded_inference()
        screener = cls(model, params, genesis, home)
        screener.catch_up(chain)
        return screener

    # --- the hook ----------------------------------------------------------------------------

    def screen(self, signed: SignedTransaction, timestamp: int) -> ScreeningRecord:
        """The verdict on `signed` in a block at `timestamp` (ChainRules.screen)."""
        key = (signed.hash, timestamp)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if len(self._cache) >= MAX_CACHED or len(self._scores) >= MAX_CACHED:
            self._cache.clear()  # only a cache: refused transactions sent again and again cannot grow it
            self._scores.clear()
        held = self.queue.held_for_sender(signed.sender)
        decided = None if self.chain_state is None else decision_of(self.chain_state, signed.hash)
        if decided is not None and decided.decision == "reject":
            record = ScreeningRecord("reject", 0, self.model_hash, ("compliance_rejected",))
        elif decided is not None:
            record = self._score(signed, timestamp, released=True)
        elif held is not None and held != signed.hash:
            return ScreeningRecord("sender_held", 0, self.model_hash)
        else:
            record = self._score(signed, timestamp)
            if record.verdict == "hold" and not self.queue.hold(signed, record, timestamp):
                record = ScreeningRecord("reject", record.score_ppm, self.model_hash, ("review_queue_full",))
            if record.verdict != "allow":
                event(log, "tx_screened", tx=signed.hash.hex(), verdict=record.verdict, score_ppm=record.score_ppm)
        self._cache[key] = record
        return record

    def _score(self, signed: SignedTransaction, timestamp: int, released: bool = False) -> ScreeningRecord:
        record = self._scores.get((signed.hash, timestamp))
        if record is None:
            record = self.score_batch([signed.tx], timestamp)[0]
            self._scores[(signed.hash, timestamp)] = record
        return (
            ScreeningRecord("released", record.score_ppm, record.model_sha256, record.top_features)
            if released
            else record
        )

    def score_batch(self, txs: list[LedgerTransaction], timestamp: int) -> list[ScreeningRecord]:
        """One model call for all transfers of `txs`; a transaction's score is its worst transfer's."""
        rows: list[list[float]] = []
        owners: list[int] = []
        for index, tx in enumerate(txs):
            for row in self.state.block_features(timestamp, payments_of(tx, self.exponents)):
                rows.append(row)
                owners.append(index)
        worst: dict[int, Verdict] = {}
        for owner, verdict in zip(owners, self.model.verdicts(rows), strict=True):
            if owner not in worst or verdict.score_ppm > worst[owner].score_ppm:
                worst[owner] = verdict
        records = []
        for index in range(len(txs)):
            v = worst.get(index)
            records.append(
                ScreeningRecord("allow", 0, self.model_hash)
                if v is None
                else ScreeningRecord(v.verdict, v.score_ppm, self.model_hash, v.top_features)
            )
        return records

    def allowed(self, batch: list[SignedTransaction], timestamp: int) -> list[SignedTransaction]:
        """The part of a proposal's batch screening lets into a block at `timestamp` (the rest, and
        a sender's transactions after one left out, wait: re-booked after the block, they are
        held or refused then)."""
        kept, stopped = [], set()
        for signed in batch:
            if signed.sender in stopped:
                continue
            if self.screen(signed, timestamp).verdict in ("allow", "released"):
                kept.append(signed)
            else:
                stopped.add(signed.sender)
        return kept

    def prescore(self, raws: list[bytes], timestamp: int) -> None:
        """Score a JSON-RPC batch's ledger transactions in one model call before they are admitted
        one by one (a model call costs milliseconds; per row in a batch, microseconds)."""
        txs, hashes = [], []
        for raw in raws[:MAX_PRESCORE]:
            try:
                txs.append(decode_transaction(raw))
            except ValueError:
                continue  # admission names what is wrong with it
            hashes.append(keccak(raw))
        if len(txs) < 2:
            return
        for tx_hash, record in zip(hashes, self.score_batch(txs, timestamp), strict=True):
            self._scores[(tx_hash, timestamp)] = record

    # --- after each block --------------------------------------------------------------------

    def block_committed(self, block: Block, receipts: list[Receipt]) -> None:
        timestamp = block.header.timestamp
        txs = list(_ledger_transactions(block))
        self._apply_block(timestamp, txs, receipts)
        for kind, subject, decision in _screening_actions(txs, receipts):
            if kind == "report":
                self._apply_report(subject, timestamp)  # type: ignore[arg-type]
                continue
            recorded = self.decision(subject)  # type: ignore[arg-type]
            assert recorded is not None and recorded.decision == decision, "a committed decision is recorded"
            by = recorded.by  # the compliance officer (the action's sender only relayed it)
            entry = self.queue.get(subject)  # type: ignore[arg-type]
            if entry is not None and entry.status == "held":
                self.queue.decide(entry.signed.hash, decision, by)
                if decision == "release":
                    self.released_ready.append(entry.signed.raw)
            event(log, "held_tx_decided", tx=subject.hex(), decision=decision, by=by)  # type: ignore[union-attr]
        self.expire_held(timestamp)
        self._cache.clear()
        self._scores.clear()

    def take_released(self) -> list[bytes]:
        """Held transactions released on chain since the last call (the node admits them)."""
        ready, self.released_ready = self.released_ready, []
        return ready

    def _apply_block(self, timestamp: int, txs: Iterable[LedgerTransaction | None], receipts: list[Receipt]) -> None:
        payments: list[Payment] = []
        for tx, receipt in zip(txs, receipts, strict=True):
            if receipt.status:
                payments.extend(payments_of(tx, self.exponents))
        self.state.apply_block(timestamp, payments)

    def catch_up(self, chain: object) -> None:
        """Rebuild the feature state from the stored blocks (once, at start)."""
        self.chain_state = chain.ledger  # type: ignore[attr-defined]
        for number in range(1, chain.height + 1):  # type: ignore[attr-defined]
            block = chain.block(number)  # type: ignore[attr-defined]
            receipts = chain.receipts(number)  # type: ignore[attr-defined]
            txs = list(_ledger_transactions(block))
            self._apply_block(block.header.timestamp, txs, receipts)
            for kind, subject, _ in _screening_actions(txs, receipts):
                if kind == "report":
                    self._apply_report(subject, block.header.timestamp)  # type: ignore[arg-type]

    # --- review ------------------------------------------------------------------------------

    def expire_held(self, now: int | None = None) -> None:
        """Expire held transactions past their time (also between blocks: an idle chain makes none)."""
        for entry in self.queue.expire(int(time.time()) if now is None else now):
            event(log, "held_tx_expired", tx=entry.signed.hash.hex())

    def decision(self, tx_hash: bytes) -> Decision | None:
        """The compliance decision recorded on chain for `tx_hash`, if any."""
        return None if self.chain_state is None else decision_of(self.chain_state, tx_hash)

    # --- fraud reports (recorded on chain: node/screening/actions.py) ---------------------------

    def reported_ids(self) -> set[int]:
        if self.chain_state is None:
            return set()
        return {int.from_bytes(key[len(REPORT_PREFIX) :], "big") for key, _ in self.chain_state.records(REPORT_PREFIX)}

    def reported(self, transfer_id: int) -> bool:
        return self.chain_state is not None and report_of(self.chain_state, transfer_id) is not None

    def _apply_report(self, transfer_id: int, confirmed_at: int) -> None:
        assert self.chain_state is not None, "reports are read from the chain"
        stored = self.chain_state.transfer(transfer_id)
        assert stored is not None, "a report is recorded only for a booked transfer"
        self.state.confirm_fraud(stored.transfer.credit_account_id, stored.timestamp, confirmed_at)


def _screening_actions(
    txs: list[LedgerTransaction | None], receipts: list[Receipt]
) -> Iterable[tuple[str, bytes | int, str]]:
    """(kind, subject, decision) of each compliance action a block recorded, in order."""
    for tx, receipt in zip(txs, receipts, strict=True):
        if tx is None or tx.action is None or tx.action.kind not in SCREENING_ACTION_KINDS or not receipt.status:
            continue
        yield screening_action_of(tx.action)


def install_screening(genesis: Genesis, home: Path, chain: object) -> Screener | None:
    """Load the screener genesis pins (if any) and make it a chain rule of `chain`."""
    screener = Screener.for_node(genesis, home, chain)
    if screener is not None:
        chain.rules = replace(chain.rules, screen=screener.screen)  # type: ignore[attr-defined]
    return screener
