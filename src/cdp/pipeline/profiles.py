"""The profiles step: links, records, events, orders → ``profiles``, ``profile_traits``,
``profiles_pseudonymized`` and ``consent``.

Written once in the authoring dialect (SPEC 2, STYLE 7): ``glue_jobs/build_profiles.py`` builds a Spark engine
and calls :func:`build_profiles`; ``cdp run --steps profiles`` calls it with DuckDB. The four tables are
one run's snapshots, published together by the runner.

- **Who**: one row per ``profile_id`` of the published ``identity_links`` (records without a profile are
  not people yet).
- **Attributes**: survivorship per attribute (:mod:`cdp.profiles.config`): one SQL per rule, each ranking
  the candidate values with a full ordering, so DuckDB and Spark keep the same record.
- **Identifiers**: every distinct normalized email, E.164 phone, user id, anonymous id and source, as
  sorted lists.
- **Activity and value**: first/last seen over records and events; orders are counted by distinct
  ``order_id`` (the shop export and the app's ``Order Completed`` event report the same order): an order's
  value is its ``order_total`` (repeated on each of its lines, so taken once), else the sum of its lines'
  ``quantity × unit_price``, per source, then the largest across sources; money is summed as
  DECIMAL(18,2), so the totals do not depend on the order engines add in. Windows (90 days) and recency
  count business days in Asia/Bangkok (:mod:`cdp.profiles.windows`).
- **RFM**: ``ntile(5)`` among profiles with an order, over all-time recency, order count and spend
  (R: more recent = 5); ties by ``profile_id``; null without orders.
- **Consent**: the consent store (:mod:`cdp.profiles.consent`): the ``consent`` table holds every decision
  per purpose (ads, email, push, sms) from identify traits, Segment's ``context.consent.categoryPreferences``
  and imported ``consent_<purpose>`` columns, the latest flagged ``is_latest``; ``profiles.consent`` is
  exactly those rows as JSON ``{"email": {"granted": true, "at": "…Z", "source": "crm"}}``, ``{}`` when none.
- **Pseudonymized**: ``sha256(salt_hex || value)`` (:func:`cdp.profiles.salt.pseudonym`) of names
  (``lower(trim())``), emails and phones, element-wise and sorted; birth year only; the salt reaches the
  engine as a one-row relation, never as SQL text.
- **Traits**: :mod:`cdp.profiles.traits` compiles the YAML trait sets over the base relations below.
- **Predictive traits**: :mod:`cdp.predictive` learns co-purchase rules and a next-purchase propensity model
  in Python from the profiles' orders (collected as ISO text and doubles, so both engines hand it the same
  values), adds their rows to ``profile_traits`` (trait set ``predictive``) and reports the holdout metrics
  through ``save_predictive_metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cdp.engine.port import Engine
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.lakefs import LakeFiles
from cdp.pipeline.standardize import StepReport
from cdp.predictive.history import order_history
from cdp.predictive.traits import PredictiveConfig, predict_from_history, save_metrics
from cdp.profiles.config import ATTRIBUTE_COLUMNS, ProfileAttribute, ProfilesConfig, load_profiles_config
from cdp.profiles.consent import (
    CONSENT_HISTORY_SQL,
    CONSENT_TABLE_ORDER,
    consent_decisions_sql,
    consent_sources_sql,
    consent_table_sql,
    profile_consent_sql,
)
from cdp.profiles.salt import local_salt
from cdp.profiles.traits import DeclaredTrait, Relation, compile_traits, load_traits
from cdp.profiles.windows import (
    BUSINESS_TIME_ZONE,
    as_utc,
    business_date,
    business_date_sql,
    date_sql,
    iso_text_sql,
    timestamp_sql,
    within_sql,
)
from cdp.tables import (
    CONSENT,
    EVENTS,
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    ORDERS,
    PROFILE_TRAITS,
    PROFILES,
    PROFILES_PSEUDONYMIZED,
    LakeTable,
    current,
    snapshot_files,
)

#: the window of ``frequency_90d`` and ``monetary_90d``
RFM_WINDOW_DAYS = 90
#: a person's events more than this apart start a new session (``events.is_session_start``)
SESSION_GAP_MINUTES = 30

#: engine views of the base relations traits are computed over
RELATION_VIEWS: dict[Relation, str] = {relation: f"traits_{relation.value}" for relation in Relation}


@dataclass(frozen=True, slots=True)
class ProfilesInputs:
    """Published snapshots the step reads (file lists resolved by the caller)."""

    identity_link_files: Sequence[str]
    identity_record_files: Sequence[str]
    event_files: Sequence[str]
    order_files: Sequence[str]
    #: rows of completed imports: their ``consent_*`` columns (identity_records does not carry them)
    import_row_files: Sequence[str]


def profiles_inputs(files: LakeFiles, *, import_row_files: Sequence[str]) -> ProfilesInputs:
    return ProfilesInputs(
        identity_link_files=snapshot_files(files, current(files, IDENTITY_LINKS)),
        identity_record_files=snapshot_files(files, current(files, IDENTITY_RECORDS)),
        event_files=snapshot_files(files, current(files, EVENTS)),
        order_files=snapshot_files(files, current(files, ORDERS)),
        import_row_files=import_row_files,
    )


@dataclass(frozen=True, slots=True)
class ProfilesSetup:
    """The step's configuration, loaded and validated before anything runs (STYLE 3)."""

    config: ProfilesConfig
    traits: list[DeclaredTrait]


