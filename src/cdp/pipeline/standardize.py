"""The standardize step: ``raw_events`` + ``import_rows`` → ``events``, ``identity_records``, ``orders``.

Written once: SQL in the authoring dialect (DuckDB's; sqlglot gives Spark its own) and pure Arrow batch
functions (identity standardization, business dates, order lines). ``glue_jobs/standardize.py`` builds a Spark
engine and calls :func:`standardize`; ``cdp run`` calls it with DuckDB.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from cdp.engine.port import Engine
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.pipeline.batch_functions import explode_order_products, with_business_date
from cdp.privacy.models import RECORD_IDENTIFIERS
from cdp.privacy.tombstones import SUPPRESSED_SCHEMA, Tombstones, keep_untombstoned, tombstoned_record_ids
from cdp.standardize.identity import identity_output_schema, standardize_identity_batch
from cdp.tables import EVENTS, IDENTITY_RECORDS, ORDERS, LakeTable

RAW_EVENTS_SCHEMA = pa.schema([pa.field(name, pa.string()) for name in RAW_EVENT_COLUMNS])


@dataclass(frozen=True, slots=True)
class StandardizeInputs:
    """Where the step reads from: file lists resolved by the caller (local listing or S3 listing)."""

    raw_event_files: Sequence[str]
    import_row_files: Sequence[str]
    #: erased people's identifiers: their records, events and orders never reach the clean zone
    tombstones: Tombstones | None = None


@dataclass(slots=True)
class StepReport:
    step: str
    run_id: str
    engine: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: what a step's guards blocked or did (resolve: refused edges, split profiles …), by name
    guards: dict[str, int] = field(default_factory=dict)


# -- SQL (authoring dialect) -------------------------------------------------------------------------

_RAW_EVENTS = """
SELECT {columns}
FROM raw_event_files
WHERE message_id IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY message_id
    ORDER BY received_at, write_key_id, type,
        coalesce(event, ''), coalesce(properties, ''), coalesce(context, '')
) = 1
"""

_EVENT_KEYS = """
SELECT
    *,
    CASE WHEN type = 'alias' THEN previous_id ELSE anonymous_id END AS identity_anonymous_id
FROM raw_events
"""

_EVENTS = """
SELECT
    message_id, type, event, name, user_id, anonymous_id, previous_id, group_id, traits, properties, context,
    CAST(timestamp AS TIMESTAMPTZ) AS event_time,
    CAST(received_at AS TIMESTAMPTZ) AS received_at,
    source_id,
    coalesce(
        json_extract_string(context, '$.channel'),
        CASE WHEN type = 'screen' THEN 'app' WHEN type = 'page' THEN 'web' END
    ) AS channel,
    'evt:' || md5(
        source_id || '|' || CAST(length(coalesce(user_id, '')) AS VARCHAR) || ':' || coalesce(user_id, '')
        || '|' || coalesce(identity_anonymous_id, '')
    ) AS identity_record_id,
    CAST(NULL AS VARCHAR) AS dt,
    '{run_id}' AS run_id
FROM event_keys
"""

_EVENT_IDENTITY_TRAITS = """
SELECT identity_record_id, traits_json
FROM (
    SELECT
        identity_record_id,
        coalesce(traits, json_extract_string(context, '$.traits')) AS traits_json,
        event_time,
        message_id
    FROM events
    WHERE type = 'identify'
)
WHERE traits_json IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY identity_record_id ORDER BY event_time DESC, message_id DESC) = 1
"""


def _json_first(column: str, *paths: str) -> str:
    """The first of several JSON paths that is present: SDKs spell traits differently."""
    extracts = [f"json_extract_string({column}, '$.{path}')" for path in paths]
    return extracts[0] if len(extracts) == 1 else f"coalesce({', '.join(extracts)})"


#: identity input column → the Segment trait paths it is read from (reserved traits first, then ours)
_TRAIT_PATHS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("phone",),
    "first_name": ("first_name", "firstName"),
    "last_name": ("last_name", "lastName"),
    "full_name": ("name",),
    "date_of_birth": ("birthday", "date_of_birth"),
    "address_line": ("address.street", "address_line"),
    "city": ("address.city", "city"),
    "state": ("address.state", "province", "state"),
    "postcode": ("address.postalCode", "postcode"),
    "country": ("address.country", "country"),
    "national_id": ("national_id",),
    "gender": ("gender",),
    "company": ("company.name", "company"),
}

_EVENT_IDENTITIES = (
    """
SELECT
    e.identity_record_id AS record_id,
    e.source_id,
    'event' AS origin,
    'events' AS kind,
    coalesce(e.user_id, e.anonymous_id) AS source_record_key,
    e.user_id,
    e.anonymous_id,
