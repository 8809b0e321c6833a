"""`qenex fraud eval`: replay a labelled file in time order through the node's feature code and
score it with a saved model, as the node would have, then measure.

Labels are revealed only after the model's label delay (FeatureState), so no score depends on a
later label. Latency is the wall time to compute features and verdicts of a block, sampled every
`LATENCY_EVERY` blocks, charged to each transaction of that block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from node.screening import metrics
from node.screening.data import load_handbook, load_ulb
from node.screening.features import DAY, FeatureConfig, FeatureState, Payment
from node.screening.model import PPM, ModelError, ScreeningModel, load_model, single_threaded_inference
from node.screening.replay import replay
from node.screening.training import ulb_weights

LATENCY_EVERY = 200
LATENCY_SAMPLES_MAX = 5_000


def _latency(samples_ms: list[float]) -> tuple[float | None, float | None]:
    if not samples_ms:
        return None, None
    values = np.asarray(samples_ms)
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def _flag_metrics(model: ScreeningModel, labels: np.ndarray, p: np.ndarray, weights: np.ndarray | None) -> dict:
    ppm = np.asarray([min(PPM, max(0, round(v * PPM))) for v in p])
    out: dict = {}
    out.update(metrics.ranking_metrics(labels, p, weights))
    out.update(metrics.threshold_metrics(labels, ppm >= model.hold_ppm, weights))
    out["held_or_rejected"] = int((ppm >= model.hold_ppm).sum())
    out["rejected"] = int((ppm >= model.reject_ppm).sum()) if model.reject_ppm is not None else 0
    return out


def handbook_scores(
    model: ScreeningModel, payments: list, on_block: Callable[[int], None] | None = None, latency: list | None = None
) -> tuple[np.ndarray, object]:
    """Probabilities for every payment of a time-ordered handbook list, and the replay."""
    config = FeatureConfig(label_delay_seconds=model.manifest["feature_config"]["label_delay_seconds"])
    counter = [0]

    def timed(state: FeatureState, timestamp: int, block: list[Payment]) -> None:
        counter[0] += 1
        if latency is None or counter[0] % LATENCY_EVERY or len(latency) >= LATENCY_SAMPLES_MAX:
            return
        started = time.perf_counter()
        model.verdicts(state.block_features(timestamp, block))
        elapsed_ms = (time.perf_counter() - started) * 1000
        latency.extend([elapsed_ms] * len(block))

    replayed = replay(payments, config, on_block=on_block, block_hook=timed)
    return model.probabilities(replayed.rows), replayed


def evaluate(
    model_dir: Path,
    data: Path,
    data_format: str = "handbook",
    since: int | None = None,
    on_block: Callable[[int], None] | None = None,
) -> dict:
    model = load_model(Path(model_dir))
    single_threaded_inference()  # measure latency as the node scores
    expected = "chain" if data_format == "handbook" else "ulb"
    if model.feature_set != expected:
        raise ModelError(
            f"{model_dir} was trained on feature set {model.feature_set!r}; --format {data_format} needs {expected!r}"
        )
    latency: list[float] = []
    if data_format == "handbook":
        payments = load_handbook(Path(data))
        p, replayed = handbook_scores(model, payments, on_block, latency)
        mask = np.ones(len(p), dtype=bool) if since is None else replayed.timestamps >= since
        labels = replayed.labels[mask]
        out = _flag_metrics(model, labels, p[mask], None)
        customers = np.asarray(replayed.customers)[mask].tolist()
        out["card_precision_at_100"] = metrics.card_precision_at_k(
            replayed.timestamps[mask] // DAY, customers, labels, p[mask], 100
        )
    else:
        ulb = load_ulb(Path(data))
        mask = np.ones(len(ulb.labels), dtype=bool) if since is None else ulb.time_seconds >= since
        x, labels = ulb.features[mask], ulb.labels[mask]
        p = model.probabilities(x)
        for row in x[:: max(1, len(x) // 200)]:
            started = time.perf_counter()
            model.verdicts([row.tolist()])
            latency.append((time.perf_counter() - started) * 1000)
        out = _flag_metrics(model, labels, p, ulb_weights(labels))
        out["card_precision_at_100"] = None
        out["weighting"] = "legit rows weighted 231.15 for pr_auc/precision/f1 (shared/fraud/SOURCES.md)"
    p50, p99 = _latency(latency)
    out.update(
        {
            "scored": int(mask.sum()),
            "frauds": int(labels.sum()),
            "latency_ms_p50": p50,
            "latency_ms_p99": p99,
            "model_sha256": model.sha256,
            "hold_ppm": model.hold_ppm,
            "reject_ppm": model.reject_ppm,
        }
    )
    return out
