"""`qenex fraud bench`: the latency fraud screening adds per transaction, at block sizes.

What one run does:
  1. anchor: raw secp256k1 public-key recoveries (coincurve, one thread, ~1 s), the cost every
     transaction already pays at admission; figures below are also given as multiples of it;
  2. warms a FeatureState with `--warm-days` days of seeded synthetic payments between
     `--accounts` debtors and creditors (a warm state: full windows, known counterparties);
  3. for each block size B, `--repeats` times: B fresh payments, timed from features to verdicts
     in one batch (`FeatureState.block_features` + `ScreeningModel.verdicts`), then applied;
  4. reports, per block size, the p50/p99 block time (what each transaction of the block waits)
     and the amortised cost per transaction (block time / B), and the single-transaction path.

Nothing is written; the model directory is only read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import coincurve
import numpy as np

from node.screening.features import FeatureState, Payment
from node.screening.model import load_model, single_threaded_inference

DEFAULT_BLOCK_SIZES = (1, 10, 100, 250, 1000, 10000)


def recovery_us() -> float:
    """Anchor: microseconds per raw secp256k1 public-key recovery."""
    key = coincurve.PrivateKey(bytes(range(1, 33)))
    message = bytes(32)
    signature = key.sign_recoverable(message, hasher=None)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        for _ in range(100):
            coincurve.PublicKey.from_signature_and_message(signature, message, hasher=None)
        count += 100
    return (time.perf_counter() - started) / count * 1e6


def _payments(rng: random.Random, accounts: int, count: int) -> list[Payment]:
    return [
        Payment(
            f"DEBTOR{rng.randrange(accounts)}",
            f"CREDITOR{rng.randrange(accounts)}",
            rng.randrange(100, 30_000),
            2,
            "EUR",
        )
        for _ in range(count)
    ]


def run(model_dir: Path, block_sizes: tuple[int, ...], repeats: int, accounts: int, warm_days: int, seed: int) -> dict:
    model = load_model(model_dir)
    single_threaded_inference()  # as the node scores
    anchor_us = recovery_us()
    rng = random.Random(seed)
    state = FeatureState()
    now = 1_530_000_000
    for _ in range(warm_days * 24):
        state.apply_block(now, _payments(rng, accounts, accounts // 24 + 1))
        now += 3600
    results = []
    for size in block_sizes:
        block_ms = []
        for _ in range(repeats):
            payments = _payments(rng, accounts, size)
            started = time.perf_counter()
            model.verdicts(state.block_features(now, payments))
            block_ms.append((time.perf_counter() - started) * 1000)
            state.apply_block(now, payments)
            now += 1
        values = np.asarray(block_ms)
        p99 = float(np.percentile(values, 99))
        results.append(
            {
                "block_size": size,
                "block_ms_p50": round(float(np.percentile(values, 50)), 3),
                "block_ms_p99": round(p99, 3),
                "per_tx_ms_p99_amortised": round(p99 / size, 4),
                "per_tx_in_recoveries": round(p99 / size * 1000 / anchor_us, 2),
            }
        )
    return {
        "model_sha256": model.sha256,
        "classifier": model.manifest.get("classifier"),
        "anchor_recovery_us": round(anchor_us, 2),
        "warm_days": warm_days,
        "accounts": accounts,
        "repeats": repeats,
        "results": results,
    }


def main(args: argparse.Namespace) -> int:
    sizes = tuple(int(s) for s in args.block_sizes.split(","))
    result = run(Path(args.model), sizes, args.repeats, args.accounts, args.warm_days, args.seed)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(
        f"model {result['model_sha256'][:16]}… ({result['classifier']}); anchor: one secp256k1 recovery = "
        f"{result['anchor_recovery_us']} µs"
    )
    print(f"{'block size':>10} {'block p50 ms':>13} {'block p99 ms':>13} {'per tx p99 ms':>14} {'x recovery':>11}")
    for r in result["results"]:
        print(
            f"{r['block_size']:>10} {r['block_ms_p50']:>13} {r['block_ms_p99']:>13} "
            f"{r['per_tx_ms_p99_amortised']:>14} {r['per_tx_in_recoveries']:>11}"
        )
    sys.stdout.flush()
    return 0
