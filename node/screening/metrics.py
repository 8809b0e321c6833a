"""Evaluation metrics, as the Fraud-Detection-Handbook defines them, with optional row weights.

Weights exist for the ULB subset, whose legitimate rows are a 1/231 under-sample: precision and
PR-AUC must count each legitimate row 231.15 times to mean what they would on the real stream
(recall and FPR are ratios within one class and need no weight).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def ranking_metrics(
    labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float | None]:
    if len(set(labels.tolist())) < 2:
        return {"pr_auc": None, "roc_auc": None}
    return {
        "pr_auc": float(average_precision_score(labels, scores, sample_weight=weights)),
        "roc_auc": float(roc_auc_score(labels, scores)),
    }


def threshold_metrics(
    labels: np.ndarray, flagged: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float | None]:
    """Precision, recall, F1 and false-positive rate of the rows `flagged` (held or rejected)."""
    labels = labels.astype(bool)
    flagged = flagged.astype(bool)
    w = np.ones(len(labels)) if weights is None else weights
    tp = float(w[flagged & labels].sum())
    fp = float(w[flagged & ~labels].sum())
    positives = int(labels.sum())
    negatives = int((~labels).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = int((flagged & labels).sum()) / positives if positives else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    fpr = int((flagged & ~labels).sum()) / negatives if negatives else None
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fpr}


def card_precision_at_k(
    days: np.ndarray, customers: list[str] | np.ndarray, labels: np.ndarray, scores: np.ndarray, k: int = 100
) -> float | None:
    """The handbook's CP@k (ch. 4.4, `card_precision_top_k`): per day, the share of the k most
    suspicious cards that were compromised that day (a card counts once: its highest score, and
    whether any of its payments was fraud), averaged over days. A card found compromised on an
    earlier day is blocked in practice, so, as in the handbook, it is left out of later days."""
    per_day: dict[int, dict[str, list[float]]] = defaultdict(dict)
    for day, customer, label, score in zip(days.tolist(), customers, labels.tolist(), scores.tolist(), strict=True):
        entry = per_day[day].get(customer)
        if entry is None:
            per_day[day][customer] = [score, float(label)]
        else:
            entry[0] = max(entry[0], score)
            entry[1] = max(entry[1], float(label))
    if not per_day:
        return None
    detected: set[str] = set()
    precisions = []
    for day in sorted(per_day):
        cards = [(c, e) for c, e in per_day[day].items() if c not in detected]
        ranked = sorted(cards, key=lambda item: (-item[1][0], item[0]))[:k]
        found = [card for card, entry in ranked if entry[1]]
        detected.update(found)
        precisions.append(len(found) / k)
    return float(np.mean(precisions))


def best_f1_threshold(labels: np.ndarray, scores_ppm: np.ndarray, weights: np.ndarray | None = None) -> int:
    """The score (ppm) at which flagging `score >= threshold` has the highest F1."""
    best, best_f1 = int(scores_ppm.max()) if len(scores_ppm) else 0, -1.0
    for threshold in _candidate_thresholds(scores_ppm):
        f1 = threshold_metrics(labels, scores_ppm >= threshold, weights)["f1"] or 0.0
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best


def precision_threshold(
    labels: np.ndarray, scores_ppm: np.ndarray, precision: float, min_flagged: int, weights: np.ndarray | None = None
) -> int | None:
    """The lowest score (ppm) whose flagged set reaches `precision` with at least `min_flagged` rows."""
    for threshold in sorted(_candidate_thresholds(scores_ppm)):
        flagged = scores_ppm >= threshold
        if flagged.sum() < min_flagged:
            return None
        reached = threshold_metrics(labels, flagged, weights)["precision"]
        if reached is not None and reached >= precision:
            return threshold
    return None


def _candidate_thresholds(scores_ppm: np.ndarray) -> list[int]:
    unique = np.unique(scores_ppm)
    if len(unique) > 400:
        unique = np.unique(np.quantile(scores_ppm, np.linspace(0.5, 1.0, 401), method="lower"))
    return [int(v) for v in unique if v > 0]
