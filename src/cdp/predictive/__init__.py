"""Predictive traits (SPEC 7): co-purchase "customers who bought X buy Y within N days" and next-purchase
propensity, learnt from order history in plain Python over Arrow (scikit-learn for the propensity model),
each evaluated on a time-split holdout whose metrics are saved beside the run
(``profiles/predictive/run_id=<run>/metrics.json``). The profiles step adds their rows to ``profile_traits``
(trait set ``predictive``); docs/traits.md describes them."""

from cdp.predictive.traits import (
    PREDICTIVE_TRAITS,
    PredictiveConfig,
    metrics_key,
    predict_from_history,
    predict_traits,
    save_metrics,
)

__all__ = [
    "PREDICTIVE_TRAITS",
    "PredictiveConfig",
    "metrics_key",
    "predict_from_history",
    "predict_traits",
    "save_metrics",
]
