"""Segment definitions (SPEC 7): YAML in, a validated boolean tree of conditions out.

```yaml
id: lapsed_high_value              # a-z, 0-9, '_' and '-'; unique in the lake
name: Lapsed high-value customers
description: Spent a lot, then stopped buying
destinations: [ses_winback]        # destination ids (activation)
condition:
  all:
    - trait: m_score               # a profiles column or a declared trait
      gte: 4
    - trait: recency_days
      gt: 120
    - not:
        performed: Order Completed # a track event (or a page/screen name); "*" is any event
        within_days: 30            # business days ending on the run's as_of
    - any:
        - in_segment: vip          # another segment of the same run
        - purchased: {category: [shoes, bags]}   # order lines (clean orders), counted by distinct order
          at_least: 2
          within_days: 90
```

Parsing checks the structure (:func:`parse_segment`); :func:`validate_segments` checks a set of definitions
against the profile's attributes (:class:`~cdp.segments.catalog.AttributeCatalog`): trait names, operators
for the trait's type, value types, references to other segments and their cycles. Every error is one line,
``<file>: <node path>: <problem>``, the path counted from the condition (``all[1].any[0]``).

Two-valued logic: a trait condition on a profile without a value is false (never unknown), so
``not: {trait: gender, eq: female}`` includes profiles whose gender is unknown, while ``ne: female`` needs a
value. Event and purchase counts of a profile without any are 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from cdp.lakefs import LakeFiles
from cdp.segments.catalog import Attribute, AttributeCatalog, ValueType
from cdp.segments.errors import SegmentDefinitionError

#: the lake's definitions: every ``*.yaml`` here is evaluated by the segments step
DEFINITIONS_DIR: Final = "segments/definitions"

SEGMENT_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: a JSON property of an event, dotted for nested objects (``product.category``)
PROPERTY_PATH: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,7}$")
#: ``performed: "*"``: any event
ANY_EVENT: Final = "*"
MAX_WINDOW_DAYS: Final = 3660

EVENT_TYPES: Final = ("track", "page", "screen", "identify", "group", "alias")
#: order-line columns a ``purchased`` condition filters on (``clean/orders``)
PURCHASE_COLUMNS: Final = ("category", "product_id", "product_name", "channel", "source_id", "currency")
CONDITION_KINDS: Final = ("all", "any", "not", "trait", "performed", "purchased", "in_segment")


class Operator(StrEnum):
    eq = "eq"
    ne = "ne"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    between = "between"
    in_ = "in"
    not_in = "not_in"
    is_null = "is_null"
    not_null = "not_null"
    contains = "contains"


OPERATOR_NAMES: Final = tuple(operator.value for operator in Operator)
_ORDERING: Final = (Operator.gt, Operator.gte, Operator.lt, Operator.lte, Operator.between)
_SETS: Final = (Operator.in_, Operator.not_in)
_NULL_CHECKS: Final = (Operator.is_null, Operator.not_null)

#: the operators each type of attribute takes
OPERATORS_BY_TYPE: Final[dict[ValueType, tuple[Operator, ...]]] = {
    ValueType.string: (Operator.eq, Operator.ne, *_ORDERING, *_SETS, *_NULL_CHECKS),
    ValueType.integer: (Operator.eq, Operator.ne, *_ORDERING, *_SETS, *_NULL_CHECKS),
    ValueType.number: (Operator.eq, Operator.ne, *_ORDERING, *_SETS, *_NULL_CHECKS),
    ValueType.timestamp: (Operator.eq, Operator.ne, *_ORDERING, *_NULL_CHECKS),
    ValueType.boolean: (Operator.eq, Operator.ne, *_NULL_CHECKS),
    ValueType.list: (Operator.contains, *_NULL_CHECKS),
}
#: operators of an event's ``where`` filters (property values are JSON: text, numbers, booleans)
PROPERTY_OPERATORS: Final = (Operator.eq, Operator.ne, *_ORDERING, *_SETS, *_NULL_CHECKS)


class CountOperator(StrEnum):
    at_least = "at_least"
    at_most = "at_most"
    exactly = "exactly"


Scalar: TypeAlias = str | int | float | bool | datetime


@dataclass(frozen=True, slots=True)
class Comparison:
    """``operator`` and its operand: a scalar; a pair (``between``); a tuple (``in``, ``not_in``); None
    (``is_null``, ``not_null``)."""

    operator: Operator
    value: Any


# -- the condition tree ----------------------------------------------------------------------------------
# Every node keeps its path (``all[1].any[0]``; "" is the root) for messages.


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]
    path: str


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]
    path: str


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition
    path: str


@dataclass(frozen=True, slots=True)
class TraitCondition:
    trait: str
    comparison: Comparison
    path: str


@dataclass(frozen=True, slots=True)
class PropertyFilter:
    """A filter on one JSON property of an event; numbers compare as numbers, anything else as text."""

    property: str
    comparison: Comparison
    numeric: bool


@dataclass(frozen=True, slots=True)
class EventCondition:
    performed: str  # the track event's name, or a page/screen name; ANY_EVENT: any
    event_type: str | None
    channel: str | None
    where: tuple[PropertyFilter, ...]
    count: CountOperator
    times: int
    within_days: int | None
    path: str


@dataclass(frozen=True, slots=True)
class PurchaseCondition:
    """Distinct orders with at least one line matching every filter (column → accepted values)."""

    filters: tuple[tuple[str, tuple[str, ...]], ...]
    count: CountOperator
    times: int
    within_days: int | None
    path: str


@dataclass(frozen=True, slots=True)
class SegmentReference:
    segment_id: str
    path: str


Condition: TypeAlias = (
    AllOf | AnyOf | Not | TraitCondition | EventCondition | PurchaseCondition | SegmentReference
)


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of the tree, parents before children."""
    yield condition
    if isinstance(condition, AllOf | AnyOf):
        for child in condition.conditions:
            yield from walk(child)
    elif isinstance(condition, Not):
        yield from walk(condition.condition)


