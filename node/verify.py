"""`qenex ledger verify`: rebuild the ledger from the journal and check it against the store.

Independent of the booking code path: it starts from the genesis accounts, replays every
journal entry through `book_posting` (the one definition of what a posting does), recomputes
the state root after each block and compares it with that block's header, and at the end
compares every replayed account and currency total with what the store holds. It also checks
each block links to its parent and carries a valid commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.account import Account
from ledger.apply import book_posting
from ledger.codec import encode_account, encode_stored_transfer, int_to_bytes
from ledger.commitment import BucketTree, apply_leaf_changes
from ledger.journal import JournalEntry, PostingKind
from ledger.store import account_leaf_key, nonce_leaf_key, pending_leaf_key, record_leaf_key
from ledger.transfer import PendingStatus
from ledger.tx import decode_transaction
from node.chain import Chain, role_leaves


@dataclass
class VerifyReport:
    blocks: int = 0
    postings: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(chain: Chain, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    genesis = chain.genesis
    accounts: dict[str, Account] = {a.id: a for a in genesis.accounts}
    nonces: dict[str, int] = {}
    tree = BucketTree()
    buckets: dict[int, dict[bytes, bytes]] = {}
    journal = chain.ledger.journal_entries()
    pending_entry: JournalEntry | None = next(journal, None)
    head = chain.height
    parent_hash = bytes(32)

    for number in range(head + 1):
        block = chain.block(number)
        header = block.header
        if header.parent_hash != parent_hash:
            report.problems.append(f"block {number}: parent hash does not match block {number - 1}")
        parent_hash = block.hash
        if number > 0:
            try:
                chain.verify_commit(block)
            except ValueError as exc:
                report.problems.append(f"block {number}: {exc}")
        leaves: dict[bytes, bytes | None] = {}
        if number == 0:
            leaves.update(role_leaves(genesis))
            leaves.update({account_leaf_key(a.id): encode_account(a) for a in genesis.accounts})
        while pending_entry is not None and pending_entry.block_number == number:
            posting = pending_entry.posting
            debit, credit = accounts.get(posting.debit_account_id), accounts.get(posting.credit_account_id)
            if debit is None or credit is None:
                report.problems.append(f"block {number}: journal names an unknown account in {posting}")
            else:
                debit, credit = book_posting(debit, credit, posting)
                accounts[debit.id], accounts[credit.id] = debit, credit
                leaves[account_leaf_key(debit.id)] = encode_account(debit)
                leaves[account_leaf_key(credit.id)] = encode_account(credit)
            _pending_leaf(chain, posting.kind, posting.transfer_id, posting.pending_id, leaves)
            report.postings += 1
            pending_entry = next(journal, None)
        for key, value in chain.ledger.record_changes(number):
            leaves[record_leaf_key(key)] = value
        for raw in block.transactions:
            sender = decode_transaction(raw).sender()
            nonces[sender] = nonces.get(sender, 0) + 1
            leaves[nonce_leaf_key(sender)] = int_to_bytes(nonces[sender])
        changed = apply_leaf_changes(tree, leaves, lambda index: dict(buckets.get(index, {})))
        for index, leaf_changes in changed.items():
            bucket = buckets.setdefault(index, {})
            for key, hashed in leaf_changes.items():
                if hashed is None:
                    bucket.pop(key, None)
                else:
                    bucket[key] = hashed
        if tree.root != header.state_root:
            report.problems.append(
                f"block {number}: replayed state root {tree.root.hex()} differs from header {header.state_root.hex()}"
            )
        report.blocks += 1
        if progress is not None:
            progress(number, head)
    if pending_entry is not None:
        report.problems.append(f"journal has entries for block {pending_entry.block_number} beyond head {head}")

    stored = {a.id: a for a in chain.ledger.accounts()}
    report.accounts = len(stored)
    for account_id in sorted(set(stored) | set(accounts)):
        if stored.get(account_id) != accounts.get(account_id):
            report.problems.append(
                f"account {account_id}: store holds {stored.get(account_id)}, journal gives {accounts.get(account_id)}"
            )
    for currency in genesis.currencies:
        totals = chain.ledger.currency_totals(currency.code)
        of_currency = [a for a in accounts.values() if a.currency == currency.code]
        replayed = (
            sum(a.debits_pending for a in of_currency),
            sum(a.debits_posted for a in of_currency),
            sum(a.credits_pending for a in of_currency),
            sum(a.credits_posted for a in of_currency),
        )
        if replayed != dataclasses.astuple(totals):
            report.problems.append(f"{currency.code}: stored totals {totals} differ from replayed {replayed}")
        if replayed[0] != replayed[2] or replayed[1] != replayed[3]:
            report.problems.append(f"{currency.code}: debits and credits do not balance: {replayed}")
    return report


def _pending_leaf(
    chain: Chain, kind: PostingKind, transfer_id: int, pending_id: int, leaves: dict[bytes, bytes | None]
) -> None:
    """Open pending transfers are state leaves: add one on PENDING, drop it when finished."""
    if kind == PostingKind.PENDING:
        stored = chain.ledger.transfer(transfer_id)
        if stored is not None:
            as_booked = dataclasses.replace(stored, status=PendingStatus.PENDING, amount_posted=0)
            leaves[pending_leaf_key(transfer_id)] = encode_stored_transfer(as_booked)
    elif kind in (PostingKind.POST_PENDING, PostingKind.VOID_PENDING, PostingKind.EXPIRED):
        leaves[pending_leaf_key(pending_id)] = None
