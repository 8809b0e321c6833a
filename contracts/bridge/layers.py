"""Ledger changes made inside an EVM transaction, layered like py-evm's state journal.

py-evm takes a snapshot before every message (call or create) and, when the message fails,
reverts to it; when it succeeds, commits it. `LedgerLayers` keeps one ledger overlay per open
snapshot, with the postings booked in it: revert drops the layer (exactly that call's postings
disappear, its callers' stay), commit merges it into the layer below. The bottom layer is the
transaction's; the executor merges it into the block's overlay once the transaction is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils import to_checksum_address

from contracts.bridge.addresses import evm_account_id, opened_account
from ledger.account import Account, AccountStatus
from ledger.apply import BookingContext, apply_transfers
from ledger.hashing import keccak
from ledger.journal import Posting
from ledger.state import Overlay
from ledger.store import LedgerStore
from ledger.transfer import Transfer

EVM_TRANSFER_CODE = 0x51  # the `code` of every transfer the bridge books


@dataclass(frozen=True, slots=True)
class BridgeCurrency:
    code: str
    exponent: int
    issuance_account: str


class LedgerLayers:
    def __init__(
        self,
        base: Overlay,
        store: LedgerStore,
        ctx: BookingContext,
        currencies: Mapping[str, BridgeCurrency],
        id_salt: bytes = b"",
    ) -> None:
        """`id_salt` keeps a replay's transfer ids apart from the ids the block booked (tracing
        replays blocks against today's ledger, which already holds them)."""
        self.id_salt = id_salt
        self.base = base
        self.store = store
        self.ctx = ctx
        self.currencies = currencies
        self._layers: list[Overlay] = [base]
        self._postings: list[list[Posting]] = [[]]
        self._transfers_made = 0

    @property
    def top(self) -> Overlay:
        return self._layers[-1]

    def push(self) -> int:
        self._layers.append(self.top.child())
        self._postings.append([])
        return len(self._layers) - 1

    def commit(self, index: int) -> None:
        assert index >= 1, "the transaction's own layer is merged by the executor"
        while len(self._layers) > index:
            layer = self._layers.pop()
            layer.merge_into_parent()
            postings = self._postings.pop()
            self._postings[-1].extend(postings)

    def revert(self, index: int) -> None:
        assert index >= 1, "the transaction's own layer is dropped by the executor"
        del self._layers[index:]
        del self._postings[index:]

    def postings(self) -> list[Posting]:
        assert len(self._layers) == 1, "every snapshot of the transaction is closed"
        return list(self._postings[0])

    # --- reads and bookings for the precompiles ------------------------------------------

    def primary_account(self, address: bytes, code: str) -> Account | None:
        owner = to_checksum_address(address)
        owned = [
            a
            for a in self.store.accounts_of(owner)
            if a.currency == code and a.status == AccountStatus.ACTIVE and a.owner.lower() == owner.lower()
        ]
        if owned:
            return self.top.account(owned[0].id)
        return self.top.account(evm_account_id(address, code))

    def balance(self, address: bytes, code: str) -> int:
        account = self.primary_account(address, code)
        return max(0, account.balance_available) if account is not None else 0

    def total_supply(self, code: str) -> int:
        issuance = self.top.account(self.currencies[code].issuance_account)
        return max(0, -issuance.balance_posted) if issuance is not None else 0

    def transfer(self, source: bytes, target: bytes, amount: int, code: str) -> Posting:
        """Book `amount` from the primary account of `source` to that of `target`; raises a
        LedgerError (nothing booked) if a ledger rule refuses it."""
        from ledger.errors import AccountNotFoundError

        debit = self.primary_account(source, code)
        if debit is None:
            raise AccountNotFoundError(f"{to_checksum_address(source)} has no {code} account")
        credit = self.primary_account(target, code)
        if credit is None:
            credit = opened_account(target, code)
            self.top.put_account(credit)
        self._transfers_made += 1
        seed = b"qenex-evm-transfer:" + self.id_salt + self.ctx.tx_hash + self._transfers_made.to_bytes(8, "big")
        transfer_id = int.from_bytes(keccak(seed)[:16], "big") or 1
        transfer = Transfer(transfer_id, debit.id, credit.id, amount, code, EVM_TRANSFER_CODE)
        scratch = self.top.child()
        (posting,) = apply_transfers(scratch, [transfer], self.ctx)
        scratch.merge_into_parent()
        self._postings[-1].append(posting)
        return posting
