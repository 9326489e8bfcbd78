"""A synthetic lake for the segments benchmark: the profiles step's outputs and the clean events, orders and
identity links of ``profiles`` people, written as published Parquet snapshots (seeded, vectorized).

Shapes, per profile on average: 1.5 identity records; ~31 rows of ``profile_traits``, one per trait of the
profiles step's 47 template traits the person has (the example segments read 7 of them), laid out as that
step writes them (``by_trait``, see :func:`_write_traits`) or interleaved by profile; ``events / profiles``
events over 180 days, from the 60 % who use the app or web site; and 3.3 order lines (of 1-3 lines per
order) over 400 days from the 55 % who bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from cdp.lakefs import LakeFiles
from cdp.sampledata.vocabulary import PRODUCTS
from cdp.tables import (
    EVENTS,
    IDENTITY_LINKS,
    ORDERS,
    PROFILE_TRAITS,
    PROFILES,
    PROFILES_PSEUDONYMIZED,
    LakeTable,
    publish,
    snapshot_path,
)

AS_OF: Final = datetime(2026, 3, 31, 5, 0, tzinfo=UTC)
RUN_ID: Final = "bench-upstream"
HISTORY_DAYS: Final = 180
PROVINCES: Final = ("TH-10", "TH-11", "TH-12", "TH-13", "TH-50", "TH-83", "TH-20", "TH-40")
CATEGORIES: Final = tuple(dict.fromkeys(product.category for product in PRODUCTS))
INDUSTRIES: Final = ("retail", "manufacturing", "government", "finance", "hospitality")
CHANNELS_SURVEY: Final = ("line", "email", "sms", "app")
_US_PER_DAY: Final = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class LakeShape:
    profiles: int
    records: int
    traits: int
    events: int
    order_lines: int
    bytes: int


def _strings(prefix: str, count: int) -> pa.Array:
    numbers = pa.array(np.arange(count)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.utf8_lpad(numbers, 7, "0"), "")


def _pick(
    rng: np.random.Generator, choices: tuple[str, ...], count: int, weights: list[float] | None = None
) -> pa.Array:
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    indices = rng.choice(len(choices), size=count, p=p)
    return pa.array(choices).take(pa.array(indices))


def _times(rng: np.random.Generator, count: int, days: int) -> pa.Array:
    end = int(AS_OF.timestamp() * 1_000_000)
    offsets = rng.integers(0, days * _US_PER_DAY, size=count)
    return pa.array(end - offsets, type=pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))


def _empty_lists(count: int) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(np.zeros(count + 1, dtype=np.int32)), pa.array([], pa.string()))


def _table(table: LakeTable, columns: dict[str, pa.Array], rows: int) -> pa.Table:
    arrays = []
    for field in table.schema:
        value = columns.get(field.name)
        arrays.append(pa.nulls(rows, field.type) if value is None else value.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=table.schema)


def _write(files: LakeFiles, table: LakeTable, data: pa.Table) -> int:
    directory = snapshot_path(table, RUN_ID)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    path = target / "part-00000.parquet"
    pq.write_table(data, path, compression="zstd", row_group_size=500_000)
    publish(files, table, RUN_ID, data.num_rows)
    return path.stat().st_size


_BEHAVIOURAL: Final = (
    ("page_views_30d", "integer"),
    ("screen_views_30d", "integer"),
    ("track_events_30d", "integer"),
    ("identify_calls_all", "integer"),
    ("product_views_30d", "integer"),
    ("sessions_30d", "integer"),
    ("sessions_90d", "integer"),
    ("app_share", "number"),
    ("web_share", "number"),
    ("favourite_event", "string"),
    ("first_event_at", "timestamp"),
    ("last_event_at", "timestamp"),
)
_TRANSACTIONAL: Final = (
    ("aov", "number"),
    ("orders_30d", "integer"),
    ("orders_90d", "integer"),
    ("orders_365d", "integer"),
    ("spend_30d", "number"),
    ("spend_90d", "number"),
    ("spend_365d", "number"),
    ("items_purchased", "integer"),
    ("distinct_categories", "integer"),
    ("favourite_channel", "string"),
    ("first_order_at", "timestamp"),
    ("last_order_at", "timestamp"),
    ("purchase_days_365d", "integer"),
)
_OTHER: Final = (("city", "string"), ("country", "string"), ("bangkok_metro", "boolean"))
#: profiles per row group of ``profile_traits``
_TRAIT_BLOCK: Final = 50_000


@dataclass(frozen=True, slots=True)
class _TraitSpec:
    name: str
    kind: str  # string | number | integer | boolean | timestamp
    mask: NDArray[Any]  # who has the trait
    values: pa.Array | NDArray[Any]  # one per profile: text (pa.Array) or numbers


def _values(rng: np.random.Generator, kind: str, count: int) -> pa.Array | NDArray[Any]:
    if kind == "integer":
        return rng.poisson(4, count)
    if kind == "number":
        return np.round(rng.lognormal(6.0, 1.0, count), 6)
    if kind == "boolean":
        return (rng.random(count) < 0.3).astype(np.float64)
    if kind == "timestamp":
        return pc.strftime(_times(rng, count, HISTORY_DAYS), format="%Y-%m-%dT%H:%M:%S.000000Z")
    return _pick(rng, ("a", "b", "c", "d"), count)


#: the row group size ``DuckDbEngine.write_parquet`` writes (the profiles step's snapshots)
ENGINE_ROW_GROUP: Final = 122_880
LAYOUTS: Final = ("by_trait", "by_profile")


def _trait_rows(profile_ids: pa.Array, spec: _TraitSpec, values: pa.Array, picked: pa.Array) -> pa.Table:
    count = len(picked)
    numeric = spec.kind in ("integer", "number", "boolean")
    taken = values.take(picked)
    text = taken.cast(pa.string()) if numeric else taken
    if spec.kind == "boolean":
        text = pc.if_else(pc.equal(taken, 1.0), pa.scalar("true"), pa.scalar("false"))
    columns = {
        "profile_id": profile_ids.take(picked),
        "trait_set": pa.array(["bench"] * count),
        "trait": pa.array([spec.name] * count),
        "data_type": pa.array(["behavioural"] * count),
        "value_type": pa.array([spec.kind] * count),
        "value": text,
        "number_value": taken if numeric else pa.nulls(count, pa.float64()),
        "run_id": pa.array([RUN_ID] * count),
    }
    return _table(PROFILE_TRAITS, columns, count)


def _write_traits(
    files: LakeFiles, profile_ids: pa.Array, specs: list[_TraitSpec], layout: str
) -> tuple[int, int]:
    """``profile_traits`` as one Parquet file of row groups of 122,880 rows.

    ``by_trait`` is how the profiles step writes it on DuckDB: its long form is a ``UNION ALL`` of one branch
    per trait and DuckDB keeps the branches' order, so each trait's rows are contiguous and a row group's
    min/max of ``trait`` lets a reader skip the traits it does not need. ``by_profile`` interleaves every
    trait of each block of 50,000 people: the worst case, where every row group must be read.
    """
    directory = snapshot_path(PROFILE_TRAITS, RUN_ID)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    path = target / "part-00000.parquet"
    rows = 0
    columns = [
        (spec, pa.array(spec.values) if isinstance(spec.values, np.ndarray) else spec.values)
        for spec in specs
    ]
    with pq.ParquetWriter(path, PROFILE_TRAITS.schema, compression="zstd") as writer:
        if layout == "by_trait":
            for spec, values in columns:
                table = _trait_rows(profile_ids, spec, values, pa.array(np.flatnonzero(spec.mask)))
                writer.write_table(table, row_group_size=ENGINE_ROW_GROUP)
                rows += table.num_rows
        else:
            for first in range(0, len(profile_ids), _TRAIT_BLOCK):
                block = pa.concat_tables(
                    _trait_rows(
                        profile_ids,
                        spec,
                        values,
                        pa.array(first + np.flatnonzero(spec.mask[first : first + _TRAIT_BLOCK])),
                    )
                    for spec, values in columns
                )
                order = pc.sort_indices(block, sort_keys=[("profile_id", "ascending")])
                writer.write_table(block.take(order), row_group_size=ENGINE_ROW_GROUP)
                rows += block.num_rows
    publish(files, PROFILE_TRAITS, RUN_ID, rows)
    return rows, path.stat().st_size


def generate_lake(
    files: LakeFiles, *, profiles: int, events: int, seed: int = 7, traits_layout: str = "by_trait"
) -> LakeShape:
    rng = np.random.default_rng(seed)
    size = 0
    n = profiles
    profile_ids = _strings("p", n)

    # -- profiles and their pseudonymized twin
    gender = _pick(rng, ("female", "male", "other"), n, [48, 47, 1])
    gender = pc.if_else(pa.array(rng.random(n) < 0.05), pa.nulls(n, pa.string()), gender)
    province = _pick(rng, PROVINCES, n, [30, 8, 8, 6, 10, 6, 6, 6])
    has_company = rng.random(n) < 0.08
    company = pc.if_else(pa.array(has_company), _strings("Company ", n), pa.nulls(n, pa.string()))
    buyer = rng.random(n) < 0.55
    order_count = np.where(buyer, rng.poisson(2.0, n) + 1, 0)
    spend = np.where(buyer, np.round(rng.lognormal(7.5, 1.0, n) * order_count, 2), 0.0)
    recency = np.where(buyer, rng.integers(0, 400, n), -1)
    scores = {name: np.where(buyer, rng.integers(1, 6, n), 0) for name in ("r_score", "f_score", "m_score")}
    last_seen = _times(rng, n, HISTORY_DAYS)
    born = rng.integers(1950, 2008, n)
    columns: dict[str, pa.Array] = {
        "profile_id": profile_ids,
        "gender": gender,
        "province": province,
        "country": pa.array(["TH"] * n),
        "company": company,
        "emails": _empty_lists(n),
        "phones": _empty_lists(n),
        "user_ids": _empty_lists(n),
        "anonymous_ids": _empty_lists(n),
        "sources": _empty_lists(n),
        "first_seen": last_seen,
        "last_seen": last_seen,
        "record_count": pa.array(np.ones(n, dtype=np.int64)),
        "order_count": pa.array(order_count),
        "total_spend": pa.array(spend),
        "recency_days": pa.array(recency, mask=~buyer),
        **{name: pa.array(values, mask=~buyer) for name, values in scores.items()},
        "consent": pa.array(["{}"] * n),
        "updated_at": pa.array([AS_OF] * n, pa.timestamp("us", tz="UTC")),
        "run_id": pa.array([RUN_ID] * n),
    }
    rfm = pc.binary_join_element_wise(
        *(
            pa.array(scores[name], mask=~buyer).cast(pa.string())
            for name in ("r_score", "f_score", "m_score")
        ),
        "",
    )
    columns["rfm_score"] = rfm
    size += _write(files, PROFILES, _table(PROFILES, columns, n))
    pseudonymized = {
        name: value for name, value in columns.items() if name in PROFILES_PSEUDONYMIZED.schema.names
    }
    pseudonymized.update(
        email_hashes=_empty_lists(n), phone_hashes=_empty_lists(n), birth_year=pa.array(born, pa.int32())
    )
    size += _write(files, PROFILES_PSEUDONYMIZED, _table(PROFILES_PSEUDONYMIZED, pseudonymized, n))

    # -- identity: every profile has record r…, half of them an app identity s… as well
    second = np.flatnonzero(rng.random(n) < 0.5)
    record_ids = pa.concat_arrays([_strings("r", n), _strings("s", n).take(pa.array(second))])
    record_owner = np.concatenate([np.arange(n), second])
    links = {
        "record_id": record_ids,
        "profile_id": profile_ids.take(pa.array(record_owner)),
        "matched_by": pa.array(["email"] * len(record_owner)),
        "match_probability": pa.array(np.ones(len(record_owner))),
        "run_id": pa.array([RUN_ID] * len(record_owner)),
    }
    size += _write(files, IDENTITY_LINKS, _table(IDENTITY_LINKS, links, len(record_owner)))

    # -- traits (long form): the 47 traits of the profiles step's templates
    age = 2026 - born
    active = rng.random(n) < 0.6
    surveyed = rng.random(n) < 0.15
    with_age = rng.random(n) < 0.85
    events_30d = rng.poisson(12, n)
    specs: list[_TraitSpec] = [
        _TraitSpec("age", "integer", with_age, age),
        _TraitSpec(
            "age_band", "string", with_age, _pick(rng, ("18-24", "25-34", "35-44", "45-54", "55-64"), n)
        ),
        _TraitSpec("gender", "string", ~np.asarray(pc.is_null(gender)), gender),
        _TraitSpec("province", "string", np.ones(n, dtype=bool), province),
        _TraitSpec("active_days_30d", "integer", active, np.minimum(events_30d, rng.integers(1, 15, n))),
        _TraitSpec("events_30d", "integer", active, events_30d),
        _TraitSpec("company", "string", has_company, company),
        _TraitSpec("employees", "integer", has_company, rng.integers(1, 2000, n)),
        _TraitSpec("industry", "string", has_company, _pick(rng, INDUSTRIES, n)),
        _TraitSpec("job_title", "string", has_company, _pick(rng, ("buyer", "manager", "owner"), n)),
        _TraitSpec("stated_favourite_category", "string", surveyed, _pick(rng, CATEGORIES, n)),
        _TraitSpec("price_sensitivity", "integer", surveyed, rng.integers(1, 6, n)),
        _TraitSpec(
            "nps_group", "string", surveyed, _pick(rng, ("promoter", "passive", "detractor"), n, [5, 3, 2])
        ),
        _TraitSpec("preferred_channel", "string", surveyed, _pick(rng, CHANNELS_SURVEY, n)),
        _TraitSpec("surveys_answered", "integer", surveyed, rng.integers(1, 4, n)),
        _TraitSpec("nps", "integer", surveyed, rng.integers(0, 11, n)),
        _TraitSpec("would_recommend", "boolean", surveyed, (rng.random(n) < 0.7).astype(np.float64)),
        _TraitSpec("ltv", "number", buyer, spend),
        _TraitSpec("favourite_category", "string", buyer, _pick(rng, CATEGORIES, n)),
    ]
    named = {spec.name for spec in specs}
    # the templates' other traits, with values of their type, for the people who have them
    others = {
        "behavioural": (active | (rng.random(n) < 0.6), _BEHAVIOURAL),
        "transactional": (buyer | (rng.random(n) < 0.65), _TRANSACTIONAL),
        "more": (np.ones(n, dtype=bool), _OTHER),
    }
    for mask, traits in others.values():
        for name, kind in traits:
            if name not in named:
                specs.append(_TraitSpec(name, kind, mask, _values(rng, kind, n)))
    trait_rows, trait_bytes = _write_traits(files, profile_ids, specs, traits_layout)
    size += trait_bytes

    # -- events of the active people, skewed (a few very active)
    people = np.flatnonzero(active)
    weights = rng.lognormal(0.0, 1.0, len(people))
    owner = rng.choice(people, size=events, p=weights / weights.sum())
    # the person's web/app identity when they have one, else their CRM record
    second_index = np.full(n, -1)
    second_index[second] = n + np.arange(len(second))
    use_second = (second_index[owner] >= 0) & (rng.random(events) < 0.8)
    record_index = np.where(use_second, second_index[owner], owner)
    kinds = (
        ("track", "Product Viewed", "app", 22),
        ("track", "Product Viewed", "web", 13),
        ("track", "Application Opened", "app", 15),
        ("track", "Products Searched", "app", 10),
        ("track", "Product Added", "web", 8),
        ("track", "Order Completed", "app", 2),
        ("screen", "Home", "app", 20),
        ("page", "Home", "web", 10),
    )
    kind_codes = rng.choice(len(kinds), size=events, p=np.array([k[3] for k in kinds]) / 100)
    product = rng.integers(0, len(PRODUCTS), events)
    viewed_json = pa.array(
        [
            orjson.dumps(
                {"product_id": p.sku, "category": p.category, "price": p.price_satang / 100}
            ).decode()
            for p in PRODUCTS
        ]
    )
    is_view = np.isin(kind_codes, [0, 1])
    properties = pc.if_else(pa.array(is_view), viewed_json.take(pa.array(product)), pa.array(["{}"] * events))
    kind_index = pa.array(kind_codes)
    event_columns = {
        "type": pa.array([k[0] for k in kinds]).take(kind_index),
        "event": pa.array([k[1] if k[0] == "track" else None for k in kinds]).take(kind_index),
        "name": pa.array([k[1] if k[0] != "track" else None for k in kinds]).take(kind_index),
        "channel": pa.array([k[2] for k in kinds]).take(kind_index),
        "properties": properties,
        "event_time": _times(rng, events, HISTORY_DAYS),
        "source_id": pa.array(["app"] * events),
        "identity_record_id": record_ids.take(pa.array(record_index)),
    }
    events_table = _table(EVENTS, event_columns, events)
    size += _write(files, EVENTS, events_table)
    del events_table, event_columns, properties

    # -- orders: two lines per order on average, for the buyers
    buyers = np.flatnonzero(buyer)
    orders_per = order_count[buyers]
    order_owner = np.repeat(buyers, orders_per)
    order_count_total = len(order_owner)
    order_times = _times(rng, order_count_total, 400)
    lines_per = rng.integers(1, 4, order_count_total)
    line_order = np.repeat(np.arange(order_count_total), lines_per)
    line_count = len(line_order)
    line_product = rng.integers(0, len(PRODUCTS), line_count)
    orders = {
        "order_id": _strings("o", order_count_total).take(pa.array(line_order)),
        "source_id": pa.array(["shop"] * line_count),
        "origin": pa.array(["import"] * line_count),
        "identity_record_id": record_ids.take(pa.array(order_owner[line_order])),
        "order_time": order_times.take(pa.array(line_order)),
        "order_total": pa.array(rng.lognormal(7.0, 0.8, order_count_total)).take(pa.array(line_order)),
        "currency": pa.array(["THB"] * line_count),
        "category": pa.array(CATEGORIES).take(
            pa.array([CATEGORIES.index(PRODUCTS[i].category) for i in range(len(PRODUCTS))]).take(
                pa.array(line_product)
            )
        ),
        "quantity": pa.array(np.ones(line_count, dtype=np.int64)),
        "channel": pa.array(["web"] * line_count),
    }
    size += _write(files, ORDERS, _table(ORDERS, orders, line_count))
    return LakeShape(
        profiles=n,
        records=len(record_owner),
        traits=trait_rows,
        events=events,
        order_lines=line_count,
        bytes=size,
    )
