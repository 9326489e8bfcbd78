"""Co-purchase: "customers who bought X buy Y within N days", between categories (SPEC 7).

**Rules.** A transaction is a profile. ``X → Y`` holds for a profile when one of its orders with ``X`` is
followed, in the same order or within ``N`` days after it, by an order with ``Y`` (``Y ≠ X``). Over the
profiles with an order: ``support = n(X→Y) / n``, ``confidence = n(X→Y) / n(X)``, ``lift = confidence /
P(Y)`` with ``P(Y) = n(Y) / n``; rules seen for fewer than ``min_profiles`` profiles are dropped.

**Recommendation** at a moment ``t`` from a profile's orders up to ``t``: ``score(Y) = max over its
categories X of confidence(X→Y) × 0.5 ** (days since it last bought X / N)`` (a rule fades with a half-life
of ``N`` days, since it says "within N days"). Categories the profile bought in the last ``N`` days are
excluded by default: the trait is for the *next* category (cross-sell), and a category just bought is what
every channel already knows about; the metrics report precision with and without that exclusion, so the
choice can be checked on each lake. Free places are filled with the most popular categories (score 0).

**Evaluation** on a time split: rules learnt from orders up to ``cutoff = as_of - holdout_days``, top-k
recommended at the cutoff to every profile with an order by then, compared with the categories it bought in
``(cutoff, as_of]``; precision@k and recall@k are averaged over the profiles that bought in the holdout
(the others have nothing to hit), beside the popularity baseline (the k categories in most training orders,
for everyone) on the same profiles.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cdp.predictive.history import DAY, History, Order, before, between


@dataclass(frozen=True, slots=True)
class Rule:
    antecedent: str
    consequent: str
    profiles: int
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True, slots=True)
class Rules:
    """Rules by antecedent, and the categories by popularity (orders containing them, then name)."""

    by_antecedent: Mapping[str, Sequence[Rule]]
    popular: Sequence[str]
    profiles: int

    def rule(self, antecedent: str, consequent: str) -> Rule | None:
        return next((r for r in self.by_antecedent.get(antecedent, ()) if r.consequent == consequent), None)

    @property
    def count(self) -> int:
        return sum(len(rules) for rules in self.by_antecedent.values())


def learn_rules(history: History, *, window_days: int, min_profiles: int = 2) -> Rules:
    window = timedelta(days=window_days)
    bought: Counter[str] = Counter()  # profiles that bought the category
    in_orders: Counter[str] = Counter()  # orders containing it
    pairs: Counter[tuple[str, str]] = Counter()  # profiles where X was followed by Y within the window
    profiles = 0
    for orders in history.values():
        if not orders:
            continue
        profiles += 1
        seen: set[str] = set()
        followed: set[tuple[str, str]] = set()
        for index, order in enumerate(orders):
            seen |= order.categories
            in_orders.update(order.categories)
            later: set[str] = set(order.categories)
            for following in orders[index + 1 :]:
                if following.time - order.time > window:
                    break
                later |= following.categories
            followed.update((x, y) for x in order.categories for y in later if y != x)
        bought.update(seen)
        pairs.update(followed)
    by_antecedent: dict[str, list[Rule]] = defaultdict(list)
    for (x, y), count in sorted(pairs.items()):
        if count < min_profiles:
            continue
        confidence = count / bought[x]
        by_antecedent[x].append(
            Rule(
                antecedent=x,
                consequent=y,
                profiles=count,
                support=count / profiles,
                confidence=confidence,
                lift=confidence / (bought[y] / profiles),
            )
        )
    for rules in by_antecedent.values():
        rules.sort(key=lambda r: (-r.confidence, -r.lift, r.consequent))
    popular = [category for category, _ in sorted(in_orders.items(), key=lambda item: (-item[1], item[0]))]
    return Rules(by_antecedent=dict(sorted(by_antecedent.items())), popular=popular, profiles=profiles)


def recommend(
    rules: Rules,
    orders: Sequence[Order],
    moment: datetime,
    *,
    window_days: int,
    k: int = 3,
    exclude_recent: bool = True,
) -> list[tuple[str, float]]:
    """Top-``k`` next categories with their score for one profile's orders up to ``moment``."""
    last_bought: dict[str, datetime] = {}
    for order in orders:
        if order.time <= moment:
            for category in order.categories:
                last_bought[category] = order.time
    recent = {c for c, t in last_bought.items() if moment - t <= timedelta(days=window_days)}
    excluded = recent if exclude_recent else set()
    scores: dict[str, float] = {}
    for category, time in last_bought.items():
        fade = 0.5 ** (((moment - time) / DAY) / window_days)
        for rule in rules.by_antecedent.get(category, ()):
            if rule.consequent in excluded:
                continue
            score = rule.confidence * fade
            if score > scores.get(rule.consequent, 0.0):
                scores[rule.consequent] = score
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
    chosen = {category for category, _ in ranked}
    for category in rules.popular:
        if len(ranked) >= k:
            break
        if category not in chosen and category not in excluded:
            ranked.append((category, 0.0))
            chosen.add(category)
    return ranked


