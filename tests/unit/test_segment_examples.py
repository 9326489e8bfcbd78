"""Every example segment (one per SPEC 7 profiling template) loads, validates against the profile columns
and the traits the profiles step ships, and compiles for Athena, DuckDB and Spark."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlglot

from cdp.segments.catalog import lake_catalog
from cdp.segments.compiler import compile_segments
from cdp.segments.definition import read_segment_file, validate_segments

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "segments"


def test_every_example_validates_and_compiles() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    definitions = [read_segment_file(path) for path in files]
    assert [definition.id for definition in definitions] == [path.stem for path in files]
    segments = validate_segments(definitions, lake_catalog(None))
    assert set(segments.definitions) == {
        "bangkok_women_25_34",  # demographic + geographic
        "b2b_companies_50_plus",  # firmographic
        "high_value_customers",  # monetary
        "lapsed_high_value",  # RFM / recency, referencing high_value_customers
        "frequent_app_users",  # behavioural
        "beauty_enthusiasts",  # psychographic
        "footwear_repeat_buyers",  # transactional
    }
    compiled = compile_segments(segments, as_of=datetime(2026, 3, 31, 5, tzinfo=UTC))
    athena = compiled.athena_sql()
    assert sqlglot.transpile(athena, read="trino", write="duckdb")
    for _, sql in compiled.engine_views({}):
        assert sqlglot.transpile(sql, read="duckdb", write="spark")
