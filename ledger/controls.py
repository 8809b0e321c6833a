"""Account controls: freeze, close and debit limits, enforced where transfers are booked.

Set by administrative chain actions (node/admin.py: compliance freezes, the bank's operator
closes and sets limits), kept as chain records so the state root covers them and
`qenex ledger verify` replays them like every other record:

  ac:<account id>   rlp([state, per_transfer_max, daily_max])   state 0 active, 1 frozen, 2 closed
  au:<account id>   rlp([day, debited])   minor units debited on UTC day `day` (block time / 86400)
  ac:any            present once any account has a control: unlimited chains skip the lookups

A frozen account can neither be debited nor credited (nor can a pending transfer on it be
posted; a void, which only releases a reservation, still may). A closed account never moves
again. A debit larger than the per-transfer maximum, or one that would take the day's debits
(posted and pending, counted when the transfer is created) past the daily maximum, is refused.
0 means no limit. Voids do not give back daily allowance: the limit bounds what was attempted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger import rlp_encode
from ledger.codec import bytes_to_int, int_to_bytes
from ledger.currency import AMOUNT_MAX
from ledger.errors import LedgerError
from ledger.rlp_decode import decode
from ledger.state import LedgerReader, Overlay

CONTROL_PREFIX = b"ac:"
USAGE_PREFIX = b"au:"
ANY_KEY = b"ac:any"
SECONDS_PER_DAY = 86_400


class ControlState(enum.IntEnum):
    ACTIVE = 0
    FROZEN = 1
    CLOSED = 2


class AccountFrozenError(LedgerError):
    """A compliance officer froze the account: no debit, credit or post touches it."""

    rule = "account_frozen"


class AccountClosedError(LedgerError):
    """The account was closed by its bank: nothing moves on it again."""

    rule = "account_closed"


class PerTransferLimitError(LedgerError):
    """The debit exceeds the account's per-transfer maximum."""

    rule = "per_transfer_limit"


class DailyLimitError(LedgerError):
    """The debit would take the account's debits of the day past its daily maximum."""

    rule = "daily_limit"


@dataclass(frozen=True, slots=True)
class AccountControls:
    state: ControlState = ControlState.ACTIVE
    per_transfer_max: int = 0  # minor units; 0: no limit
    daily_max: int = 0

    def __post_init__(self) -> None:
        for name in ("per_transfer_max", "daily_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= AMOUNT_MAX:
                raise LedgerError(f"{name} {value!r} must be an integer of minor units in 0..2^128-1")

    def encode(self) -> bytes:
        return rlp_encode.encode([int_to_bytes(self.state), int_to_bytes(self.per_transfer_max),
                                  int_to_bytes(self.daily_max)])  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> AccountControls:
        state, per_transfer, daily = decode(data, max_depth=2)
        return cls(ControlState(bytes_to_int(state)), bytes_to_int(per_transfer), bytes_to_int(daily))


def controls_of(state: LedgerReader, account_id: str) -> AccountControls:
    data = state.record(CONTROL_PREFIX + account_id.encode())
    return AccountControls() if data is None else AccountControls.decode(data)


def put_controls(state: Overlay, account_id: str, controls: AccountControls) -> None:
    state.put_record(CONTROL_PREFIX + account_id.encode(), controls.encode())
    state.put_record(ANY_KEY, b"\x01")


def debited_today(state: LedgerReader, account_id: str, timestamp: int) -> int:
    data = state.record(USAGE_PREFIX + account_id.encode())
    if data is None:
        return 0
    day, debited = decode(data, max_depth=2)
    return bytes_to_int(debited) if bytes_to_int(day) == timestamp // SECONDS_PER_DAY else 0


def check_movement(state: Overlay, debit_id: str, credit_id: str, amount: int, transfer_id: int,
                   timestamp: int, count_debit: bool) -> None:  # fmt: skip
    """Refuse a transfer the controls forbid; count a created debit against the daily limit.

    Called by ledger.apply for every created transfer (count_debit) and every post of a pending
    one, inside the transfer's scratch overlay, so a refusal leaves nothing behind."""
    if state.record(ANY_KEY) is None:
        return
    for side, account_id in (("debit", debit_id), ("credit", credit_id)):
        controls = controls_of(state, account_id)
        if controls.state == ControlState.FROZEN:
            raise AccountFrozenError(f"transfer {transfer_id:#x}: {side} account {account_id} is frozen by compliance")
        if controls.state == ControlState.CLOSED:
            raise AccountClosedError(f"transfer {transfer_id:#x}: {side} account {account_id} is closed")
    if not count_debit:
        return
    limits = controls_of(state, debit_id)
    if limits.per_transfer_max and amount > limits.per_transfer_max:
        raise PerTransferLimitError(
            f"transfer {transfer_id:#x}: {amount} exceeds the per-transfer limit {limits.per_transfer_max} "
            f"of account {debit_id}"
        )
    if limits.daily_max:
        used = debited_today(state, debit_id, timestamp)
        if used + amount > limits.daily_max:
            raise DailyLimitError(
                f"transfer {transfer_id:#x}: {debit_id} debited {used} today; {amount} more exceeds "
                f"its daily limit {limits.daily_max}"
            )
        state.put_record(USAGE_PREFIX + debit_id.encode(), rlp_encode.encode(
            [int_to_bytes(timestamp // SECONDS_PER_DAY), int_to_bytes(used + amount)]))  # fmt: skip
