"""Postings: the journal's record of each effect a transfer had on two accounts."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PostingKind(enum.IntEnum):
    POSTED = 1  # a single-phase transfer: debits_posted/credits_posted grow
    PENDING = 2  # a reservation: debits_pending/credits_pending grow
    POST_PENDING = 3  # a reservation finished: pending released, `amount` posted
    VOID_PENDING = 4  # a reservation cancelled by a void transfer
    EXPIRED = 5  # a reservation cancelled by its timeout at the start of a block


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal line: `amount` moved from debit to credit account, of the given kind.

    `released` is the reserved amount a POST_PENDING/VOID_PENDING/EXPIRED posting takes out
    of the pending totals (for a partial post it is larger than `amount`).
    """

    kind: PostingKind
    transfer_id: int
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    code: int
    pending_id: int = 0
    released: int = 0
    fx_rate: str = ""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A posting with where it was booked: which block, transaction and position."""

    block_number: int
    tx_index: int  # -1 for postings the block made itself (expiries, genesis)
    tx_hash: bytes
    sequence: int  # position of the posting within its block
    posting: Posting
