"""Tables of the lake as DuckDB views, defined the way the Glue catalog defines them for Athena.

A fresh in-memory DuckDB per command: it holds no lock on the lake, so ``cdp query`` works while
``cdp serve`` writes. Views re-read the files on every query, so new events are visible immediately. The
analyst views (``v_profiles``, ``v_rfm``, ``v_segment_sizes``) are the Athena named queries' own SQL
(:mod:`cdp.query.views`), transpiled by sqlglot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import duckdb
import pyarrow as pa
import sqlglot
import sqlglot.errors

from cdp.adapters.local_imports import LocalImportStore
from cdp.engine.duckdb_engine import duckdb_type
from cdp.imports.fields import IMPORT_ROWS_SCHEMA, QUARANTINE_IMPORT_COLUMNS
from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS, LocalLake
from cdp.lakefs import LakeFiles
from cdp.query import QueryError
from cdp.query.glue_tables import LEDGER_TABLES, SNAPSHOT_TABLES
from cdp.query.views import ANALYST_VIEWS
from cdp.tables import LakeTable, current, snapshot_files

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


class TableView(Protocol):
    @property
    def name(self) -> str: ...

    def view_sql(self, lake: LocalLake) -> str: ...


@dataclass(frozen=True, slots=True)
class FileListTable:
    """A table over an explicit list of files, chosen per query by ``files`` (e.g. from import manifests).

    Listing the files rather than globbing a prefix is how readers skip half-written data: an import's
    rows exist as a file before its manifest does, and only imports with a manifest are listed. On Athena
    the same rule is the Glue partition being added after the manifest is written.
    """

    name: str
    columns: Sequence[str]
    types: dict[str, str]
    file_format: Literal["parquet", "jsonl"]
    files: Callable[[LocalLake], list[Path]]

    def view_sql(self, lake: LocalLake) -> str:
        column_types = {column: self.types.get(column, "VARCHAR") for column in self.columns}
        files = self.files(lake)
        if not files:
            empty = ", ".join(f'CAST(NULL AS {kind}) AS "{column}"' for column, kind in column_types.items())
            return f"CREATE VIEW {self.name} AS SELECT {empty} WHERE false"
        listing = "[" + ", ".join(_literal(str(file)) for file in files) + "]"
        if self.file_format == "parquet":
            source = f"read_parquet({listing}, hive_partitioning=false, union_by_name=true)"
        else:
            struct = "{" + ", ".join(f"'{column}': '{kind}'" for column, kind in column_types.items()) + "}"
            source = f"read_json({listing}, format='newline_delimited', columns={struct})"
        projection = ", ".join(
            f'CAST("{column}" AS {kind}) AS "{column}"' for column, kind in column_types.items()
        )
        return f"CREATE VIEW {self.name} AS SELECT {projection} FROM {source}"  # noqa: S608


_ARROW_TO_DUCKDB: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def _committed_import_files(which: Literal["rows", "quarantine"]) -> Callable[[LocalLake], list[Path]]:
    """Files of completed imports (those with a manifest) that hold at least one row."""

    def files(lake: LocalLake) -> list[Path]:
        found = []
        for manifest in LocalImportStore(lake).manifests():
            count = manifest.rows_accepted if which == "rows" else manifest.rows_rejected
            path = lake.path(manifest.rows_key if which == "rows" else manifest.quarantine_key)
            if count and path.is_file():
                found.append(path)
        return found

    return files


@dataclass(frozen=True, slots=True)
class SnapshotTable:
    """A versioned table (SPEC 4): the snapshot its pointer names, so a run in progress is never seen."""

    table: LakeTable

    @property
    def name(self) -> str:
        return self.table.name

    def view_sql(self, lake: LocalLake) -> str:
        files = LakeFiles(lake.root)
        paths = snapshot_files(files, current(files, self.table))
        types = {field.name: duckdb_type(field.type) for field in self.table.schema}
        if not paths:
            empty = ", ".join(f'CAST(NULL AS {kind}) AS "{column}"' for column, kind in types.items())
            return f"CREATE VIEW {self.name} AS SELECT {empty} WHERE false"
        listing = "[" + ", ".join(_literal(path) for path in paths) + "]"
        projection = ", ".join(f'"{column}"' for column in types)
        # the snapshot folder ``run_id=<id>`` is not a partition: rows keep the run_id they were written with
        # (identity_history holds every run's events), as Athena reads them from the Glue table's location
        source = f"read_parquet({listing}, hive_partitioning=false)"
        return f"CREATE VIEW {self.name} AS SELECT {projection} FROM {source}"  # noqa: S608


@dataclass(frozen=True, slots=True)
class LedgerTable:
    """An append-only table (the ``deliveries`` ledger): every Parquet file under its prefix, as Athena reads
    the Glue table's location; a file appears whole (written atomically), so no pointer is needed."""

    table: LakeTable

    @property
    def name(self) -> str:
        return self.table.name

    def view_sql(self, lake: LocalLake) -> str:
        types = {field.name: duckdb_type(field.type) for field in self.table.schema}
        files = sorted(
            path for path in lake.path(self.table.prefix).rglob("*.parquet") if not path.name.startswith(".")
        )
        if not files:
            empty = ", ".join(f'CAST(NULL AS {kind}) AS "{column}"' for column, kind in types.items())
            return f"CREATE VIEW {self.name} AS SELECT {empty} WHERE false"
        listing = "[" + ", ".join(_literal(str(path)) for path in files) + "]"
        projection = ", ".join(f'"{column}"' for column in types)
        source = f"read_parquet({listing}, hive_partitioning=false, union_by_name=true)"
        return f"CREATE VIEW {self.name} AS SELECT {projection} FROM {source}"  # noqa: S608


TABLES: tuple[TableView, ...] = (
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
    FileListTable(
        name="import_rows",
        columns=IMPORT_ROWS_SCHEMA.names,
        types={field.name: _ARROW_TO_DUCKDB[field.type] for field in IMPORT_ROWS_SCHEMA},
        file_format="parquet",
        files=_committed_import_files("rows"),
    ),
    FileListTable(
        name="quarantine_imports",
        columns=QUARANTINE_IMPORT_COLUMNS,
        types={"row_number": "BIGINT"},
        file_format="jsonl",
        files=_committed_import_files("quarantine"),
    ),
    # every versioned table of the Glue catalog (clean, identity, profiles, segments), by its pointer
    *(SnapshotTable(table) for table in SNAPSHOT_TABLES if table not in LEDGER_TABLES),
    *(LedgerTable(table) for table in LEDGER_TABLES),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(lake: LocalLake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every lake table and analyst view (the Athena named queries, transpiled)."""
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        connection.execute(table.view_sql(lake))
    for view in ANALYST_VIEWS:
        connection.execute(athena_to_duckdb(view.sql))
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
