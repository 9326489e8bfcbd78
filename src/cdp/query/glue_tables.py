"""The lake's tables as the Glue Data Catalog declares them for Athena (SPEC 4), derived from the contracts.

Columns are generated from the pyarrow schemas of :mod:`cdp.tables` and from the raw event record of SPEC 3.3
(:data:`cdp.ingestion.records.RAW_EVENT_COLUMNS`), never written by hand, so the catalog cannot drift from
what the pipeline writes. ``infra/`` turns these definitions into CloudFormation tables and the moto contract
test creates the same tables through the Glue API; both read :meth:`GlueTable.table_input`.

Snapshot tables (SPEC 4) are not partitioned: the Glue table's location *is* the pointer, moved to
``<prefix>/run_id=<id>/`` by the pipeline when it publishes (:mod:`cdp.catalog_port`). Until the first
publish, and after a CloudFormation update rewrote the table, it is ``<prefix>/unpublished/``, which holds
nothing: a reader sees an empty table, never every snapshot of the prefix at once (Athena reads a location's
sub-folders too, so the bare prefix would return each row once per retained snapshot).

A table of a zone that lives apart from the lake (the pseudonymized zone: a bucket of its own on AWS, with
its own KMS key, SPEC 4) is located there: ``mounts`` are :class:`cdp.lakefs.LakeFiles`' mounts, resolved
by :func:`cdp.lakefs.lake_uri_of` from the text alone, so CloudFormation tokens work.

``raw_events`` is the JSON lines Firehose delivers under ``raw/events/dt=YYYY-MM-DD/`` (OpenX JSON SerDe,
gzip read by extension), partitioned by ``dt`` with partition projection: Athena computes the partitions
from the query's ``dt`` predicate and the range, with no ``MSCK REPAIR`` or crawler. The range ends at
``NOW+1DAYS`` because ``dt`` is the business date (Asia/Bangkok by default, UTC+7) while Athena's ``NOW`` is
UTC: between midnight in Bangkok and 07:00 the newest partition is "tomorrow" in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import pyarrow as pa

from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.lake import RAW_EVENTS
from cdp.lakefs import lake_uri_of
from cdp.tables import (
    CLEAN_TABLES,
    DELIVERIES,
    IDENTITY_HISTORY,
    IDENTITY_LINKS,
    IDENTITY_TABLES,
    ORDERS,
    PROFILE_TABLES,
    PROFILES_PSEUDONYMIZED,
    SEGMENT_MEMBERSHIPS,
    LakeTable,
)

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

RAW_EVENTS_TABLE = "raw_events"
#: the folder a snapshot table's location names before its first publish: nothing is ever written there (and
#: no underscore: Athena's guidelines for table locations advise against them)
UNPUBLISHED = "unpublished"

#: every versioned table of :mod:`cdp.tables`, each a Glue table whose location the pipeline moves
#: (``tests/infra/test_analytics.py`` fails on a contract missing here)
SNAPSHOT_TABLES: Final[tuple[LakeTable, ...]] = (
    *CLEAN_TABLES,
    *IDENTITY_TABLES,
    *PROFILE_TABLES,
    SEGMENT_MEMBERSHIPS,
    DELIVERIES,
)

#: What the analyst role may read (SPEC 4: pseudonymized by default): tables that hold no plaintext
#: personal data. Names, e-mails, phones, birth dates, addresses and raw payloads stay in ``raw_events``,
#: ``events``, ``identity_records``, ``profiles`` (and ``profile_traits``, whose identity traits may carry
#: them, ``identity_edges``, which pairs records for debugging, and ``deliveries``, whose ``detail`` repeats
#: destinations' messages, which may quote an address): the data team's, not the analysts'. On AWS
#: ``profiles_pseudonymized`` is read from the pseudonymized zone's own bucket and key; the other four hold
#: ids and order lines only and are read from the lake (docs/analysts.md states the trade-off).
ANALYST_TABLES: Final[tuple[LakeTable, ...]] = (
    PROFILES_PSEUDONYMIZED,
    SEGMENT_MEMBERSHIPS,
    IDENTITY_LINKS,
    IDENTITY_HISTORY,
    ORDERS,
)

_SCALAR_TYPES: Final[dict[pa.DataType, str]] = {
    pa.string(): "string",
    pa.large_string(): "string",
    pa.int64(): "bigint",
    pa.int32(): "int",
    pa.int16(): "smallint",
    pa.float64(): "double",
    pa.float32(): "float",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


class UnsupportedTypeError(TypeError):
    """An Arrow type with no Hive/Athena equivalent here: add it to the mapping deliberately."""


def glue_type(data_type: pa.DataType) -> str:
    """The Hive type Athena reads a Parquet column of ``data_type`` as (lists → ``array<…>``)."""
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return f"array<{glue_type(data_type.value_type)}>"
    try:
        return _SCALAR_TYPES[data_type]
    except KeyError:
        raise UnsupportedTypeError(f"no Glue type for Arrow {data_type}") from None


@dataclass(frozen=True, slots=True)
class GlueColumn:
    name: str
    type: str
    comment: str | None = None

    def as_input(self) -> dict[str, str]:
        column = {"Name": self.name, "Type": self.type}
        if self.comment:
            column["Comment"] = self.comment
        return column


@dataclass(frozen=True, kw_only=True)
class GlueTable:
    """One external table: what CloudFormation's ``AWS::Glue::Table`` and Glue's ``CreateTable`` take."""

    name: str
    description: str
    columns: tuple[GlueColumn, ...]
    location: str
    input_format: str
    output_format: str
    serde: str
    parameters: Mapping[str, str]
    serde_parameters: Mapping[str, str] = field(default_factory=dict)
    partition_keys: tuple[GlueColumn, ...] = ()

    def table_input(self) -> dict[str, Any]:
        """The ``TableInput`` structure (the Glue API's and CloudFormation's, key for key)."""
        table: dict[str, Any] = {
            "Name": self.name,
            "Description": self.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": dict(self.parameters),
            "StorageDescriptor": {
                "Columns": [column.as_input() for column in self.columns],
                "Location": self.location,
                "InputFormat": self.input_format,
                "OutputFormat": self.output_format,
                "SerdeInfo": {"SerializationLibrary": self.serde, "Parameters": dict(self.serde_parameters)},
            },
        }
        if self.partition_keys:
            table["PartitionKeys"] = [column.as_input() for column in self.partition_keys]
        return table


def database_name(stage: str) -> str:
    """SPEC 4: ``cdp_<stage>`` (Athena wants no hyphen in a database name)."""
    return f"cdp_{stage}"


def columns_of(schema: pa.Schema) -> tuple[GlueColumn, ...]:
    return tuple(GlueColumn(f.name, glue_type(f.type)) for f in schema)


def unpublished_location(lake_uri: str, table: LakeTable, mounts: Mapping[str, str] | None = None) -> str:
    return lake_uri_of(f"{table.prefix}/{UNPUBLISHED}", root=lake_uri, mounts=mounts) + "/"


#: append-only tables: every run adds files under the prefix and nothing is replaced, so the table's
#: location is the prefix itself (Athena reads its sub-folders) and no pointer ever moves
LEDGER_TABLES: Final[tuple[LakeTable, ...]] = (DELIVERIES,)


def snapshot_table(table: LakeTable, *, lake_uri: str, mounts: Mapping[str, str] | None = None) -> GlueTable:
    """A versioned Parquet table; its location starts at :data:`UNPUBLISHED` until the pipeline publishes
    (a ledger's is its prefix, for good: :data:`LEDGER_TABLES`)."""
    location = (
        lake_uri_of(table.prefix, root=lake_uri, mounts=mounts) + "/"
        if table in LEDGER_TABLES
        else unpublished_location(lake_uri, table, mounts)
    )
    return GlueTable(
        name=table.name,
        description=table.description,
        columns=columns_of(table.schema),
        location=location,
        input_format=PARQUET_INPUT,
        output_format=PARQUET_OUTPUT,
        serde=PARQUET_SERDE,
        serde_parameters={"serialization.format": "1"},
        parameters={"classification": "parquet", "EXTERNAL": "TRUE"},
    )


def raw_events_table(*, lake_uri: str, first_day: date) -> GlueTable:
    """``raw_events`` (SPEC 3.3): every column a string, ``dt`` projected from ``first_day`` to today."""
    location = f"{lake_uri}/{RAW_EVENTS}/"
    return GlueTable(
        name=RAW_EVENTS_TABLE,
        description=(
            "accepted events as delivered (JSON lines, at-least-once: a message may be stored twice; "
            "count distinct message_id or use the events table)"
        ),
        columns=tuple(GlueColumn(name, "string") for name in RAW_EVENT_COLUMNS),
        partition_keys=(GlueColumn("dt", "string", "business date of received_at, YYYY-MM-DD"),),
        location=location,
        input_format=TEXT_INPUT,
        output_format=TEXT_OUTPUT,
        serde=JSON_SERDE,
        serde_parameters={"case.insensitive": "TRUE", "dots.in.keys": "FALSE"},
        parameters={
            "classification": "json",
            "compressionType": "gzip",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": f"{first_day.isoformat()},NOW+1DAYS",
            "projection.dt.interval": "1",
            "projection.dt.interval.unit": "DAYS",
            "storage.location.template": location + "dt=${dt}/",
        },
    )


def catalog_tables(
    *, lake_uri: str, raw_events_first_day: date, mounts: Mapping[str, str] | None = None
) -> tuple[GlueTable, ...]:
    """Every table of the stage's database: ``raw_events`` and each snapshot table (each in its zone's
    root: ``mounts`` as the pipeline's :class:`cdp.lakefs.LakeFiles` has them)."""
    return (
        raw_events_table(lake_uri=lake_uri, first_day=raw_events_first_day),
        *(snapshot_table(table, lake_uri=lake_uri, mounts=mounts) for table in SNAPSHOT_TABLES),
    )
