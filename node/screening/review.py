"""The review queue: transactions screening held, waiting for a compliance decision.

A held transaction is neither in the mempool nor in a block. A holder of the compliance role
releases it (it is then admitted and included, its receipt saying "released") or rejects it;
if nobody decides within `hold_expiry_seconds` it expires. While a sender has a transaction
held, its later transactions are refused: they would need the held one's nonce first.

Decisions and fraud reports are signed by the compliance key over a domain-separated message
(`decision_message`, `report_message`) and travel to the chain inside chain actions
(node/screening/actions.py): every validator must apply the same decision, since each re-screens
the blocks it is asked to accept. The queue itself is this node's memory of what it held.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ledger.hashing import keccak
from node.block import ScreeningRecord
from node.execution import SignedTransaction

DECISIONS = ("release", "reject")
MAX_DECIDED_REMEMBERED = 10_000


class ReviewError(ValueError):
    """A review request that cannot be carried out; the message says why."""


@dataclass
class HeldTransaction:
    signed: SignedTransaction
    record: ScreeningRecord
    held_at: int  # block time of the screening that held it
    expires_at: int
    status: str = "held"  # held, released, rejected, expired
    decided_by: str = ""


def decision_message(chain_id: int, tx_hash: bytes, decision: str) -> bytes:
    """The 32-byte hash a compliance key signs to release or reject a held transaction."""
    return keccak(b"qenex-screening-review\x00" + chain_id.to_bytes(8, "big") + tx_hash + decision.encode())


def report_message(chain_id: int, transfer_id: int) -> bytes:
    """The 32-byte hash a compliance key signs to report a booked transfer as confirmed fraud."""
    return keccak(b"qenex-screening-report\x00" + chain_id.to_bytes(8, "big") + transfer_id.to_bytes(16, "big"))


class ReviewQueue:
    """Held transactions by hash, bounded; decided ones are remembered (bounded) for lookups."""

    def __init__(self, max_held: int, hold_expiry_seconds: int) -> None:
        self.max_held = max_held
        self.hold_expiry_seconds = hold_expiry_seconds
        self._held: OrderedDict[bytes, HeldTransaction] = OrderedDict()
        self._decided: OrderedDict[bytes, HeldTransaction] = OrderedDict()
        self._senders: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, signed: SignedTransaction, record: ScreeningRecord, now: int) -> bool:
        """Queue `signed`; False if the queue is full (the caller then refuses the transaction)."""
        if signed.hash in self._held:
            return True
        if len(self._held) >= self.max_held:
            return False
        self._held[signed.hash] = HeldTransaction(signed, record, now, now + self.hold_expiry_seconds)
        self._senders[signed.sender] = signed.hash
        self._decided.pop(signed.hash, None)
        return True

    def held_for_sender(self, sender: str) -> bytes | None:
        return self._senders.get(sender)

    def get(self, tx_hash: bytes) -> HeldTransaction | None:
        return self._held.get(tx_hash) or self._decided.get(tx_hash)

    def held(self) -> list[HeldTransaction]:
        return list(self._held.values())

    def decide(self, tx_hash: bytes, decision: str, by: str) -> HeldTransaction:
        if decision not in DECISIONS:
            raise ReviewError(f"decision must be one of {DECISIONS}, not {decision!r}")
        entry = self._held.get(tx_hash)
        if entry is None:
            known = self._decided.get(tx_hash)
            state = f"it is {known.status}" if known is not None else "no such held transaction"
            raise ReviewError(f"transaction 0x{tx_hash.hex()} is not held: {state}")
        self._close(entry, "released" if decision == "release" else "rejected", by)
        return entry

    def expire(self, now: int) -> list[HeldTransaction]:
        expired = [entry for entry in self._held.values() if entry.expires_at <= now]
        for entry in expired:
            self._close(entry, "expired", "")
        return expired

    def _close(self, entry: HeldTransaction, status: str, by: str) -> None:
        tx_hash = entry.signed.hash
        del self._held[tx_hash]
        if self._senders.get(entry.signed.sender) == tx_hash:
            del self._senders[entry.signed.sender]
        entry.status, entry.decided_by = status, by
        self._decided[tx_hash] = entry
        while len(self._decided) > MAX_DECIDED_REMEMBERED:
            self._decided.popitem(last=False)
