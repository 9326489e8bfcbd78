"""Computed traits declared in YAML (SPEC 7): validated at load, compiled to one grouped query per relation.

A trait is one aggregate SQL expression (authoring dialect, DuckDB's) over one of the step's base
relations, each already joined to ``profile_id``. Trait sets ship as package data in
``cdp/profiles/templates/*.yaml``; the lake's ``profiles/config/traits/*.yaml`` add traits or replace a
template's trait of the same name (``enabled: false`` removes one). Format and examples: docs/traits.md.

```yaml
description: what the set is for
traits:
  - name: spend_90d                 # snake_case, unique
    description: Spend on orders of the last 90 business days
    relation: orders                # records | events | orders | order_lines | profiles
    expression: sum(order_value)    # exactly one aggregate
    where: channel <> 'pos'         # optional row filter
    window: 90d                     # all | <n>d, business days ending on the run's as_of
    type: number                    # string | number | integer | boolean | timestamp
    data_type: behavioural          # identity | interaction | behavioural | attitudinal
```

Validation parses ``expression`` and ``where`` with sqlglot and refuses what would not run the same on
both engines or could do anything but compute a value: more or fewer than one aggregate, columns the
relation does not have, subqueries, window functions, statements (DDL, ``;``), functions sqlglot does not
know (it could not translate them for Spark) and the current time (use ``window``). Errors are one line:
``<file>: trait <name>: <field>: <problem>``.

Compilation: the window and ``where`` become the aggregate's ``FILTER (WHERE …)``, so every trait of a
relation is one column of one ``GROUP BY profile_id`` query. ``mode``, ``arg_max`` and ``arg_min`` pick one
row's value, and their SQL implementations break ties differently (and DuckDB's differently from run to
run), so they are compiled to a ranked query with a full ordering instead: ``mode(x)`` is the most frequent
value, ties by the most recent, then the smaller text; ``arg_max(x, y)`` the value at the largest ``y``,
ties by the smaller text. Values become text (``value``) and, for numbers, integers and booleans, a double
(``number_value``): numbers are rounded to 6 decimals, which also makes sums that engines add in different
orders agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import resources
from typing import Any, Final

import sqlglot
import sqlglot.errors
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlglot import TokenType, exp

from cdp.engine.port import AUTHORING_DIALECT
from cdp.lakefs import LakeFiles
from cdp.profiles.errors import TraitConfigError, first_error, yaml_problem
from cdp.profiles.windows import BUSINESS_TIME_ZONE, iso_text_sql, within_sql

#: the lake's trait files (optional), beside the packaged templates
LAKE_TRAITS_DIR: Final = "profiles/config/traits"
TEMPLATE_PACKAGE: Final = "cdp.profiles"
TEMPLATE_DIR: Final = "templates"


class TraitType(StrEnum):
    string = "string"
    number = "number"
    integer = "integer"
    boolean = "boolean"
    timestamp = "timestamp"


class DataType(StrEnum):
    """The four kinds of profile data of SPEC 7."""

    identity = "identity"  # who someone is: demographic, geographic, firmographic
    interaction = "interaction"  # how they engage: visits, sessions, channels
    behavioural = "behavioural"  # what they do of value: purchases, spend
    attitudinal = "attitudinal"  # what they think: survey answers


class Relation(StrEnum):
    records = "records"
    events = "events"
    orders = "orders"
    order_lines = "order_lines"
    profiles = "profiles"


@dataclass(frozen=True, slots=True)
class RelationColumns:
    """A base relation as trait authors see it: its grain, its time column (windows, ``mode`` recency)
    and its columns with what they hold."""

    grain: str
    time_column: str
    columns: Mapping[str, str]


_MONEY = "DECIMAL(18,2), the order's currency"

RELATIONS: Final[dict[Relation, RelationColumns]] = {
    Relation.records: RelationColumns(
        grain="one row per identity record of the person (an imported row, or an event identity)",
        time_column="last_seen",
        columns={
            "profile_id": "the person",
            "record_id": "the record (identity_records.record_id)",
            "source_id": "the source it came from",
            "origin": "import | event",
            "kind": "customers | orders | survey | consent | events",
            "first_seen": "TIMESTAMPTZ",
            "last_seen": "TIMESTAMPTZ (the source's updated_at for imports; the last event for events)",
            "email": "normalized email",
            "phone": "E.164 phone",
            "user_id": "the app's user id",
            "anonymous_id": "device or cookie id",
            "first_name": "standardized first name",
            "last_name": "standardized last name",
            "date_of_birth": "ISO YYYY-MM-DD text",
            "gender": "male | female | …",
            "city": "city or district",
            "province": "ISO 3166-2 code, e.g. TH-10",
            "postcode": "postcode",
            "country": "ISO 3166-1 alpha-2",
            "company": "company (B2B)",
            "attributes": "JSON text: survey answers and other unmapped columns; for events the latest "
            "identify traits",
        },
    ),
    Relation.events: RelationColumns(
        grain="one row per event of the person (one per messageId)",
        time_column="event_time",
        columns={
            "profile_id": "the person",
            "message_id": "the event's messageId",
            "type": "track | page | screen | identify | group | alias",
            "event": "the track event's name, e.g. Order Completed",
            "name": "the page or screen name",
            "channel": "app | web | … (context.channel, else screen → app, page → web)",
            "source_id": "the source it came from",
            "event_time": "TIMESTAMPTZ (skew-corrected)",
            "dt": "business date YYYY-MM-DD text",
            "properties": "JSON text",
            "context": "JSON text",
            "traits": "JSON text",
            "is_session_start": "BOOLEAN: the person's previous event was more than 30 minutes earlier",
        },
    ),
    Relation.orders: RelationColumns(
        grain="one row per order of the person (an order reported by two sources counts once)",
        time_column="order_time",
        columns={
            "profile_id": "the person",
            "order_id": "the order",
            "order_time": "TIMESTAMPTZ",
            "order_date": "DATE, business time zone",
            "order_value": f"{_MONEY}: the order total, else the sum of its lines",
            "line_count": "BIGINT",
            "item_count": "BIGINT: sum of quantities",
            "channel": "web | app | line | pos | … (the first non-empty, alphabetically)",
            "source_id": "the source that reported it (the first, alphabetically)",
            "currency": "ISO 4217",
        },
    ),
    Relation.order_lines: RelationColumns(
        grain="one row per order line of the person",
        time_column="order_time",
        columns={
            "profile_id": "the person",
            "order_id": "the order",
            "order_time": "TIMESTAMPTZ",
            "order_date": "DATE, business time zone",
            "product_id": "SKU",
            "product_name": "product name",
            "category": "product category",
            "quantity": "BIGINT",
            "unit_price": "DOUBLE",
            "line_value": f"{_MONEY}: quantity × unit_price",
            "channel": "web | app | line | pos | …",
            "source_id": "the source",
            "currency": "ISO 4217",
        },
    ),
    Relation.profiles: RelationColumns(
        grain="one row per person: the profile's survived attributes and activity",
        time_column="last_seen",
        columns={
            "profile_id": "the person",
            "gender": "survived gender",
            "age": "BIGINT: whole years at the run's as_of (business date)",
            "city": "survived city",
            "province": "survived ISO 3166-2 code",
            "postcode": "survived postcode",
            "country": "survived ISO 3166-1 alpha-2",
            "company": "survived company",
            "first_seen": "TIMESTAMPTZ",
            "last_seen": "TIMESTAMPTZ",
            "record_count": "BIGINT",
            "event_count": "BIGINT",
            "order_count": "BIGINT",
            "total_spend": "DOUBLE",
            "avg_order_value": "DOUBLE",
            "last_order_at": "TIMESTAMPTZ",
            "recency_days": "BIGINT",
            "frequency_90d": "BIGINT",
            "monetary_90d": "DOUBLE",
            "r_score": "INTEGER 1-5",
            "f_score": "INTEGER 1-5",
            "m_score": "INTEGER 1-5",
            "rfm_score": "text, e.g. 545",
        },
    ),
}

#: aggregates compiled into the grouped query, by sqlglot class → the name authors write
_GROUPED: Final[dict[type[exp.Expr], str]] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
    exp.CountIf: "count_if",
    exp.LogicalOr: "bool_or",
    exp.LogicalAnd: "bool_and",
    exp.Median: "median",
}
#: aggregates that pick one row's value: compiled to a ranked query with a full ordering
_PICKS: Final[dict[type[exp.Expr], str]] = {
    exp.Mode: "mode",
    exp.ArgMax: "arg_max",
    exp.ArgMin: "arg_min",
}
_SUPPORTED = ", ".join(sorted({*_GROUPED.values(), *_PICKS.values()}))
_NOW_FUNCTIONS: Final[tuple[type[exp.Expr], ...]] = (
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.CurrentTime,
    exp.CurrentDatetime,
    exp.Rand,
    exp.Randn,
    exp.Uuid,
)
_NOW_NAMES: Final = frozenset({"now", "today", "get_current_timestamp", "get_current_time", "random", "uuid"})

_TRAIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TRAIT_SET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_WINDOW = re.compile(r"^([1-9][0-9]{0,3})d$")
_MAX_WINDOW_DAYS: Final = 3660


class _InvalidTraitError(ValueError):
    """One validation problem, already phrased as ``<field>: <problem>``."""


# -- parsing and checking one expression ---------------------------------------------------------------


def _parse(text: str, field: str) -> exp.Expr:
    try:
        tokens = sqlglot.Dialect.get_or_raise(AUTHORING_DIALECT).tokenize(text)
    except sqlglot.errors.SqlglotError as error:
        raise _InvalidTraitError(f"{field}: does not parse ({_first_line(error)})") from None
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        raise _InvalidTraitError(f"{field}: one expression only, without ';'")
    if not tokens:
        raise _InvalidTraitError(f"{field}: is empty")
    try:
        tree = sqlglot.parse_one(text, read=AUTHORING_DIALECT)
    except sqlglot.errors.SqlglotError as error:
        raise _InvalidTraitError(f"{field}: does not parse ({_first_line(error)})") from None
    if isinstance(tree, exp.Subquery | exp.Query) or tree.find(exp.Query, exp.Subquery):
        raise _InvalidTraitError(f"{field}: subqueries are not allowed")
    if not isinstance(tree, exp.Condition | exp.Interval):
        raise _InvalidTraitError(f"{field}: must be an SQL expression, not a {tree.key.upper()} statement")
    return tree


def _first_line(error: Exception) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()[0].rstrip(".")


def _check_structure(tree: exp.Expr, field: str) -> None:
    if tree.find(exp.Window):
        raise _InvalidTraitError(f"{field}: window functions (OVER) are not allowed")
    if tree.find(exp.Filter):
        raise _InvalidTraitError(f"{field}: FILTER is not allowed (use the trait's where)")
    if tree.find(exp.Placeholder, exp.Parameter):
        raise _InvalidTraitError(f"{field}: parameters are not allowed")
    for node in tree.walk():
        if isinstance(node, _NOW_FUNCTIONS) or (
            isinstance(node, exp.Anonymous) and node.name.lower() in _NOW_NAMES
        ):
            shown = node.sql(AUTHORING_DIALECT)
            raise _InvalidTraitError(f"{field}: {shown} is not allowed (use window: <n>d)")
        if isinstance(node, exp.Anonymous):
            raise _InvalidTraitError(
                f"{field}: unknown function {node.name} (sqlglot cannot translate it for Spark)"
            )


def _check_columns(tree: exp.Expr, field: str, relation: Relation) -> None:
    columns = RELATIONS[relation].columns
    for column in tree.find_all(exp.Column):
        if column.table:
            raise _InvalidTraitError(f"{field}: write {column.name} without a table name")
        if column.name not in columns:
            raise _InvalidTraitError(
                f"{field}: unknown column {column.name} (the {relation.value} relation has: "
                f"{', '.join(columns)})"
            )


def _aggregate_of(tree: exp.Expr) -> exp.AggFunc:
    aggregates = list(tree.find_all(exp.AggFunc))
    if not aggregates:
        raise _InvalidTraitError(
            "expression: needs exactly one aggregate function (e.g. count, sum, max), found none"
        )
    if len(aggregates) > 1:
        names = ", ".join(_function_name(aggregate) for aggregate in aggregates)
        raise _InvalidTraitError(
            f"expression: needs exactly one aggregate function, found {len(aggregates)} ({names})"
        )
    [aggregate] = aggregates
    kind = type(aggregate)
    if kind not in _GROUPED and kind not in _PICKS:
        raise _InvalidTraitError(
            f"expression: aggregate {_function_name(aggregate)} is not supported (use one of: {_SUPPORTED})"
        )
    if kind in _PICKS and aggregate is not tree:
        raise _InvalidTraitError(f"expression: {_PICKS[kind]} must be the whole expression")
    for column in tree.find_all(exp.Column):
        if column.find_ancestor(exp.AggFunc) is None:
            raise _InvalidTraitError(f"expression: column {column.name} is outside the aggregate")
    return aggregate


def _function_name(node: exp.Func) -> str:
    known = _GROUPED.get(type(node)) or _PICKS.get(type(node))
    return known or node.sql_name().lower()


@dataclass(frozen=True, slots=True)
class _Checked:
    expression: exp.Expr
    aggregate: exp.AggFunc
    where: exp.Expr | None


def _check(expression: str, where: str | None, relation: Relation) -> _Checked:
    tree = _parse(expression, "expression")
    _check_structure(tree, "expression")
    aggregate = _aggregate_of(tree)
    _check_columns(tree, "expression", relation)
    condition = None
    if where is not None:
        condition = _parse(where, "where")
        _check_structure(condition, "where")
        if condition.find(exp.AggFunc):
            raise _InvalidTraitError("where: aggregates are not allowed here (it filters rows)")
        _check_columns(condition, "where", relation)
    return _Checked(tree, aggregate, condition)


# -- the YAML model ----------------------------------------------------------------------------------


class TraitDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1)
    relation: Relation
    expression: str
    where: str | None = None
    window: str = "all"
    type: TraitType
    data_type: DataType
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _TRAIT_NAME.match(value):
            raise ValueError("must be snake_case (a-z, 0-9 and _, starting with a letter, at most 63)")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        text = value.strip().lower()
        match = _WINDOW.match(text)
        if text != "all" and (match is None or int(match.group(1)) > _MAX_WINDOW_DAYS):
            raise ValueError(
                f"must be 'all' or a number of days up to {_MAX_WINDOW_DAYS} like '90d', got {value!r}"
            )
        return text

    @model_validator(mode="after")
    def _valid_sql(self) -> TraitDefinition:
        _check(self.expression, self.where, self.relation)
        return self

    @property
    def window_days(self) -> int | None:
        return None if self.window == "all" else int(self.window[:-1])


class _TraitFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    traits: list[dict[str, Any]]

    @field_validator("traits")
    @classmethod
    def _some(cls, traits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not traits:
            raise ValueError("must list at least one trait")
        return traits


@dataclass(frozen=True, slots=True)
class DeclaredTrait:
    """A trait with where it was declared: its set (the file's name) and the file, for messages."""

    trait_set: str
    file: str
    definition: TraitDefinition

    @property
    def name(self) -> str:
        return self.definition.name


def parse_trait_file(text: str, *, file: str) -> list[DeclaredTrait]:
    """The traits of one YAML file; the trait set is the file's name without ``.yaml``."""
    stem = file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if not _TRAIT_SET.match(stem):
        raise TraitConfigError(f"{file}: the file name must be a trait set name (a-z, 0-9, '-', '_')")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TraitConfigError(f"{file}: not YAML ({yaml_problem(error)})") from None
    try:
        document = _TraitFile.model_validate(data if data is not None else {})
    except ValidationError as error:
        where, reason = first_error(error)
        raise TraitConfigError(f"{file}: {where + ': ' if where else ''}{reason}") from None
    declared: list[DeclaredTrait] = []
    seen: set[str] = set()
    for index, item in enumerate(document.traits, start=1):
        label = item.get("name") if isinstance(item.get("name"), str) and item.get("name") else f"#{index}"
        try:
            definition = TraitDefinition.model_validate(item)
        except ValidationError as error:
            where, reason = first_error(error)
            raise TraitConfigError(
                f"{file}: trait {label}: {where + ': ' if where else ''}{reason}"
            ) from None
        if definition.name in seen:
            raise TraitConfigError(f"{file}: trait {definition.name}: duplicate name")
        seen.add(definition.name)
        declared.append(DeclaredTrait(trait_set=stem, file=file, definition=definition))
    return declared


def _layer(files: Iterable[tuple[str, str]]) -> dict[str, DeclaredTrait]:
    """Traits of several files that must not repeat a name (the templates; the lake's files)."""
    found: dict[str, DeclaredTrait] = {}
    for file, text in files:
        for trait in parse_trait_file(text, file=file):
            if trait.name in found:
                raise TraitConfigError(
                    f"{file}: trait {trait.name}: duplicate name (also in {found[trait.name].file})"
                )
            found[trait.name] = trait
    return found


def template_files() -> list[tuple[str, str]]:
    """``(label, text)`` of the packaged trait sets (works from a wheel or Glue's zip as well)."""
    root = resources.files(TEMPLATE_PACKAGE) / TEMPLATE_DIR
    entries = sorted(
        (entry for entry in root.iterdir() if entry.name.endswith(".yaml")), key=lambda e: e.name
    )
    return [(f"{TEMPLATE_DIR}/{entry.name}", entry.read_text(encoding="utf-8")) for entry in entries]


def lake_trait_files(files: LakeFiles) -> list[tuple[str, str]]:
    names = files.find(LAKE_TRAITS_DIR, lambda name: name.endswith((".yaml", ".yml")))
    return [(name, (files.read_bytes(name) or b"").decode("utf-8")) for name in names]


def merge_traits(
    templates: Iterable[tuple[str, str]], lake: Iterable[tuple[str, str]]
) -> list[DeclaredTrait]:
    """Templates, then the lake's traits replacing same-named ones; disabled traits dropped; sorted."""
    merged = _layer(templates)
    merged.update(_layer(lake))
    return sorted(
        (trait for trait in merged.values() if trait.definition.enabled),
        key=lambda trait: (trait.trait_set, trait.name),
    )


def load_traits(files: LakeFiles | None) -> list[DeclaredTrait]:
    """The traits a run computes: the templates plus the lake's ``profiles/config/traits/*.yaml``."""
    return merge_traits(template_files(), lake_trait_files(files) if files is not None else [])


# -- compilation ------------------------------------------------------------------------------------


def grouped_view(relation: Relation) -> str:
    """The engine view holding one row per profile and one column per grouped trait of ``relation``."""
    return f"trait_values_{relation.value}"


@dataclass(frozen=True, slots=True)
class TraitQueries:
    """What the step creates: ``grouped`` views (materialize them: the long form reads each many times),
    then ``long_form`` (PROFILE_TRAITS columns but ``run_id``)."""

    grouped: dict[str, str]
    long_form: str


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(AUTHORING_DIALECT)


def value_text_sql(expression: str, kind: TraitType) -> str:
    """The ``value`` column: text both engines format identically."""
    if kind is TraitType.string:
        return f"CAST({expression} AS VARCHAR)"
    if kind is TraitType.integer:
        return f"CAST(CAST(round(TRY_CAST({expression} AS DOUBLE)) AS BIGINT) AS VARCHAR)"
    if kind is TraitType.number:
        # DECIMAL text is plain on both (a double's is not: Java prints 1.2345678E7), trailing zeros trimmed
        return f"rtrim(rtrim(CAST(TRY_CAST({expression} AS DECIMAL(38, 6)) AS VARCHAR), '0'), '.')"
    if kind is TraitType.boolean:
        flag = f"TRY_CAST({expression} AS BOOLEAN)"
        return f"CASE WHEN {flag} THEN 'true' WHEN NOT {flag} THEN 'false' END"
    return iso_text_sql(f"TRY_CAST({expression} AS TIMESTAMPTZ)")


def number_value_sql(expression: str, kind: TraitType) -> str:
    """The ``number_value`` column: numbers, integers and booleans (1/0) as a double; null otherwise."""
    if kind is TraitType.integer:
        return f"CAST(round(TRY_CAST({expression} AS DOUBLE)) AS DOUBLE)"
    if kind is TraitType.number:
        return f"CAST(TRY_CAST({expression} AS DECIMAL(38, 6)) AS DOUBLE)"
    if kind is TraitType.boolean:
        flag = f"TRY_CAST({expression} AS BOOLEAN)"
        return f"CAST(CASE WHEN {flag} THEN 1 WHEN NOT {flag} THEN 0 END AS DOUBLE)"
    return "CAST(NULL AS DOUBLE)"


def _condition(trait: DeclaredTrait, checked: _Checked, as_of: datetime, zone: str) -> exp.Expr | None:
    relation = RELATIONS[trait.definition.relation]
    parts: list[exp.Expr] = []
    if trait.definition.window_days is not None:
        window = within_sql(relation.time_column, as_of, trait.definition.window_days, zone)
        parts.append(sqlglot.parse_one(window, read=AUTHORING_DIALECT))
    if checked.where is not None:
        parts.append(exp.paren(checked.where.copy(), copy=False))
    return exp.and_(*parts) if parts else None


def _labels(trait: DeclaredTrait) -> str:
    definition = trait.definition
    return (
        f"{_literal(trait.trait_set)} AS trait_set, {_literal(definition.name)} AS trait, "
        f"{_literal(definition.data_type.value)} AS data_type, "
        f"{_literal(definition.type.value)} AS value_type"
    )


def _grouped_column(trait: DeclaredTrait, checked: _Checked, as_of: datetime, zone: str) -> str:
    tree = checked.expression.copy()
    aggregate = next(tree.find_all(exp.AggFunc))
    if isinstance(aggregate, exp.Avg | exp.Median):
        # over DECIMAL (1.0 is one), Spark averages to 4 more decimals and DuckDB to a double: both average
        # doubles instead, and the 6-decimal rounding of values hides the order of their additions
        target = aggregate.this
        if isinstance(target, exp.Distinct):  # avg(DISTINCT x)
            target.set("expressions", [exp.cast(e, exp.DataType.build("DOUBLE")) for e in target.expressions])
        else:
            aggregate.set("this", exp.cast(target, exp.DataType.build("DOUBLE")))
    condition = _condition(trait, checked, as_of, zone)
    if condition is not None:
        filtered = exp.Filter(this=aggregate.copy(), expression=exp.Where(this=condition))
        if aggregate is tree:
            tree = filtered
        else:
            aggregate.replace(filtered)
    return f'{tree.sql(AUTHORING_DIALECT)} AS "t_{trait.name}"'


def _pick_query(trait: DeclaredTrait, checked: _Checked, source: str, as_of: datetime, zone: str) -> str:
    definition = trait.definition
    relation = RELATIONS[definition.relation]
    aggregate = checked.aggregate
    value = aggregate.this.sql(AUTHORING_DIALECT)
    condition = _condition(trait, checked, as_of, zone)
    where = condition.sql(AUTHORING_DIALECT) if condition is not None else "true"
    text, number = value_text_sql(value, definition.type), number_value_sql(value, definition.type)
    if isinstance(aggregate, exp.Mode):
        ranked = f"""
            SELECT profile_id, value, number_value,
                row_number() OVER (
                    PARTITION BY profile_id ORDER BY n DESC, latest DESC NULLS LAST, value
                ) AS pick
            FROM (
                SELECT profile_id, value, number_value, count(*) AS n, max(seen_at) AS latest
                FROM (
                    SELECT
                        profile_id, {text} AS value, {number} AS number_value,
                        {relation.time_column} AS seen_at
                    FROM {source} WHERE {where}
                ) WHERE value IS NOT NULL
                GROUP BY profile_id, value, number_value
            )"""
    else:
        direction = "DESC" if isinstance(aggregate, exp.ArgMax) else "ASC"
        by = aggregate.expression.sql(AUTHORING_DIALECT)
        ranked = f"""
            SELECT profile_id, value, number_value,
                row_number() OVER (
                    PARTITION BY profile_id ORDER BY sort_key {direction} NULLS LAST, value
                ) AS pick
            FROM (
                SELECT profile_id, {text} AS value, {number} AS number_value, {by} AS sort_key
                FROM {source} WHERE {where}
            ) WHERE value IS NOT NULL"""
    return f"SELECT profile_id, {_labels(trait)}, value, number_value FROM ({ranked}) WHERE pick = 1"


def compile_traits(
    traits: Sequence[DeclaredTrait],
    *,
    relation_views: Mapping[Relation, str],
    as_of: datetime,
    zone: str = BUSINESS_TIME_ZONE,
) -> TraitQueries:
    """SQL (authoring dialect) computing ``traits`` over the step's relation views."""
    grouped: dict[Relation, list[tuple[DeclaredTrait, _Checked]]] = {}
    branches: list[str] = []
    for trait in traits:
        definition = trait.definition
        checked = _check(definition.expression, definition.where, definition.relation)
        if type(checked.aggregate) in _PICKS:
            source = relation_views[definition.relation]
            branches.append(_pick_query(trait, checked, source, as_of, zone))
        else:
            grouped.setdefault(definition.relation, []).append((trait, checked))
    views: dict[str, str] = {}
    for relation, members in grouped.items():
        columns = ",\n    ".join(_grouped_column(trait, checked, as_of, zone) for trait, checked in members)
        view = grouped_view(relation)
        views[view] = (
            f"SELECT profile_id,\n    {columns}\nFROM {relation_views[relation]}\nGROUP BY profile_id"
        )
        for trait, _ in members:
            column, kind = f'"t_{trait.name}"', trait.definition.type
            branches.append(
                f"SELECT profile_id, {_labels(trait)}, {value_text_sql(column, kind)} AS value, "
                f"{number_value_sql(column, kind)} AS number_value FROM {view} WHERE {column} IS NOT NULL"
            )
    if not branches:
        long_form = (
            "SELECT CAST(NULL AS VARCHAR) AS profile_id, CAST(NULL AS VARCHAR) AS trait_set, "
            "CAST(NULL AS VARCHAR) AS trait, CAST(NULL AS VARCHAR) AS data_type, "
            "CAST(NULL AS VARCHAR) AS value_type, CAST(NULL AS VARCHAR) AS value, "
            "CAST(NULL AS DOUBLE) AS number_value WHERE false"
        )
    else:
        union = "\nUNION ALL\n".join(branches)
        long_form = (
            "SELECT profile_id, trait_set, trait, data_type, value_type, value, number_value "
            f"FROM (\n{union}\n) WHERE value IS NOT NULL"
        )
    return TraitQueries(grouped=views, long_form=long_form)
