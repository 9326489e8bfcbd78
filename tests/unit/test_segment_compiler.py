"""Segments compile to one sqlglot tree: Athena (Trino) text and the authoring dialect (DuckDB) say the same
predicate for every operator, values are literals quoted by sqlglot, and a run reads each input once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp

from cdp.segments.catalog import AttributeCatalog
from cdp.segments.compiler import CompiledSegments, compile_segments
from cdp.segments.definition import SegmentSet, parse_segment, validate_segments

AS_OF = datetime(2026, 3, 31, 5, 0, tzinfo=UTC)
CATALOG = AttributeCatalog.with_traits(
    [
        ("age", "integer"),
        ("bangkok_metro", "boolean"),
        ("first_event_at", "timestamp"),
        ("nps_group", "string"),
    ]
)


def segments(*conditions: tuple[str, Any]) -> SegmentSet:
    definitions = [
        parse_segment(
            yaml.safe_dump({"id": segment_id, "name": segment_id, "condition": condition}),
            file=f"{segment_id}.yaml",
        )
        for segment_id, condition in conditions
    ]
    return validate_segments(definitions, CATALOG)


def compiled(condition: Any) -> CompiledSegments:
    return compile_segments(segments(("s", condition)), as_of=AS_OF)


def where(condition: Any, dialect: str) -> str:
    members = compiled(condition).members
    found = members.args["where"].this
    return str(found.sql(dialect=dialect))


@pytest.mark.parametrize(
    ("condition", "athena", "duckdb"),
    [
        ({"trait": "gender", "eq": "female"}, "COALESCE(w.gender = 'female', FALSE)", None),
        ({"trait": "gender", "ne": "male"}, "COALESCE(w.gender <> 'male', FALSE)", None),
        ({"trait": "total_spend", "gt": 1000}, "COALESCE(w.total_spend > 1000, FALSE)", None),
        ({"trait": "total_spend", "gte": 99.5}, "COALESCE(w.total_spend >= 99.5, FALSE)", None),
        ({"trait": "recency_days", "lt": 30}, "COALESCE(w.recency_days < 30, FALSE)", None),
        ({"trait": "recency_days", "lte": 30}, "COALESCE(w.recency_days <= 30, FALSE)", None),
        ({"trait": "age", "between": [25, 34]}, "COALESCE(w.trait_age BETWEEN 25 AND 34, FALSE)", None),
        (
            {"trait": "province", "in": ["TH-10", "TH-12"]},
            "COALESCE(w.province IN ('TH-10', 'TH-12'), FALSE)",
            None,
        ),
        ({"trait": "province", "not_in": ["TH-10"]}, "COALESCE(NOT w.province IN ('TH-10'), FALSE)", None),
        ({"trait": "company", "is_null": True}, "w.company IS NULL", None),
        ({"trait": "company", "not_null": True}, "NOT w.company IS NULL", None),
        (
            {"trait": "emails", "contains": "a@b.co"},
            "COALESCE(CONTAINS(w.emails, 'a@b.co'), FALSE)",
            "COALESCE(ARRAY_CONTAINS(w.emails, 'a@b.co'), FALSE)",
        ),
        (
            {"trait": "phones", "is_null": True},
            "(w.phones IS NULL OR CARDINALITY(w.phones) = 0)",
            "(w.phones IS NULL OR ARRAY_LENGTH(w.phones) = 0)",
        ),
        (
            {"trait": "sources", "not_null": True},
            "NOT (w.sources IS NULL OR CARDINALITY(w.sources) = 0)",
            "NOT (w.sources IS NULL OR ARRAY_LENGTH(w.sources) = 0)",
        ),
        # booleans of profile_traits are number_value 1 / 0
        ({"trait": "bangkok_metro", "eq": True}, "COALESCE(w.trait_bangkok_metro = 1, FALSE)", None),
        # a timestamp column compares as a time; a timestamp trait as its fixed-width ISO text
        (
            {"trait": "last_seen", "gte": "2026-01-01T07:00:00+07:00"},
            "COALESCE(w.last_seen >= CAST('2026-01-01 00:00:00.000000' AS TIMESTAMP WITH TIME ZONE), FALSE)",
            "COALESCE(w.last_seen >= CAST('2026-01-01 00:00:00.000000' AS TIMESTAMPTZ), FALSE)",
        ),
        (
            {"trait": "first_event_at", "lt": "2026-01-01"},
            "COALESCE(w.trait_first_event_at < '2026-01-01T00:00:00.000000Z', FALSE)",
            None,
        ),
        (
            {"all": [{"trait": "gender", "eq": "female"}, {"not": {"trait": "age", "gt": 40}}]},
            "(COALESCE(w.gender = 'female', FALSE) AND NOT (COALESCE(w.trait_age > 40, FALSE)))",
            None,
        ),
        (
            {"any": [{"performed": "Signed Up"}, {"purchased": {}, "at_most": 2}]},
            "(w.event_0 >= 1 OR w.purchase_0 <= 2)",
            None,
        ),
        ({"performed": "Signed Up", "exactly": 0}, "w.event_0 = 0", None),
    ],
)
def test_each_operator_compiles_to_the_same_predicate_in_both_dialects(
    condition: Any, athena: str, duckdb: str | None
) -> None:
    assert where(condition, "trino") == athena
    assert where(condition, "duckdb") == (duckdb or athena.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"))
    # the Athena text read back as Trino and written as DuckDB is the authoring text
    assert sqlglot.transpile(athena, read="trino", write="duckdb")[0] == where(condition, "duckdb")


def test_values_are_quoted_literals_never_sql() -> None:
    hostile = "x'); DROP TABLE profiles; --"
    text = compiled({"trait": "company", "eq": hostile}).athena_sql()
    statements = sqlglot.parse(text, read="trino")
    assert len(statements) == 1
    literals = [node.this for node in statements[0].find_all(exp.Literal) if node.is_string]
    assert hostile in literals
    assert "DROP TABLE profiles; --'" in text.replace("''", "'")  # inside the literal, its quote doubled


def test_event_conditions_count_in_one_pass_over_events() -> None:
    condition = {
        "all": [
            {
                "performed": "Product Viewed",
                "where": [{"property": "category", "eq": "shoes"}, {"property": "price", "gte": 1000}],
                "at_least": 3,
                "within_days": 30,
            },
            {"performed": "*", "channel": "app", "event_type": "screen", "at_least": 8, "within_days": 7},
        ]
    }
    relations = dict(compiled(condition).relations)
    events = relations["segment_events"].sql(dialect="trino")
    assert events == (
        "SELECT l.profile_id, "
        "SUM(CASE WHEN COALESCE(e.event, e.name) = 'Product Viewed' "
        "AND JSON_EXTRACT_SCALAR(e.properties, '$.category') = 'shoes' "
        "AND TRY_CAST(JSON_EXTRACT_SCALAR(e.properties, '$.price') AS DOUBLE) >= 1000 "
        "AND e.event_time >= CAST('2026-03-01 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "THEN 1 ELSE 0 END) AS event_0, "
        "SUM(CASE WHEN e.type = 'screen' AND e.channel = 'app' "
        "AND e.event_time >= CAST('2026-03-24 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "THEN 1 ELSE 0 END) AS event_1 "
        "FROM events AS e JOIN identity_links AS l ON l.record_id = e.identity_record_id "
        "WHERE e.event_time <= CAST('2026-03-31 05:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "AND e.event_time >= CAST('2026-03-01 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "AND ((COALESCE(e.event, e.name) = 'Product Viewed' "
        "AND JSON_EXTRACT_SCALAR(e.properties, '$.category') = 'shoes' "
        "AND TRY_CAST(JSON_EXTRACT_SCALAR(e.properties, '$.price') AS DOUBLE) >= 1000 "
        "AND e.event_time >= CAST('2026-03-01 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE)) "
        "OR (e.type = 'screen' AND e.channel = 'app' "
        "AND e.event_time >= CAST('2026-03-24 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE))) "
        "GROUP BY l.profile_id"
    )


def test_purchases_count_distinct_orders() -> None:
    condition = {"purchased": {"category": "shoes"}, "at_least": 2, "within_days": 90}
    relations = dict(compiled(condition).relations)
    assert relations["segment_purchases"].sql(dialect="trino") == (
        "SELECT l.profile_id, COUNT(DISTINCT CASE WHEN o.category = 'shoes' "
        "AND o.order_time >= CAST('2025-12-31 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "THEN o.order_id END) AS purchase_0 "
        "FROM orders AS o JOIN identity_links AS l ON l.record_id = o.identity_record_id "
        "WHERE o.order_time <= CAST('2026-03-31 05:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "AND o.order_time >= CAST('2025-12-31 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE) "
        "AND (o.category = 'shoes' "
        "AND o.order_time >= CAST('2025-12-31 17:00:00.000000' AS TIMESTAMP WITH TIME ZONE)) "
        "GROUP BY l.profile_id"
    )


def test_a_run_reads_each_input_once_whatever_the_number_of_segments() -> None:
    ordered = {"performed": "Order Completed", "within_days": 30}
    run = compile_segments(
        segments(
            ("a", {"all": [{"trait": "age", "gte": 25}, ordered]}),
            ("b", {"any": [{"trait": "age", "lt": 25}, {"trait": "nps_group", "eq": "promoter"}, ordered]}),
            ("c", {"all": [{"in_segment": "a"}, {"performed": "Product Viewed"}, {"purchased": {}}]}),
        ),
        as_of=AS_OF,
    )
    text = run.athena_sql(pretty=False)
    tree = sqlglot.parse_one(text, read="trino")
    scanned = [table.name for table in tree.find_all(exp.Table)]
    for table in ("profiles", "profile_traits", "events", "orders"):
        assert scanned.count(table) == 1, table
    assert scanned.count("identity_links") == 2  # joined once to events, once to orders
    assert scanned.count("segment_wide") == 1  # all segments in one pass over the wide relation
    assert run.segment_ids == ("a", "b", "c")
    # the same event condition in two segments is one count
    events = dict(run.relations)["segment_events"]
    assert [column.alias for column in events.selects[1:]] == ["event_0", "event_1"]
    assert run.inputs == ("profiles", "profile_traits", "events", "orders", "identity_links")


def test_a_reference_is_the_referenced_condition_inlined() -> None:
    run = compile_segments(
        segments(
            ("adults", {"trait": "age", "gte": 18}),
            ("not_adults", {"not": {"in_segment": "adults"}}),
        ),
        as_of=AS_OF,
        targets=["not_adults"],
    )
    assert run.segment_ids == ("not_adults",)
    assert run.members.sql(dialect="trino") == (
        "SELECT 'not_adults' AS segment_id, w.profile_id FROM segment_wide AS w "
        "WHERE NOT ((COALESCE(w.trait_age >= 18, FALSE)))"
    )


def test_engine_views_rename_the_inputs_and_end_with_the_members() -> None:
    run = compiled({"all": [{"trait": "age", "gte": 18}, {"performed": "Signed Up"}]})
    views = run.engine_views({"profiles": "in_profiles", "events": "in_events"})
    assert [name for name, _ in views] == [
        "segment_traits",
        "segment_events",
        "segment_wide",
        "segment_members",
    ]
    sql = dict(views)
    assert "FROM in_events AS e" in sql["segment_events"]
    assert "FROM in_profiles AS p" in sql["segment_wide"]
    assert "profile_traits AS pt" in sql["segment_traits"]  # not renamed: not in the mapping
