"""Features: bounded per-account state, label delay, and the same numbers however they are driven."""

from __future__ import annotations

import random

from node.screening.features import DAY, FEATURE_NAMES, FeatureConfig, FeatureState, Payment, replay_blocks

START = 1_530_000_000 - 1_530_000_000 % DAY  # a midnight (UTC)


def pay(debit: str, credit: str, cents: int) -> Payment:
    return Payment(debit, credit, cents, 2, "EUR")


def feature(row: list[float], name: str) -> float:
    return row[FEATURE_NAMES.index(name)]


def random_blocks(seed: int, count: int) -> list[tuple[int, list[Payment]]]:
    rng = random.Random(seed)
    blocks, t = [], START
    for _ in range(count):
        t += rng.choice([1, 30, 600, 3600, 20_000])
        blocks.append(
            (t, [pay(f"C{rng.randrange(20)}", f"T{rng.randrange(30)}", rng.randrange(1, 50_000)) for _ in range(3)])
        )
    return blocks


def test_velocity_amount_and_counterparty_features_follow_the_history():
    state = FeatureState()
    state.apply_block(START + 10, [pay("C1", "T1", 1000), pay("C1", "T2", 3000)])
    row = state.block_features(START + 20, [pay("C1", "T1", 8000)])[0]
    assert feature(row, "count_1h") == 2 and feature(row, "sum_1h") == 40.0
    assert feature(row, "mean_30d") == 20.0
    assert feature(row, "amount_to_mean_30d") == 4.0
    assert feature(row, "amount_to_max_30d") == 80.0 / 30.0
    assert feature(row, "new_counterparty") == 0.0
    other = state.block_features(START + 20, [pay("C1", "T9", 100)])[0]
    assert feature(other, "new_counterparty") == 1.0
    later = state.block_features(START + 2 * 3600, [pay("C1", "T1", 100)])[0]
    assert feature(later, "count_1h") == 0 and feature(later, "count_1d") == 2


def test_per_account_state_stays_bounded():
    config = FeatureConfig(max_recent=16, max_counterparties=8)
    state = FeatureState(config)
    for i in range(2000):
        state.apply_block(START + i * 1800, [pay("C1", f"T{i}", 100)])
    history = state._debit["C1"]
    assert len(history.recent) <= 16 and len(history.counterparties) == 8
    assert len(history.hours) <= 24 and len(history.days) <= 30
    assert all(len(days) <= config.delay_days + 32 for days in state._credit.values())


def test_a_fraud_label_counts_only_after_the_label_delay():
    state = FeatureState(FeatureConfig(label_delay_seconds=2 * DAY))
    state.apply_block(START + 100, [pay("C1", "T1", 100), pay("C2", "T1", 100)])
    state.confirm_fraud("T1", START + 100, confirmed_at=START + 200)
    probe = [pay("C3", "T1", 100)]
    before = state.block_features(START + 200 + 2 * DAY - 1, probe)[0]
    assert feature(before, "credit_risk_30d") == 0.0
    after = state.block_features(START + 200 + 2 * DAY + 3 * DAY, probe)[0]
    assert feature(after, "credit_risk_30d") == 0.5 and feature(after, "credit_count_30d") == 2


def test_features_are_read_before_the_block_they_score():
    """Two payments in one block see the same state: neither sees the other."""
    state = FeatureState()
    rows = state.block_features(START, [pay("C1", "T1", 100), pay("C1", "T1", 100)])
    assert rows[0] == rows[1] and feature(rows[0], "count_1h") == 0


def test_online_block_by_block_equals_offline_replay():
    blocks = random_blocks(7, 400)
    offline = replay_blocks(blocks)
    online_state, online = FeatureState(), []
    for timestamp, payments in blocks:
        for payment in payments:  # the node scores transactions one at a time as they arrive
            online.extend(online_state.block_features(timestamp, [payment]))
        online_state.apply_block(timestamp, payments)
    assert online == offline