def load_profiles_setup(files: LakeFiles) -> ProfilesSetup:
    """Survivorship rules and trait sets of the lake (``profiles/config/``) plus the packaged templates."""
    return ProfilesSetup(config=load_profiles_config(files), traits=load_traits(files))


# -- SQL (authoring dialect) -------------------------------------------------------------------------

_PROFILE_SPINE = """
SELECT profile_id, count(*) AS record_count
FROM identity_links
GROUP BY profile_id
"""

_PROFILE_RECORDS = """
SELECT
    l.profile_id, r.record_id, r.source_id, r.origin, r.kind, r.first_seen, r.last_seen,
    r.email, r.phone_e164, r.user_id, r.anonymous_id, r.first_name, r.last_name, r.date_of_birth, r.gender,
    r.city, r.province_code, r.postcode, r.country_code, r.company, r.attributes
FROM identity_links AS l
JOIN identity_records AS r ON r.record_id = l.record_id
"""

_CANDIDATE = """
SELECT profile_id, '{attribute}' AS attribute, {column} AS value, record_id, source_id, last_seen
FROM profile_records
WHERE {column} IS NOT NULL AND {column} <> ''
"""

_MOST_RECENT = """
SELECT profile_id, attribute, value
FROM (
    SELECT
        c.profile_id, c.attribute, c.value,
        row_number() OVER (
            PARTITION BY c.profile_id, c.attribute ORDER BY c.last_seen DESC NULLS LAST, c.record_id
        ) AS pick
    FROM survivorship_candidates AS c
    JOIN survivorship_rules AS r ON r.attribute = c.attribute
    WHERE r.rule = 'most_recent'
)
WHERE pick = 1
"""

_MOST_FREQUENT = """
SELECT profile_id, attribute, value
FROM (
    SELECT
        profile_id, attribute, value,
        row_number() OVER (
            PARTITION BY profile_id, attribute ORDER BY records DESC, latest DESC NULLS LAST, value
        ) AS pick
    FROM (
        SELECT c.profile_id, c.attribute, c.value, count(*) AS records, max(c.last_seen) AS latest
        FROM survivorship_candidates AS c
        JOIN survivorship_rules AS r ON r.attribute = c.attribute
        WHERE r.rule = 'most_frequent'
        GROUP BY c.profile_id, c.attribute, c.value
    )
)
WHERE pick = 1
"""

_MOST_TRUSTED = """
SELECT profile_id, attribute, value
FROM (
    SELECT
        c.profile_id, c.attribute, c.value,
        row_number() OVER (
            PARTITION BY c.profile_id, c.attribute
            ORDER BY coalesce(t.trust_rank, 1000000), c.last_seen DESC NULLS LAST, c.record_id
        ) AS pick
    FROM survivorship_candidates AS c
    JOIN survivorship_rules AS r ON r.attribute = c.attribute
    LEFT JOIN survivorship_trust AS t ON t.attribute = c.attribute AND t.source_id = c.source_id
    WHERE r.rule = 'most_trusted'
)
WHERE pick = 1
"""

