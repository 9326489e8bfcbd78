"""The embedded default engine: DuckDB in-process, one connection per pipeline run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from cdp.engine.port import BatchFunction, EngineError

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def duckdb_type(data_type: pa.DataType) -> str:
    if pa.types.is_list(data_type):
        return f"{duckdb_type(data_type.value_type)}[]"
    try:
        return _DUCKDB_TYPES[data_type]
    except KeyError:
        raise EngineError(f"no DuckDB type for Arrow {data_type}") from None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(paths: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(path) for path in paths) + "]"


def _empty_select(schema: pa.Schema) -> str:
    columns = ", ".join(f"CAST(NULL AS {duckdb_type(f.type)}) AS {_quote(f.name)}" for f in schema)
    return f"SELECT {columns} WHERE false"


class DuckDbEngine:
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self._connection = duckdb.connect(":memory:")
        self._connection.execute("SET TimeZone = 'UTC'")
        if threads:
            self._connection.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self._connection.execute(f"SET memory_limit = {_literal(memory_limit)}")
        self._arrow: dict[str, pa.Table] = {}

    def register_parquet(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        if not paths:
            self._view(name, _empty_select(schema))
            return
        columns = ", ".join(
            f"CAST({_quote(f.name)} AS {duckdb_type(f.type)}) AS {_quote(f.name)}" for f in schema
        )
        # hive_partitioning off: a snapshot folder ``run_id=<id>`` must not overwrite the rows' own run_id
        # (identity_history keeps each merge's run)
        source = f"read_parquet({_file_list(paths)}, union_by_name = true, hive_partitioning = false)"
        self._view(name, f"SELECT {columns} FROM {source}")

    def register_json_lines(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        if not paths:
            self._view(name, _empty_select(schema))
            return
        struct = "{" + ", ".join(f"{_literal(f.name)}: {_literal(duckdb_type(f.type))}" for f in schema) + "}"
        self._view(
            name,
            f"SELECT * FROM read_json({_file_list(paths)}, format = 'newline_delimited', columns = {struct})",
        )

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self._arrow[name] = table
        self._connection.register(name, table)

    def create_view(self, name: str, sql: str) -> None:
        self._view(name, sql)

    def map_batches(self, name: str, source: str, function: BatchFunction, schema: pa.Schema) -> None:
        try:
            reader = self._connection.sql(f"SELECT * FROM {_quote(source)}").to_arrow_reader(
                batch_size=65_536
            )
            batches = [function(batch) for batch in reader]
        except duckdb.Error as error:
            raise EngineError(f"{name}: {error}") from error
        table = pa.Table.from_batches([b for b in batches if b.num_rows], schema=schema)
        self.register_arrow(name, table)

    def write_parquet(self, source: str, directory: str) -> int:
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=False)
        file = target / "part-00000.parquet"
        try:
            count = self._connection.execute(
                f"COPY (SELECT * FROM {_quote(source)}) TO {_literal(str(file))} "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            ).fetchone()
        except duckdb.Error as error:
            raise EngineError(f"writing {source}: {error}") from error
        return int(count[0]) if count else 0

    def materialize(self, name: str) -> None:
        stored = _quote(f"{name}__stored")
        try:
            self._connection.execute(f"CREATE OR REPLACE TEMP TABLE {stored} AS SELECT * FROM {_quote(name)}")
        except duckdb.Error as error:
            raise EngineError(f"{name}: {str(error).splitlines()[0]}") from error
        self._view(name, f"SELECT * FROM {stored}")

    def count_rows(self, source: str) -> int:
        try:
            rows = self._connection.execute(f"SELECT count(*) FROM {_quote(source)}").fetchall()
        except duckdb.Error as error:
            raise EngineError(f"{source}: {str(error).splitlines()[0]}") from error
        return int(rows[0][0])

    def to_arrow(self, source: str) -> pa.Table:
        try:
            return self._connection.sql(f"SELECT * FROM {_quote(source)}").to_arrow_table()
        except duckdb.Error as error:
            raise EngineError(f"{source}: {error}") from error

    def close(self) -> None:
        self._connection.close()

    def _view(self, name: str, sql: str) -> None:
        try:
            self._connection.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {sql}")
        except duckdb.Error as error:
            raise EngineError(f"{name}: {str(error).splitlines()[0]}") from error
