"""`qenex fraud train`: fit, choose, calibrate and save a screening model on a time split.

The split follows the Fraud-Detection-Handbook's practice, because fraud labels arrive late and
a random split would leak the future:

  |---------------- train ----------------|-- gap (label delay) --|-- calibrate --|-- report --|

* train: isolation forest (anomalies) and both classifiers the issue names, HistGradientBoosting
  and RandomForest;
* calibrate: the classifier with the higher PR-AUC is kept; a logistic regression turns (its
  logit, the anomaly score) into one calibrated probability; the hold threshold is the best-F1
  point, the reject threshold the lowest score whose precision reaches `reject_precision`;
* report: the last period, touched by no choice above, gives the figures in the manifest.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
import skops
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest, RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression

from node.screening import metrics
from node.screening.data import UlbData, load_handbook, load_ulb
from node.screening.features import DAY, FEATURE_NAMES, FeatureConfig
from node.screening.model import PPM, combined_probability, save_model, stack_inputs
from node.screening.replay import replay

ULB_LEGIT_WEIGHT = 231.15  # the ULB subset keeps 1 legit row in 231.15 (shared/fraud/SOURCES.md)
RANDOM_STATE = 0


@dataclass(frozen=True)
class TrainOptions:
    calibrate_days: int = 7
    report_days: int = 7
    reject_precision: float = 0.95
    reject_min_flagged: int = 10
    rf_max_samples: int = 200_000
    label_delay_seconds: int = 7 * DAY


Progress = Callable[[str, int], None]  # (stage description, units done)


def _no_progress(stage: str, done: int) -> None:
    return None


def _classifiers() -> dict[str, object]:
    return {
        "hist_gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=RANDOM_STATE
        ),
        "random_forest": RandomForestClassifier(
            n_estimators=100, max_depth=20, min_samples_leaf=5, n_jobs=2, random_state=RANDOM_STATE
        ),
    }


def _fit_classifiers(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_cal: np.ndarray,
    y_cal: np.ndarray,
    options: TrainOptions,
    progress: Progress,
    w_cal: np.ndarray | None = None,
) -> tuple[str, object, dict[str, float]]:
    candidates: dict[str, float] = {}
    fitted: dict[str, object] = {}
    for name, model in _classifiers().items():
        progress(f"fitting {name}", 0)
        if isinstance(model, RandomForestClassifier):
            model.set_params(max_samples=min(options.rf_max_samples, len(x_train)) / len(x_train))
        model.fit(x_train, y_train)
        score = metrics.ranking_metrics(y_cal, model.predict_proba(x_cal)[:, 1], w_cal)["pr_auc"]
        candidates[name] = score if score is not None else 0.0
        fitted[name] = model
        progress(f"fitted {name}", 1)
    best = max(candidates, key=lambda n: (candidates[n], n))
    return best, fitted[best], candidates


def _explain(x_train: np.ndarray, classifier: object, x_cal: np.ndarray, y_cal: np.ndarray) -> dict:
    median = np.median(x_train, axis=0)
    q75, q25 = np.percentile(x_train, [75, 25], axis=0)
    scale = np.where(q75 - q25 > 0, q75 - q25, np.where(np.std(x_train, axis=0) > 0, np.std(x_train, axis=0), 1.0))
    step = max(1, len(x_cal) // 5_000)  # every step-th row: the whole period, a bounded cost
    importance = permutation_importance(
        classifier, x_cal[::step], y_cal[::step], scoring="average_precision", n_repeats=2, random_state=RANDOM_STATE
    ).importances_mean
    importance = np.clip(importance, 0.0, None)
    return {"median": median.tolist(), "scale": scale.tolist(), "importance": importance.tolist()}


def _thresholds(y_cal: np.ndarray, p_cal: np.ndarray, options: TrainOptions, w_cal: np.ndarray | None) -> dict:
    ppm = np.asarray([min(PPM, max(0, round(p * PPM))) for p in p_cal])
    hold = metrics.best_f1_threshold(y_cal, ppm, w_cal)
    reject = metrics.precision_threshold(y_cal, ppm, options.reject_precision, options.reject_min_flagged, w_cal)
    if reject is not None and reject < hold:
        reject = hold
    return {"hold_ppm": hold, "reject_ppm": reject, "reject_precision_target": options.reject_precision}


def _report(
    y: np.ndarray, p: np.ndarray, thresholds: dict, weights: np.ndarray | None = None, cp_args: tuple | None = None
) -> dict:
    ppm = np.asarray([min(PPM, max(0, round(v * PPM))) for v in p])
    out: dict = {"rows": len(y), "frauds": int(y.sum())}
    out.update(metrics.ranking_metrics(y, p, weights))
    out.update(metrics.threshold_metrics(y, ppm >= thresholds["hold_ppm"], weights))
    if cp_args is not None:
        days, customers = cp_args
        out["card_precision_at_100"] = metrics.card_precision_at_k(days, customers, y, p, 100)
    return out


def _versions() -> dict:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "skops": skops.__version__,
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).isoformat().replace("+00:00", "Z")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_handbook(
    data: Path, out_dir: Path, options: TrainOptions | None = None, progress: Progress = _no_progress
) -> tuple[str, dict]:
    """Train on a handbook-format file; returns (model hash, manifest)."""
    options = options or TrainOptions()
    payments = load_handbook(Path(data))
    progress("loaded", 0)
    config = FeatureConfig(label_delay_seconds=options.label_delay_seconds)
    replayed = replay(payments, config, on_block=lambda n: progress("features", n))
    x, y, t = replayed.rows, replayed.labels, replayed.timestamps
    end_day = int(t.max()) // DAY + 1
    report_start = (end_day - options.report_days) * DAY
    cal_start = report_start - options.calibrate_days * DAY
    train_end = cal_start - config.delay_days * DAY
    train, cal, rep = t < train_end, (t >= cal_start) & (t < report_start), t >= report_start
    if train.sum() == 0 or cal.sum() == 0 or rep.sum() == 0 or len(set(y[train].tolist())) < 2:
        raise ValueError(
            f"{data}: too short for the split (train until {_iso(train_end)}, calibrate from {_iso(cal_start)}, "
            f"report from {_iso(report_start)}) or no fraud in the training period"
        )
    progress("fitting isolation forest", 0)
    isolation = IsolationForest(n_estimators=100, random_state=RANDOM_STATE).fit(x[train])
    kind, classifier, candidates = _fit_classifiers(x[train], y[train], x[cal], y[cal], options, progress)
    calibrator = LogisticRegression().fit(
        stack_inputs({"classifier": classifier, "isolation": isolation}, x[cal]), y[cal]
    )
    parts = {"classifier": classifier, "isolation": isolation, "calibrator": calibrator}
    p_cal = combined_probability(parts, x[cal])
    thresholds = _thresholds(y[cal], p_cal, options, None)
    progress("explaining", 0)
    explain = _explain(x[train], classifier, x[cal], y[cal])
    p_rep = combined_probability(parts, x[rep])
    customers = np.asarray(replayed.customers)
    report = _report(y[rep], p_rep, thresholds, None, (t[rep] // DAY, customers[rep].tolist()))
    manifest = {
        "feature_set": "chain",
        "features": list(FEATURE_NAMES),
        "feature_config": {"label_delay_seconds": config.label_delay_seconds},
        "classifier": kind,
        "classifier_candidates_pr_auc": candidates,
        "thresholds": thresholds,
        "data": {"file": Path(data).name, "sha256": _sha256(Path(data)), "format": "handbook"},
        "periods": {
            "train": [_iso(t.min()), _iso(train_end)],
            "calibrate": [_iso(cal_start), _iso(report_start)],
            "report": [_iso(report_start), _iso(end_day * DAY)],
        },
        "metrics_report_period": report,
        "versions": _versions(),
        "explain": explain,
    }
    return save_model(out_dir, parts, manifest), manifest


def ulb_weights(labels: np.ndarray) -> np.ndarray:
    return np.where(labels == 1, 1.0, ULB_LEGIT_WEIGHT)


def _ulb_split(data: UlbData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First 70 % of the time range trains, the next 15 % calibrates, the last 15 % reports."""
    low, high = float(data.time_seconds.min()), float(data.time_seconds.max())
    cut1, cut2 = low + 0.70 * (high - low), low + 0.85 * (high - low)
    t = data.time_seconds
    return t < cut1, (t >= cut1) & (t < cut2), t >= cut2