_SURVIVED = """
SELECT profile_id,
{columns}
FROM (
    SELECT * FROM survived_most_recent
    UNION ALL
    SELECT * FROM survived_most_frequent
    UNION ALL
    SELECT * FROM survived_most_trusted
)
GROUP BY profile_id
"""

_EMPTY_LIST = "CAST([] AS VARCHAR[])"


def _sorted_distinct(expression: str, present: str) -> str:
    return (
        f"coalesce(list_sort(array_agg(DISTINCT {expression}) FILTER (WHERE {present} IS NOT NULL)), "
        f"{_EMPTY_LIST})"
    )


_IDENTIFIERS = f"""
SELECT
    r.profile_id,
    {_sorted_distinct("r.email", "r.email")} AS emails,
    {_sorted_distinct("r.phone_e164", "r.phone_e164")} AS phones,
    {_sorted_distinct("r.user_id", "r.user_id")} AS user_ids,
    {_sorted_distinct("r.anonymous_id", "r.anonymous_id")} AS anonymous_ids,
    {_sorted_distinct("r.source_id", "r.source_id")} AS sources,
    {_sorted_distinct("sha256(k.salt || r.email)", "r.email")} AS email_hashes,
    {_sorted_distinct("sha256(k.salt || r.phone_e164)", "r.phone_e164")} AS phone_hashes,
    min(r.first_seen) AS first_seen,
    max(r.last_seen) AS last_seen
FROM profile_records AS r
CROSS JOIN pseudonymization_key AS k
GROUP BY r.profile_id
"""

_PROFILE_EVENTS = """
SELECT
    l.profile_id, e.message_id, e.type, e.event, e.name, e.channel, e.source_id, e.event_time,
    e.received_at, e.dt, e.properties, e.context, e.traits
FROM clean_events AS e
JOIN identity_links AS l ON l.record_id = e.identity_record_id
"""

_EVENT_STATS = """
SELECT
    profile_id, count(*) AS event_count, min(event_time) AS first_event_at, max(event_time) AS last_event_at
FROM profile_events
GROUP BY profile_id
"""

_PROFILE_ORDER_LINES = """
SELECT
    l.profile_id, o.order_id, o.source_id, o.order_time,
    {order_date} AS order_date,
    o.order_total, o.product_id, o.product_name, o.category, o.quantity, o.unit_price,
    TRY_CAST(o.quantity * o.unit_price AS DECIMAL(18, 2)) AS line_value,
    o.channel, o.currency
FROM clean_orders AS o
JOIN identity_links AS l ON l.record_id = o.identity_record_id
WHERE o.order_id IS NOT NULL
"""

_ORDERS_BY_SOURCE = """
SELECT
    profile_id, order_id, source_id,
    min(order_time) AS order_time,
    CAST(coalesce(TRY_CAST(max(order_total) AS DECIMAL(18, 2)), sum(line_value)) AS DECIMAL(18, 2))
        AS order_value,
    count(*) AS line_count,
    sum(quantity) AS item_count,
    min(channel) AS channel,
    min(currency) AS currency
FROM profile_order_lines
GROUP BY profile_id, order_id, source_id
"""

_PROFILE_ORDERS = """
SELECT
    profile_id, order_id,
    min(order_time) AS order_time,
    {order_date} AS order_date,
    CAST(max(order_value) AS DECIMAL(18, 2)) AS order_value,
    max(line_count) AS line_count,
    max(item_count) AS item_count,
    min(channel) AS channel,
    min(source_id) AS source_id,
    min(currency) AS currency
FROM orders_by_source
GROUP BY profile_id, order_id
"""

