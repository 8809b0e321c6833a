"""Screening features from chain state only, one code path for the node and for training.

Why one module: a model scored in production on numbers computed differently from those it was
trained on (train/serve skew) silently loses its accuracy. The node and `qenex fraud train|eval`
both drive a `FeatureState` block by block: `block_features` reads the state as it was before
the block, then `apply_block` folds the block's payments in. Nothing is ever rescanned.

Per-account state is bounded (TigerBeetle's "a limit on everything"): hourly buckets for the last
day, daily buckets for the last 30 days (plus the label delay on the credited side), at most
`max_recent` timestamps for the 1-hour velocity and `max_counterparties` remembered payees. The
windows therefore have hour/day granularity; online and offline share it, so they agree exactly.

Counterparty risk follows the Fraud-Detection-Handbook (Le Borgne et al., 2022, ch. 3.3): the
share of confirmed-fraud payments to the credited account over 1/7/30-day windows that end
`label_delay` before now, counting only labels whose confirmation is at least `label_delay` old,
because in practice fraud is confirmed days after the payment (investigations, chargebacks).
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HOUR = 3600
DAY = 86400
KNOWN_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")

FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "amount_to_mean_30d",
    "amount_zscore_30d",
    "amount_to_max_30d",
    "count_1h",
    "sum_1h",
    "count_1d",
    "mean_1d",
    "count_7d",
    "mean_7d",
    "count_30d",
    "mean_30d",
    "hour_of_day",
    "is_weekend",
    "is_night",
    "account_age_days",
    "new_counterparty",
    "cross_border",
    "currency_index",
    "credit_count_1d",
    "credit_count_7d",
    "credit_count_30d",
    "credit_risk_1d",
    "credit_risk_7d",
    "credit_risk_30d",
)


@dataclass(frozen=True, slots=True)
class Payment:
    """One transfer as screening sees it: who pays whom, how much, at which block time."""

    debit_account: str
    credit_account: str
    amount_minor: int
    exponent: int
    currency: str

    def __post_init__(self) -> None:
        assert self.amount_minor >= 0, "amounts are unsigned minor units"
        assert 0 <= self.exponent <= 18, "currency exponents are small"

    @property
    def amount(self) -> float:
        return self.amount_minor / 10**self.exponent


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    label_delay_seconds: int = 7 * DAY
    max_recent: int = 512
    max_counterparties: int = 1024
    max_pending_labels: int = 1_000_000

    @property
    def delay_days(self) -> int:
        return math.ceil(self.label_delay_seconds / DAY)


@dataclass(slots=True)
class _DebitHistory:
    recent: deque[int]  # timestamps of the last hour's payments, at most max_recent
    recent_amounts: deque[float]
    hours: dict[int, list[float]] = field(default_factory=dict)  # hour index -> [count, sum]
    days: dict[int, list[float]] = field(default_factory=dict)  # day -> [count, sum, sum of squares, max]
    counterparties: OrderedDict[str, None] = field(default_factory=OrderedDict)


class FeatureStateFull(RuntimeError):
    """More confirmed-fraud labels wait for their delay than the state may hold."""


class FeatureState:
    """Everything the features need, updated once per block."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self.now = 0  # the last block time applied
        self._first_seen: dict[str, int] = {}
        self._debit: dict[str, _DebitHistory] = {}
        self._credit: dict[str, dict[int, list[int]]] = {}  # account -> day -> [payments, confirmed frauds]
        self._labels: list[tuple[int, int, str, int]] = []  # heap of (usable_at, sequence, account, day)
        self._label_sequence = 0

    # --- labels ------------------------------------------------------------------------------

    def confirm_fraud(self, credit_account: str, payment_time: int, confirmed_at: int) -> None:
        """A payment to `credit_account` at `payment_time` was confirmed fraudulent at `confirmed_at`.

        The label counts only from `confirmed_at + label_delay`, never earlier.
        """
        if len(self._labels) >= self.config.max_pending_labels:
            raise FeatureStateFull(f"{len(self._labels)} fraud labels wait for their delay (limit reached)")
        usable_at = confirmed_at + self.config.label_delay_seconds
        heapq.heappush(self._labels, (usable_at, self._label_sequence, credit_account, payment_time // DAY))
        self._label_sequence += 1

    def _release_labels(self, timestamp: int) -> None:
        labels = self._labels
        while labels and labels[0][0] <= timestamp:
            _, _, account, day = heapq.heappop(labels)
            bucket = self._credit.get(account, {}).get(day)
            if bucket is not None and bucket[1] < bucket[0]:
                bucket[1] += 1

    # --- features ----------------------------------------------------------------------------

    def block_features(self, timestamp: int, payments: Sequence[Payment]) -> list[list[float]]:
        """One feature row per payment, from the state before this block (at block time `timestamp`)."""
        assert timestamp >= self.now, f"block time {timestamp} is before the last applied {self.now}"
        self._release_labels(timestamp)
        return [self._row(timestamp, p) for p in payments]

    def _row(self, t: int, p: Payment) -> list[float]:
        amount = p.amount
        hour_now, day_now = t // HOUR, t // DAY
        history = self._debit.get(p.debit_account)
        count_1h = sum_1h = 0.0
        c1 = s1 = 0.0
        c7 = s7 = 0.0
        c30 = s30 = sq30 = 0.0
        max30 = 0.0
        new_counterparty = 1.0
        if history is not None:
            for stamp, value in zip(history.recent, history.recent_amounts, strict=True):
                if stamp > t - HOUR:
                    count_1h += 1
                    sum_1h += value
            for hour, (count, total) in history.hours.items():
                if hour > hour_now - 24:
                    c1 += count
                    s1 += total
            for day, (count, total, squares, largest) in history.days.items():
                if day > day_now - 30:
                    c30 += count
                    s30 += total
                    sq30 += squares
                    max30 = max(max30, largest)
                    if day > day_now - 7:
                        c7 += count
                        s7 += total
            if p.credit_account in history.counterparties:
                new_counterparty = 0.0
        mean30 = s30 / c30 if c30 else 0.0
        std30 = math.sqrt(max(sq30 / c30 - mean30 * mean30, 0.0)) if c30 else 0.0
        first = self._first_seen.get(p.debit_account)
        weekday = (day_now + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = Saturday, Sunday
        hour_of_day = (t % DAY) // HOUR
        credit = self._credit.get(p.credit_account)
        delayed_end = day_now - self.config.delay_days
        cc = [0, 0, 0]
        cf = [0, 0, 0]
        if credit is not None:
            for day, (count, frauds) in credit.items():
                if delayed_end - 30 <= day < delayed_end:
                    cc[2] += count
                    cf[2] += frauds
                    if day >= delayed_end - 7:
                        cc[1] += count
                        cf[1] += frauds
                        if day >= delayed_end - 1:
                            cc[0] += count
                            cf[0] += frauds
        return [
            amount,
            amount / mean30 if mean30 else 0.0,
            (amount - mean30) / std30 if std30 else 0.0,
            amount / max30 if max30 else 0.0,
            count_1h,
            sum_1h,
            c1,
            s1 / c1 if c1 else 0.0,
            c7,
            s7 / c7 if c7 else 0.0,
            c30,
            mean30,
            float(hour_of_day),
            1.0 if weekday >= 5 else 0.0,
            1.0 if hour_of_day < 6 else 0.0,
            (t - first) / DAY if first is not None else 0.0,
            new_counterparty,
            1.0 if _cross_border(p.debit_account, p.credit_account) else 0.0,
            float(KNOWN_CURRENCIES.index(p.currency) if p.currency in KNOWN_CURRENCIES else len(KNOWN_CURRENCIES)),
            float(cc[0]),
            float(cc[1]),
            float(cc[2]),
            cf[0] / cc[0] if cc[0] else 0.0,
            cf[1] / cc[1] if cc[1] else 0.0,
            cf[2] / cc[2] if cc[2] else 0.0,
        ]

    # --- updates -----------------------------------------------------------------------------

    def apply_block(self, timestamp: int, payments: Iterable[Payment]) -> None:
        """Fold a committed block's payments into the state (after `block_features` scored them)."""
        assert timestamp >= self.now, f"block time {timestamp} is before the last applied {self.now}"
        self._release_labels(timestamp)
        self.now = timestamp
        config = self.config
        hour_now, day_now = timestamp // HOUR, timestamp // DAY
        for p in payments:
            amount = p.amount
            self._first_seen.setdefault(p.debit_account, timestamp)
            self._first_seen.setdefault(p.credit_account, timestamp)
            history = self._debit.get(p.debit_account)
            if history is None:
                history = self._debit[p.debit_account] = _DebitHistory(
                    deque(maxlen=config.max_recent), deque(maxlen=config.max_recent)
                )
            while history.recent and history.recent[0] <= timestamp - HOUR:
                history.recent.popleft()
                history.recent_amounts.popleft()
            history.recent.append(timestamp)
            history.recent_amounts.append(amount)
            hour_bucket = history.hours.get(hour_now)
            if hour_bucket is None:
                for hour in [h for h in history.hours if h <= hour_now - 24]:
                    del history.hours[hour]
                hour_bucket = history.hours[hour_now] = [0.0, 0.0]
            hour_bucket[0] += 1
            hour_bucket[1] += amount
            day_bucket = history.days.get(day_now)
            if day_bucket is None:
                for day in [d for d in history.days if d <= day_now - 30]:
                    del history.days[day]
                day_bucket = history.days[day_now] = [0.0, 0.0, 0.0, 0.0]
            day_bucket[0] += 1
            day_bucket[1] += amount
            day_bucket[2] += amount * amount
            day_bucket[3] = max(day_bucket[3], amount)
            counterparties = history.counterparties
            if p.credit_account in counterparties:
                counterparties.move_to_end(p.credit_account)
            else:
                counterparties[p.credit_account] = None
                if len(counterparties) > config.max_counterparties:
                    counterparties.popitem(last=False)
            credit = self._credit.get(p.credit_account)
            if credit is None:
                credit = self._credit[p.credit_account] = {}
            credit_bucket = credit.get(day_now)
            if credit_bucket is None:
                for day in [d for d in credit if d < day_now - config.delay_days - 31]:
                    del credit[day]
                credit_bucket = credit[day_now] = [0, 0]
            credit_bucket[0] += 1
            assert len(history.hours) <= 24 and len(history.days) <= 30, "debit history is bounded"
            assert len(credit) <= config.delay_days + 32, "credit history is bounded"


def _cross_border(debit: str, credit: str) -> bool:
    """IBANs of different countries (the first two letters); non-IBAN ids are never cross-border."""
    if _is_iban_like(debit) and _is_iban_like(credit):
        return debit[:2] != credit[:2]
    return False


def _is_iban_like(account_id: str) -> bool:
    return len(account_id) >= 15 and account_id[:2].isalpha() and account_id[:2].isupper() and account_id[2:4].isdigit()


def replay_blocks(
    blocks: Iterable[tuple[int, Sequence[Payment]]], config: FeatureConfig | None = None
) -> list[list[float]]:
    """Offline: the feature rows of every payment of `blocks` (block time, payments), in order."""
    state = FeatureState(config)
    rows: list[list[float]] = []
    for timestamp, payments in blocks:
        rows.extend(state.block_features(timestamp, payments))
        state.apply_block(timestamp, payments)
    return rows
