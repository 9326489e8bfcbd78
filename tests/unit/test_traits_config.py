"""Trait files (SPEC 7) are validated at load: each mistake is one line naming the file, the trait and the
problem; the shipped templates load and compile."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdp.profiles.errors import TraitConfigError
from cdp.profiles.traits import (
    RELATIONS,
    DataType,
    Relation,
    compile_traits,
    merge_traits,
    parse_trait_file,
    template_files,
)

FILE = "profiles/config/traits/shop.yaml"
COLUMNS = (
    "profile_id, order_id, order_time, order_date, order_value, line_count, item_count, channel, source_id, "
    "currency"
)
AGGREGATES = "arg_max, arg_min, avg, bool_and, bool_or, count, count_if, max, median, min, mode, sum"


def trait(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "aov",
        "description": "Average order value",
        "relation": "orders",
        "expression": "avg(order_value)",
        "type": "number",
        "data_type": "behavioural",
    }
    base.update(changes)
    return base


def document(*traits: dict[str, Any]) -> str:
    return yaml.safe_dump({"traits": list(traits)}, sort_keys=False)


def problem(text: str, file: str = FILE) -> str:
    with pytest.raises(TraitConfigError) as raised:
        parse_trait_file(text, file=file)
    return str(raised.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"expression": "first(channel)"},
            f"{FILE}: trait aov: expression: aggregate first is not supported (use one of: {AGGREGATES})",
            id="bad-aggregate",
        ),
        pytest.param(
            {"expression": "order_value * 2"},
            f"{FILE}: trait aov: expression: needs exactly one aggregate function (e.g. count, sum, max), "
            "found none",
            id="no-aggregate",
        ),
        pytest.param(
            {"expression": "sum(ordr_value)"},
            f"{FILE}: trait aov: expression: unknown column ordr_value (the orders relation has: {COLUMNS})",
            id="unknown-column",
        ),
        pytest.param(
            {"expression": "sum(order_value)", "where": "chanel = 'web'"},
            f"{FILE}: trait aov: where: unknown column chanel (the orders relation has: {COLUMNS})",
            id="unknown-column-in-where",
        ),
        pytest.param(
            {"expression": "sum(order_value) / count(*)"},
            f"{FILE}: trait aov: expression: needs exactly one aggregate function, found 2 (sum, count)",
            id="two-aggregates",
        ),
        pytest.param(
            {"expression": "DROP TABLE orders"},
            f"{FILE}: trait aov: expression: must be an SQL expression, not a DROP statement",
            id="ddl",
        ),
        pytest.param(
            {"expression": "sum(order_value); DROP TABLE orders"},
            f"{FILE}: trait aov: expression: one expression only, without ';'",
            id="semicolon",
        ),
        pytest.param(
            {"expression": "max((SELECT max(order_value) FROM orders))"},
            f"{FILE}: trait aov: expression: subqueries are not allowed",
            id="subquery",
        ),
        pytest.param(
            {"expression": "sum(order_value) OVER ()"},
            f"{FILE}: trait aov: expression: window functions (OVER) are not allowed",
            id="window-function",
        ),
        pytest.param(
            {"expression": "sum(order_value) + line_count"},
            f"{FILE}: trait aov: expression: column line_count is outside the aggregate",
            id="bare-column",
        ),
        pytest.param(
            {"expression": "upper(mode(channel))", "type": "string"},
            f"{FILE}: trait aov: expression: mode must be the whole expression",
            id="wrapped-pick",
        ),
        pytest.param(
            {"where": "order_time > now()"},
            f"{FILE}: trait aov: where: NOW() is not allowed (use window: <n>d)",
            id="current-time",
        ),
        pytest.param(
            {"where": "count(*) > 1"},
            f"{FILE}: trait aov: where: aggregates are not allowed here (it filters rows)",
            id="aggregate-in-where",
        ),
        pytest.param(
            {"window": "3 months"},
            f"{FILE}: trait aov: window: must be 'all' or a number of days up to 3660 like '90d', "
            "got '3 months'",
            id="bad-window",
        ),
        pytest.param(
            {"window": "0d"},
            f"{FILE}: trait aov: window: must be 'all' or a number of days up to 3660 like '90d', got '0d'",
            id="zero-window",
        ),
        pytest.param(
            {"name": "Average-Order"},
            f"{FILE}: trait Average-Order: name: must be snake_case (a-z, 0-9 and _, starting with a letter, "
            "at most 63)",
            id="bad-name",
        ),
        pytest.param(
            {"relation": "shipments"},
            f"{FILE}: trait aov: relation: must be one of 'records', 'events', 'orders', 'order_lines' or "
            "'profiles'",
            id="unknown-relation",
        ),
        pytest.param(
            {"type": "float"},
            f"{FILE}: trait aov: type: must be one of 'string', 'number', 'integer', 'boolean' or "
            "'timestamp'",
            id="bad-type",
        ),
        pytest.param(
            {"windw": "90d"},
            f"{FILE}: trait aov: windw: unknown key",
            id="unknown-key",
        ),
        pytest.param(
            {"expression": "sum(foo(order_value))"},
            f"{FILE}: trait aov: expression: unknown function foo (sqlglot cannot translate it for Spark)",
            id="unknown-function",
        ),
    ],
)
def test_a_bad_trait_is_one_line_naming_file_trait_and_problem(changes: dict[str, Any], message: str) -> None:
    assert problem(document(trait(**changes))) == message


def test_a_trait_without_a_name_is_named_by_its_position() -> None:
    missing = trait()
    del missing["name"]
    assert problem(document(trait(name="ok"), missing)) == f"{FILE}: trait #2: name: is required"


def test_duplicate_names_in_one_file() -> None:
    assert problem(document(trait(), trait())) == f"{FILE}: trait aov: duplicate name"


def test_duplicate_names_across_the_lakes_files() -> None:
    one = ("profiles/config/traits/a.yaml", document(trait()))
    two = ("profiles/config/traits/b.yaml", document(trait()))
    with pytest.raises(TraitConfigError) as raised:
        merge_traits([], [one, two])
    assert str(raised.value) == (
        "profiles/config/traits/b.yaml: trait aov: duplicate name (also in profiles/config/traits/a.yaml)"
    )


def test_file_level_mistakes() -> None:
    assert problem("traits: []\n") == f"{FILE}: traits: must list at least one trait"
    assert (
        problem("traits: [\n")
        == f"{FILE}: not YAML (line 2: expected the node content, but found '<stream end>')"
    )
    assert problem("trait: []\n") == f"{FILE}: traits: is required"
    assert problem(document(trait()) + "owner: me\n") == f"{FILE}: owner: unknown key"
    assert problem(document(trait()), file="traits/My Traits.yaml") == (
        "traits/My Traits.yaml: the file name must be a trait set name (a-z, 0-9, '-', '_')"
    )


def test_the_lake_replaces_a_template_trait_and_can_switch_one_off() -> None:
    templates = [("templates/shop.yaml", document(trait(), trait(name="ltv", expression="sum(order_value)")))]
    lake = [
        (
            "profiles/config/traits/mine.yaml",
            document(
                trait(where="channel <> 'pos'"),
                trait(name="ltv", expression="sum(order_value)", enabled=False),
            ),
        )
    ]
    [merged] = merge_traits(templates, lake)
    assert (merged.trait_set, merged.name, merged.definition.where) == ("mine", "aov", "channel <> 'pos'")


def test_the_shipped_templates_load_and_compile_one_grouped_query_per_relation() -> None:
    names = [name for name, _ in template_files()]
    assert names == [
        "templates/behavioural.yaml",
        "templates/demographic.yaml",
        "templates/firmographic.yaml",
        "templates/geographic.yaml",
        "templates/psychographic.yaml",
        "templates/transactional.yaml",
    ]
    traits = merge_traits(template_files(), [])
    assert len({trait.name for trait in traits}) == len(traits)
    by_set = {trait.trait_set: trait.definition.data_type for trait in traits}
    assert by_set["psychographic"] is DataType.attitudinal
    assert by_set["behavioural"] is DataType.interaction
    queries = compile_traits(
        traits, relation_views={r: f"v_{r.value}" for r in Relation}, as_of=datetime(2026, 3, 31, tzinfo=UTC)
    )
    assert sorted(queries.grouped) == sorted(f"trait_values_{r.value}" for r in Relation)
    orders = queries.grouped["trait_values_orders"]
    assert orders.count("FROM v_orders") == 1  # every orders trait is a column of one query
    assert '"t_spend_90d"' in orders
    assert "2025-12-31 17:00:00" in orders  # 90 business days: from 00:00 on 1 January in Bangkok


def test_docs_list_each_relations_columns() -> None:
    text = (Path(__file__).parents[2] / "docs" / "traits.md").read_text(encoding="utf-8")
    for relation, spec in RELATIONS.items():
        section = text.split(f"### `{relation.value}`", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
        listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
        assert listed == list(spec.columns), relation
