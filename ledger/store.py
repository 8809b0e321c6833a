"""The ledger's records in LevelDB (plyvel), and the staging of one block's changes.

Keys (all under the b"L" prefix, so the node can keep chain data in the same database and
write a block's ledger changes and the block itself in one atomic, synced write batch):

  La <account id>                 account record
  Lt <transfer id u128>           booked transfer (idempotency, post/void, queries)
  Ln <address 20>                 sender nonce
  Lx <expires_at u64><id u128>    open pending transfers by expiry time
  Lj <block u64><seq u32>         journal entry
  Li <account id> 00 <block u64><seq u32>   per-account journal index
  Lo <owner address 20><account id>  accounts by owner
  Lc <currency>                   per-currency totals (debits/credits, posted/pending)
  Lk <bucket u16><leaf key>       commitment leaf hash;  Lb <bucket u16>: bucket hash
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import plyvel
import rlp

from ledger import rlp_encode
from ledger.account import Account
from ledger.codec import (
    address_bytes,
    bytes_to_int,
    decode_account,
    decode_journal_entry,
    decode_stored_transfer,
    encode_account,
    encode_journal_entry,
    encode_stored_transfer,
    int_to_bytes,
)
from ledger.commitment import (
    BUCKET_COUNT,
    EMPTY_BUCKET,
    BucketTree,
    LeafProof,
    apply_leaf_changes,
    bucket_changes,
    bucket_of,
)
from ledger.errors import InvariantViolation
from ledger.journal import JournalEntry
from ledger.state import Overlay
from ledger.transfer import PendingStatus, StoredTransfer

ACCOUNT = b"La"
TRANSFER = b"Lt"
NONCE = b"Ln"
EXPIRY = b"Lx"
JOURNAL = b"Lj"
ACCOUNT_JOURNAL = b"Li"
CURRENCY_TOTALS = b"Lc"
LEAF = b"Lk"
OWNER_INDEX = b"Lo"
BUCKET = b"Lb"
RECORD_JOURNAL = b"Lh"  # per block: the chain records it changed, in order
RECORD = b"Lg"  # chain records the ledger keeps for others (governance: validator sets, proposals, evidence)

CACHE_ACCOUNTS_MAX = 200_000
JOURNAL_PAGE_MAX = 1000


def account_leaf_key(account_id: str) -> bytes:
    return b"a" + account_id.encode()


def nonce_leaf_key(address: str) -> bytes:
    return b"n" + address_bytes(address)


def record_leaf_key(key: bytes) -> bytes:
    return b"g" + key


def pending_leaf_key(transfer_id: int) -> bytes:
    return b"p" + transfer_id.to_bytes(16, "big")


def state_leaves(overlay: Overlay, extra_leaves: dict[bytes, bytes | None] | None = None) -> dict[bytes, bytes | None]:
    """The commitment leaves a block's overlay changes (None deletes one): accounts, nonces and
    open pending transfers, plus chain records the ledger does not own (`extra_leaves`)."""
    leaves: dict[bytes, bytes | None] = dict(extra_leaves or {})
    for account in overlay.accounts.values():
        leaves[account_leaf_key(account.id)] = encode_account(account)
    for transfer_id, stored in overlay.transfers.items():
        if stored.status == PendingStatus.PENDING:
            leaves[pending_leaf_key(transfer_id)] = encode_stored_transfer(stored)
        elif stored.status != PendingStatus.NONE:
            leaves[pending_leaf_key(transfer_id)] = None
    for address, nonce in overlay.nonces.items():
        leaves[nonce_leaf_key(address)] = int_to_bytes(nonce)
    for key, value in overlay.records.items():
        leaves[record_leaf_key(key)] = value
    return leaves


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Sums over all accounts of one currency. Double entry makes debits equal credits."""

    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def encode(self) -> bytes:
        return rlp_encode.encode([int_to_bytes(v) for v in dataclasses.astuple(self)])

    @classmethod
    def decode(cls, data: bytes) -> CurrencyTotals:
        return cls(*(bytes_to_int(v) for v in rlp.decode(data)))


