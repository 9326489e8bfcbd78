"""Next-purchase propensity: the probability that a profile orders within the next 30 days (SPEC 7).

Features of a profile's orders up to a cutoff (recency, frequency over 90 and 365 days, spend, average
order value, tenure, distinct categories, mean days between orders; counts and money as ``log1p``); the
label is an order in ``(cutoff, cutoff + horizon]``. Trained at ``as_of - 2·horizon`` (labels end at
``as_of - horizon``) and evaluated at ``as_of - horizon`` (labels end at ``as_of``): AUC, Brier score and a
calibration table by decile. Two candidates, a standardized logistic regression and the same wrapped in
``CalibratedClassifierCV`` (sigmoid, 3 unshuffled folds), are compared by holdout Brier; the better one is
refit on both labelled snapshots and scores every profile with an order at ``as_of``. Deterministic: sorted
profiles, a fixed ``random_state`` and unshuffled folds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from cdp.predictive.history import DAY, History, Order

FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency_90d",
    "frequency_365d",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "distinct_categories",
    "days_between_orders",
)
RANDOM_STATE = 7


@dataclass(frozen=True, slots=True)
class Examples:
    profiles: list[str]
    features: np.ndarray[Any, np.dtype[np.float64]]
    labels: np.ndarray[Any, np.dtype[np.int64]]


def profile_features(orders: Sequence[Order], cutoff: datetime) -> list[float] | None:
    """Features of the orders up to ``cutoff``; None without one."""
    past = [order for order in orders if order.time <= cutoff]
    if not past:
        return None
    days = [(cutoff - order.time) / DAY for order in past]
    spend = sum(order.value for order in past)
    tenure = days[0]
    gaps = [(b.time - a.time) / DAY for a, b in pairwise(past)]
    return [
        days[-1],
        math.log1p(sum(1 for d in days if d <= 90)),
        math.log1p(sum(1 for d in days if d <= 365)),
        math.log1p(max(spend, 0.0)),
        math.log1p(max(spend / len(past), 0.0)),
        tenure,
        float(len({category for order in past for category in order.categories})),
        sum(gaps) / len(gaps) if gaps else tenure,
    ]


def examples(history: History, cutoff: datetime, horizon_days: int) -> Examples:
    """One example per profile with an order up to ``cutoff``: its features and whether it ordered in
    ``(cutoff, cutoff + horizon]``."""
    end = cutoff + timedelta(days=horizon_days)
    profiles: list[str] = []
    rows: list[list[float]] = []
    labels: list[int] = []
    for profile in sorted(history):
        orders = history[profile]
        features = profile_features(orders, cutoff)
        if features is None:
            continue
        profiles.append(profile)
        rows.append(features)
        labels.append(int(any(cutoff < order.time <= end for order in orders)))
    return Examples(
        profiles=profiles,
        features=np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES)),
        labels=np.asarray(labels, dtype=np.int64),
    )


def _logistic() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=RANDOM_STATE))


def _calibrated() -> CalibratedClassifierCV:
    return CalibratedClassifierCV(_logistic(), method="sigmoid", cv=StratifiedKFold(n_splits=3))


CANDIDATES = {"logistic": _logistic, "logistic_calibrated": _calibrated}


def deciles(scores: Sequence[float], profiles: Sequence[str]) -> list[int]:
    """Decile 1-10 of each score among ``scores`` (10 = highest), ties by profile id."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i], profiles[i]))
    result = [0] * len(scores)
    for rank, index in enumerate(order):
        result[index] = rank * 10 // len(scores) + 1
    return result


def calibration_table(
    scores: Sequence[float], labels: Sequence[int], profiles: Sequence[str]
) -> list[dict[str, Any]]:
    table = []
    assigned = deciles(scores, profiles)
    for decile in range(1, 11):
        members = [i for i, d in enumerate(assigned) if d == decile]
        if not members:
            continue
        table.append(
            {
                "decile": decile,
                "profiles": len(members),
                "mean_predicted": round(sum(scores[i] for i in members) / len(members), 6),
                "observed_rate": round(sum(labels[i] for i in members) / len(members), 6),
            }
        )
    return table


def _too_little(train: Examples, test: Examples, min_profiles: int) -> str | None:
    if len(train.profiles) < min_profiles:
        return f"{len(train.profiles)} profiles with orders at the training cutoff (need {min_profiles})"
    for name, data in (("training", train), ("evaluation", test)):
        positives = int(data.labels.sum())
        if positives == 0:
            return f"no {name} profile ordered in its label window"
        if positives == len(data.labels):
            return f"every {name} profile ordered in its label window (no negatives)"
    if min(int(train.labels.sum()), int(len(train.labels) - train.labels.sum())) < 3:
        return "fewer than 3 training profiles in a class"
    return None


def fit_propensity(
    history: History, as_of: datetime, *, horizon_days: int = 30, min_profiles: int = 50
) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """Scores at ``as_of`` by profile (None when there is too little data) and the metrics report."""
    train_cutoff = as_of - timedelta(days=2 * horizon_days)
    test_cutoff = as_of - timedelta(days=horizon_days)
    train = examples(history, train_cutoff, horizon_days)
    test = examples(history, test_cutoff, horizon_days)
    report: dict[str, Any] = {
        "horizon_days": horizon_days,
        "train_cutoff": train_cutoff.isoformat(),
        "evaluation_cutoff": test_cutoff.isoformat(),
        "train_profiles": len(train.profiles),
        "train_positive_rate": round(float(train.labels.mean()), 6) if len(train.labels) else None,
        "evaluation_profiles": len(test.profiles),
        "evaluation_positive_rate": round(float(test.labels.mean()), 6) if len(test.labels) else None,
        "features": list(FEATURES),
    }
    reason = _too_little(train, test, min_profiles)
    if reason is not None:
        report.update(status="skipped", reason=f"too little data: {reason}; no propensity traits written")
        return None, report
    candidates: dict[str, dict[str, Any]] = {}
    best: tuple[float, str] | None = None
    for name, build in CANDIDATES.items():
        model: ClassifierMixin = build()
        model.fit(train.features, train.labels)
        scores = model.predict_proba(test.features)[:, 1]
        brier = float(brier_score_loss(test.labels, scores))
        candidates[name] = {
            "auc": round(float(roc_auc_score(test.labels, scores)), 6),
            "brier": round(brier, 6),
            "calibration": calibration_table([float(s) for s in scores], test.labels.tolist(), test.profiles),
        }
        if best is None or round(brier, 12) < best[0]:
            best = (round(brier, 12), name)
    assert best is not None
    chosen = best[1]
    base_rate = np.full(len(test.labels), float(train.labels.mean()))  # a model that knows only the rate
    report.update(
        status="ok",
        model=chosen,
        auc=candidates[chosen]["auc"],
        brier=candidates[chosen]["brier"],
        base_rate_brier=round(float(brier_score_loss(test.labels, base_rate)), 6),
        candidates=candidates,
    )
    final = CANDIDATES[chosen]()
    final.fit(np.vstack([train.features, test.features]), np.concatenate([train.labels, test.labels]))
    now = examples(history, as_of, horizon_days)
    scored = final.predict_proba(now.features)[:, 1] if now.profiles else np.empty(0)
    report["scored_profiles"] = len(now.profiles)
    return {profile: float(score) for profile, score in zip(now.profiles, scored, strict=True)}, report
