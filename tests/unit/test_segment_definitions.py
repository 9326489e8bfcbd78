"""Segment definitions (SPEC 7) are validated before anything runs: each mistake is one line naming the file,
the node (its path from the condition) and the problem."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from cdp.segments.catalog import AttributeCatalog, AttributeSource, ValueType
from cdp.segments.definition import (
    AllOf,
    Comparison,
    CountOperator,
    EventCondition,
    Not,
    Operator,
    PurchaseCondition,
    SegmentDefinition,
    TraitCondition,
    parse_segment,
    validate_segments,
)
from cdp.segments.errors import SegmentDefinitionError

FILE = "segments/lapsed.yaml"
#: the traits the profiles step declares (a few of its templates') beside the profiles columns
CATALOG = AttributeCatalog.with_traits(
    [
        ("age", "integer"),
        ("bangkok_metro", "boolean"),
        ("first_event_at", "timestamp"),
        ("nps_group", "string"),
        ("spend_90d", "number"),
    ]
)
ALL_OPERATORS = "eq, ne, gt, gte, lt, lte, between, in, not_in, is_null, not_null, contains"
KINDS = "all, any, not, trait, performed, purchased, in_segment"


def document(condition: Any, segment_id: str = "lapsed", **fields: Any) -> str:
    return yaml.safe_dump(
        {"id": segment_id, "name": "Lapsed", **fields, "condition": condition}, sort_keys=False
    )


def parsed(condition: Any, segment_id: str = "lapsed", file: str = FILE) -> SegmentDefinition:
    return parse_segment(document(condition, segment_id), file=file)


def problem(condition: Any) -> str:
    """The one-line error of a definition, whether structure (parse) or meaning (validate) refuses it."""
    with pytest.raises(SegmentDefinitionError) as raised:
        validate_segments([parsed(condition)], CATALOG)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_the_brief_example_names_the_file_and_the_node() -> None:
    condition = {
        "all": [
            {"trait": "recency_days", "gt": 120},
            {"any": [{"trait": "rmf_score", "in": ["111", "112"]}, {"trait": "spend_90d", "gt": 5000}]},
        ]
    }
    assert (
        problem(condition) == f"{FILE}: all[1].any[0]: unknown trait 'rmf_score' (did you mean 'rfm_score'?)"
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        pytest.param(
            {"trait": "zodiac", "eq": "leo"}, "condition: unknown trait 'zodiac'", id="unknown-trait"
        ),
        pytest.param(
            {"not": {"trait": "age", "greater": 30}},
            f"not: unknown operator 'greater' for trait 'age' (operators: {ALL_OPERATORS})",
            id="unknown-operator",
        ),
        pytest.param(
            {"trait": "age"},
            f"condition: trait 'age' needs an operator (one of {ALL_OPERATORS})",
            id="no-operator",
        ),
        pytest.param(
            {"trait": "age", "gte": 25, "lt": 35},
            "condition: one operator per condition, got gte and lt (use between, or all: [...])",
            id="two-operators",
        ),
        pytest.param(
            {"trait": "bangkok_metro", "gt": 0},
            "condition: trait 'bangkok_metro' is boolean: gt does not apply "
            "(operators: eq, ne, is_null, not_null)",
            id="operator-for-type",
        ),
        pytest.param(
            {"trait": "gender", "contains": "f"},
            "condition: trait 'gender' is string: contains does not apply "
            "(operators: eq, ne, gt, gte, lt, lte, between, in, not_in, is_null, not_null)",
            id="contains-needs-a-list",
        ),
        pytest.param(
            {"trait": "emails", "eq": "a@b.co"},
            "condition: trait 'emails' is list: eq does not apply (operators: contains, is_null, not_null)",
            id="list-operators",
        ),
        pytest.param(
            {"trait": "total_spend", "gt": "lots"},
            "condition: trait 'total_spend' is number: gt needs a number, got 'lots'",
            id="number-value",
        ),
        pytest.param(
            {"trait": "bangkok_metro", "eq": "yes"},
            "condition: trait 'bangkok_metro' is boolean: eq needs true or false, got 'yes'",
            id="boolean-value",
        ),
        pytest.param(
            {"trait": "age", "eq": True},
            "condition: trait 'age' is integer: eq needs a number, got true",
            id="a-boolean-is-not-a-number",
        ),
        pytest.param(
            {"trait": "rfm_score", "eq": 555},
            "condition: trait 'rfm_score' is string: eq needs text, got 555",
            id="string-value",
        ),
        pytest.param(
            {"trait": "age", "in": [30, "x"]},
            "condition: trait 'age' is integer: in needs a list of numbers, got 'x'",
            id="in-values",
        ),
        pytest.param(
            {"trait": "last_seen", "gt": "yesterday"},
            "condition: trait 'last_seen' is timestamp: gt needs an ISO-8601 time, got 'yesterday'",
            id="timestamp-value",
        ),
        pytest.param(
            {"trait": "age", "between": [34, 25]},
            "condition: trait 'age' is integer: between needs low ≤ high, got [34, 25]",
            id="between-order",
        ),
        pytest.param(
            {"trait": "age", "between": 25},
            "condition: between takes [low, high] for trait 'age', got 25",
            id="between-shape",
        ),
        pytest.param(
            {"trait": "age", "in": []},
            "condition: in takes a non-empty list for trait 'age', got []",
            id="empty-in",
        ),
        pytest.param(
            {"trait": "gender", "eq": None},
            "condition: eq needs a value for trait 'gender'; use is_null: true for none",
            id="eq-null",
        ),
        pytest.param(
            {"trait": "gender", "is_null": False},
            "condition: is_null takes true, got false",
            id="is-null-false",
        ),
        pytest.param({"all": [{"in_segment": "vip"}]}, "all[0]: unknown segment 'vip'", id="missing-segment"),
        pytest.param(
            {"trait": "age", "eq": 30, "performed": "Order Completed"},
            "condition: one condition per node, got trait and performed (combine them with all: or any:)",
            id="two-kinds",
        ),
        pytest.param(
            {"colour": "red"},
            f"condition: unknown condition ('colour'): a condition has one of {KINDS}",
            id="no-kind",
        ),
        pytest.param(
            {"any": [{"trait": "age", "eq": 3}, "vip"]},
            f"any[1]: a condition is a mapping with one of {KINDS}, got 'vip'",
            id="not-a-mapping",
        ),
        pytest.param({"all": []}, "condition: all takes a non-empty list of conditions", id="empty-all"),
        pytest.param(
            {"all": [{"trait": "age", "eq": 3}], "name": "x"},
            "condition: unknown key 'name' beside all",
            id="beside",
        ),
        pytest.param(
            {"not": [{"trait": "age", "eq": 3}]},
            "condition: not takes one condition (a mapping); wrap several in all: or any:",
            id="not-list",
        ),
        pytest.param(
            {"performed": "Order Completed", "at_least": 2, "at_most": 5},
            "condition: at_least and at_most exclude each other",
            id="two-counts",
        ),
        pytest.param(
            {"performed": "Order Completed", "within_days": 0},
            "condition: within_days: must be greater than or equal to 1",
            id="window",
        ),
        pytest.param(
            {"performed": "Order Completed", "at_least": "2"},
            "condition: at_least: must be a valid integer",
            id="count-type",
        ),
        pytest.param(
            {"performed": "Order Completed", "times": 2}, "condition: unknown key 'times'", id="event-key"
        ),
        pytest.param(
            {"performed": "Signed Up", "event_type": "click"},
            "condition: event_type: must be 'track', 'page', 'screen', 'identify', 'group' or 'alias'",
            id="event-type",
        ),
        pytest.param(
            {
                "all": [
                    {"performed": "Product Viewed", "where": [{"property": "category", "contains": "sho"}]}
                ]
            },
            "all[0].where[0]: contains does not apply to property 'category' "
            "(operators: eq, ne, gt, gte, lt, lte, between, in, not_in, is_null, not_null)",
            id="where-operator",
        ),
        pytest.param(
            {"performed": "Product Viewed", "where": {"property": "size", "in": [1, "m"]}},
            "where[0]: in mixes numbers and text for property 'size': [1, 'm']",
            id="where-mixed",
        ),
        pytest.param(
            {"performed": "Product Viewed", "where": {"property": "price; drop", "gt": 1}},
            "where[0]: property must be a JSON property name (dotted for nested), got 'price; drop'",
            id="where-property-name",
        ),
        pytest.param(
            {"performed": "Product Viewed", "where": {"property": "in_stock", "gt": True}},
            "where[0]: gt does not apply to true/false for property 'in_stock'",
            id="where-boolean-order",
        ),
        pytest.param(
            {"purchased": {"colour": "red"}},
            "condition: purchased: unknown order-line column 'colour' "
            "(columns: category, product_id, product_name, channel, source_id, currency)",
            id="purchase-column",
        ),
        pytest.param(
            {"purchased": ["shoes"]},
            "condition: purchased takes a mapping of order-line columns to a value or a list of values "
            "(category, product_id, product_name, channel, source_id, currency), or {} for any order",
            id="purchase-shape",
        ),
        pytest.param(
            {"in_segment": "VIP!"}, "condition: in_segment takes a segment id, got 'VIP!'", id="reference-id"
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_node(condition: Any, message: str) -> None:
    assert problem(condition) == f"{FILE}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("id: lapsed\ncondition: {trait: age, eq: 1}\n", "name: is required", id="missing-name"),
        pytest.param("id: lapsed\nname: L\n", "condition: is required", id="missing-condition"),
        pytest.param(
            "id: Lapsed!\nname: L\ncondition: {trait: age, eq: 1}\n",
            "id: must be 1-64 of a-z, 0-9, '_' and '-', starting with a-z or 0-9, got 'Lapsed!'",
            id="id",
        ),
        pytest.param(
            "id: lapsed\nname: L\ndestinations: [ses, ses]\ncondition: {trait: age, eq: 1}\n",
            "destinations: a destination is listed twice",
            id="destinations",
        ),
        pytest.param(
            "id: lapsed\nname: L\ncolour: red\ncondition: {trait: age, eq: 1}\n",
            "unknown key 'colour'",
            id="key",
        ),
        pytest.param(
            "id: lapsed\nname: [L\n",
            "not YAML (line 3: expected ',' or ']', but got '<stream end>')",
            id="yaml",
        ),
        pytest.param("- id: lapsed\n", "a segment definition must be a YAML mapping", id="not-a-mapping"),
    ],
)
def test_document_mistakes_name_the_field(text: str, message: str) -> None:
    with pytest.raises(SegmentDefinitionError) as raised:
        parse_segment(text, file=FILE)
    assert str(raised.value) == f"{FILE}: {message}"


def test_cycles_are_refused_with_the_cycle_spelt_out() -> None:
    a = parsed({"all": [{"trait": "age", "gt": 20}, {"in_segment": "b"}]}, "a", "segments/a.yaml")
    b = parsed({"any": [{"in_segment": "c"}]}, "b", "segments/b.yaml")
    c = parsed({"not": {"in_segment": "a"}}, "c", "segments/c.yaml")
    with pytest.raises(SegmentDefinitionError) as raised:
        validate_segments([a, b, c], CATALOG)
    assert str(raised.value) == "segments/c.yaml: not: in_segment cycle: a → b → c → a"
    itself = parsed({"in_segment": "a"}, "a", "segments/a.yaml")
    with pytest.raises(
        SegmentDefinitionError, match=r"^segments/a.yaml: condition: in_segment cycle: a → a$"
    ):
        validate_segments([itself], CATALOG)


def test_an_id_is_defined_once() -> None:
    first = parsed({"trait": "age", "gt": 1}, "vip", "segments/vip.yaml")
    second = parsed({"trait": "age", "gt": 2}, "vip", "segments/vip-copy.yaml")
    with pytest.raises(SegmentDefinitionError) as raised:
        validate_segments([first, second], CATALOG)
    assert str(raised.value) == "segments/vip-copy.yaml: id 'vip' is also the id of segments/vip.yaml"


def test_a_valid_definition_becomes_a_typed_tree() -> None:
    text = """
