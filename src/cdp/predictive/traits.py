"""Predictive traits as ``profile_traits`` rows (trait set ``predictive``, data type ``behavioural``) and the
metrics report of the run that computed them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

import pyarrow as pa

from cdp.lakefs import LakeFiles
from cdp.predictive.copurchase import evaluate_copurchase, learn_rules, recommend, top_rules
from cdp.predictive.history import History, before, order_history
from cdp.predictive.propensity import deciles, fit_propensity
from cdp.profiles.windows import as_utc
from cdp.tables import IDENTITY_LINKS, ORDERS, PROFILE_TRAITS, current, snapshot_files

TRAIT_SET: Final = "predictive"
DATA_TYPE: Final = "behavioural"
TOP_K: Final = 3

#: every predictive trait and its value type: what a segment condition may name (cdp.segments.catalog)
PREDICTIVE_TRAITS: Final[dict[str, str]] = {
    **{f"next_category_{rank}": "string" for rank in range(1, TOP_K + 1)},
    **{f"next_category_score_{rank}": "number" for rank in range(1, TOP_K + 1)},
    "purchase_propensity_30d": "number",
    "propensity_decile": "integer",
}

#: ``profile_traits`` without ``run_id``: the profiles step adds it with the declared traits' rows
TRAIT_ROWS_SCHEMA: Final = pa.schema([field for field in PROFILE_TRAITS.schema if field.name != "run_id"])


@dataclass(frozen=True, slots=True)
class PredictiveConfig:
    #: "within N days" of the co-purchase rules
    window_days: int = 30
    #: the co-purchase holdout: rules learnt up to ``as_of - holdout_days``
    holdout_days: int = 60
    #: rules seen for fewer profiles are dropped
    min_rule_profiles: int = 2
    #: the propensity horizon (``purchase_propensity_30d``)
    horizon_days: int = 30
    #: fewer profiles with orders at the training cutoff → no propensity traits
    min_profiles: int = 50


def metrics_key(run_id: str) -> str:
    return f"profiles/predictive/run_id={run_id}/metrics.json"


def _number_text(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _rows(
    recommendations: Mapping[str, list[tuple[str, float]]], propensity: Mapping[str, float] | None
) -> pa.Table:
    rows: list[tuple[str, str, str, str | None, float | None]] = []
    for profile, ranked in recommendations.items():
        for rank, (category, score) in enumerate(ranked, start=1):
            rows.append((profile, f"next_category_{rank}", "string", category, None))
            rounded = round(score, 6)
            rows.append((profile, f"next_category_score_{rank}", "number", _number_text(rounded), rounded))
    if propensity:
        profiles = sorted(propensity)
        scores = [round(propensity[profile], 6) for profile in profiles]
        for profile, score, decile in zip(profiles, scores, deciles(scores, profiles), strict=True):
            rows.append((profile, "purchase_propensity_30d", "number", _number_text(score), score))
            rows.append((profile, "propensity_decile", "integer", str(decile), float(decile)))
    rows.sort(key=lambda row: (row[0], row[1]))
    return pa.table(
        {
            "profile_id": [row[0] for row in rows],
            "trait_set": [TRAIT_SET] * len(rows),
            "trait": [row[1] for row in rows],
            "data_type": [DATA_TYPE] * len(rows),
            "value_type": [row[2] for row in rows],
            "value": [row[3] for row in rows],
            "number_value": [row[4] for row in rows],
        },
        schema=TRAIT_ROWS_SCHEMA,
    )


def predict_from_history(
    history: History, as_of: datetime, config: PredictiveConfig | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """Trait rows (``TRAIT_ROWS_SCHEMA``, sorted) and the metrics report for orders up to ``as_of``."""
    config = config or PredictiveConfig()
    as_of = as_utc(as_of)
    known = before(history, as_of)
    evaluation = evaluate_copurchase(
        known,
        as_of,
        window_days=config.window_days,
        holdout_days=config.holdout_days,
        k=TOP_K,
        min_profiles=config.min_rule_profiles,
    )
    rules = learn_rules(known, window_days=config.window_days, min_profiles=config.min_rule_profiles)
    recommendations = {
        profile: recommend(rules, orders, as_of, window_days=config.window_days, k=TOP_K)
        for profile, orders in known.items()
    }
    propensity, propensity_report = fit_propensity(
        known, as_of, horizon_days=config.horizon_days, min_profiles=config.min_profiles
    )
    table = _rows(recommendations, propensity)
    metrics: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "config": asdict(config),
        "profiles_with_orders": len(known),
        "copurchase": {
            **evaluation,
            "rules_at_as_of": rules.count,
            "top_rules": top_rules(rules),
            "profiles_scored": len(recommendations),
        },
        "propensity": propensity_report,
        "trait_rows": table.num_rows,
    }
    return table, metrics


def save_metrics(files: LakeFiles, run_id: str, metrics: Mapping[str, Any]) -> str:
    key = metrics_key(run_id)
    files.write_bytes(key, json.dumps({"run_id": run_id, **metrics}, indent=2, sort_keys=True).encode())
    return key


def _read(paths: list[str], schema: pa.Schema) -> pa.Table:
    import pyarrow.parquet as pq

    if not paths:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(path, schema=schema) for path in sorted(paths)])


def lake_order_tables(files: LakeFiles) -> tuple[pa.Table, pa.Table]:
    """``orders`` and ``order_categories`` of the lake's published ``orders`` and ``identity_links``, with
    the profiles step's order value: the order total (repeated on each line, taken once), else the sum of its
    lines' quantity × unit price, per source, then the largest across sources."""
    links = _read(snapshot_files(files, current(files, IDENTITY_LINKS)), IDENTITY_LINKS.schema)
    lines = _read(snapshot_files(files, current(files, ORDERS)), ORDERS.schema)
    profile_of = dict(zip(links["record_id"].to_pylist(), links["profile_id"].to_pylist(), strict=True))
    per_source: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    categories: set[tuple[str, str, str]] = set()
    for line in lines.to_pylist():
        profile = profile_of.get(line["identity_record_id"])
        if profile is None or line["order_id"] is None:
            continue
        key = (profile, line["order_id"], line["source_id"])
        entry = per_source.setdefault(key, {"time": line["order_time"], "total": None, "lines": 0.0})
        if line["order_time"] is not None and (entry["time"] is None or line["order_time"] < entry["time"]):
            entry["time"] = line["order_time"]
        if line["order_total"] is not None:
            entry["total"] = max(entry["total"] or line["order_total"], line["order_total"])
        if line["quantity"] is not None and line["unit_price"] is not None:
            entry["lines"] += line["quantity"] * line["unit_price"]
        if line["category"]:
            categories.add((profile, line["order_id"], line["category"]))
    orders: dict[tuple[str, str], dict[str, Any]] = {}
    for (profile, order_id, _source), entry in sorted(per_source.items(), key=lambda item: str(item[0])):
        value = entry["total"] if entry["total"] is not None else entry["lines"]
        found = orders.setdefault((profile, order_id), {"time": entry["time"], "value": value})
        found["value"] = max(found["value"], value)
        if entry["time"] is not None and (found["time"] is None or entry["time"] < found["time"]):
            found["time"] = entry["time"]
    keys = sorted(orders)
    order_table = pa.table(
        {
            "profile_id": [k[0] for k in keys],
            "order_id": [k[1] for k in keys],
            "order_time": pa.array([orders[k]["time"] for k in keys], pa.timestamp("us", tz="UTC")),
            "order_value": pa.array([float(orders[k]["value"]) for k in keys], pa.float64()),
        }
    )
    ordered = sorted(categories)
    category_table = pa.table(
        {
            "profile_id": [c[0] for c in ordered],
            "order_id": [c[1] for c in ordered],
            "category": [c[2] for c in ordered],
        }
    )
    return order_table, category_table


def predict_traits(
    files: LakeFiles, run_id: str, as_of: datetime, config: PredictiveConfig | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """Predictive traits of the lake's published orders at ``as_of`` (``PROFILE_TRAITS`` rows of ``run_id``)
    and their metrics, saved at :func:`metrics_key`."""
    orders, categories = lake_order_tables(files)
    rows, metrics = predict_from_history(order_history(orders, categories), as_of, config)
    save_metrics(files, run_id, metrics)
    return rows.append_column("run_id", pa.array([run_id] * rows.num_rows, pa.string())), metrics
