"""The scale-out engine: Spark (AWS Glue 5.1 = Spark 3.5), and local ``pyspark`` in the parity suite.

pyspark is imported only here, only when a Spark engine is built: the embedded default never loads it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot

from cdp.engine.port import AUTHORING_DIALECT, BatchFunction, EngineError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def local_spark_session(*, app_name: str = "cdp-local", partitions: int = 2) -> SparkSession:
    """A ``local[2]`` session configured like the Glue jobs (UTC, Arrow, micros timestamps)."""
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (the venv with cdp installed), not whatever python3 is on
    # PATH; pyspark 3.5 reads the variable when the context starts.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(f"local[{partitions}]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def configure_session(spark: SparkSession) -> None:
    """Settings every step relies on, applied to an existing (e.g. Glue-made) session."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")


def _delete_tree(uri: str) -> None:
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri if "://" in uri else f"file://{os.path.abspath(uri)}")
    with contextlib.suppress(FileNotFoundError):
        filesystem.delete_dir(path)


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


class SparkEngine:
    """Steps on Spark. ``scratch`` (a local directory or ``s3://…`` prefix, private to this engine) holds the
    Parquet copies :meth:`materialize` makes; without one a temporary local directory is used. ``close``
    deletes it."""

    name = "spark"

    def __init__(self, spark: SparkSession, *, scratch: str | None = None) -> None:
        configure_session(spark)
        self._spark = spark
        self._views: list[str] = []
        self._own_scratch = scratch is None
        self._scratch = (scratch or tempfile.mkdtemp(prefix="cdp-spark-")).rstrip("/")
        self._materialized = 0

    @property
    def spark_session(self) -> SparkSession:
        """For libraries with their own Spark backend (Splink), never for step logic."""
        return self._spark

    def register_parquet(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

        if not paths:
            frame = self._spark.createDataFrame([], _spark_schema(schema))
        else:
            read = self._spark.read.option("mergeSchema", "true").parquet(*paths)
            spark_schema = _spark_schema(schema)
            frame = read.select(
                *[
                    (F.col(f.name) if f.name in read.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                    for f in spark_schema.fields
                ]
            )
        self._register(name, frame)

    def register_json_lines(self, name: str, paths: Sequence[str], schema: pa.Schema) -> None:
        spark_schema = _spark_schema(schema)
        if not paths:
            frame = self._spark.createDataFrame([], spark_schema)
        else:
            frame = self._spark.read.schema(spark_schema).option("mode", "PERMISSIVE").json(list(paths))
        self._register(name, frame)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        frame = self._spark.createDataFrame(table.to_pandas(), schema=_spark_schema(table.schema))
        self._register(name, frame)

    def create_view(self, name: str, sql: str) -> None:
        try:
            [translated] = sqlglot.transpile(sql, read=AUTHORING_DIALECT, write="spark")
            frame = self._spark.sql(translated)
        except Exception as error:
            raise EngineError(f"{name}: {str(error).splitlines()[0]}") from error
        self._register(name, frame)

    def map_batches(self, name: str, source: str, function: BatchFunction, schema: pa.Schema) -> None:
        def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield function(batch)

        frame = self._spark.table(source).mapInArrow(apply, _spark_schema(schema))
        self._register(name, frame)

    def write_parquet(self, source: str, directory: str) -> int:
        try:
            self._spark.table(source).write.mode("errorifexists").option("compression", "zstd").parquet(
                directory
            )
            return int(self._spark.read.parquet(directory).count())
        except Exception as error:
            raise EngineError(f"writing {source}: {str(error).splitlines()[0]}") from error

    def materialize(self, name: str) -> None:
        # Written as Parquet and read back, not ``localCheckpoint``: a checkpoint keeps the size estimate of
        # the plan it replaces, and Spark 3.5 multiplies those estimates at every join, so after a few dozen
        # materializations planning one small query spends seconds in BigInt arithmetic. Files carry their
        # real size, which also lets small relations be broadcast.
        self._materialized += 1
        directory = f"{self._scratch}/{self._materialized:05d}-{name}"
        try:
            self._spark.table(name).write.mode("overwrite").parquet(directory)
            frame = self._spark.read.parquet(directory)
        except Exception as error:
            raise EngineError(f"{name}: {str(error).splitlines()[0]}") from error
        self._register(name, frame)

    def count_rows(self, source: str) -> int:
        return int(self._spark.table(source).count())

    def to_arrow(self, source: str) -> pa.Table:
        frame = self._spark.table(source)
        return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)

    def close(self) -> None:
        for view in self._views:
            self._spark.catalog.dropTempView(view)
        self._views.clear()
        if self._materialized or self._own_scratch:
            _delete_tree(self._scratch)
            self._materialized = 0

    def _register(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)
