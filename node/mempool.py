"""The mempool: admitted transactions waiting for a block, bounded and deduplicated.

A sender's transactions are admitted only in nonce order with no gaps, so arrival order is a
valid block order and the proposer simply takes from the front. Duplicates are refused by
transaction hash and by transfer id (the same payment submitted twice, e.g. by a gateway
that retried, is one booking).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from ledger.tx import LedgerTransaction
from node.execution import SignedTransaction, TransactionRejected

DEFAULT_MAX_TRANSACTIONS = 50_000
DEFAULT_MAX_PER_SENDER = 10_000


class Mempool:
    def __init__(self, max_transactions: int = DEFAULT_MAX_TRANSACTIONS, max_per_sender: int = DEFAULT_MAX_PER_SENDER):
        self.max_transactions = max_transactions
        self.max_per_sender = max_per_sender
        self._by_hash: OrderedDict[bytes, SignedTransaction] = OrderedDict()
        self._per_sender: dict[str, int] = {}
        self._transfer_ids: set[int] = set()
        # What waiting transactions could add to an account's available funds once booked: see
        # may_raise_funds. Counted on insert and remove, so admission asks in O(1).
        self._credited: dict[str, int] = {}
        self._funds_unknown = 0  # waiting actions, posts and voids: their effect on funds is not read here

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> SignedTransaction | None:
        return self._by_hash.get(tx_hash)

    def pending_count(self, sender: str) -> int:
        return self._per_sender.get(sender, 0)

    def has_transfer_id(self, transfer_id: int) -> bool:
        return transfer_id in self._transfer_ids

    def add(self, signed: SignedTransaction, state_nonce: int) -> None:
        """Admit `signed` if it is new, in nonce order and within the bounds; else raise."""
        self.check(signed, state_nonce)
        self.insert(signed)

    def check(self, signed: SignedTransaction, state_nonce: int) -> None:
        """Raise TransactionRejected if `add` would refuse `signed`; changes nothing."""
        if signed.hash in self._by_hash:
            raise TransactionRejected("already_known", f"transaction {signed.hash.hex()} is already in the mempool")
        queued = self._per_sender.get(signed.sender, 0)
        expected = state_nonce + queued
        if signed.tx.nonce < expected:
            raise TransactionRejected(
                "nonce_too_low", f"nonce {signed.tx.nonce} of {signed.sender} is used; the next nonce is {expected}"
            )
        if signed.tx.nonce > expected:
            raise TransactionRejected(
                "nonce_gap", f"nonce {signed.tx.nonce} of {signed.sender} skips ahead; the next nonce is {expected}"
            )
        if len(self._by_hash) >= self.max_transactions:
            raise TransactionRejected("mempool_full", f"the mempool holds its limit of {self.max_transactions}; retry")
        if queued >= self.max_per_sender:
            raise TransactionRejected(
                "sender_limit", f"{signed.sender} has {queued} transactions waiting (limit {self.max_per_sender})"
            )
        ids = [t.id for t in signed.tx.transfers]
        if len(set(ids)) != len(ids):
            raise TransactionRejected("duplicate_transfer_id", "the transaction uses one transfer id twice")
        for transfer_id in ids:
            if transfer_id in self._transfer_ids:
                raise TransactionRejected(
                    "duplicate_transfer_id", f"transfer id {transfer_id:#x} is already waiting in the mempool"
                )

    def insert(self, signed: SignedTransaction) -> None:
        """Add a transaction `check` accepted."""
        self._by_hash[signed.hash] = signed
        self._per_sender[signed.sender] = self._per_sender.get(signed.sender, 0) + 1
        self._transfer_ids.update(t.id for t in signed.tx.transfers)
        self._count_funds(signed, 1)

    def may_raise_funds(self, account_id: str) -> bool:
        """Could a waiting transaction leave `account_id` with more available funds?

        A plain or pending transfer raises only its credit account; an action (e.g. a new
        overdraft limit), a post, a void or an Ethereum transaction (ledger tokens through the
        bridge) may raise any account, so while one waits every account answers yes. Debits only
        lower funds: a refusal the committed state already justifies stays justified whatever
        waiting debits do."""
        return self._funds_unknown > 0 or account_id in self._credited

    def _count_funds(self, signed: SignedTransaction, step: int) -> None:
        tx = signed.tx
        if (
            not isinstance(tx, LedgerTransaction)
            or tx.action is not None
            or any(t.is_post or t.is_void for t in tx.transfers)
        ):
            self._funds_unknown += step  # an Ethereum transaction may move ledger tokens through the bridge
            return
        for transfer in tx.transfers:
            left = self._credited.get(transfer.credit_account_id, 0) + step
            if left:
                self._credited[transfer.credit_account_id] = left
            else:
                del self._credited[transfer.credit_account_id]

    def take(self, max_count: int, max_bytes: int) -> list[SignedTransaction]:
        """The oldest transactions that fit a block (removal waits until the block is stored)."""
        taken: list[SignedTransaction] = []
        size = 0
        for signed in self._by_hash.values():
            if len(taken) >= max_count or size + len(signed.raw) > max_bytes:
                break
            taken.append(signed)
            size += len(signed.raw)
        return taken

    def remove(self, included: Iterable[SignedTransaction]) -> None:
        for signed in included:
            if self._by_hash.pop(signed.hash, None) is None:
                continue
            left = self._per_sender[signed.sender] - 1
            if left:
                self._per_sender[signed.sender] = left
            else:
                del self._per_sender[signed.sender]
            self._transfer_ids.difference_update(t.id for t in signed.tx.transfers)
            self._count_funds(signed, -1)

    def transactions(self) -> list[SignedTransaction]:
        return list(self._by_hash.values())
