"""Predictive traits (SPEC 7) as pure functions: co-purchase rules, precision@k, propensity, the
too-little-data path and determinism."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from cdp.predictive import PredictiveConfig, predict_from_history
from cdp.predictive.copurchase import learn_rules, precision_recall_at_k, recommend
from cdp.predictive.history import Order
from cdp.predictive.propensity import fit_propensity

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 3, 31, 12, tzinfo=UTC)


def _order(profile: str, index: int, days_ago: float, *categories: str, value: float = 100.0) -> Order:
    return Order(f"{profile}-o{index}", AS_OF - timedelta(days=days_ago), value, frozenset(categories))


def _phones_and_groceries() -> dict[str, list[Order]]:
    """Ten phone buyers who all buy cases within 7 days; ten grocery shoppers (more orders, so groceries
    and snacks are the most popular) who never touch phones."""
    history: dict[str, list[Order]] = {}
    for n in range(10):
        start = 200 - n * 5
        history[f"phone-{n:02d}"] = [
            _order(f"phone-{n:02d}", 1, start, "phones"),
            _order(f"phone-{n:02d}", 2, start - 3, "cases"),
        ]
        history[f"grocer-{n:02d}"] = [
            _order(f"grocer-{n:02d}", i, start - 10 * i, "groceries", "snacks" if i % 2 else "drinks")
            for i in range(4)
        ]
    return history


def test_co_purchase_rule_phones_then_cases_has_lift_and_tops_a_phone_buyers_recommendations() -> None:
    history = _phones_and_groceries()
    rules = learn_rules(history, window_days=7)

    rule = rules.rule("phones", "cases")
    assert rule is not None
    assert rule.confidence == 1.0
    assert rule.profiles == 10
    assert rule.support == pytest.approx(10 / 20)
    assert rule.lift == pytest.approx(2.0)  # P(cases) = 1/2
    assert rules.rule("phones", "groceries") is None  # never followed
    assert rules.rule("cases", "phones") is None  # cases come after phones, not before

    newcomer = [_order("new", 1, 2, "phones")]
    ranked = recommend(rules, newcomer, AS_OF, window_days=7, k=3)
    assert ranked[0][0] == "cases"
    assert ranked[0][1] == pytest.approx(0.5 ** (2 / 7))
    assert "phones" not in [category for category, _ in ranked]  # bought in the last 7 days
    # the popularity baseline would not have said cases
    assert rules.popular[:3] == ["groceries", "drinks", "snacks"]
    assert "cases" not in rules.popular[:3]


def test_an_older_purchase_fades_with_a_half_life_of_the_window() -> None:
    rules = learn_rules(_phones_and_groceries(), window_days=7)
    ranked = recommend(rules, [_order("old", 1, 14, "phones")], AS_OF, window_days=7, k=1)
    assert ranked == [("cases", pytest.approx(0.25))]


def test_precision_and_recall_at_k_on_a_hand_checked_example() -> None:
    recommended = {"a": ["x", "y", "z"], "b": ["x", "q", "r"], "d": ["x", "y", "z"]}
    actual = {
        "a": {"x", "z", "w", "v"},  # 2 hits: precision 2/3, recall 2/4
        "b": {"s"},  # 0 hits
        "c": {"x"},  # nothing recommended: 0 hits
        "e": set(),  # bought nothing: not evaluated
    }
    precision, recall, evaluated = precision_recall_at_k(recommended, actual, 3)
    assert evaluated == 3
    assert precision == pytest.approx((2 / 3) / 3)
    assert recall == pytest.approx((1 / 2) / 3)


def _loyal_and_lapsed(profiles: int = 200) -> tuple[dict[str, list[Order]], set[str], set[str]]:
    """Loyal profiles order every 5-12 days up to as_of (a few stop); lapsed ones stopped 100-400 days ago
    (a few come back once)."""
    rng = random.Random(11)
    history: dict[str, list[Order]] = {}
    loyal, lapsed = set(), set()
    for n in range(profiles):
        profile = f"p{n:03d}"
        orders = []
        if n % 2 == 0:
            loyal.add(profile)
            stop = rng.choice([0, 0, 0, 0, 45, 80])
            day = 400.0
            while day > stop:
                orders.append(_order(profile, len(orders), day, "food", value=rng.uniform(50, 500)))
                day -= rng.uniform(5, 12)
        else:
            lapsed.add(profile)
            last = rng.uniform(100, 400)
            for i in range(rng.randint(1, 3)):
                orders.append(_order(profile, i, last + 30 * (3 - i), "apparel", value=rng.uniform(50, 500)))
            if n % 9 == 1:
                orders.append(_order(profile, 9, rng.uniform(1, 50), "apparel"))
        history[profile] = sorted(orders, key=lambda order: order.time)
    return history, loyal, lapsed


def test_propensity_ranks_frequent_recent_buyers_above_lapsed_ones() -> None:
    history, loyal, lapsed = _loyal_and_lapsed()
    scores, report = fit_propensity(history, AS_OF)

    assert report["status"] == "ok"
    assert report["auc"] > 0.7
    assert 0.0 <= report["brier"] < report["base_rate_brier"]
    assert report["model"] in report["candidates"]
    for candidate in report["candidates"].values():
        assert [row["decile"] for row in candidate["calibration"]] == list(range(1, 11))
        assert sum(row["profiles"] for row in candidate["calibration"]) == report["evaluation_profiles"]
    assert scores is not None
    assert set(scores) == loyal | lapsed
    mean_loyal = sum(scores[p] for p in loyal) / len(loyal)
    mean_lapsed = sum(scores[p] for p in lapsed) / len(lapsed)
    assert mean_loyal > mean_lapsed + 0.3


def test_propensity_traits_are_deciles_of_the_scores() -> None:
    history, _loyal, _lapsed = _loyal_and_lapsed()
    table, _metrics = predict_from_history(history, AS_OF)
    rows = table.to_pylist()
    score = {r["profile_id"]: r["number_value"] for r in rows if r["trait"] == "purchase_propensity_30d"}
    decile = {r["profile_id"]: r["number_value"] for r in rows if r["trait"] == "propensity_decile"}
    assert set(score) == set(decile) == set(history)
    assert sorted(set(decile.values())) == [float(d) for d in range(1, 11)]
    top, bottom = max(score, key=score.__getitem__), min(score, key=score.__getitem__)
    assert decile[top] == 10.0
    assert decile[bottom] == 1.0
    assert {r["trait_set"] for r in rows} == {"predictive"}
    assert {r["data_type"] for r in rows} == {"behavioural"}


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ({f"p{n}": [_order(f"p{n}", 0, 5 * n + 1, "food")] for n in range(20)}, "profiles with orders"),
        ({f"p{n}": [_order(f"p{n}", 0, 200 + n, "food")] for n in range(60)}, "no training profile"),
    ],
    ids=["fewer-than-50-profiles", "no-positives"],
)
def test_too_little_data_writes_no_propensity_traits_and_says_why(
    history: dict[str, list[Order]], reason: str
) -> None:
    table, metrics = predict_from_history(history, AS_OF)

    traits = set(table.column("trait").to_pylist())
    assert "purchase_propensity_30d" not in traits
    assert "propensity_decile" not in traits
    assert "next_category_1" in traits  # co-purchase still recommends (popularity at worst)
    assert metrics["propensity"]["status"] == "skipped"
    assert "too little data" in metrics["propensity"]["reason"]
    assert reason in metrics["propensity"]["reason"]


def test_no_orders_at_all_yields_an_empty_table_and_a_report() -> None:
    table, metrics = predict_from_history({}, AS_OF)
    assert table.num_rows == 0
    assert metrics["propensity"]["status"] == "skipped"
    assert metrics["copurchase"]["evaluated_profiles"] == 0


def test_two_runs_are_equal() -> None:
    history, _loyal, _lapsed = _loyal_and_lapsed()
    history.update(_phones_and_groceries())
    config = PredictiveConfig(window_days=7)
    first_table, first_metrics = predict_from_history(history, AS_OF, config)
    second_table, second_metrics = predict_from_history(dict(reversed(history.items())), AS_OF, config)
    assert first_table.equals(second_table)
    assert json.dumps(first_metrics, sort_keys=True) == json.dumps(second_metrics, sort_keys=True)
