"""The model artifact: skops + manifest, pinned by hash; deterministic verdicts; no future labels."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil

import numpy as np
import pytest

from node.screening.data import load_handbook
from node.screening.evaluate import handbook_scores
from node.screening.features import DAY, FEATURE_NAMES
from node.screening.model import ModelHashMismatch, load_model, model_hash


def test_the_manifest_describes_the_model(small_model):
    manifest = json.loads((small_model / "manifest.json").read_text())
    assert manifest["features"] == list(FEATURE_NAMES)
    assert manifest["classifier"] in ("hist_gradient_boosting", "random_forest")
    assert set(manifest["classifier_candidates_pr_auc"]) == {"hist_gradient_boosting", "random_forest"}
    assert 0 < manifest["thresholds"]["hold_ppm"] <= 1_000_000
    assert set(manifest["periods"]) == {"train", "calibrate", "report"}
    assert manifest["periods"]["train"][1] < manifest["periods"]["calibrate"][0] < manifest["periods"]["report"][0]
    assert {"scikit-learn", "numpy", "skops", "python"} <= set(manifest["versions"])
    assert 0 <= manifest["metrics_report_period"]["pr_auc"] <= 1
    assert not list(small_model.glob("*.pkl"))


def test_a_model_loads_only_under_its_pinned_hash(small_model, tmp_path):
    digest = model_hash(small_model)
    assert load_model(small_model, expected_sha256=digest).sha256 == digest
    with pytest.raises(ModelHashMismatch, match="differs from the pinned"):
        load_model(small_model, expected_sha256="00" * 32)


def test_a_tampered_threshold_or_artifact_is_refused(small_model, tmp_path):
    digest = model_hash(small_model)
    tampered = tmp_path / "thresholds"
    shutil.copytree(small_model, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["thresholds"]["hold_ppm"] = 999_999
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelHashMismatch):
        load_model(tampered, expected_sha256=digest)
    swapped = tmp_path / "artifact"
    shutil.copytree(small_model, swapped)
    with open(swapped / "model.skops", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelHashMismatch, match="artifact_sha256"):
        load_model(swapped, expected_sha256=digest)


def test_scores_are_deterministic_across_loads_and_batch_sizes(small_model):
    rows = np.random.default_rng(3).random((64, len(FEATURE_NAMES))) * 100
    first, second = load_model(small_model), load_model(small_model)
    batch = first.scores_ppm(rows)
    assert batch == second.scores_ppm(rows)
    assert batch == [first.scores_ppm(rows[i : i + 1])[0] for i in range(len(rows))]


def test_evaluation_never_uses_a_future_label(small_model, handbook_slice):
    """Shuffling the labels of everything after a cut-off leaves every earlier score unchanged."""
    model = load_model(small_model)
    payments = load_handbook(handbook_slice)
    cut = payments[0].timestamp + 60 * DAY
    before, _ = handbook_scores(model, payments)
    future = [i for i, p in enumerate(payments) if p.timestamp >= cut]
    labels = [payments[i].fraud for i in future]
    random.Random(1).shuffle(labels)
    flipped = list(payments)
    for i, label in zip(future, labels, strict=True):
        flipped[i] = dataclasses.replace(payments[i], fraud=label)
    after, _ = handbook_scores(model, flipped)
    past = np.asarray([p.timestamp < cut for p in payments])
    assert np.array_equal(before[past], after[past])
    assert not np.array_equal(before[~past], after[~past]), "the shuffled labels do reach later scores"


def test_the_sequential_forests_equal_scikit_learns():
    from sklearn.ensemble import IsolationForest, RandomForestClassifier

    from node.screening.model import forest_probability, isolation_anomaly

    rng = np.random.default_rng(5)
    x, y = rng.random((400, 6)), rng.random(400) > 0.8
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y)
    isolation = IsolationForest(n_estimators=20, random_state=0).fit(x)
    probe = rng.random((50, 6)) * 2
    assert np.array_equal(forest_probability(forest, probe), forest.predict_proba(probe)[:, 1])
    assert np.array_equal(isolation_anomaly(isolation, probe), -isolation.score_samples(probe))