_ORDER_STATS = """
SELECT
    profile_id,
    count(*) AS order_count,
    CAST(coalesce(sum(order_value), 0) AS DOUBLE) AS total_spend,
    max(order_time) AS last_order_at,
    count(*) FILTER (WHERE {window}) AS frequency_window,
    CAST(coalesce(sum(order_value) FILTER (WHERE {window}), 0) AS DOUBLE) AS monetary_window
FROM profile_orders
GROUP BY profile_id
"""

_ORDER_RFM = """
SELECT
    profile_id, order_count, total_spend, last_order_at, frequency_window, monetary_window, recency_days,
    CAST(ntile(5) OVER (ORDER BY recency_days DESC NULLS FIRST, profile_id) AS INTEGER) AS r_score,
    CAST(ntile(5) OVER (ORDER BY order_count, profile_id) AS INTEGER) AS f_score,
    CAST(ntile(5) OVER (ORDER BY total_spend, profile_id) AS INTEGER) AS m_score
FROM (
    SELECT
        profile_id, order_count, total_spend, last_order_at, frequency_window, monetary_window,
        CAST(date_diff('day', {last_order_day}, {as_of_day}) AS BIGINT) AS recency_days
    FROM order_stats
)
"""


def _age_sql(column: str, as_of: datetime) -> str:
    day = business_date(as_of)
    birth = f"TRY_CAST({column} AS DATE)"
    return (
        f"CAST({day.year} - year({birth}) - CASE WHEN month({birth}) * 100 + day({birth}) > "
        f"{day.month * 100 + day.day} THEN 1 ELSE 0 END AS BIGINT)"
    )


def _profiles_base_sql(as_of: datetime, run_id: str) -> str:
    return f"""
SELECT
    s.profile_id,
    a.first_name, a.last_name, a.date_of_birth, a.gender,
    a.city, a.province, a.postcode, a.country, a.company,
    coalesce(i.emails, {_EMPTY_LIST}) AS emails,
    coalesce(i.phones, {_EMPTY_LIST}) AS phones,
    a.primary_email, a.primary_phone,
    coalesce(i.user_ids, {_EMPTY_LIST}) AS user_ids,
    coalesce(i.anonymous_ids, {_EMPTY_LIST}) AS anonymous_ids,
    coalesce(i.sources, {_EMPTY_LIST}) AS sources,
    least(i.first_seen, ev.first_event_at) AS first_seen,
    greatest(i.last_seen, ev.last_event_at) AS last_seen,
    s.record_count,
    coalesce(ev.event_count, 0) AS event_count,
    coalesce(o.order_count, 0) AS order_count,
    coalesce(o.total_spend, 0) AS total_spend,
    o.total_spend / o.order_count AS avg_order_value,
    o.last_order_at,
    o.recency_days,
    coalesce(o.frequency_window, 0) AS frequency_90d,
    coalesce(o.monetary_window, 0) AS monetary_90d,
    o.r_score, o.f_score, o.m_score,
    CAST(o.r_score AS VARCHAR) || CAST(o.f_score AS VARCHAR) || CAST(o.m_score AS VARCHAR) AS rfm_score,
    coalesce(c.consent, '{{}}') AS consent,
    {timestamp_sql(as_of)} AS updated_at,
    '{run_id}' AS run_id,
    coalesce(i.email_hashes, {_EMPTY_LIST}) AS email_hashes,
    coalesce(i.phone_hashes, {_EMPTY_LIST}) AS phone_hashes,
    {_age_sql("a.date_of_birth", as_of)} AS age
FROM profile_spine AS s
LEFT JOIN survived AS a ON a.profile_id = s.profile_id
LEFT JOIN identifiers AS i ON i.profile_id = s.profile_id
LEFT JOIN event_stats AS ev ON ev.profile_id = s.profile_id
LEFT JOIN order_rfm AS o ON o.profile_id = s.profile_id
LEFT JOIN profile_consent AS c ON c.profile_id = s.profile_id
"""


#: ``profiles_pseudonymized`` columns copied from ``profiles_base`` as they are
_HASHED_OR_DERIVED = {
    "profile_id",
    "first_name_hash",
    "last_name_hash",
    "email_hashes",
    "phone_hashes",
    "birth_year",
}


