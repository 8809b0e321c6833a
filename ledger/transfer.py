"""Transfers: the only way money moves. One debit, one credit, same currency, integer amount."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger.currency import AMOUNT_MAX

ID_MAX = 2**128 - 1
CODE_MAX = 2**16 - 1
TIMEOUT_MAX_SECONDS = 2**32 - 1
FX_RATE_MAX_LENGTH = 32


class TransferFlags(enum.IntFlag):
    NONE = 0
    LINKED = 1  # this transfer and the next succeed or fail together
    PENDING = 2  # two-phase: reserve now, post or void later
    POST_PENDING = 4  # finish a pending transfer, possibly for a smaller amount
    VOID_PENDING = 8  # cancel a pending transfer


TWO_PHASE_FLAGS = TransferFlags.PENDING | TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
KNOWN_FLAGS = TransferFlags.LINKED | TWO_PHASE_FLAGS


class PendingStatus(enum.IntEnum):
    """What happened to a transfer created with the pending flag."""

    NONE = 0  # not a pending transfer
    PENDING = 1
    POSTED = 2
    VOIDED = 3
    EXPIRED = 4


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move `amount` minor units of `currency` from debit to credit account.

    `id` is chosen by the client (gateways derive it from the message's own identifiers), so
    the same payment delivered twice carries the same id and is booked once.
    For POST_PENDING/VOID_PENDING, `pending_id` names the reservation; an amount of 0 posts
    the full reserved amount, and empty account ids / currency inherit the pending transfer's.
    `fx_rate` is decimal text recorded on both legs of a currency conversion.
    """

    id: int
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    code: int = 1
    flags: TransferFlags = TransferFlags.NONE
    pending_id: int = 0
    timeout_seconds: int = 0
    fx_rate: str = ""

    # int.__and__ rather than IntFlag's own `&`, which builds a new enum member per call and
    # showed up in block-application profiles.
    @property
    def is_pending(self) -> bool:
        return int.__and__(self.flags, 2) != 0

    @property
    def is_post(self) -> bool:
        return int.__and__(self.flags, 4) != 0

    @property
    def is_void(self) -> bool:
        return int.__and__(self.flags, 8) != 0

    @property
    def is_linked(self) -> bool:
        return int.__and__(self.flags, 1) != 0


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A booked transfer as the ledger remembers it (for idempotency, post/void and queries)."""

    transfer: Transfer
    block_number: int
    tx_hash: bytes
    timestamp: int
    status: PendingStatus = PendingStatus.NONE
    expires_at: int = 0  # block timestamp (s) after which a pending transfer is void; 0 = never
    amount_posted: int = 0  # for a posted pending transfer: the amount finally posted


def check_u128(value: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= AMOUNT_MAX
