"""The state transition: what a block's transactions do to the ledger.

execute_block(store, rules, number, timestamp, transactions)
  1. expire pending transfers whose timeout has passed (same set on every validator)
  2. for each transaction, in order:
       the nonce must be the sender's next one  (else the block is invalid)
       the nonce is consumed, even if the transfers fail (as in Ethereum)
       every debit must be authorised for the signer
       all transfers are booked, or none (receipt status 0 with the rule broken)
  3. the overlay, receipts and journal go to the store in one write batch (node.chain)

An Ethereum transaction (contracts.evm) takes the same nonce step, then runs in py-evm against
the block's EVM state; one that breaks an admission rule (fees, funds, gas) is refused whole at
admission, and one that reverts is still included with a status-0 receipt that paid its gas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from contracts.evm.executor import EvmBlock
from contracts.evm.transaction import EthTransaction, EvmTxInvalid
from ledger.apply import BookingContext, TransferRejected, apply_transfers, expire_pending
from ledger.authz import RoleGrant, authorize_debit
from ledger.errors import LedgerError
from ledger.journal import JournalEntry, Posting
from ledger.permissions import current_grants
from ledger.state import Overlay
from ledger.store import LedgerStore
from ledger.tx import LedgerTransaction
from node.block import Receipt, ScreeningRecord
from node.governance import ActionContext, ActionRejected, apply_action

if TYPE_CHECKING:
    from genesis.schema import Genesis


class InvalidBlockError(ValueError):
    """A block breaks a chain rule; `field` names what differs or what is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"invalid block: {field_name}: {message}")
        self.field = field_name


class TransactionRejected(Exception):
    """Mempool admission refused a transaction; `rule` is a stable code, the message says why."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


ALLOWED_VERDICTS = ("allow", "released")


def screening_refusal(record: ScreeningRecord | None) -> tuple[str, str] | None:
    """The (rule, message) admission refuses a transaction with for this verdict, or None."""
    if record is None or record.verdict in ALLOWED_VERDICTS:
        return None
    return f"fraud_{record.verdict}", screening_message(record)


def screening_message(record: ScreeningRecord) -> str:
    if record.verdict == "sender_held":
        return "fraud screening: the sender has a transaction held for compliance review; wait for its decision"
    why = ", ".join(record.top_features) or "no single feature stands out"
    if record.verdict == "hold":
        return f"fraud screening: held for compliance review (score {record.score_ppm / 1e6:.6f}; top features: {why})"
    return f"fraud screening: {record.verdict} (score {record.score_ppm / 1e6:.6f}; top features: {why})"


@dataclass(frozen=True)
class ChainRules:
    chain_id: int
    exponents: dict[str, int]
    roles: tuple[RoleGrant, ...]
    expiries_max: int = 10_000
    genesis: Genesis | None = None  # chain actions (node.governance) read the registered nodes
    # Fraud screening (node/screening): (transaction, block timestamp) -> verdict record, or None
    # on chains that do not screen. A "hold"/"reject" verdict keeps the transaction out of the block.
    screen: Callable[[SignedTransaction, int], ScreeningRecord] | None = None


@dataclass
class BlockOutcome:
    overlay: Overlay
    receipts: list[Receipt] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    evm: EvmBlock | None = None  # the block's EVM state; None on a chain without EVM


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A decoded transaction with its raw bytes, hash and recovered sender (computed once)."""

    tx: LedgerTransaction | EthTransaction
    raw: bytes
    hash: bytes
    sender: str


