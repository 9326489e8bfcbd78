"""Segments → SQL: one sqlglot tree, rendered as Athena (Trino) text and in the authoring dialect (DuckDB's).

Every segment of a run is evaluated by one query that reads each input once, whatever the number of
segments and conditions:

1. ``segment_traits``: one pass over ``profile_traits`` (only the traits named), pivoted to a column each;
2. ``segment_events``: one pass over ``events`` joined to ``identity_links``, one conditional count per
   distinct event condition (``sum(CASE WHEN <filter> THEN 1 ELSE 0 END)``), grouped by profile;
3. ``segment_purchases``: the same over ``orders`` (distinct ``order_id`` per purchase condition);
4. ``segment_wide``: ``profiles`` (the columns named) left-joined to the three, counts defaulting to 0;
5. the members: ``segment_wide`` crossed with the list of segment ids, each row kept when its segment's
   condition holds (a ``CASE`` on the segment id), so the wide relation is read once, not once per segment.

A segment reference is the referenced segment's condition inlined, so it is evaluated on the same snapshot
in the same run. Every leaf is two-valued (``coalesce(<predicate>, false)``), so ``not`` means "not a member
of that condition", unknown values included.

Values reach the SQL only as sqlglot literals (strings quoted by the generator), columns and traits only
from the validated catalogue. The run's ``as_of`` bounds every event and order (nothing after it counts),
and ``within_days: n`` is the window of ``n`` business days ending on ``as_of``'s business day, as the
profiles step's trait windows are (:func:`cdp.profiles.windows.window_start`).

The engine runs the CTEs as views (authoring dialect, input tables renamed to the engine's relations);
Athena gets the same tree as one ``WITH`` query, and preview shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlglot import exp

from cdp.engine.port import AUTHORING_DIALECT
from cdp.profiles.windows import as_utc, window_start
from cdp.segments.catalog import Attribute, AttributeSource, ValueType
from cdp.segments.definition import (
    ANY_EVENT,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    CountOperator,
    EventCondition,
    Not,
    Operator,
    PropertyFilter,
    PurchaseCondition,
    SegmentReference,
    SegmentSet,
    TraitCondition,
)

ATHENA_DIALECT: Final = "trino"

#: input tables as the Glue catalog (and ``cdp query``) names them
INPUT_TABLES: Final = ("profiles", "profile_traits", "events", "orders", "identity_links")

TRAITS: Final = "segment_traits"
EVENTS: Final = "segment_events"
PURCHASES: Final = "segment_purchases"
WIDE: Final = "segment_wide"
MEMBERS: Final = "segment_members"


def timestamp_literal(moment: datetime) -> exp.Expr:
    """A UTC instant both engines and Athena read alike (sessions run in UTC)."""
    text = f"{as_utc(moment):%Y-%m-%d %H:%M:%S.%f}"
    return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMPTZ"))


def trait_time_text(moment: datetime) -> str:
    """A time as ``profile_traits.value`` holds it (``2026-03-31T05:00:00.000000Z``): fixed width, so text
    order is time order."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"


def _column(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table)