"""
    + "".join(
        f"    {_json_first('t.traits_json', *paths)} AS {name},\n" for name, paths in _TRAIT_PATHS.items()
    )
    + """    'TH' AS default_region,
    t.traits_json AS attributes,
    e.first_seen,
    e.last_seen
FROM (
    SELECT
        identity_record_id,
        min(source_id) AS source_id,
        min(user_id) AS user_id,
        min(identity_anonymous_id) AS anonymous_id,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen
    FROM (
        SELECT e.identity_record_id, e.source_id, e.user_id, k.identity_anonymous_id, e.event_time
        FROM events AS e JOIN event_keys AS k ON e.message_id = k.message_id
    )
    GROUP BY identity_record_id
) AS e
LEFT JOIN event_identity_traits AS t ON e.identity_record_id = t.identity_record_id
"""
)

_LATEST_IMPORT_ROWS = """
SELECT {columns}
FROM import_rows
QUALIFY row_number() OVER (
    PARTITION BY source_id, row_key ORDER BY imported_at DESC, import_id DESC, row_number DESC
) = 1
"""

_IMPORT_IDENTITIES = """
SELECT
    source_id || ':' || row_key AS record_id,
    source_id,
    'import' AS origin,
    kind,
    coalesce(record_id, row_key) AS source_record_key,
    user_id,
    anonymous_id,
    email, phone, first_name, last_name, full_name, date_of_birth,
    address_line, city, state, postcode, country, national_id, gender, company,
    coalesce(default_region, 'TH') AS default_region,
    attributes,
    CAST(coalesce(updated_at, order_date, imported_at) AS TIMESTAMPTZ) AS first_seen,
    CAST(coalesce(updated_at, order_date, imported_at) AS TIMESTAMPTZ) AS last_seen
FROM latest_import_rows
"""

_IDENTITY_INPUT = """
SELECT * FROM import_identities
UNION ALL
SELECT * FROM event_identities
"""

_IDENTITY_RECORDS = """
SELECT
    record_id, source_id, origin, kind, source_record_key, user_id, anonymous_id,
    email_normalized AS email,
    email_key,
    phone_e164,
    first_name_std AS first_name,
    last_name_std AS last_name,
    full_name_std AS full_name,
    name_script,
    date_of_birth_std AS date_of_birth,
    gender_std AS gender,
    address_line,
    city,
    province_code,
    postcode_std AS postcode,
    country_code,
    national_id_std AS national_id,
    company_std AS company,
    attributes,
    quality_issues,
    first_seen,
    last_seen,
    '{run_id}' AS run_id
FROM identity_standardized
"""

_IMPORT_ORDERS = """
SELECT
    order_id,
    source_id,
    'import' AS origin,
    source_id || ':' || row_key AS identity_record_id,
    CAST(order_date AS TIMESTAMPTZ) AS order_time,
    order_total,
    currency,
    product_id,
    product_name,
    category,
    quantity,
    unit_price,
    channel,
    '{run_id}' AS run_id
FROM latest_import_rows
WHERE kind = 'orders' AND order_id IS NOT NULL
"""

_EVENT_ORDERS = """
SELECT
    coalesce({order_id}, message_id) AS order_id,
    source_id,
    'event' AS origin,
    identity_record_id,
    event_time AS order_time,
    TRY_CAST({order_total} AS DOUBLE) AS order_total,
    json_extract_string(properties, '$.currency') AS currency,
    CAST(NULL AS VARCHAR) AS product_id,
    CAST(NULL AS VARCHAR) AS product_name,
    CAST(NULL AS VARCHAR) AS category,
    CAST(NULL AS BIGINT) AS quantity,
    CAST(NULL AS DOUBLE) AS unit_price,
    channel,
    run_id,
    json_extract_string(properties, '$.products') AS products