def _pseudonymized_sql() -> str:
    passed = ", ".join(
        f"p.{name}" for name in PROFILES_PSEUDONYMIZED.schema.names if name not in _HASHED_OR_DERIVED
    )
    return f"""
SELECT
    p.profile_id,
    sha256(k.salt || lower(trim(p.first_name))) AS first_name_hash,
    sha256(k.salt || lower(trim(p.last_name))) AS last_name_hash,
    p.email_hashes,
    p.phone_hashes,
    year(TRY_CAST(p.date_of_birth AS DATE)) AS birth_year,
    {passed}
FROM profiles_base AS p
CROSS JOIN pseudonymization_key AS k
"""


#: contract types in the authoring dialect (the step must not import an engine adapter)
_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.string()): "VARCHAR[]",
}


def _typed_projection(table: LakeTable, source: str) -> str:
    """``source``'s columns of ``table``, cast to the contract's types and in its order."""
    columns = ",\n    ".join(
        f"CAST({field.name} AS {_SQL_TYPES[field.type]}) AS {field.name}" for field in table.schema
    )
    return f"SELECT\n    {columns}\nFROM {source}"


_TRAIT_RELATION_SQL: dict[Relation, str] = {
    Relation.records: """
SELECT
    profile_id, record_id, source_id, origin, kind, first_seen, last_seen, email, phone_e164 AS phone,
    user_id, anonymous_id, first_name, last_name, date_of_birth, gender, city, province_code AS province,
    postcode, country_code AS country, company, attributes
FROM profile_records
""",
    Relation.events: f"""
SELECT
    profile_id, message_id, type, event, name, channel, source_id, event_time, dt,
    properties, context, traits,
    coalesce(
        lag(event_time) OVER (PARTITION BY profile_id ORDER BY event_time, message_id)
            < event_time - INTERVAL {SESSION_GAP_MINUTES} MINUTE,
        true
    ) AS is_session_start
FROM profile_events
""",
    Relation.orders: """
SELECT
    profile_id, order_id, order_time, order_date, order_value, line_count, item_count, channel, source_id,
    currency
FROM profile_orders
""",
    Relation.order_lines: """
SELECT
    profile_id, order_id, order_time, order_date, product_id, product_name, category, quantity, unit_price,
    line_value, channel, source_id, currency
FROM profile_order_lines
""",
    Relation.profiles: """
SELECT
    profile_id, gender, age, city, province, postcode, country, company, first_seen, last_seen, record_count,
    event_count, order_count, total_spend, avg_order_value, last_order_at, recency_days, frequency_90d,
    monetary_90d, r_score, f_score, m_score, rfm_score
FROM profiles_base
""",
}


def _rules_tables(config: ProfilesConfig) -> tuple[pa.Table, pa.Table]:
    rules = pa.table(
        {
            "attribute": [attribute.value for attribute in ProfileAttribute],
            "rule": [config.rule(attribute).value for attribute in ProfileAttribute],
        },
        schema=pa.schema([("attribute", pa.string()), ("rule", pa.string())]),
    )
    trust = [
        (attribute.value, source, rank)
        for attribute in ProfileAttribute
        for rank, source in enumerate(config.trust_order(attribute))
    ]
    trust_table = pa.table(
        {
            "attribute": [row[0] for row in trust],
            "source_id": [row[1] for row in trust],
            "trust_rank": [row[2] for row in trust],
        },
        schema=pa.schema(
            [("attribute", pa.string()), ("source_id", pa.string()), ("trust_rank", pa.int64())]
        ),
    )
    return rules, trust_table


_PREDICTIVE_ORDERS = f"""
SELECT
    profile_id, order_id, {iso_text_sql("order_time")} AS order_time,
    CAST(order_value AS DOUBLE) AS order_value
FROM profile_orders
WHERE order_time IS NOT NULL
"""

_PREDICTIVE_CATEGORIES = """
SELECT DISTINCT profile_id, order_id, category
FROM profile_order_lines
WHERE category IS NOT NULL AND category <> ''
"""