def _string(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _and(parts: Sequence[exp.Expr]) -> exp.Expr:
    if not parts:
        return exp.true()
    return exp.and_(*parts) if len(parts) > 1 else parts[0]


def _or(parts: Sequence[exp.Expr]) -> exp.Expr:
    if not parts:
        return exp.false()
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def _compare(operand: exp.Expr, comparison: Comparison, literal: Any) -> exp.Expr:
    """``operand <operator> value`` for the scalar operators, with ``literal`` turning a value into SQL."""
    operator, value = comparison.operator, comparison.value
    if operator is Operator.between:
        low, high = value
        return exp.Between(this=operand, low=literal(low), high=literal(high))
    if operator in (Operator.in_, Operator.not_in):
        found = exp.In(this=operand, expressions=[literal(item) for item in value])
        return found if operator is Operator.in_ else exp.not_(found)
    if operator is Operator.is_null:
        return exp.Is(this=operand, expression=exp.Null())
    if operator is Operator.not_null:
        return exp.not_(exp.Is(this=operand, expression=exp.Null()))
    binary: dict[Operator, type[exp.Binary]] = {
        Operator.eq: exp.EQ,
        Operator.ne: exp.NEQ,
        Operator.gt: exp.GT,
        Operator.gte: exp.GTE,
        Operator.lt: exp.LT,
        Operator.lte: exp.LTE,
    }
    return binary[operator](this=operand, expression=literal(value))


def _two_valued(predicate: exp.Expr) -> exp.Expr:
    return exp.func("COALESCE", predicate, exp.false())


def _count_test(column: exp.Expr, count: CountOperator, times: int) -> exp.Expr:
    number = exp.Literal.number(times)
    if count is CountOperator.at_least:
        return exp.GTE(this=column, expression=number)
    if count is CountOperator.at_most:
        return exp.LTE(this=column, expression=number)
    return exp.EQ(this=column, expression=number)


@dataclass(slots=True)
class _Columns:
    """What the run's conditions read, deduplicated: profile columns, traits, event and purchase counts."""

    as_of: datetime
    profile_columns: list[str] = field(default_factory=list)
    traits: list[Attribute] = field(default_factory=list)
    events: dict[str, tuple[str, exp.Expr, datetime | None]] = field(default_factory=dict)
    purchases: dict[str, tuple[str, exp.Expr, datetime | None]] = field(default_factory=dict)

    def attribute_column(self, attribute: Attribute) -> str:
        if attribute.source is AttributeSource.column:
            if attribute.name not in self.profile_columns:
                self.profile_columns.append(attribute.name)
            return attribute.name
        if attribute not in self.traits:
            self.traits.append(attribute)
        return trait_column(attribute.name)

    def event_column(self, condition: EventCondition) -> str:
        start = window_start(self.as_of, condition.within_days) if condition.within_days else None
        predicate = _event_filter(condition, start)
        key = predicate.sql(AUTHORING_DIALECT)
        if key not in self.events:
            self.events[key] = (f"event_{len(self.events)}", predicate, start)
        return self.events[key][0]

    def purchase_column(self, condition: PurchaseCondition) -> str:
        start = window_start(self.as_of, condition.within_days) if condition.within_days else None
        predicate = _purchase_filter(condition, start)
        key = predicate.sql(AUTHORING_DIALECT)
        if key not in self.purchases:
            self.purchases[key] = (f"purchase_{len(self.purchases)}", predicate, start)
        return self.purchases[key][0]


def trait_column(name: str) -> str:
    return f"trait_{name}"


def _event_filter(condition: EventCondition, start: datetime | None) -> exp.Expr:
    parts: list[exp.Expr] = []
    if condition.performed != ANY_EVENT:
        named = exp.func("COALESCE", _column("event", "e"), _column("name", "e"))
        parts.append(exp.EQ(this=named, expression=_string(condition.performed)))
    if condition.event_type is not None:
        parts.append(exp.EQ(this=_column("type", "e"), expression=_string(condition.event_type)))
    if condition.channel is not None:
        parts.append(exp.EQ(this=_column("channel", "e"), expression=_string(condition.channel)))
    parts.extend(_property_predicate(item) for item in condition.where)
    if start is not None:
        parts.append(exp.GTE(this=_column("event_time", "e"), expression=timestamp_literal(start)))
    return _and(parts)


def _property_predicate(item: PropertyFilter) -> exp.Expr:
    extracted: exp.Expr = exp.JSONExtractScalar(
        this=_column("properties", "e"), expression=_string(f"$.{item.property}")
    )
    if item.numeric:
        extracted = exp.TryCast(this=extracted, to=exp.DataType.build("DOUBLE"))

    def literal(value: Any) -> exp.Expr:
        if isinstance(value, bool):  # JSON booleans read as text are 'true' / 'false'
            return _string("true" if value else "false")
        if isinstance(value, int | float):
            return exp.Literal.number(value)
        return _string(str(value))

    return _compare(extracted, item.comparison, literal)


def _purchase_filter(condition: PurchaseCondition, start: datetime | None) -> exp.Expr:
    parts: list[exp.Expr] = []
    for column, values in condition.filters:
        operand = _column(column, "o")
        if len(values) == 1:
            parts.append(exp.EQ(this=operand, expression=_string(values[0])))
        else:
            parts.append(exp.In(this=operand, expressions=[_string(value) for value in values]))
    if start is not None:
        parts.append(exp.GTE(this=_column("order_time", "o"), expression=timestamp_literal(start)))
    return _and(parts)


def _attribute_literal(attribute: Attribute) -> Any:
    kind, source = attribute.value_type, attribute.source

    def literal(value: Any) -> exp.Expr:
        if kind is ValueType.timestamp:
            if source is AttributeSource.trait:
                return _string(trait_time_text(value))
            return timestamp_literal(value)
        if kind is ValueType.boolean:
            if source is AttributeSource.trait:  # number_value: 1 / 0
                return exp.Literal.number(1 if value else 0)
            return exp.true() if value else exp.false()
        if kind in (ValueType.integer, ValueType.number):
            return exp.Literal.number(value)
        return _string(str(value))

    return literal


class _Builder:
    def __init__(self, segments: SegmentSet, as_of: datetime) -> None:
        self.segments = segments
        self.columns = _Columns(as_of=as_utc(as_of))

    def condition(self, node: Condition) -> exp.Expr:
        if isinstance(node, AllOf):
            return exp.paren(_and([self.condition(child) for child in node.conditions]))
        if isinstance(node, AnyOf):
            return exp.paren(_or([self.condition(child) for child in node.conditions]))
        if isinstance(node, Not):
            return exp.not_(exp.paren(self.condition(node.condition)))
        if isinstance(node, TraitCondition):
            return self.trait(node)
        if isinstance(node, EventCondition):
            column = self.columns.event_column(node)
            return _count_test(_column(column, "w"), node.count, node.times)
        if isinstance(node, PurchaseCondition):
            column = self.columns.purchase_column(node)
            return _count_test(_column(column, "w"), node.count, node.times)
        return self.reference(node)

    def reference(self, node: SegmentReference) -> exp.Expr:
        return exp.paren(self.condition(self.segments.definitions[node.segment_id].condition))

    def trait(self, node: TraitCondition) -> exp.Expr:
        attribute = self.segments.attribute(node.trait)
        operand = _column(self.columns.attribute_column(attribute), "w")
        operator = node.comparison.operator
        if attribute.value_type is ValueType.list:
            if operator is Operator.contains:
                contains = exp.ArrayContains(this=operand, expression=_string(node.comparison.value))
                return _two_valued(contains)
            empty = exp.or_(
                exp.Is(this=operand, expression=exp.Null()),
                exp.EQ(this=exp.ArraySize(this=operand), expression=exp.Literal.number(0)),
            )
            return exp.paren(empty) if operator is Operator.is_null else exp.not_(exp.paren(empty))
        predicate = _compare(operand, node.comparison, _attribute_literal(attribute))
        if operator in (Operator.is_null, Operator.not_null):
            return predicate
        return _two_valued(predicate)


@dataclass(frozen=True, slots=True)
class CompiledSegments:
    """The segments of one evaluation as named relations (CTEs) and the members query over them."""

    segment_ids: tuple[str, ...]
    as_of: datetime
    relations: tuple[tuple[str, exp.Select], ...]
    members: exp.Query
    #: the input tables the query reads (of :data:`INPUT_TABLES`)
    inputs: tuple[str, ...]

    def query(self) -> exp.Query:
        """The whole evaluation as one ``WITH`` query over the input tables."""
        query = self.members.copy()
        for name, relation in self.relations:
            query = query.with_(name, as_=relation.copy())
        return query

    def athena_sql(self, *, pretty: bool = True) -> str:
        """Athena (Trino) text: ``segment_id, profile_id`` of every member, over the Glue catalog's tables."""
        return self.query().sql(dialect=ATHENA_DIALECT, pretty=pretty)

    def engine_views(self, tables: Mapping[str, str]) -> list[tuple[str, str]]:
        """``(view, SQL)`` in the authoring dialect, in order, the inputs renamed to ``tables``' names; the
        last one is :data:`MEMBERS`."""
        return [
            (name, _renamed(query, tables).sql(dialect=AUTHORING_DIALECT))
            for name, query in (*self.relations, (MEMBERS, self.members))
        ]


def _renamed(query: exp.Query, tables: Mapping[str, str]) -> exp.Query:
    renamed = query.copy()
    for table in renamed.find_all(exp.Table):
        if not table.db and table.name in tables:
            table.set("this", exp.to_identifier(tables[table.name]))
    return renamed


def compile_segments(
    segments: SegmentSet, *, as_of: datetime, targets: Sequence[str] | None = None
) -> CompiledSegments:
    """The members of ``targets`` (default: every segment of the set), sorted by id, as of ``as_of``."""
    chosen = sorted(set(targets) if targets is not None else segments.definitions)
    unknown = [segment_id for segment_id in chosen if segment_id not in segments.definitions]
    if unknown:
        raise KeyError(unknown[0])
    builder = _Builder(segments, as_of)
    conditions = [
        (segment_id, builder.condition(segments.definitions[segment_id].condition)) for segment_id in chosen
    ]
    columns = builder.columns
    relations: list[tuple[str, exp.Select]] = []
    inputs = ["profiles"]
    wide = exp.select(_column("profile_id", "p")).from_(exp.to_table("profiles").as_("p"))
    for name in columns.profile_columns:
        if name != "profile_id":
            wide = wide.select(_column(name, "p"))
    if columns.traits:
        relations.append((TRAITS, _traits_relation(columns.traits)))
        inputs.append("profile_traits")
        wide = wide.join(exp.to_table(TRAITS).as_("t"), on=_same_profile("t", "p"), join_type="left")
        wide = wide.select(*[_column(trait_column(a.name), "t") for a in columns.traits])
    if columns.events:
        relations.append((EVENTS, _counts_relation(columns.events, columns.as_of, kind="events")))
        inputs.extend(["events", "identity_links"])
        wide = wide.join(exp.to_table(EVENTS).as_("ev"), on=_same_profile("ev", "p"), join_type="left")
        wide = wide.select(*[_zero_default(name, "ev") for name, _, _ in columns.events.values()])
    if columns.purchases:
        relations.append((PURCHASES, _counts_relation(columns.purchases, columns.as_of, kind="orders")))
        inputs.extend(["orders", "identity_links"])
        wide = wide.join(exp.to_table(PURCHASES).as_("pu"), on=_same_profile("pu", "p"), join_type="left")
        wide = wide.select(*[_zero_default(name, "pu") for name, _, _ in columns.purchases.values()])
    relations.append((WIDE, wide))
    return CompiledSegments(
        segment_ids=tuple(chosen),
        as_of=columns.as_of,
        relations=tuple(relations),
        members=_members_query(conditions),
        inputs=tuple(table for table in INPUT_TABLES if table in inputs),
    )


def _same_profile(left: str, right: str) -> exp.Expr:
    return exp.EQ(this=_column("profile_id", left), expression=_column("profile_id", right))


def _zero_default(name: str, table: str) -> exp.Expr:
    return exp.alias_(exp.func("COALESCE", _column(name, table), exp.Literal.number(0)), name)


def _traits_relation(traits: Sequence[Attribute]) -> exp.Select:
    """One pass over ``profile_traits``: a column per trait (text, or ``number_value`` for numbers and
    booleans)."""
    query = exp.select(_column("profile_id", "pt")).from_(exp.to_table("profile_traits").as_("pt"))
    for attribute in traits:
        numeric = attribute.value_type in (ValueType.integer, ValueType.number, ValueType.boolean)
        value = _column("number_value" if numeric else "value", "pt")
        picked = exp.Case().when(
            exp.EQ(this=_column("trait", "pt"), expression=_string(attribute.name)), value
        )
        query = query.select(exp.alias_(exp.Max(this=picked), trait_column(attribute.name)))
    named = exp.In(this=_column("trait", "pt"), expressions=[_string(a.name) for a in traits])
    return query.where(named).group_by(_column("profile_id", "pt"))


def _counts_relation(
    counts: Mapping[str, tuple[str, exp.Expr, datetime | None]], as_of: datetime, *, kind: str
) -> exp.Select:
    """One pass over ``events`` (or ``orders``) joined to ``identity_links``: a conditional count per
    condition, by profile. Rows after ``as_of`` never count; rows before every window are skipped."""
    alias, table, time_column = (
        ("e", "events", "event_time") if kind == "events" else ("o", "orders", "order_time")
    )
    query = (
        exp.select(_column("profile_id", "l"))
        .from_(exp.to_table(table).as_(alias))
        .join(
            exp.to_table("identity_links").as_("l"),
            on=exp.EQ(this=_column("record_id", "l"), expression=_column("identity_record_id", alias)),
        )
    )
    for name, predicate, _ in counts.values():
        if kind == "events":
            counted: exp.Expr = exp.Sum(
                this=exp.Case().when(predicate, exp.Literal.number(1)).else_(exp.Literal.number(0))
            )
        else:
            counted = exp.Count(
                this=exp.Distinct(expressions=[exp.Case().when(predicate, _column("order_id", alias))])
            )
        query = query.select(exp.alias_(counted, name))
    bounds: list[exp.Expr] = [exp.LTE(this=_column(time_column, alias), expression=timestamp_literal(as_of))]
    starts = [start for _, _, start in counts.values()]
    if all(start is not None for start in starts):
        earliest = min(start for start in starts if start is not None)
        bounds.append(exp.GTE(this=_column(time_column, alias), expression=timestamp_literal(earliest)))
    bounds.append(exp.paren(_or([predicate for _, predicate, _ in counts.values()])))
    return query.where(_and(bounds)).group_by(_column("profile_id", "l"))


def _members_query(conditions: Sequence[tuple[str, exp.Expr]]) -> exp.Query:
    """``segment_id, profile_id`` of every member: one pass over the wide relation."""
    wide = exp.to_table(WIDE).as_("w")
    if not conditions:
        empty = exp.cast(exp.Null(), exp.DataType.build("VARCHAR"))
        return exp.select(exp.alias_(empty, "segment_id"), exp.alias_(empty.copy(), "profile_id")).where(
            exp.false()
        )
    if len(conditions) == 1:
        segment_id, condition = conditions[0]
        return (
            exp.select(exp.alias_(_string(segment_id), "segment_id"), _column("profile_id", "w"))
            .from_(wide)
            .where(condition)
        )
    listing: exp.Query = exp.select(exp.alias_(_string(conditions[0][0]), "segment_id"))
    for segment_id, _ in conditions[1:]:
        listing = exp.union(
            listing, exp.select(exp.alias_(_string(segment_id), "segment_id")), distinct=False
        )
    case = exp.Case(this=_column("segment_id", "s"))
    for segment_id, condition in conditions:
        case = case.when(_string(segment_id), condition)
    return (
        exp.select(_column("segment_id", "s"), _column("profile_id", "w"))
        .from_(wide)
        .join(
            exp.Subquery(this=listing, alias=exp.TableAlias(this=exp.to_identifier("s"))), join_type="cross"
        )
        .where(case)
    )
