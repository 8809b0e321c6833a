"""The screening model on disk and in memory: skops artifact + manifest, pinned by hash.

A model directory holds two files:
  model.skops     {"classifier", "isolation", "calibrator"} saved with skops (no pickle: loading
                  an untrusted pickle runs arbitrary code; skops loads only allowed types)
  manifest.json   feature set and order, thresholds, training period, metrics, library versions,
                  and `artifact_sha256`, the SHA-256 of model.skops

The model hash pinned on chain (genesis `screening.model_sha256`) is the SHA-256 of manifest.json,
which itself pins model.skops: changing a threshold, a feature or a tree changes the hash, and
`load_model(..., expected_sha256=...)` refuses it, so every validator screens identically.

Scores are probabilities in [0, 1] reported as integer parts per million (`score_ppm`), so
receipts carry integers and every node compares the same numbers with the thresholds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skops.io
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.ensemble._iforest import _average_path_length
from threadpoolctl import threadpool_limits

MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
PPM = 1_000_000
VERDICTS = ("allow", "hold", "reject")
# Module prefixes whose types a model artifact may contain; anything else is refused on load.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.", "scipy.")


class ModelError(ValueError):
    """A model directory that cannot be used: missing, tampered with, or of another feature set."""


class ModelHashMismatch(ModelError):
    """The model's hash differs from the one pinned on chain."""


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_hash(model_dir: Path) -> str:
    """The hash to pin on chain: SHA-256 of manifest.json (which pins model.skops)."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.exists():
        raise ModelError(f"{model_dir}: no {MANIFEST_FILE}; is this a model directory from `qenex fraud train`?")
    return sha256_file(path)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    score_ppm: int
    top_features: tuple[str, ...]


class ScreeningModel:
    """A loaded, verified model: score feature rows, turn scores into verdicts."""

    def __init__(self, parts: dict, manifest: dict, sha256: str) -> None:
        self.parts = parts
        self.manifest = manifest
        self.sha256 = sha256
        self.feature_names: tuple[str, ...] = tuple(manifest["features"])
        self.hold_ppm: int = manifest["thresholds"]["hold_ppm"]
        reject = manifest["thresholds"]["reject_ppm"]
        self.reject_ppm: int | None = reject
        assert 0 <= self.hold_ppm <= PPM, "hold threshold is a probability in ppm"
        assert reject is None or self.hold_ppm <= reject <= PPM, "reject threshold is at or above hold"
        explain = manifest["explain"]
        self._centre = np.asarray(explain["median"], dtype=np.float64)
        self._scale = np.asarray(explain["scale"], dtype=np.float64)
        self._importance = np.asarray(explain["importance"], dtype=np.float64)

    @property
    def feature_set(self) -> str:
        return self.manifest["feature_set"]

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The calibrated fraud probability of each row (one batch, any size)."""
        rows = np.asarray(rows, dtype=np.float64)
        assert rows.ndim == 2 and rows.shape[1] == len(self.feature_names), "rows in the manifest's feature order"
        return combined_probability(self.parts, rows)

    def scores_ppm(self, rows: np.ndarray) -> list[int]:
        return [to_ppm(p) for p in self.probabilities(rows)]

    def verdict_of(self, score_ppm: int) -> str:
        if self.reject_ppm is not None and score_ppm >= self.reject_ppm:
            return "reject"
        if score_ppm >= self.hold_ppm:
            return "hold"
        return "allow"

    def top_features(self, row: np.ndarray, count: int = 3) -> tuple[str, ...]:
        """The features that most set this row apart, weighted by how much the model relies on them.

        A cheap, deterministic attribution (importance x robust deviation from the training
        median), not SHAP: it tells a reviewer where to look, not an exact decomposition.
        """
        weight = self._importance * np.abs((np.asarray(row, dtype=np.float64) - self._centre) / self._scale)
        order = sorted(range(len(weight)), key=lambda i: (-weight[i], i))
        return tuple(self.feature_names[i] for i in order[:count] if weight[i] > 0)

    def verdicts(self, rows: list[list[float]]) -> list[Verdict]:
        if not rows:
            return []
        matrix = np.asarray(rows, dtype=np.float64)
        out = []
        for row, score in zip(matrix, self.scores_ppm(matrix), strict=True):
            out.append(Verdict(self.verdict_of(score), score, self.top_features(row)))
        return out


def to_ppm(probability: float) -> int:
    return min(PPM, max(0, round(float(probability) * PPM)))


def combined_probability(parts: dict, rows: np.ndarray) -> np.ndarray:
    """Calibrator(logit of the classifier's probability, isolation-forest anomaly)."""
    return parts["calibrator"].predict_proba(stack_inputs(parts, rows))[:, 1]


