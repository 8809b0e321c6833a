"""Read views of ledger state and the copy-on-write overlay that makes application atomic.

A block is applied into an overlay over the store, each transaction into a child overlay of
the block's, and each linked chain into a child of the transaction's. A failure discards the
child; success merges it into its parent. Only a whole block ever reaches the store, in one
LevelDB write batch, so the store never holds a half-applied anything.
"""

from __future__ import annotations

from typing import Protocol

from ledger.account import Account
from ledger.transfer import StoredTransfer


class LedgerReader(Protocol):
    def account(self, account_id: str) -> Account | None: ...

    def transfer(self, transfer_id: int) -> StoredTransfer | None: ...

    def nonce(self, address: str) -> int: ...

    def record(self, key: bytes) -> bytes | None: ...


class Overlay:
    """Pending changes over a parent view; reads fall through to the parent."""

    __slots__ = ("accounts", "nonces", "parent", "records", "transfers")

    def __init__(self, parent: LedgerReader) -> None:
        self.parent = parent
        self.accounts: dict[str, Account] = {}
        self.transfers: dict[int, StoredTransfer] = {}
        self.nonces: dict[str, int] = {}
        self.records: dict[bytes, bytes | None] = {}  # chain records (governance): key -> value, None deletes

    def account(self, account_id: str) -> Account | None:
        found = self.accounts.get(account_id)
        return found if found is not None else self.parent.account(account_id)

    def transfer(self, transfer_id: int) -> StoredTransfer | None:
        found = self.transfers.get(transfer_id)
        return found if found is not None else self.parent.transfer(transfer_id)

    def nonce(self, address: str) -> int:
        found = self.nonces.get(address)
        return found if found is not None else self.parent.nonce(address)

    def record(self, key: bytes) -> bytes | None:
        if key in self.records:
            return self.records[key]
        return self.parent.record(key)

    def put_record(self, key: bytes, value: bytes | None) -> None:
        self.records[key] = value

    def put_account(self, account: Account) -> None:
        self.accounts[account.id] = account

    def put_transfer(self, stored: StoredTransfer) -> None:
        self.transfers[stored.transfer.id] = stored

    def set_nonce(self, address: str, nonce: int) -> None:
        self.nonces[address] = nonce

    def child(self) -> Overlay:
        return Overlay(self)

    def merge_into_parent(self) -> None:
        """Make this overlay's changes part of its parent overlay."""
        parent = self.parent
        if not isinstance(parent, Overlay):
            raise TypeError("only an overlay over another overlay can be merged; flush to the store instead")
        parent.accounts.update(self.accounts)
        parent.transfers.update(self.transfers)
        parent.nonces.update(self.nonces)
        parent.records.update(self.records)