FROM events
WHERE type = 'track' AND event = 'Order Completed'
""".format(
    order_id=_json_first("properties", "order_id", "orderId"),
    order_total=_json_first("properties", "total", "revenue"),
)

_ORDERS = """
SELECT * FROM import_orders
UNION ALL
SELECT * FROM event_order_lines
"""


#: the text columns both identity sources deliver, in the order of their SELECTs (UNION ALL is positional)
IDENTITY_TEXT_COLUMNS: tuple[str, ...] = (*_TRAIT_PATHS, "default_region")


def _identity_input_schema() -> pa.Schema:
    fields = [
        ("record_id", pa.string()),
        ("source_id", pa.string()),
        ("origin", pa.string()),
        ("kind", pa.string()),
        ("source_record_key", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        *((name, pa.string()) for name in IDENTITY_TEXT_COLUMNS),
        ("attributes", pa.string()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema([pa.field(name, kind) for name, kind in fields])


def identity_input_schema() -> pa.Schema:
    """The columns :func:`standardize_identities` reads (all identity text columns, then times)."""
    return _identity_input_schema()


def standardize_identities(engine: Engine, source: str, *, run_id: str) -> None:
    """View ``identity_records`` from ``source`` (:func:`identity_input_schema`): the identity part of the
    step, shared with ``cdp match`` so a flat file is standardized exactly like imported rows."""
    engine.map_batches(
        "identity_standardized",
        source,
        standardize_identity_batch,
        identity_output_schema(_identity_input_schema()),
    )
    engine.create_view("identity_records", _IDENTITY_RECORDS.format(run_id=run_id))


def standardize(
    engine: Engine, inputs: StandardizeInputs, *, run_id: str, write: Callable[[LakeTable, str], int]
) -> StepReport:
    """Build the three clean tables on ``engine``; ``write(table, view)`` persists one view as a snapshot."""
    started = time.perf_counter()
    report = StepReport(step="standardize", run_id=run_id, engine=engine.name)
    engine.register_json_lines("raw_event_files", list(inputs.raw_event_files), RAW_EVENTS_SCHEMA)
    engine.register_parquet("import_rows", list(inputs.import_row_files), IMPORT_ROWS_SCHEMA)

    engine.create_view("raw_events", _RAW_EVENTS.format(columns=", ".join(RAW_EVENT_COLUMNS)))
    engine.create_view("event_keys", _EVENT_KEYS)
    engine.create_view("events_undated", _EVENTS.format(run_id=run_id))
    engine.map_batches("events", "events_undated", with_business_date, EVENTS.schema)

    engine.create_view("event_identity_traits", _EVENT_IDENTITY_TRAITS)
    engine.create_view("event_identities", _EVENT_IDENTITIES)
    engine.create_view(
        "latest_import_rows", _LATEST_IMPORT_ROWS.format(columns=", ".join(IMPORT_ROWS_SCHEMA.names))
    )
    engine.create_view("import_identities", _IMPORT_IDENTITIES)
    engine.create_view("identity_input", _IDENTITY_INPUT)
    standardize_identities(engine, "identity_input", run_id=run_id)

    engine.create_view("import_orders", _IMPORT_ORDERS.format(run_id=run_id))
    engine.create_view("event_orders", _EVENT_ORDERS)
    engine.map_batches(
        "event_order_lines",
        "event_orders",
        functools.partial(explode_order_products, schema=ORDERS.schema),
        ORDERS.schema,
    )
    engine.create_view("orders", _ORDERS)

    views = {EVENTS.name: EVENTS.name, IDENTITY_RECORDS.name: IDENTITY_RECORDS.name, ORDERS.name: ORDERS.name}
    if inputs.tombstones:
        views = _suppress_tombstoned(engine, inputs.tombstones)
    for table in (EVENTS, IDENTITY_RECORDS, ORDERS):
        report.rows[table.name] = write(table, views[table.name])
    if inputs.tombstones:
        report.guards["suppressed_erased"] = engine.count_rows("suppressed_records")
    report.seconds = time.perf_counter() - started
    return report


#: what :data:`cdp.privacy.tombstones.RETURNING_PREFIX` files hold of each suppressed record
RETURNING_COLUMNS = ("record_id", *(column for column, _ in RECORD_IDENTIFIERS))


def _suppress_tombstoned(engine: Engine, tombstones: Tombstones) -> dict[str, str]:
    """Views of the three clean tables without erased people: records whose identifiers hit a tombstone,
    and the events and orders of those records (SPEC 9: later events and imports stay suppressed)."""
    schema = IDENTITY_RECORDS.schema
    engine.map_batches(
        "identity_records_kept",
        IDENTITY_RECORDS.name,
        functools.partial(keep_untombstoned, tombstones=tombstones, schema=schema),
        schema,
    )
    engine.map_batches(
        "suppressed_records",
        IDENTITY_RECORDS.name,
        functools.partial(tombstoned_record_ids, tombstones=tombstones),
        SUPPRESSED_SCHEMA,
    )
    engine.materialize("suppressed_records")
    # the identifiers they came with, for the retention job's follow-up erasure of their raw copies
    engine.create_view(
        "suppressed_identifiers",
        f"SELECT {', '.join(RETURNING_COLUMNS)} FROM {IDENTITY_RECORDS.name} "
        "WHERE record_id IN (SELECT record_id FROM suppressed_records)",
    )
    for name in (EVENTS.name, ORDERS.name):
        engine.create_view(
            f"{name}_kept",
            f"SELECT * FROM {name} WHERE identity_record_id IS NULL "
            "OR identity_record_id NOT IN (SELECT record_id FROM suppressed_records)",
        )
    return {name: f"{name}_kept" for name in (EVENTS.name, IDENTITY_RECORDS.name, ORDERS.name)}
