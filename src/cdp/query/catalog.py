"""Tables of the lake as DuckDB views, defined the way the Glue catalog defines them for Athena.

A fresh in-memory DuckDB per command: it holds no lock on the lake, so ``cdp query`` works while
``cdp serve`` writes. Views re-read the files on every query, so new events are visible immediately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import sqlglot
import sqlglot.errors

from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS, LocalLake
from cdp.query import QueryError

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "quarantined_at",
    "source_id",
    "write_key_id",
    "call",
    "event_index",
    "message_id",
    "code",
    "reason",
    "payload",
)


@dataclass(frozen=True, slots=True)
class JsonLinesTable:
    """A table of JSON-lines files under ``prefix/dt=YYYY-MM-DD/`` (Firehose's layout on AWS)."""

    name: str
    prefix: str
    columns: Sequence[str]
    types: dict[str, str]
    dedup_key: str | None = None
    order_key: str | None = None

    def view_sql(self, lake: LocalLake) -> str:
        column_types = {column: self.types.get(column, "VARCHAR") for column in self.columns}
        projection = ", ".join(f'"{column}"' for column in (*self.columns, "dt"))
        directory = lake.path(self.prefix)
        if not any(directory.glob("dt=*/*.jsonl")):
            empty = ", ".join(f'CAST(NULL AS {kind}) AS "{column}"' for column, kind in column_types.items())
            return f"CREATE VIEW {self.name} AS SELECT {empty}, CAST(NULL AS VARCHAR) AS dt WHERE false"
        struct = "{" + ", ".join(f"'{column}': '{kind}'" for column, kind in column_types.items()) + "}"
        source = (
            f"read_json({_literal(str(directory) + '/dt=*/*.jsonl')}, format='newline_delimited', "
            f"columns={struct}, filename=true, hive_partitioning=true, hive_types={{'dt': 'VARCHAR'}})"
        )
        if self.dedup_key is None:
            return f"CREATE VIEW {self.name} AS SELECT {projection} FROM {source}"  # noqa: S608
        # at-least-once delivery stores some messages twice: the first received wins
        return (
            f"CREATE VIEW {self.name} AS SELECT {projection} FROM {source} "  # noqa: S608
            f'QUALIFY row_number() OVER (PARTITION BY "{self.dedup_key}" '
            f'ORDER BY "{self.order_key}", filename) = 1'
        )


TABLES: tuple[JsonLinesTable, ...] = (
    JsonLinesTable(
        name="raw_events",
        prefix=RAW_EVENTS,
        columns=RAW_EVENT_COLUMNS,
        types={},
        dedup_key="message_id",
        order_key="received_at",
    ),
    JsonLinesTable(
        name="quarantine_events",
        prefix=QUARANTINE_EVENTS,
        columns=QUARANTINE_COLUMNS,
        types={"event_index": "BIGINT"},
    ),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(lake: LocalLake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every lake table registered as a view."""
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        connection.execute(table.view_sql(lake))
    return connection


def athena_to_duckdb(sql: str) -> str:
    """Transpile Athena (Trino) SQL to DuckDB's dialect; :class:`QueryError` if it does not parse."""
    try:
        statements = sqlglot.transpile(sql, read="trino", write="duckdb")
    except sqlglot.errors.SqlglotError as error:
        raise QueryError(f"SQL does not parse as Athena (Trino) SQL: {str(error).splitlines()[0]}") from None
    statements = [statement for statement in statements if statement.strip()]
    if len(statements) != 1:
        raise QueryError("give exactly one SQL statement")
    return statements[0]


def run_query(lake: LocalLake, sql: str) -> pa.Table:
    """Run one Athena-dialect statement over the lake and return the result as Arrow."""
    translated = athena_to_duckdb(sql)
    connection = connect(lake)
    try:
        relation = connection.sql(translated)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as error:
        raise QueryError(str(error).splitlines()[0]) from None
    finally:
        connection.close()