class LedgerStore:
    """Reads ledger state from LevelDB and stages a block's changes into a write batch."""

    def __init__(self, db: plyvel.DB) -> None:
        self.db = db
        self._accounts: OrderedDict[str, Account | None] = OrderedDict()
        self.tree = self._load_tree()

    # --- reads (the LedgerReader protocol) -------------------------------------------------

    def account(self, account_id: str) -> Account | None:
        cache = self._accounts
        if account_id in cache:
            cache.move_to_end(account_id)
            return cache[account_id]
        data = self.db.get(ACCOUNT + account_id.encode())
        account = decode_account(data) if data is not None else None
        self._remember(account_id, account)
        return account

    def record(self, key: bytes) -> bytes | None:
        return self.db.get(RECORD + key)

    def records(self, prefix: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """Chain records whose key starts with `prefix`, in key order (or reversed)."""
        for key, value in self.db.iterator(prefix=RECORD + prefix, reverse=reverse):
            yield key[len(RECORD) :], value

    def record_changes(self, block_number: int) -> list[tuple[bytes, bytes | None]]:
        """The chain records block `block_number` changed (None: deleted)."""
        changes = []
        for _, value in self.db.iterator(prefix=RECORD_JOURNAL + block_number.to_bytes(8, "big")):
            key, new = rlp.decode(value)
            changes.append((key, new or None))
        return changes

    def transfer(self, transfer_id: int) -> StoredTransfer | None:
        data = self.db.get(TRANSFER + transfer_id.to_bytes(16, "big"))
        return decode_stored_transfer(data) if data is not None else None

    def nonce(self, address: str) -> int:
        data = self.db.get(NONCE + address_bytes(address))
        return bytes_to_int(data) if data else 0

    def expiring(self, timestamp: int, limit: int) -> list[int]:
        """Ids of pending transfers with expires_at <= timestamp, oldest first, at most `limit`."""
        ids = []
        stop = EXPIRY + (timestamp + 1).to_bytes(8, "big")
        for key in self.db.iterator(start=EXPIRY, stop=stop, include_value=False):
            ids.append(int.from_bytes(key[10:26], "big"))
            if len(ids) >= limit:
                break
        return ids

    def currency_totals(self, currency: str) -> CurrencyTotals:
        data = self.db.get(CURRENCY_TOTALS + currency.encode())
        return CurrencyTotals.decode(data) if data else CurrencyTotals()

    def accounts(self) -> Iterator[Account]:
        for _, value in self.db.iterator(prefix=ACCOUNT):
            yield decode_account(value)

    def accounts_of(self, owner: str, limit: int = 1000) -> list[Account]:
        """Accounts whose owner is `owner`, in id order, at most `limit`."""
        prefix = OWNER_INDEX + address_bytes(owner)
        found = []
        for key in self.db.iterator(prefix=prefix, include_value=False):
            account = self.account(key[len(prefix) :].decode())
            if account is None:
                raise InvariantViolation(f"owner index names missing account {key[len(prefix) :]!r}")
            found.append(account)
            if len(found) >= limit:
                break
        return found

    def journal_entries(self, start_block: int = 0) -> Iterator[JournalEntry]:
        for _, value in self.db.iterator(start=JOURNAL + start_block.to_bytes(8, "big"), stop=JOURNAL + b"\xff" * 12):
            yield decode_journal_entry(value)

    def account_journal(
        self, account_id: str, after: tuple[int, int] | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[JournalEntry]:
        """One page of an account's journal; `after` is the (block, sequence) cursor of the last page."""
        limit = max(1, min(limit, JOURNAL_PAGE_MAX))
        prefix = ACCOUNT_JOURNAL + account_id.encode() + b"\x00"
        start, stop = prefix, prefix + b"\xff" * 13  # index keys are prefix + 12 bytes
        if after is not None:
            cursor = prefix + after[0].to_bytes(8, "big") + after[1].to_bytes(4, "big")
            if newest_first:
                stop = cursor  # exclusive: the page continues just below the cursor
            else:
                start = cursor + b"\x00"  # just above it
        entries = []
        for key in self.db.iterator(start=start, stop=stop, reverse=newest_first, include_value=False):
            data = self.db.get(JOURNAL + key[len(prefix) :])
            if data is None:
                raise InvariantViolation(f"journal index of {account_id} points at a missing entry")
            entries.append(decode_journal_entry(data))
            if len(entries) >= limit:
                break
        return entries

    def proof(self, leaf_key: bytes) -> LeafProof:
        bucket = bucket_of(leaf_key)
        return LeafProof(key=leaf_key, bucket=bucket, leaves=self._read_bucket(bucket), siblings=self.tree.path(bucket))

    @property
    def root(self) -> bytes:
        return self.tree.root

    # --- writes ------------------------------------------------------------------------------

    def stage(
        self,
        batch: plyvel.WriteBatch,
        overlay: Overlay,
        journal: list[JournalEntry],
        extra_leaves: dict[bytes, bytes | None] | None = None,
        block_number: int = 0,
    ) -> bytes:
        """Write a block's overlay and journal into `batch`; return the new state root.

        Asserts the invariants that must hold after every block: per currency, the changes
        to debits and credits (posted and pending) cancel out, so every currency still sums to
        zero. `extra_leaves` commits chain records the ledger does not own (e.g. role grants).
        The in-memory tree moves to the new root; if the batch is then not written, the
        caller must call `reload()`.
        """
        if overlay.parent is not self:
            raise InvariantViolation("staging an overlay that is not directly over the store")
        leaves = state_leaves(overlay, extra_leaves)
        deltas: dict[str, list[int]] = {}
        for account in overlay.accounts.values():
            before = self.account(account.id)
            encoded = encode_account(account)
            batch.put(ACCOUNT + account.id.encode(), encoded)
            if before is None:
                batch.put(OWNER_INDEX + address_bytes(account.owner) + account.id.encode(), b"")
            old = (
                (0, 0, 0, 0)
                if before is None
                else (before.debits_pending, before.debits_posted, before.credits_pending, before.credits_posted)
            )
            new = (account.debits_pending, account.debits_posted, account.credits_pending, account.credits_posted)
            delta = deltas.setdefault(account.currency, [0, 0, 0, 0])
            for i in range(4):
                delta[i] += new[i] - old[i]
        for currency, (dp, dpo, cp, cpo) in deltas.items():
            if dp != cp or dpo != cpo:
                raise InvariantViolation(
                    f"block does not balance in {currency}: debits {dpo}/{dp} vs credits {cpo}/{cp} (posted/pending)"
                )
            totals = self.currency_totals(currency)
            batch.put(
                CURRENCY_TOTALS + currency.encode(),
                CurrencyTotals(
                    totals.debits_pending + dp,
                    totals.debits_posted + dpo,
                    totals.credits_pending + cp,
                    totals.credits_posted + cpo,
                ).encode(),
            )
        for transfer_id, stored in overlay.transfers.items():
            id_bytes = transfer_id.to_bytes(16, "big")
            encoded = encode_stored_transfer(stored)
            batch.put(TRANSFER + id_bytes, encoded)
            if stored.status == PendingStatus.PENDING:
                if stored.expires_at:
                    batch.put(EXPIRY + stored.expires_at.to_bytes(8, "big") + id_bytes, b"")
            elif stored.status != PendingStatus.NONE and stored.expires_at:
                batch.delete(EXPIRY + stored.expires_at.to_bytes(8, "big") + id_bytes)
        for address, nonce in overlay.nonces.items():
            batch.put(NONCE + address_bytes(address), int_to_bytes(nonce))
        position = block_number.to_bytes(8, "big")
        for sequence, (key, value) in enumerate(sorted(overlay.records.items())):
            if value is None:
                batch.delete(RECORD + key)
            else:
                batch.put(RECORD + key, value)
            # the record journal: what `qenex ledger verify` replays into the state root
            batch.put(RECORD_JOURNAL + position + sequence.to_bytes(4, "big"), rlp_encode.encode([key, value or b""]))
        for entry in journal:
            position = entry.block_number.to_bytes(8, "big") + entry.sequence.to_bytes(4, "big")
            batch.put(JOURNAL + position, encode_journal_entry(entry))
            posting = entry.posting
            for account_id in {posting.debit_account_id, posting.credit_account_id}:
                batch.put(ACCOUNT_JOURNAL + account_id.encode() + b"\x00" + position, b"")
        changed = apply_leaf_changes(self.tree, leaves, self._read_bucket)
        for bucket, leaf_changes in changed.items():
            bucket_bytes = bucket.to_bytes(2, "big")
            for key, hashed in leaf_changes.items():
                if hashed is None:
                    batch.delete(LEAF + bucket_bytes + key)
                else:
                    batch.put(LEAF + bucket_bytes + key, hashed)
            batch.put(BUCKET + bucket_bytes, self.tree.bucket(bucket))
        for account in overlay.accounts.values():
            self._remember(account.id, account)
        return self.tree.root

    def preview_root(self, overlay: Overlay, extra_leaves: dict[bytes, bytes | None] | None = None) -> bytes:
        """The state root `stage` would produce for this overlay, computed without writing or
        moving the tree: validators hash a proposed block's state before it is decided."""
        if overlay.parent is not self:
            raise InvariantViolation("previewing an overlay that is not directly over the store")
        _, new_hashes = bucket_changes(state_leaves(overlay, extra_leaves), self._read_bucket)
        return self.tree.root_with(new_hashes)

    def reload(self) -> None:
        """Forget cached state after a batch that was staged but not written."""
        self._accounts.clear()
        self.tree = self._load_tree()

    # --- internals -----------------------------------------------------------------------------

    def _remember(self, account_id: str, account: Account | None) -> None:
        cache = self._accounts
        cache[account_id] = account
        cache.move_to_end(account_id)
        if len(cache) > CACHE_ACCOUNTS_MAX:
            cache.popitem(last=False)

    def _read_bucket(self, bucket: int) -> dict[bytes, bytes]:
        prefix = LEAF + bucket.to_bytes(2, "big")
        return {key[len(prefix) :]: value for key, value in self.db.iterator(prefix=prefix)}

    def _load_tree(self) -> BucketTree:
        buckets = [EMPTY_BUCKET] * BUCKET_COUNT
        for key, value in self.db.iterator(prefix=BUCKET):
            buckets[int.from_bytes(key[2:4], "big")] = value
        return BucketTree(buckets)