def _predictive_traits(
    engine: Engine,
    *,
    as_of: datetime,
    config: PredictiveConfig,
    save_metrics: Callable[[dict[str, Any]], object] | None,
) -> int:
    """Register ``predictive_traits`` (long form without ``run_id``) from the profiles' orders; its rows."""
    engine.create_view("predictive_orders", _PREDICTIVE_ORDERS)
    engine.create_view("predictive_categories", _PREDICTIVE_CATEGORIES)
    history = order_history(engine.to_arrow("predictive_orders"), engine.to_arrow("predictive_categories"))
    rows, metrics = predict_from_history(history, as_of, config)
    if save_metrics is not None:
        save_metrics(metrics)
    if rows.num_rows:
        engine.register_arrow("predictive_traits", rows)
    return int(rows.num_rows)


def build_profiles(
    engine: Engine,
    inputs: ProfilesInputs,
    *,
    setup: ProfilesSetup,
    salt: bytes,
    as_of: datetime,
    run_id: str,
    write: Callable[[LakeTable, str], int],
    predictive: PredictiveConfig | None = None,
    save_predictive_metrics: Callable[[dict[str, Any]], object] | None = None,
) -> StepReport:
    """Build the four profile tables on ``engine``; ``write(table, view)`` persists one view as a snapshot.

    ``as_of`` is the run's "now" (windows, recency, age, ``updated_at``): a fixed one reproduces a run.
    ``predictive`` configures the predictive traits (default :class:`PredictiveConfig`);
    ``save_predictive_metrics`` receives their holdout metrics.
    """
    started = time.perf_counter()
    as_of = as_utc(as_of)
    report = StepReport(step="profiles", run_id=run_id, engine=engine.name)
    report.guards["traits"] = len(setup.traits)

    engine.register_parquet("identity_links", list(inputs.identity_link_files), IDENTITY_LINKS.schema)
    engine.register_parquet("identity_records", list(inputs.identity_record_files), IDENTITY_RECORDS.schema)
    engine.register_parquet("clean_events", list(inputs.event_files), EVENTS.schema)
    engine.register_parquet("clean_orders", list(inputs.order_files), ORDERS.schema)
    engine.register_parquet("import_rows", list(inputs.import_row_files), IMPORT_ROWS_SCHEMA)
    rules, trust = _rules_tables(setup.config)
    engine.register_arrow("survivorship_rules", rules)
    engine.register_arrow("survivorship_trust", trust)
    engine.register_arrow("pseudonymization_key", pa.table({"salt": [salt.hex()]}))

    # who, and their records (read by survivorship, identifiers and the records relation)
    engine.create_view("profile_spine", _PROFILE_SPINE)
    engine.create_view("profile_records", _PROFILE_RECORDS)
    engine.materialize("profile_records")

    # attributes: one SQL per survivorship rule
    engine.create_view(
        "survivorship_candidates",
        "\nUNION ALL\n".join(
            _CANDIDATE.format(attribute=attribute.value, column=column)
            for attribute, column in ATTRIBUTE_COLUMNS.items()
        ),
    )
    engine.create_view("survived_most_recent", _MOST_RECENT)
    engine.create_view("survived_most_frequent", _MOST_FREQUENT)
    engine.create_view("survived_most_trusted", _MOST_TRUSTED)
    pivot = ",\n".join(
        f"    max(CASE WHEN attribute = '{attribute.value}' THEN value END) AS {attribute.value}"
        for attribute in ProfileAttribute
    )
    engine.create_view("survived", _SURVIVED.format(columns=pivot))
    engine.create_view("identifiers", _IDENTIFIERS)

    # activity and value
    engine.create_view("profile_events", _PROFILE_EVENTS)
    engine.create_view("event_stats", _EVENT_STATS)
    engine.create_view(
        "profile_order_lines", _PROFILE_ORDER_LINES.format(order_date=business_date_sql("o.order_time"))
    )
    engine.create_view("orders_by_source", _ORDERS_BY_SOURCE)
    engine.create_view(
        "profile_orders", _PROFILE_ORDERS.format(order_date=business_date_sql("min(order_time)"))
    )
    engine.materialize("profile_orders")
    engine.create_view(
        "order_stats", _ORDER_STATS.format(window=within_sql("order_time", as_of, RFM_WINDOW_DAYS))
    )
    engine.create_view(
        "order_rfm",
        _ORDER_RFM.format(
            last_order_day=business_date_sql("last_order_at"),
            as_of_day=date_sql(business_date(as_of, BUSINESS_TIME_ZONE)),
        ),
    )

    # consent: every decision per purpose, the latest flagged; profiles.consent is the flagged rows
    engine.create_view("consent_sources", consent_sources_sql(setup.config.consent))
    engine.materialize("consent_sources")
    engine.create_view("consent_decisions", consent_decisions_sql())
    engine.create_view("consent_history", CONSENT_HISTORY_SQL)
    engine.materialize("consent_history")
    engine.create_view("profile_consent", profile_consent_sql())
    engine.create_view(
        "consent",
        _typed_projection(CONSENT, f"({consent_table_sql(run_id)})") + f"\nORDER BY {CONSENT_TABLE_ORDER}",
    )

    engine.create_view("profiles_base", _profiles_base_sql(as_of, run_id))
    engine.materialize("profiles_base")
    engine.create_view("profiles", _typed_projection(PROFILES, "profiles_base") + "\nORDER BY profile_id")
    engine.create_view("profiles_pseudonymized_base", _pseudonymized_sql())
    engine.create_view(
        "profiles_pseudonymized",
        _typed_projection(PROFILES_PSEUDONYMIZED, "profiles_pseudonymized_base") + "\nORDER BY profile_id",
    )

    # computed traits
    for relation, sql in _TRAIT_RELATION_SQL.items():
        engine.create_view(RELATION_VIEWS[relation], sql)
    queries = compile_traits(setup.traits, relation_views=RELATION_VIEWS, as_of=as_of)
    for view, sql in queries.grouped.items():
        engine.create_view(view, sql)
        engine.materialize(view)
    predictive_rows = _predictive_traits(
        engine, as_of=as_of, config=predictive or PredictiveConfig(), save_metrics=save_predictive_metrics
    )
    report.guards["predictive_trait_rows"] = predictive_rows
    long_form = queries.long_form
    if predictive_rows:
        long_form = f"{long_form}\nUNION ALL\nSELECT * FROM predictive_traits"
    engine.create_view("profile_traits_long", long_form)
    # not sorted: tens of millions of rows at a million profiles, and sorting them doubled the step's peak
    # memory (readers by profile go through the lookup table); the profile tables are sorted by profile_id
    engine.create_view(
        "profile_traits",
        _typed_projection(PROFILE_TRAITS, f"(SELECT *, '{run_id}' AS run_id FROM profile_traits_long)"),
    )

    for table in (PROFILES, PROFILE_TRAITS, PROFILES_PSEUDONYMIZED, CONSENT):
        report.rows[table.name] = write(table, table.name)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True, slots=True)