@dataclass(frozen=True, slots=True)
class SegmentDefinition:
    id: str
    name: str
    description: str
    destinations: tuple[str, ...]
    condition: Condition
    file: str

    def references(self) -> list[SegmentReference]:
        return [node for node in walk(self.condition) if isinstance(node, SegmentReference)]


# -- errors -------------------------------------------------------------------------------------------


class _NodeError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def node_label(path: str) -> str:
    return path or "condition"


def _fail(file: str, path: str, message: str) -> SegmentDefinitionError:
    return SegmentDefinitionError(f"{file}: {node_label(path)}: {message}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def _pydantic_problem(error: ValidationError) -> str:
    """``within_days: must be greater than or equal to 1``: the first problem, on one line."""
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"])
    kind = detail["type"]
    if kind == "extra_forbidden":
        return f"unknown key {where!r}"
    if kind == "missing":
        return f"{where}: is required"
    reason = str(detail["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    return f"{where}: {reason}" if where else reason


# -- the document ----------------------------------------------------------------------------------------


def _check_id(value: str) -> str:
    if not SEGMENT_ID.match(value):
        raise ValueError(f"must be 1-64 of a-z, 0-9, '_' and '-', starting with a-z or 0-9, got {value!r}")
    return value


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StrictStr
    name: StrictStr = Field(min_length=1)
    description: StrictStr = ""
    destinations: list[StrictStr] = Field(default_factory=list)
    condition: dict[str, Any]

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("destinations")
    @classmethod
    def _destinations(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_id(value)
        if len(set(values)) != len(values):
            raise ValueError("a destination is listed twice")
        return values


class _EventLeaf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    performed: StrictStr = Field(min_length=1)
    event_type: Literal["track", "page", "screen", "identify", "group", "alias"] | None = None
    channel: StrictStr | None = Field(default=None, min_length=1)
    at_least: StrictInt | None = Field(default=None, ge=1)
    at_most: StrictInt | None = Field(default=None, ge=0)
    exactly: StrictInt | None = Field(default=None, ge=0)
    within_days: StrictInt | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    where: list[Any] | dict[str, Any] | None = None


class _PurchaseLeaf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purchased: dict[StrictStr, StrictStr | list[StrictStr]] | None
    at_least: StrictInt | None = Field(default=None, ge=1)
    at_most: StrictInt | None = Field(default=None, ge=0)
    exactly: StrictInt | None = Field(default=None, ge=0)
    within_days: StrictInt | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)


def parse_segment(text: str, *, file: str) -> SegmentDefinition:
    """One definition from YAML text; ``file`` names it in errors. Structure only: names and value types
    are checked against the profile's attributes by :func:`validate_segments`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SegmentDefinitionError(f"{file}: not YAML ({_yaml_problem(error)})") from None
    if not isinstance(data, dict):
        raise SegmentDefinitionError(f"{file}: a segment definition must be a YAML mapping")
    try:
        document = _Document.model_validate(data)
    except ValidationError as error:
        raise SegmentDefinitionError(f"{file}: {_pydantic_problem(error)}") from None
    try:
        condition = _condition(document.condition, "")
    except _NodeError as error:
        raise _fail(file, error.path, error.message) from None
    return SegmentDefinition(
        id=document.id,
        name=document.name,
        description=document.description,
        destinations=tuple(document.destinations),
        condition=condition,
        file=file,
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return f"line {error.problem_mark.line + 1}: {error.problem}"
    return str(error).splitlines()[0]


def _child(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _condition(raw: Any, path: str) -> Condition:
    kinds_text = ", ".join(CONDITION_KINDS)
    if not isinstance(raw, dict):
        raise _NodeError(path, f"a condition is a mapping with one of {kinds_text}, got {_shown(raw)}")
    kinds = [kind for kind in CONDITION_KINDS if kind in raw]
    if not kinds:
        keys = ", ".join(repr(str(key)) for key in raw) or "nothing"
        raise _NodeError(path, f"unknown condition ({keys}): a condition has one of {kinds_text}")
    if len(kinds) > 1:
        raise _NodeError(
            path, f"one condition per node, got {' and '.join(kinds)} (combine them with all: or any:)"
        )
    kind = kinds[0]
    if kind in ("all", "any", "not"):
        extra = [str(key) for key in raw if key != kind]
        if extra:
            raise _NodeError(path, f"unknown key {extra[0]!r} beside {kind}")
    if kind in ("all", "any"):
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise _NodeError(path, f"{kind} takes a non-empty list of conditions")
        children = tuple(_condition(item, _child(path, f"{kind}[{i}]")) for i, item in enumerate(items))
        return AllOf(children, path) if kind == "all" else AnyOf(children, path)
    if kind == "not":
        if isinstance(raw["not"], list):
            raise _NodeError(path, "not takes one condition (a mapping); wrap several in all: or any:")
        return Not(_condition(raw["not"], _child(path, "not")), path)
    if kind == "trait":
        return _trait_condition(raw, path)
    if kind == "performed":
        return _event_condition(raw, path)
    if kind == "purchased":
        return _purchase_condition(raw, path)
    return _segment_reference(raw, path)


def _operator_of(raw: dict[str, Any], subject: str, path: str, allowed: Sequence[Operator]) -> Operator:
    names = ", ".join(operator.value for operator in allowed)
    keys = [str(key) for key in raw if key not in ("trait", "property")]
    unknown = [key for key in keys if key not in OPERATOR_NAMES]
    if unknown:
        raise _NodeError(path, f"unknown operator {unknown[0]!r} for {subject} (operators: {names})")
    if not keys:
        raise _NodeError(path, f"{subject} needs an operator (one of {names})")
    if len(keys) > 1:
        raise _NodeError(
            path, f"one operator per condition, got {' and '.join(keys)} (use between, or all: [...])"
        )
    return Operator(keys[0])


def _operand(operator: Operator, value: Any, subject: str, path: str) -> Any:
    """The operand's shape (its types are checked against the attribute later)."""
    if operator in _NULL_CHECKS:
        if value is not True:
            raise _NodeError(path, f"{operator.value} takes true, got {_shown(value)}")
        return None
    if operator is Operator.between:
        if not isinstance(value, list) or len(value) != 2 or any(_not_scalar(item) for item in value):
            raise _NodeError(path, f"between takes [low, high] for {subject}, got {_shown(value)}")
        return tuple(value)
    if operator in _SETS:
        if not isinstance(value, list) or not value or any(_not_scalar(item) for item in value):
            raise _NodeError(
                path, f"{operator.value} takes a non-empty list for {subject}, got {_shown(value)}"
            )
        return tuple(value)
    if value is None:
        raise _NodeError(path, f"{operator.value} needs a value for {subject}; use is_null: true for none")
    if _not_scalar(value):
        raise _NodeError(path, f"{operator.value} takes one value for {subject}, got {_shown(value)}")
    return value


def _not_scalar(value: Any) -> bool:
    return value is None or isinstance(value, list | dict)


def _trait_condition(raw: dict[str, Any], path: str) -> TraitCondition:
    trait = raw["trait"]
    if not isinstance(trait, str) or not trait:
        raise _NodeError(path, f"trait takes a name, got {_shown(trait)}")
    subject = f"trait {trait!r}"
    operator = _operator_of(raw, subject, path, tuple(Operator))
    operand = _operand(operator, raw[operator.value], subject, path)
    return TraitCondition(trait, Comparison(operator, operand), path)


def _count(leaf: _EventLeaf | _PurchaseLeaf, path: str) -> tuple[CountOperator, int]:
    given = [
        (kind, getattr(leaf, kind.value)) for kind in CountOperator if getattr(leaf, kind.value) is not None
    ]
    if len(given) > 1:
        raise _NodeError(path, f"{' and '.join(kind.value for kind, _ in given)} exclude each other")
    return given[0] if given else (CountOperator.at_least, 1)


def _event_condition(raw: dict[str, Any], path: str) -> EventCondition:
    try:
        leaf = _EventLeaf.model_validate(raw)
    except ValidationError as error:
        raise _NodeError(path, _pydantic_problem(error)) from None
    filters_raw = [leaf.where] if isinstance(leaf.where, dict) else (leaf.where or [])
    filters = tuple(
        _property_filter(item, _child(path, f"where[{index}]")) for index, item in enumerate(filters_raw)
    )
    count, times = _count(leaf, path)
    return EventCondition(
        performed=leaf.performed,
        event_type=leaf.event_type,
        channel=leaf.channel,
        where=filters,
        count=count,
        times=times,
        within_days=leaf.within_days,
        path=path,
    )


def _property_filter(raw: Any, path: str) -> PropertyFilter:
    if not isinstance(raw, dict) or "property" not in raw:
        raise _NodeError(path, "a where filter is a mapping with property and one operator")
    name = raw["property"]
    if not isinstance(name, str) or not PROPERTY_PATH.match(name):
        raise _NodeError(
            path, f"property must be a JSON property name (dotted for nested), got {_shown(name)}"
        )
    subject = f"property {name!r}"
    operator = _operator_of(raw, subject, path, PROPERTY_OPERATORS)
    if operator not in PROPERTY_OPERATORS:
        names = ", ".join(op.value for op in PROPERTY_OPERATORS)
        raise _NodeError(path, f"{operator.value} does not apply to {subject} (operators: {names})")
    operand = _operand(operator, raw[operator.value], subject, path)
    values = operand if isinstance(operand, tuple) else () if operand is None else (operand,)
    values = tuple(v.isoformat() if isinstance(v, date) else v for v in values)
    kinds = {_json_kind(value) for value in values}
    if len(kinds) > 1:
        raise _NodeError(
            path, f"{operator.value} mixes numbers and text for {subject}: {_shown(list(values))}"
        )
    numeric = kinds == {"number"}
    if operator in _ORDERING and kinds == {"boolean"}:
        raise _NodeError(path, f"{operator.value} does not apply to true/false for {subject}")
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise _NodeError(path, f"{operator.value} needs a finite number for {subject}")
    if operator is Operator.between and values[0] > values[1]:
        raise _NodeError(path, f"between needs low ≤ high for {subject}, got {_shown(list(values))}")
    value: Any = None if operand is None else values if isinstance(operand, tuple) else values[0]
    return PropertyFilter(name, Comparison(operator, value), numeric)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _purchase_condition(raw: dict[str, Any], path: str) -> PurchaseCondition:
    try:
        leaf = _PurchaseLeaf.model_validate(raw)
    except ValidationError as error:
        problem = _pydantic_problem(error)
        if problem.startswith("purchased"):
            problem = (
                "purchased takes a mapping of order-line columns to a value or a list of values "
                f"({', '.join(PURCHASE_COLUMNS)}), or {{}} for any order"
            )
        raise _NodeError(path, problem) from None
    filters: list[tuple[str, tuple[str, ...]]] = []
    for column, accepted in sorted((leaf.purchased or {}).items()):
        if column not in PURCHASE_COLUMNS:
            raise _NodeError(
                path,
                f"purchased: unknown order-line column {column!r} (columns: {', '.join(PURCHASE_COLUMNS)})",
            )
        values = (accepted,) if isinstance(accepted, str) else tuple(accepted)
        if not values:
            raise _NodeError(path, f"purchased: {column} takes a value or a non-empty list")
        filters.append((column, values))
    count, times = _count(leaf, path)
    return PurchaseCondition(tuple(filters), count, times, leaf.within_days, path)


def _segment_reference(raw: dict[str, Any], path: str) -> SegmentReference:
    extra = [str(key) for key in raw if key != "in_segment"]
    if extra:
        raise _NodeError(path, f"unknown key {extra[0]!r} beside in_segment")
    target = raw["in_segment"]
    if not isinstance(target, str) or not SEGMENT_ID.match(target):
        raise _NodeError(path, f"in_segment takes a segment id, got {_shown(target)}")
    return SegmentReference(target, path)


# -- validation against the profile's attributes ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentSet:
    """Definitions validated together: ids unique, traits known and typed, references resolved, no cycle.
    Trait operands are normalized (timestamps as UTC ``datetime``)."""

    definitions: Mapping[str, SegmentDefinition]
    catalog: AttributeCatalog

    def __iter__(self) -> Iterator[SegmentDefinition]:
        return iter(self.definitions.values())

    def __len__(self) -> int:
        return len(self.definitions)

    def closure(self, segment_ids: Iterable[str]) -> list[str]:
        """``segment_ids`` and every segment they reference, directly or not, sorted."""
        found: set[str] = set()
        pending = list(segment_ids)
        while pending:
            segment_id = pending.pop()
            if segment_id in found:
                continue
            found.add(segment_id)
            pending.extend(ref.segment_id for ref in self.definitions[segment_id].references())
        return sorted(found)

    def attribute(self, trait: str) -> Attribute:
        found = self.catalog.get(trait)
        if found is None:  # validated: cannot happen
            raise KeyError(trait)
        return found


def validate_segments(definitions: Iterable[SegmentDefinition], catalog: AttributeCatalog) -> SegmentSet:
    by_id: dict[str, SegmentDefinition] = {}
    for definition in definitions:
        if definition.id in by_id:
            raise SegmentDefinitionError(
                f"{definition.file}: id {definition.id!r} is also the id of {by_id[definition.id].file}"
            )
        by_id[definition.id] = definition
    checked: dict[str, SegmentDefinition] = {}
    for segment_id in sorted(by_id):
        definition = by_id[segment_id]
        try:
            condition = _resolve(definition.condition, catalog, by_id)
        except _NodeError as error:
            raise _fail(definition.file, error.path, error.message) from None
        checked[segment_id] = replace(definition, condition=condition)
    _refuse_cycles(checked)
    return SegmentSet(checked, catalog)


def _resolve(
    condition: Condition, catalog: AttributeCatalog, known: Mapping[str, SegmentDefinition]
) -> Condition:
    if isinstance(condition, AllOf | AnyOf):
        children = tuple(_resolve(child, catalog, known) for child in condition.conditions)
        return replace(condition, conditions=children)
    if isinstance(condition, Not):
        return replace(condition, condition=_resolve(condition.condition, catalog, known))
    if isinstance(condition, TraitCondition):
        attribute = catalog.get(condition.trait)
        if attribute is None:
            hint = catalog.suggestion(condition.trait)
            suffix = f" (did you mean {hint!r}?)" if hint else ""
            raise _NodeError(condition.path, f"unknown trait {condition.trait!r}{suffix}")
        return replace(condition, comparison=_typed(condition.comparison, attribute, condition.path))
    if isinstance(condition, SegmentReference) and condition.segment_id not in known:
        raise _NodeError(condition.path, f"unknown segment {condition.segment_id!r}")
    return condition


_EXPECTED: Final = {
    ValueType.string: "text",
    ValueType.integer: "a number",
    ValueType.number: "a number",
    ValueType.boolean: "true or false",
    ValueType.timestamp: "an ISO-8601 time",
    ValueType.list: "text",
}


def _typed(comparison: Comparison, attribute: Attribute, path: str) -> Comparison:
    operator, kind = comparison.operator, attribute.value_type
    subject = f"trait {attribute.name!r} is {kind.value}"
    allowed = OPERATORS_BY_TYPE[kind]
    if operator not in allowed:
        names = ", ".join(op.value for op in allowed)
        raise _NodeError(path, f"{subject}: {operator.value} does not apply (operators: {names})")
    if comparison.value is None:
        return comparison
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    converted: list[Any] = []
    for value in values:
        typed = _typed_value(value, kind)
        if typed is None:
            plural = {"text": "text", "a number": "numbers", "an ISO-8601 time": "ISO-8601 times"}
            expected = _EXPECTED[kind]
            needs = f"a list of {plural.get(expected, expected)}" if operator in _SETS else expected
            if operator is Operator.between:
                needs = f"[low, high] of {plural.get(expected, expected)}"
            raise _NodeError(path, f"{subject}: {operator.value} needs {needs}, got {_shown(value)}")
        converted.append(typed)
    if operator is Operator.between and converted[0] > converted[1]:
        raise _NodeError(path, f"{subject}: between needs low ≤ high, got {_shown(list(values))}")
    result: Any = tuple(converted) if isinstance(comparison.value, tuple) else converted[0]
    return Comparison(operator, result)


def _typed_value(value: Any, kind: ValueType) -> Scalar | None:
    """``value`` as ``kind`` compares it, or None when it is not one."""
    if kind in (ValueType.string, ValueType.list):
        return value if isinstance(value, str) else None
    if kind in (ValueType.integer, ValueType.number):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if math.isfinite(value) else None
    if kind is ValueType.boolean:
        return value if isinstance(value, bool) else None
    return _timestamp(value)


def _timestamp(value: Any) -> datetime | None:
    """An ISO-8601 time (naive means UTC) or a YAML date/datetime, as an aware UTC ``datetime``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _refuse_cycles(definitions: Mapping[str, SegmentDefinition]) -> None:
    done: set[str] = set()

    def visit(segment_id: str, trail: list[str]) -> None:
        if segment_id in done:
            return
        definition = definitions[segment_id]
        for reference in definition.references():
            if reference.segment_id in trail or reference.segment_id == segment_id:
                start = trail.index(reference.segment_id) if reference.segment_id in trail else len(trail)
                cycle = [*trail[start:], segment_id, reference.segment_id]
                raise _fail(definition.file, reference.path, f"in_segment cycle: {' → '.join(cycle)}")
            visit(reference.segment_id, [*trail, segment_id])
        done.add(segment_id)

    for segment_id in sorted(definitions):
        visit(segment_id, [])


# -- loading -------------------------------------------------------------------------------------------


def lake_definition_files(files: LakeFiles) -> list[str]:
    """Lake-relative paths of the lake's definition files, sorted."""
    return files.find(DEFINITIONS_DIR, lambda name: name.endswith((".yaml", ".yml")))


def load_lake_definitions(files: LakeFiles) -> list[SegmentDefinition]:
    return [
        parse_segment((files.read_bytes(name) or b"").decode("utf-8"), file=name)
        for name in lake_definition_files(files)
    ]


def load_lake_segments(files: LakeFiles, catalog: AttributeCatalog) -> SegmentSet:
    """Every definition of the lake, validated together."""
    return validate_segments(load_lake_definitions(files), catalog)


def read_segment_file(path: Path) -> SegmentDefinition:
    """A definition file outside the lake (``cdp segments preview FILE``), named as given."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SegmentDefinitionError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise SegmentDefinitionError(f"{path}: not UTF-8 text") from None
    return parse_segment(text, file=str(path))