def precision_recall_at_k(
    recommended: Mapping[str, Sequence[str]], actual: Mapping[str, Iterable[str]], k: int
) -> tuple[float, float, int]:
    """Mean precision@k (hits / k) and recall@k (hits / bought) over the profiles of ``actual`` that bought
    something; a profile without recommendations counts as zero hits.

    Returns (precision, recall, profiles evaluated)."""
    precision = recall = 0.0
    evaluated = 0
    for profile in sorted(actual):
        bought = set(actual[profile])
        if not bought:
            continue
        hits = len(set(list(recommended.get(profile, ()))[:k]) & bought)
        precision += hits / k
        recall += hits / len(bought)
        evaluated += 1
    if evaluated == 0:
        return 0.0, 0.0, 0
    return precision / evaluated, recall / evaluated, evaluated


def _categories(orders: Iterable[Order]) -> set[str]:
    return {category for order in orders for category in order.categories}


def evaluate_copurchase(
    history: History, as_of: datetime, *, window_days: int, holdout_days: int, k: int, min_profiles: int
) -> dict[str, Any]:
    cutoff = as_of - timedelta(days=holdout_days)
    train = before(history, cutoff)
    holdout = between(history, cutoff, as_of)
    rules = learn_rules(train, window_days=window_days, min_profiles=min_profiles)
    actual = {profile: _categories(orders) for profile, orders in holdout.items() if profile in train}
    baseline = {profile: list(rules.popular[:k]) for profile in train}
    result: dict[str, Any] = {
        "cutoff": cutoff.isoformat(),
        "train_profiles": len(train),
        "rules": rules.count,
    }
    for label, exclude in (("model", True), ("model_keep_recent", False)):
        recommended = {
            profile: [
                c
                for c, _ in recommend(
                    rules, orders, cutoff, window_days=window_days, k=k, exclude_recent=exclude
                )
            ]
            for profile, orders in train.items()
        }
        precision, recall, evaluated = precision_recall_at_k(recommended, actual, k)
        result[label] = {f"precision_at_{k}": round(precision, 6), f"recall_at_{k}": round(recall, 6)}
    precision, recall, evaluated = precision_recall_at_k(baseline, actual, k)
    result["popularity_baseline"] = {
        "categories": list(rules.popular[:k]),
        f"precision_at_{k}": round(precision, 6),
        f"recall_at_{k}": round(recall, 6),
    }
    result["evaluated_profiles"] = evaluated
    if evaluated == 0:
        result["note"] = "no profile of the training period bought in the holdout: precision and recall are 0"
    return result


def top_rules(rules: Rules, limit: int = 20) -> list[dict[str, Any]]:
    """The strongest rules by lift (then confidence), for the report."""
    flat = [rule for group in rules.by_antecedent.values() for rule in group]
    flat.sort(key=lambda r: (-r.lift, -r.confidence, r.antecedent, r.consequent))
    return [
        {
            "if_bought": r.antecedent,
            "then_buys": r.consequent,
            "profiles": r.profiles,
            "support": round(r.support, 6),
            "confidence": round(r.confidence, 6),
            "lift": round(r.lift, 6),
        }
        for r in flat[:limit]
    ]