def stack_inputs(parts: dict, rows: np.ndarray) -> np.ndarray:
    classifier = parts["classifier"]
    if isinstance(classifier, RandomForestClassifier):
        raw = forest_probability(classifier, rows)
    else:
        raw = classifier.predict_proba(rows)[:, 1]
    probability = np.clip(raw, 1e-6, 1 - 1e-6)
    columns = [np.log(probability / (1 - probability))]
    if parts.get("isolation") is not None:
        columns.append(isolation_anomaly(parts["isolation"], rows))  # higher = more anomalous
    return np.column_stack(columns)


# scikit-learn's forests average their trees through joblib, whose per-tree dispatch costs more
# than the trees themselves for a block of one transaction (tens of ms for 2 x 100 trees). These
# two functions do the same arithmetic in the same order, sequentially, one code path for every
# batch size (tests/node/screening/test_model.py checks they equal scikit-learn's results).


def forest_probability(forest: RandomForestClassifier, rows: np.ndarray) -> np.ndarray:
    """RandomForestClassifier.predict_proba(rows)[:, 1], trees summed in order."""
    x = np.ascontiguousarray(rows, dtype=np.float32)
    total = np.zeros((len(x), forest.n_classes_), dtype=np.float64)
    for tree in forest.estimators_:
        total += tree.predict_proba(x, check_input=False)
    total /= len(forest.estimators_)
    return total[:, 1]


def isolation_anomaly(forest: IsolationForest, rows: np.ndarray) -> np.ndarray:
    """-IsolationForest.score_samples(rows): 2^(-mean path length / c(max_samples))."""
    x = np.ascontiguousarray(rows, dtype=np.float32)
    assert forest._max_features == x.shape[1], "screening forests use every feature in every tree"
    depths = np.zeros(len(x), order="f")
    for index, tree in enumerate(forest.estimators_):
        leaves = tree.apply(x, check_input=False)
        depths += (
            forest._decision_path_lengths[index][leaves] + forest._average_path_length_per_tree[index][leaves] - 1.0
        )
    denominator = len(forest.estimators_) * _average_path_length([forest._max_samples])
    return 2 ** (-np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0))


def save_model(out_dir: Path, parts: dict, manifest: dict) -> str:
    """Write model.skops and manifest.json; return the hash to pin."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    skops.io.dump(parts, out_dir / MODEL_FILE)
    manifest = {**manifest, "format_version": FORMAT_VERSION, "artifact_sha256": sha256_file(out_dir / MODEL_FILE)}
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return model_hash(out_dir)


def single_threaded_inference() -> None:
    """Score on one OpenMP thread in this process (HistGradientBoosting predicts with OpenMP).

    A block's scoring is small work; OpenMP's thread hand-offs cost more than they save and, on a
    busy machine, stall for milliseconds. Called by the node and by `qenex fraud eval|bench`.
    """
    threadpool_limits(limits=1, user_api="openmp")


def load_model(model_dir: Path, expected_sha256: str | None = None) -> ScreeningModel:
    """Load and verify a model directory; with `expected_sha256`, refuse any other model."""
    model_dir = Path(model_dir)
    digest = model_hash(model_dir)
    if expected_sha256 is not None and digest != expected_sha256.lower().removeprefix("0x"):
        raise ModelHashMismatch(
            f"{model_dir}: model hash {digest} differs from the pinned {expected_sha256}; refusing to screen with it"
        )
    try:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{model_dir / MANIFEST_FILE}: not JSON: {exc}") from None
    for key in ("features", "feature_set", "thresholds", "explain", "artifact_sha256"):
        if key not in manifest:
            raise ModelError(f"{model_dir / MANIFEST_FILE}: field {key!r} is missing")
    artifact = model_dir / MODEL_FILE
    if not artifact.exists():
        raise ModelError(f"{model_dir}: no {MODEL_FILE}")
    if sha256_file(artifact) != manifest["artifact_sha256"]:
        raise ModelHashMismatch(f"{artifact}: SHA-256 differs from the manifest's artifact_sha256 (tampered?)")
    untrusted = skops.io.get_untrusted_types(file=artifact)
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise ModelError(f"{artifact}: contains types outside scikit-learn/numpy: {refused}")
    parts = skops.io.load(artifact, trusted=untrusted)
    for part in parts.values():
        if part is not None and hasattr(part, "n_jobs"):
            part.n_jobs = 1  # parallel tree averaging sums in a varying order: screening must be bit-exact
    return ScreeningModel(parts, manifest, digest)
