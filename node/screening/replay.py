"""Replay a labelled payment file through the node's feature code, in time order.

Training and evaluation both see a file exactly as a node would have seen the chain: payments
grouped into one-second blocks, each block's features read from the state before it, and each
fraud label confirmed at the payment's time, usable only `label_delay` later (`FeatureState`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from node.screening.data import LabelledPayment, blocks_of
from node.screening.features import FEATURE_NAMES, FeatureConfig, FeatureState


@dataclass(frozen=True)
class Replayed:
    rows: np.ndarray  # one feature row per payment, FEATURE_NAMES order
    labels: np.ndarray
    timestamps: np.ndarray
    customers: list[str]


def replay(
    payments: list[LabelledPayment],
    config: FeatureConfig | None = None,
    on_block: Callable[[int], None] | None = None,
    block_hook: Callable[[FeatureState, int, list], None] | None = None,
) -> Replayed:
    """Feature rows of every payment; `on_block(n)` reports progress, `block_hook` may time scoring."""
    state = FeatureState(config)
    rows: list[list[float]] = []
    for timestamp, block in blocks_of(payments):
        block_payments = [lp.payment for lp in block]
        if block_hook is not None:
            block_hook(state, timestamp, block_payments)
        rows.extend(state.block_features(timestamp, block_payments))
        state.apply_block(timestamp, block_payments)
        for lp in block:
            if lp.fraud:
                state.confirm_fraud(lp.payment.credit_account, lp.timestamp, confirmed_at=lp.timestamp)
        if on_block is not None:
            on_block(len(block))
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
    return Replayed(
        matrix,
        np.fromiter((lp.fraud for lp in payments), dtype=np.int8, count=len(payments)),
        np.fromiter((lp.timestamp for lp in payments), dtype=np.int64, count=len(payments)),
        [lp.payment.debit_account for lp in payments],
    )
