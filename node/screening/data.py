"""Labelled payment files for `qenex fraud train|eval`: the two formats the issue names.

handbook  Fraud-Detection-Handbook simulator columns (TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID,
          TERMINAL_ID, TX_AMOUNT, TX_FRAUD); CUSTOMER_ID is the debited account, TERMINAL_ID the
          credited one. TX_FRAUD_SCENARIO says how the simulator made a fraud: it is the answer,
          so it is never read.
ulb       ULB/Worldline card data (Time, V1..V28, Amount, Class): PCA components without account
          ids, so only the supervised classifier applies.

Both are read with the csv module (plain or .gz), bounded in rows and field size, and refused
with the row and column at fault. Rows come back sorted by time: evaluation replays them so.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from node.screening.features import Payment

FORMATS = ("handbook", "ulb")
MAX_ROWS = 20_000_000
MAX_FIELD_BYTES = 4096
HANDBOOK_COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD")
ULB_COLUMNS = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class")
HANDBOOK_CURRENCY = "EUR"
HANDBOOK_EXPONENT = 2


class DataFileError(ValueError):
    """A labelled data file that cannot be read; the message names the row and column."""


@dataclass(frozen=True, slots=True)
class LabelledPayment:
    transaction_id: int
    timestamp: int  # seconds since the epoch, UTC
    payment: Payment
    fraud: bool


@dataclass(frozen=True)
class UlbData:
    time_seconds: np.ndarray
    features: np.ndarray  # V1..V28, Amount
    labels: np.ndarray

    feature_names = (*(f"V{i}" for i in range(1, 29)), "Amount")


def _open_text(path: Path) -> io.TextIOBase:
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    csv.field_size_limit(MAX_FIELD_BYTES)
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFileError(f"{path}: empty file") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise DataFileError(f"{path}: missing columns {missing}; this format needs {list(required)}")
        index = {name: header.index(name) for name in required}
        try:
            for number, row in enumerate(reader, start=2):
                if number - 1 > MAX_ROWS:
                    raise DataFileError(f"{path}: more than {MAX_ROWS} rows")
                if len(row) != len(header):
                    raise DataFileError(f"{path}: row {number} has {len(row)} fields, the header {len(header)}")
                yield number, {name: row[i] for name, i in index.items()}
        except csv.Error as exc:
            raise DataFileError(f"{path}: {exc}") from None


def _field(path: Path, number: int, column: str, text: str, kind: type) -> object:
    try:
        return kind(text)
    except (ValueError, InvalidOperation):
        raise DataFileError(f"{path}: row {number}, column {column}: {text!r} is not a {kind.__name__}") from None


def load_handbook(path: Path) -> list[LabelledPayment]:
    """The handbook file's payments in time order (ties: by transaction id)."""
    path = Path(path)
    out: list[LabelledPayment] = []
    scale = Decimal(10) ** HANDBOOK_EXPONENT
    stamps: dict[str, int] = {}
    for number, row in _rows(path, HANDBOOK_COLUMNS):
        text = row["TX_DATETIME"]
        timestamp = stamps.get(text)
        if timestamp is None:
            try:
                timestamp = int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())
            except ValueError:
                raise DataFileError(f"{path}: row {number}, column TX_DATETIME: {text!r} is not a date-time") from None
            stamps = {text: timestamp}  # rows are mostly in order: remember only the last
        # The simulator wrote float amounts (85.64999999999999): round half-even to whole cents.
        amount = _field(path, number, "TX_AMOUNT", row["TX_AMOUNT"], Decimal) * scale  # type: ignore[operator]
        if amount.is_finite():
            amount = amount.to_integral_value(ROUND_HALF_EVEN)
        if not amount.is_finite() or not 0 <= amount < 10**15:
            raise DataFileError(f"{path}: row {number}, column TX_AMOUNT: {row['TX_AMOUNT']!r} is out of range")
        label = row["TX_FRAUD"]
        if label not in ("0", "1"):
            raise DataFileError(f"{path}: row {number}, column TX_FRAUD: {label!r} is not 0 or 1")
        payment = Payment(
            _account(row["CUSTOMER_ID"], "C"),
            _account(row["TERMINAL_ID"], "T"),
            int(amount),
            HANDBOOK_EXPONENT,
            HANDBOOK_CURRENCY,
        )
        transaction_id = _field(path, number, "TRANSACTION_ID", row["TRANSACTION_ID"], int)
        out.append(LabelledPayment(transaction_id, timestamp, payment, label == "1"))  # type: ignore[arg-type]
    if not out:
        raise DataFileError(f"{path}: no rows")
    out.sort(key=lambda lp: (lp.timestamp, lp.transaction_id))
    return out


def _account(text: str, prefix: str) -> str:
    """Simulator ids are bare numbers, shared by customers and terminals: keep them apart.
    Ids from `qenex fraud export` (IBANs, GL:... ids) are kept as they are."""
    return prefix + text if text.isdigit() else text


def load_ulb(path: Path) -> UlbData:
    path = Path(path)
    times: list[float] = []
    rows: list[list[float]] = []
    labels: list[int] = []
    for number, row in _rows(path, ULB_COLUMNS):
        times.append(_field(path, number, "Time", row["Time"], float))  # type: ignore[arg-type]
        rows.append([_field(path, number, c, row[c], float) for c in ULB_COLUMNS[1:-1]])  # type: ignore[misc]
        label = row["Class"].strip().strip('"')
        if label not in ("0", "1"):
            raise DataFileError(f"{path}: row {number}, column Class: {row['Class']!r} is not 0 or 1")
        labels.append(int(label))
    if not rows:
        raise DataFileError(f"{path}: no rows")
    order = np.argsort(np.asarray(times), kind="stable")
    return UlbData(
        np.asarray(times)[order], np.asarray(rows, dtype=np.float64)[order], np.asarray(labels, dtype=np.int8)[order]
    )


def blocks_of(payments: list[LabelledPayment]) -> Iterator[tuple[int, list[LabelledPayment]]]:
    """Group time-ordered payments into blocks of one second (the node's default block interval)."""
    start = 0
    for i in range(1, len(payments) + 1):
        if i == len(payments) or payments[i].timestamp != payments[start].timestamp:
            yield payments[start].timestamp, payments[start:i]
            start = i