def train_ulb(
    data: Path, out_dir: Path, options: TrainOptions | None = None, progress: Progress = _no_progress
) -> tuple[str, dict]:
    """Train the classifier alone on the ULB columns (no account ids: no chain features)."""
    options = options or TrainOptions()
    ulb = load_ulb(Path(data))
    progress("loaded", len(ulb.labels))
    x, y = ulb.features, ulb.labels
    train, cal, rep = _ulb_split(ulb)
    w = ulb_weights(y)
    kind, classifier, candidates = _fit_classifiers(x[train], y[train], x[cal], y[cal], options, progress, w[cal])
    calibrator = LogisticRegression().fit(
        stack_inputs({"classifier": classifier}, x[cal]), y[cal], sample_weight=w[cal]
    )
    parts = {"classifier": classifier, "isolation": None, "calibrator": calibrator}
    thresholds = _thresholds(y[cal], combined_probability(parts, x[cal]), options, w[cal])
    explain = _explain(x[train], classifier, x[cal], y[cal])
    report = _report(y[rep], combined_probability(parts, x[rep]), thresholds, w[rep])
    manifest = {
        "feature_set": "ulb",
        "features": list(UlbData.feature_names),
        "feature_config": {},
        "classifier": kind,
        "classifier_candidates_pr_auc": candidates,
        "thresholds": thresholds,
        "data": {"file": Path(data).name, "sha256": _sha256(Path(data)), "format": "ulb"},
        "periods": {
            "split_by_time_fraction": [0.70, 0.85],
            "time_seconds": [float(ulb.time_seconds.min()), float(ulb.time_seconds.max())],
        },
        "metrics_report_period": report,
        "weighting": {"legit_row_weight": ULB_LEGIT_WEIGHT, "applies_to": ["pr_auc", "precision", "f1"]},
        "versions": _versions(),
        "explain": explain,
    }
    return save_model(out_dir, parts, manifest), manifest
