"""Integration fixtures: one local Spark session for the whole run (STYLE 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from cdp.engine.spark_engine import local_spark_session

    session = local_spark_session(app_name="cdp-parity", partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