class PreparedProfiles:
    """What the runner resolves before the first step: configuration, salt and reference time."""

    setup: ProfilesSetup
    salt: bytes
    as_of: datetime


def prepare_profiles(files: LakeFiles, *, as_of: datetime | None, salt: bytes | None) -> PreparedProfiles:
    """Validate the lake's profile configuration and settle the salt (default: the local lake's, created on
    first use; a lake on S3 must be given one) and ``as_of`` (default: now)."""
    setup = load_profiles_setup(files)
    return PreparedProfiles(
        setup=setup,
        salt=salt if salt is not None else local_salt(files),
        as_of=as_utc(as_of) if as_of is not None else datetime.now(UTC),
    )


def build_profiles_in_lake(
    engine: Engine,
    files: LakeFiles,
    prepared: PreparedProfiles,
    *,
    run_id: str,
    write: Callable[[LakeTable, str], int],
    import_row_files: Sequence[str],
) -> StepReport:
    """The step as the runner calls it: inputs from the lake's published snapshots."""
    return build_profiles(
        engine,
        profiles_inputs(files, import_row_files=import_row_files),
        setup=prepared.setup,
        salt=prepared.salt,
        as_of=prepared.as_of,
        run_id=run_id,
        write=write,
        save_predictive_metrics=lambda metrics: save_metrics(files, run_id, metrics),
    )
