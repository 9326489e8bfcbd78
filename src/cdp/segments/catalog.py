"""What a trait condition may name: ``profiles`` columns and the traits declared for ``profile_traits``.

A segment is validated against this catalogue before anything runs (STYLE 3), so a misspelt trait or a value
of the wrong type is a one-line error naming the node, not an empty segment. A name that is both a
``profiles`` column and a declared trait (``gender``, ``company`` …) reads the column: same value, no pivot.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import pyarrow as pa

from cdp.lakefs import LakeFiles
from cdp.tables import PROFILES


class ValueType(StrEnum):
    """How a value is compared; the first five are ``profile_traits.value_type``'s."""

    string = "string"
    number = "number"
    integer = "integer"
    boolean = "boolean"
    timestamp = "timestamp"
    list = "list"  # a list of strings (``profiles.emails`` …): ``contains``


class AttributeSource(StrEnum):
    column = "column"  # a column of ``profiles``
    trait = "trait"  # a trait of ``profile_traits`` (long form, pivoted by the compiler)


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    value_type: ValueType
    source: AttributeSource


#: ``profiles`` columns a segment may not name: bookkeeping, not a property of the person
_HIDDEN_COLUMNS: Final = frozenset({"run_id"})


def _column_type(data_type: pa.DataType) -> ValueType:
    if pa.types.is_list(data_type):
        return ValueType.list
    if pa.types.is_timestamp(data_type):
        return ValueType.timestamp
    if pa.types.is_integer(data_type):
        return ValueType.integer
    if pa.types.is_floating(data_type):
        return ValueType.number
    if pa.types.is_boolean(data_type):
        return ValueType.boolean
    return ValueType.string


def profile_columns() -> dict[str, Attribute]:
    return {
        column.name: Attribute(column.name, _column_type(column.type), AttributeSource.column)
        for column in PROFILES.schema
        if column.name not in _HIDDEN_COLUMNS
    }


@dataclass(frozen=True, slots=True)
class AttributeCatalog:
    """Attributes by name: ``profiles`` columns first, then declared traits."""

    attributes: Mapping[str, Attribute] = field(default_factory=profile_columns)

    @classmethod
    def with_traits(cls, traits: Iterable[tuple[str, str]]) -> AttributeCatalog:
        """The columns of ``profiles`` plus traits given as ``(name, value_type)``."""
        attributes: dict[str, Attribute] = {}
        for name, value_type in traits:
            attributes[name] = Attribute(name, ValueType(value_type), AttributeSource.trait)
        attributes.update(profile_columns())  # a column wins over a trait of the same name
        return cls(attributes)

    def get(self, name: str) -> Attribute | None:
        return self.attributes.get(name)

    def suggestion(self, name: str) -> str | None:
        """The closest known name, for "did you mean" (None when nothing is close)."""
        close = difflib.get_close_matches(name, sorted(self.attributes), n=1, cutoff=0.75)
        return close[0] if close else None


def lake_catalog(files: LakeFiles | None) -> AttributeCatalog:
    """``profiles`` columns plus the traits the profiles step computes for this lake (its templates and
    ``profiles/config/traits/*.yaml``), read from their declarations, not from data."""
    from cdp.predictive import PREDICTIVE_TRAITS
    from cdp.profiles.traits import load_traits

    declared = [(trait.name, trait.definition.type.value) for trait in load_traits(files)]
    # the predictive traits are computed by the step itself (cdp.predictive), not declared in YAML
    return AttributeCatalog.with_traits([*PREDICTIVE_TRAITS.items(), *declared])