class BlockBuilder:
    """Applies transactions one by one for block `number` at `timestamp` over the store.

    `execute_block` runs a whole block through it. The node also keeps one open between blocks
    and admits each new transaction into it (`try_add`), so a transaction is booked once, at
    admission, in the state left by the transactions admitted before it; the producer then
    commits the builder's outcome as the block. Both paths run the same steps with the same
    context, so they give the same state, receipts and journal.
    """

    def __init__(
        self, store: LedgerStore, rules: ChainRules, number: int, timestamp: int, evm: EvmBlock | None = None
    ) -> None:
        self.rules = rules
        self.number = number
        self.timestamp = timestamp
        self.outcome = BlockOutcome(Overlay(store), evm=evm)
        self.transactions: list[SignedTransaction] = []
        block_ctx = BookingContext(number, timestamp, b"", rules.exponents)
        expired = expire_pending(self.outcome.overlay, store.expiring(timestamp, rules.expiries_max), block_ctx)
        _journal(self.outcome, number, -1, b"", expired)

    def _check(self, signed: SignedTransaction) -> int:
        index = len(self.transactions)
        tx = signed.tx
        if tx.chain_id != self.rules.chain_id:
            raise InvalidBlockError(f"transactions[{index}].chain_id", f"{tx.chain_id} is not {self.rules.chain_id}")
        expected = self.outcome.overlay.nonce(signed.sender)
        if tx.nonce != expected:
            raise InvalidBlockError(f"transactions[{index}].nonce", f"{tx.nonce} but {signed.sender} is at {expected}")
        return expected

    def add(self, signed: SignedTransaction) -> Receipt:
        """Block semantics: the nonce is consumed even if the transfers fail (receipt status 0)."""
        nonce = self._check(signed)
        if isinstance(signed.tx, EthTransaction):
            return self._add_ethereum(signed, nonce, admission=False)
        screening = self._screen(signed)
        if screening is not None and screening.verdict not in ALLOWED_VERDICTS:
            raise InvalidBlockError(
                f"transactions[{len(self.transactions)}].screening", f"screening verdict is {screening.verdict}"
            )
        self.outcome.overlay.set_nonce(signed.sender, nonce + 1)
        receipt = replace(
            apply_transaction(self.outcome.overlay, signed, self.rules, self._ctx(signed)), screening=screening
        )
        self._record(signed, receipt)
        return receipt

    def _screen(self, signed: SignedTransaction) -> ScreeningRecord | None:
        return self.rules.screen(signed, self.timestamp) if self.rules.screen is not None else None

    def try_add(self, signed: SignedTransaction) -> Receipt:
        """Admission semantics: only a transaction whose transfers all book joins the block.

        The nonce is set after booking rather than before; booking never reads nonces, so the
        resulting state is what `add` gives for the same transaction.
        """
        nonce = self._check(signed)
        if isinstance(signed.tx, EthTransaction):
            return self._add_ethereum(signed, nonce, admission=True)
        screening = self._screen(signed)
        if refusal := screening_refusal(screening):
            return Receipt(signed.hash, bytes.fromhex(signed.sender[2:]), 0, *refusal)
        receipt = replace(
            apply_transaction(self.outcome.overlay, signed, self.rules, self._ctx(signed)), screening=screening
        )
        if receipt.status:
            self.outcome.overlay.set_nonce(signed.sender, nonce + 1)
            self._record(signed, receipt)
        return receipt

    def _add_ethereum(self, signed: SignedTransaction, nonce: int, admission: bool) -> Receipt:
        """Run an Ethereum transaction in the block's EVM state.

        Refused (admission rules): at admission nothing changes and the receipt says why; in a
        block the nonce is consumed as for a ledger transaction. Executed: included whether it
        succeeded or reverted (status 0, gas paid)."""
        sender_bytes = bytes.fromhex(signed.sender[2:])
        assert isinstance(signed.tx, EthTransaction)
        try:
            if self.outcome.evm is None:
                raise EvmTxInvalid("evm_disabled", "this chain does not execute Ethereum transactions")
            result, postings = self.outcome.evm.apply(signed.tx, signed.sender, self.outcome.overlay)
        except EvmTxInvalid as invalid:
            receipt = Receipt(signed.hash, sender_bytes, 0, invalid.rule, invalid.message)
            if not admission:
                self.outcome.overlay.set_nonce(signed.sender, nonce + 1)
                self._record(signed, receipt)
            return receipt
        self.outcome.overlay.set_nonce(signed.sender, nonce + 1)
        rule = ""
        if result.error:
            rule = "execution_reverted" if result.error == "execution reverted" else "execution_failed"
        status = 0 if result.error else 1
        receipt = Receipt(signed.hash, sender_bytes, status, rule, result.error, postings=tuple(postings), evm=result)
        self._record(signed, receipt)
        return receipt

    def _ctx(self, signed: SignedTransaction) -> BookingContext:
        return BookingContext(self.number, self.timestamp, signed.hash, self.rules.exponents)

    def _record(self, signed: SignedTransaction, receipt: Receipt) -> None:
        index = len(self.transactions)
        self.transactions.append(signed)
        self.outcome.receipts.append(receipt)
        _journal(self.outcome, self.number, index, signed.hash, list(receipt.postings))


def execute_block(
    store: LedgerStore,
    rules: ChainRules,
    number: int,
    timestamp: int,
    transactions: Sequence[SignedTransaction],
    evm: EvmBlock | None = None,
) -> BlockOutcome:
    builder = BlockBuilder(store, rules, number, timestamp, evm)
    for signed in transactions:
        builder.add(signed)
    return builder.outcome


def apply_transaction(overlay: Overlay, signed: SignedTransaction, rules: ChainRules, ctx: BookingContext) -> Receipt:
    """Book one transaction's transfers into `overlay`, all or none; the receipt says which."""
    sender_bytes = bytes.fromhex(signed.sender[2:])
    scratch = overlay.child()
    if signed.tx.action is not None:
        if rules.genesis is None:
            return Receipt(signed.hash, sender_bytes, 0, "unknown_action", "this chain takes no actions")
        try:
            apply_action(signed.tx.action, ActionContext(scratch, rules.genesis, ctx.block_number, signed.hash,
                                                         signed.sender))  # fmt: skip
        except ActionRejected as rejected:
            return Receipt(signed.hash, sender_bytes, 0, rejected.rule, rejected.message)
        scratch.merge_into_parent()
        return Receipt(signed.hash, sender_bytes, 1)
    try:
        authorize_transaction(scratch, signed, current_grants(scratch, rules.roles))
        postings = apply_transfers(scratch, signed.tx.transfers, ctx)
    except TransferRejected as rejected:
        return Receipt(signed.hash, sender_bytes, 0, rejected.rule, rejected.message, rejected.index)
    except LedgerError as error:
        return Receipt(signed.hash, sender_bytes, 0, error.rule, error.message, getattr(error, "index", -1))
    scratch.merge_into_parent()
    return Receipt(signed.hash, sender_bytes, 1, postings=tuple(postings))


def authorize_transaction(state: Overlay, signed: SignedTransaction, roles: Sequence[RoleGrant]) -> None:
    """Every debited account (for post/void: the pending transfer's) must accept the signer."""
    for index, transfer in enumerate(signed.tx.transfers):
        account_id = transfer.debit_account_id
        if transfer.is_post or transfer.is_void:
            pending = state.transfer(transfer.pending_id)
            if pending is None:
                continue  # apply_transfers names the missing pending transfer
            account_id = pending.transfer.debit_account_id
        account = state.account(account_id)
        if account is None:
            continue  # apply_transfers names the missing account
        try:
            authorize_debit(signed.sender, account, roles)
        except LedgerError as error:
            raise TransferRejected(index, error) from None


def _journal(outcome: BlockOutcome, number: int, tx_index: int, tx_hash: bytes, postings: list[Posting]) -> None:
    for posting in postings:
        outcome.journal.append(JournalEntry(number, tx_index, tx_hash, len(outcome.journal), posting))
