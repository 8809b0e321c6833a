"""The node's balance cache: filled from the ledger at start, moved forward after each committed
block, checked against the ledger, and read by admission and RPC.

The ledger is the truth and the cache a copy other processes can read (kernel/). So: the cache is
rebuilt from the ledger on every start; after a block, the accounts its journal names are read
back from the ledger and written in one update (one table change); `verify` compares every
account, logs and counts each mismatch and repairs it from the ledger. If a balance cannot be
cached (beyond a signed 64-bit slot, or more accounts than slots), the cache is emptied and
disabled: readers then fall back to the ledger rather than see a stale value.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge

from kernel.cache import Balance, BalanceCache, BalanceCacheError
from kernel.selector import CacheChoice, open_writer
from ledger.account import Account, AccountFlags, AccountStatus
from ledger.currency import format_amount
from ledger.store import LedgerStore
from ledger.transfer import Transfer, TransferFlags
from node.log import event
from node.read_view import BlockRows, ReadViewWriter
from node.rpc.serialize import serialize_account

VIEW_RECENT_BLOCKS = 256  # blocks the RPC workers' view holds when it opens; older ones are the node's

log = logging.getLogger("qenex.cache")


def balance_of(account: Account) -> Balance:
    return Balance(account.balance_posted, account.balance_available)


def with_balance(account_json: dict, balance: Balance, exponent: int) -> dict:
    """An RPC account object whose balance fields come from the cache (node and RPC workers)."""
    return {
        **account_json,
        "balance": str(balance.posted),
        "balanceFormatted": format_amount(balance.posted, exponent),
        "available": str(balance.available),
        "availableFormatted": format_amount(balance.available, exponent),
    }


@dataclass
class VerifyReport:
    checked: int = 0
    mismatches: list[dict[str, object]] = field(default_factory=list)
    repaired: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "mismatches": len(self.mismatches),
            "repaired": self.repaired,
            "details": self.mismatches[:100],
        }


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.mismatches = Counter(
            "qenex_cache_mismatches_total",
            "Cached balances found different from the ledger (then repaired)",
            registry=r,
        )
        self.updates = Counter(
            "qenex_cache_block_updates_total", "Blocks whose balance changes reached the cache", registry=r
        )
        self.accounts = Gauge("qenex_cache_accounts", "Accounts held by the balance cache", registry=r)
        self.enabled = Gauge("qenex_cache_enabled", "1 while the balance cache serves reads", registry=r)
        self.admission_refusals = Counter(
            "qenex_cache_admission_refusals_total",
            "Transactions refused at admission from cached balances, before booking",
            registry=r,
        )


class LedgerBalanceCache:
    """One node's cache and where it stands in the chain."""

    def __init__(
        self, cache: BalanceCache, choice: CacheChoice, ledger: LedgerStore, registry: CollectorRegistry | None = None
    ) -> None:
        self.cache = cache
        self.choice = choice
        self.ledger = ledger
        self.metrics = CacheMetrics(registry)
        self.enabled = True
        self.synced_height = -1
        self._known: set[str] = set()
        self.view: ReadViewWriter | None = None  # for RPC workers (node/rpc_workers.py)
        self.block_rows: Callable[[int], BlockRows] | None = None

    @classmethod
    def open(
        cls, home: Path, preference: str, ledger: LedgerStore, height: int, registry: CollectorRegistry | None = None
    ) -> LedgerBalanceCache:
        """Choose and open the backend, then fill it from the ledger at `height`."""
        cache, choice = open_writer(home, preference)
        node_cache = cls(cache, choice, ledger, registry)
        event(log, "cache_backend", backend=choice.backend, reason=choice.reason)
        node_cache.fill(height)
        return node_cache

    def attach_view(self, view: ReadViewWriter, block_rows: Callable[[int], BlockRows] | None = None) -> None:
        """Keep `view` at the committed state from now on, starting with every account and, when
        `block_rows` serializes blocks, the last VIEW_RECENT_BLOCKS blocks."""
        self.block_rows = block_rows
        first = max(1, self.synced_height - VIEW_RECENT_BLOCKS + 1)
        recent = [] if block_rows is None else [block_rows(n) for n in range(first, self.synced_height + 1)]
        view.replace_all(self.ledger.accounts(), self.synced_height, recent)
        self.view = view

    def close(self) -> None:
        """Unmap; the shared table stays, so `qenex cache verify` can check it with the node stopped."""
        self.cache.close()

    def status(self) -> dict[str, object]:
        """qenex_cacheStatus: backend, why, and where the cache stands."""
        return {
            **self.cache.describe(),
            "reason": self.choice.reason,
            "enabled": self.enabled,
            "syncedHeight": self.synced_height,
            "accounts": len(self._known),
        }

    # --- writes --------------------------------------------------------------------------------

    def fill(self, height: int) -> None:
        """Hold exactly the ledger's balances (start, or after a disable)."""
        balances = {account.id: balance_of(account) for account in self.ledger.accounts()}
        try:
            self.cache.load(balances)
        except BalanceCacheError as error:
            self._disable(error)
            return
        self.enabled = True
        self.synced_height = height
        self._known = set(balances)
        self.metrics.enabled.set(1)
        self.metrics.accounts.set(len(balances))
        event(log, "cache_filled", backend=self.choice.backend, accounts=len(balances), height=height)

    def block_committed(self, height: int, changed: Iterable[str] | None = None) -> None:
        """Write the balance changes of blocks synced_height+1..height, read from their journal.

        `changed`: the accounts the one block `height` wrote (its overlay), when the caller has
        them in memory; reading the journal back cost a measured share of a validator's commit."""
        if not self.enabled or height <= self.synced_height:
            return
        touched: dict[str, None] = {}
        if changed is not None and height == self.synced_height + 1:
            touched = dict.fromkeys(changed)
        else:
            for entry in self.ledger.journal_entries(self.synced_height + 1):
                if entry.block_number > height:
                    break
                touched[entry.posting.debit_account_id] = None
                touched[entry.posting.credit_account_id] = None
        accounts = [a for a in (self.ledger.account(account_id) for account_id in touched) if a is not None]
        changes = {account.id: balance_of(account) for account in accounts}
        if self.view is not None:
            rows = self.block_rows
            blocks = [] if rows is None else [rows(n) for n in range(self.synced_height + 1, height + 1)]
            self.view.update(accounts, height, blocks)
        try:
            self.cache.update(changes)
        except BalanceCacheError as error:
            self._disable(error)
            return
        self.synced_height = height
        self.metrics.updates.inc()
        self._known.update(changes)
        self.metrics.accounts.set(len(self._known))

    def _disable(self, error: Exception) -> None:
        """Never serve a value that may be stale: empty the cache, read the ledger instead."""
        self.enabled = False
        self.metrics.enabled.set(0)
        with contextlib.suppress(BalanceCacheError):
            self.cache.load({})
        event(log, "cache_disabled", logging.ERROR, backend=self.choice.backend, reason=str(error))

    def verify(self, repair: bool = True) -> VerifyReport:
        """Compare every ledger account with the cache; log, count and (by default) repair."""
        report = VerifyReport()
        accounts = list(self.ledger.accounts())
        cached = self.cache.get_many([a.id for a in accounts])
        fixes = {}
        for account, held in zip(accounts, cached, strict=True):
            report.checked += 1
            truth = balance_of(account)
            if held != truth:
                mismatch = {
                    "account": account.id,
                    "cached": None if held is None else [held.posted, held.available],
                    "ledger": [truth.posted, truth.available],
                }
                report.mismatches.append(mismatch)
                event(log, "cache_mismatch", logging.WARNING, **mismatch)
                fixes[account.id] = truth
        self.metrics.mismatches.inc(len(report.mismatches))
        if repair and fixes:
            try:
                self.cache.update(fixes)
                report.repaired = True
            except BalanceCacheError as error:
                self._disable(error)
        return report

    # --- reads ---------------------------------------------------------------------------------

    def accounts_json(self, accounts: Iterable[Account], exponents: dict[str, int]) -> list[dict]:
        """RPC's account objects with the balances read from the cache (qenex_getBalances)."""
        accounts = list(accounts)
        return [
            with_balance(serialize_account(account, exponents), balance, exponents.get(account.currency, 0))
            for account, balance in zip(accounts, self.balances(accounts), strict=True)
        ]

    def balances(self, accounts: Iterable[Account]) -> list[Balance]:
        """Balances of these accounts: from the cache while it is enabled, else the ledger's."""
        accounts = list(accounts)
        if not self.enabled:
            return [balance_of(a) for a in accounts]
        held = self.cache.get_many([a.id for a in accounts])
        return [balance_of(a) if h is None else h for a, h in zip(accounts, held, strict=True)]

    def refusal(
        self, sender: str, transfers: Iterable[Transfer], touched: Container[str], later_block: bool = False
    ) -> tuple[str, str] | None:
        """(rule, message) when cached balances already show booking would refuse for funds.

        Only for what the committed state decides: plain or pending debits from an active
        no-overdraft account of the sender's own, in its currency, that is not `touched` (by the
        block being prepared, or by waiting transactions that could raise its funds) and the
        transaction does not credit. `later_block`: the transaction will be booked in some later
        block, before which reservations on the account may expire; so an account holding any
        is left to booking too. Anything else is left to booking.
        """
        if not self.enabled:
            return None
        transfers = list(transfers)
        credited = {t.credit_account_id for t in transfers}
        spent: dict[str, int] = {}
        for index, transfer in enumerate(transfers):
            if transfer.flags & ~(TransferFlags.PENDING | TransferFlags.LINKED) or self.ledger.transfer(transfer.id):
                return None
            debit_id = transfer.debit_account_id
            if debit_id in touched or debit_id in credited:
                return None
            account = self.ledger.account(debit_id)
            credit = self.ledger.account(transfer.credit_account_id)
            if (
                account is None
                or credit is None
                or account.owner.lower() != sender.lower()
                or account.status != AccountStatus.ACTIVE
                or credit.status != AccountStatus.ACTIVE
                or account.currency != transfer.currency
                or credit.currency != transfer.currency
                or not account.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                or transfer.amount <= 0
                or (later_block and account.debits_pending)
            ):
                return None
            held = self.cache.get(debit_id)
            if held is None:
                return None
            allowed = held.available + account.overdraft_limit - spent.get(debit_id, 0)
            if transfer.amount > allowed:
                self.metrics.admission_refusals.inc()
                return "exceeds_credits", (
                    f"transfer {index}: transfer {transfer.id:#x}: debit of {transfer.amount} "
                    f"would overdraw {debit_id} (available {allowed})"
                )
            spent[debit_id] = spent.get(debit_id, 0) + transfer.amount
        return None
