"""The engine port: the few operations a pipeline step needs, named relations in, Parquet out.

A step is SQL in the **authoring dialect** (DuckDB's) plus pure functions over Arrow record batches for what
SQL cannot say. Each adapter transpiles the SQL (sqlglot) and runs batch functions its own way (DuckDB:
in-process over record batches; Spark: ``mapInArrow`` on the executors). Relations are referred to by name
(views in DuckDB, temp views in Spark), so a step never holds an engine-specific object.

Authoring rules that keep both engines identical (the parity suite checks them):
- list columns explicitly around ``QUALIFY`` (sqlglot rewrites it to a subquery for Spark);
- order windows fully (ties broken by a unique key), so "first" means the same row on both engines;
- times are ``TIMESTAMPTZ`` in UTC; JSON is text read with ``json_extract_string``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pyarrow as pa

AUTHORING_DIALECT = "duckdb"

BatchFunction = Callable[[pa.RecordBatch], pa.RecordBatch]


class EngineError(RuntimeError):
    """A step's SQL or batch function failed on the engine; the message names the relation."""


class Engine(Protocol):
    name: str

    def register_parquet(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        """``name`` reads these Parquet files; with no files it is an empty relation of ``schema``."""
        ...

    def register_json_lines(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        """``name`` reads these JSON-lines files with the given (string/number) column types."""
        ...

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """``name`` is an in-memory Arrow table (small lookup data, test fixtures)."""
        ...

    def create_view(self, name: str, sql: str) -> None:
        """``name`` is the result of ``sql`` (authoring dialect) over relations registered before."""
        ...

    def map_batches(self, name: str, source: str, function: BatchFunction, schema: pa.Schema) -> None:
        """``name`` is ``function`` applied to every record batch of ``source``; output has ``schema``."""
        ...

    def write_parquet(self, source: str, directory: str) -> int:
        """Write ``source`` as Parquet files into the new ``directory``; return the row count."""
        ...

    def materialize(self, name: str) -> None:
        """Replace ``name`` by a stored copy of its rows, cutting its lineage (DuckDB: a temp table;
        Spark: a local checkpoint), so iterative steps do not grow the plan with every round."""
        ...

    def count_rows(self, source: str) -> int:
        """The number of rows of ``source``, computed on the engine (a loop's convergence test)."""
        ...

    def to_arrow(self, source: str) -> pa.Table:
        """Collect ``source`` (small results only: reports, tests)."""
        ...

    def close(self) -> None: ...
