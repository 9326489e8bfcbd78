"""Predictive traits in the profiles step (DuckDB): published with the declared traits, their metrics in the
lake, the same rows as :func:`cdp.predictive.predict_traits`, and usable by a segment."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cdp.lakefs import LakeFiles
from cdp.predictive import metrics_key, predict_traits
from cdp.segments.catalog import lake_catalog
from cdp.segments.definition import parse_segment, validate_segments
from cdp.tables import PROFILE_TRAITS
from tests.identity_data import record, table_rows
from tests.profiles_data import AS_OF, build_lake, build_profiles, order_line
from tests.segments_data import members_of, run_segments, write_definition

pytestmark = pytest.mark.integration

LIKELY_BUYERS = """
id: likely_buyers
name: Likely to buy within 30 days
condition:
  trait: purchase_propensity_30d
  gte: 0.5
"""


def _lake(files: LakeFiles) -> tuple[set[str], set[str]]:
    """60 loyal profiles ordering every week up to as_of (phones, then cases 3 days later, in their first
    weeks) and 60 lapsed ones whose last order was a year ago."""
    records, profiles, orders = [], {}, []
    loyal, lapsed = set(), set()
    for n in range(120):
        profile, record_id = f"prof-{n:03d}", f"rec-{n:03d}"
        records.append(record(record_id))
        profiles[profile] = [record_id]
        if n % 2 == 0:
            loyal.add(profile)
            days = [300 - 7 * i - (n % 5) for i in range(40)]
            categories = ["phones", "cases", *["food"] * 38]
            offsets = [0.0, 3.0, *[0.0] * 38]
        else:
            lapsed.add(profile)
            days = [400 + n, 380 + n]
            categories = ["apparel", "food"]
            offsets = [0.0, 0.0]
        for i, (day, category, offset) in enumerate(zip(days, categories, offsets, strict=True)):
            at = AS_OF - timedelta(days=day) + timedelta(days=offset)
            orders.append(order_line(f"{profile}-{i}", record_id, at, total=100.0 + n, category=category))
    build_lake(files, records=records, profiles=profiles, orders=orders)
    return loyal, lapsed


def _predictive_rows(files: LakeFiles) -> list[dict[str, Any]]:
    rows = [row for row in table_rows(files, PROFILE_TRAITS) if row["trait_set"] == "predictive"]
    return sorted(rows, key=lambda row: (row["profile_id"], row["trait"]))


def test_profiles_step_publishes_predictive_traits_and_saves_their_metrics(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path / "lake")
    loyal, lapsed = _lake(files)

    report = build_profiles(files, "p-1")

    rows = _predictive_rows(files)
    assert report.steps[0].guards["predictive_trait_rows"] == len(rows) > 0
    assert {row["data_type"] for row in rows} == {"behavioural"}
    assert {row["run_id"] for row in rows} == {"p-1"}
    # declared traits are still there beside them
    assert any(row["trait_set"] != "predictive" for row in table_rows(files, PROFILE_TRAITS))
    score = {r["profile_id"]: r["number_value"] for r in rows if r["trait"] == "purchase_propensity_30d"}
    assert set(score) == loyal | lapsed
    assert min(score[p] for p in loyal) > max(score[p] for p in lapsed)

    raw = files.read_bytes(metrics_key("p-1"))
    assert raw is not None
    metrics = json.loads(raw)
    assert metrics["run_id"] == "p-1"
    assert metrics["propensity"]["status"] == "ok"
    assert metrics["propensity"]["auc"] > 0.7
    assert "precision_at_3" in metrics["copurchase"]["model"]
    assert "precision_at_3" in metrics["copurchase"]["popularity_baseline"]
    strongest = metrics["copurchase"]["top_rules"][0]
    assert (strongest["if_bought"], strongest["then_buys"]) == ("phones", "cases")

    # the same rows from the lake's snapshots directly
    table, again = predict_traits(files, "p-1", AS_OF)
    direct = sorted(table.to_pylist(), key=lambda row: (row["profile_id"], row["trait"]))
    assert direct == rows
    assert again == {key: value for key, value in metrics.items() if key != "run_id"}


def test_a_segment_on_purchase_propensity_validates_and_selects_the_loyal(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path / "lake")
    loyal, _lapsed = _lake(files)
    catalog = lake_catalog(files)
    validated = validate_segments([parse_segment(LIKELY_BUYERS, file="likely_buyers.yaml")], catalog)
    assert list(validated.definitions) == ["likely_buyers"]
    attribute = catalog.get("purchase_propensity_30d")
    assert attribute is not None
    assert attribute.value_type.value == "number"

    build_profiles(files, "p-1")
    write_definition(files, LIKELY_BUYERS)
    run_segments(files, "s-1", as_of=AS_OF)

    assert members_of(files, "likely_buyers") == loyal