id: lapsed_high_value
name: Lapsed high-value customers
destinations: [ses_winback]
condition:
  all:
    - trait: m_score
      gte: 4
    - trait: last_seen
      between: [2025-01-01, "2026-01-01T07:00:00+07:00"]
    - not:
        performed: Order Completed
        within_days: 30
    - purchased: {category: [shoes, bags], channel: web}
      exactly: 2
"""
    segments = validate_segments([parse_segment(text, file=FILE)], CATALOG)
    definition = segments.definitions["lapsed_high_value"]
    assert definition.destinations == ("ses_winback",)
    assert isinstance(definition.condition, AllOf)
    m_score, last_seen, lapsed, purchases = definition.condition.conditions
    assert m_score == TraitCondition("m_score", Comparison(Operator.gte, 4), "all[0]")
    # YAML dates and ISO times with an offset both become UTC instants
    assert isinstance(last_seen, TraitCondition)
    assert last_seen.comparison.value == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(lapsed, Not)
    assert lapsed.condition == EventCondition(
        performed="Order Completed",
        event_type=None,
        channel=None,
        where=(),
        count=CountOperator.at_least,
        times=1,
        within_days=30,
        path="all[2].not",
    )
    assert purchases == PurchaseCondition(
        filters=(("category", ("shoes", "bags")), ("channel", ("web",))),
        count=CountOperator.exactly,
        times=2,
        within_days=None,
        path="all[3]",
    )


def test_a_profiles_column_wins_over_a_trait_of_the_same_name() -> None:
    catalog = AttributeCatalog.with_traits([("gender", "string"), ("age", "integer")])
    gender, age = catalog.get("gender"), catalog.get("age")
    assert gender is not None
    assert gender.source is AttributeSource.column
    assert age is not None
    assert (age.source, age.value_type) == (AttributeSource.trait, ValueType.integer)
    assert catalog.get("run_id") is None  # bookkeeping, not a property of the person
