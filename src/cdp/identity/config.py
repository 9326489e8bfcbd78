"""Identity rules (SPEC 6) as one validated model, loaded from ``identity.yaml`` at command start (STYLE 3).

Every rule the resolver applies lives here, so what merges and what is refused is configuration a retailer
can read and change, not code: which identifiers make edges, which are strong enough to merge without
looking at other evidence, how many distinct people may share one value before it stops being a merge key,
the largest profile allowed, and the probabilistic threshold.

```yaml
blocklist:
  emails: [info@shop.co.th, sales@shop.co.th]   # shared corporate inboxes: never a merge key
  phones: ["02 123 4567"]                        # a branch's front desk
cardinality_limits: {email: 5, phone: 5, anonymous_id: 5}
max_profile_records: 1000
identifier_priority: [user_id, national_id, source_key, email, phone, anonymous_id]
strong_identifiers: [user_id, national_id, source_key]
probabilistic: {enabled: true, threshold: 0.9, dob_conflict_threshold: 0.999}
```
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdp.identity.errors import IdentityConfigError
from cdp.standardize.email import standardize_email
from cdp.standardize.phone import standardize_phone


class Identifier(StrEnum):
    """An identifier kind that can join two identity records (a deterministic edge)."""

    user_id = "user_id"
    national_id = "national_id"
    source_key = "source_key"  # source_id + the source's own record key
    email = "email"  # the email match key (Gmail dots/plus folded)
    phone = "phone"  # E.164
    anonymous_id = "anonymous_id"  # a device/cookie: shared tablets exist


class Blocklist(BaseModel):
    """Values that are never merge keys, beyond the placeholders the standardizer already drops."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    anonymous_ids: tuple[str, ...] = ()

    @field_validator("emails")
    @classmethod
    def _normalize_emails(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        keys: list[str] = []
        for value in values:
            result = standardize_email(value)
            keys.extend(key for key in (result.match_key, result.normalized) if key)
            keys.append(value.strip().lower())
        return tuple(sorted(set(keys)))

    @field_validator("phones")
    @classmethod
    def _normalize_phones(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        normalized = []
        for value in values:
            e164 = standardize_phone(value).e164
            if e164 is None:
                raise ValueError(f"{value!r} is not a phone number")
            normalized.append(e164)
        return tuple(sorted(set(normalized)))

    def pairs(self) -> list[tuple[str, str]]:
        """``(identifier, value)`` rows for the resolver's anti-join."""
        return [
            *((Identifier.email.value, value) for value in self.emails),
            *((Identifier.phone.value, value) for value in self.phones),
            *((Identifier.user_id.value, value) for value in self.user_ids),
            *((Identifier.anonymous_id.value, value) for value in self.anonymous_ids),
        ]


class ProbabilisticConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    threshold: float = Field(default=0.9, ge=0.5, le=1.0)
    #: a scored pair whose birth dates disagree must reach this instead (the model weighed the dates)
    dob_conflict_threshold: float = Field(default=0.999, ge=0.5, le=1.0)


_DEFAULT_PRIORITY = (
    Identifier.user_id,
    Identifier.national_id,
    Identifier.source_key,
    Identifier.email,
    Identifier.phone,
    Identifier.anonymous_id,
)


class IdentityConfig(BaseModel):
    """The resolver's rules; defaults are what a lake without ``identity.yaml`` gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blocklist: Blocklist = Blocklist()
    #: an identifier value seen on more than this many distinct people (first name + date of birth)
    #: stops being a merge key; a missing entry means no limit
    cardinality_limits: dict[Identifier, int] = Field(
        default_factory=lambda: {Identifier.email: 5, Identifier.phone: 5, Identifier.anonymous_id: 5}
    )
    max_profile_records: int = Field(default=1000, ge=1)
    #: user_id beats email beats phone beats cookie: which edge attaches a record, and the ``matched_by``
    identifier_priority: tuple[Identifier, ...] = _DEFAULT_PRIORITY
    #: merge without looking at names, dates of birth or gender; the others need no conflicting evidence
    strong_identifiers: frozenset[Identifier] = frozenset(
        {Identifier.user_id, Identifier.national_id, Identifier.source_key}
    )
    #: a component larger than ``max_profile_records`` falls back to the components of these edges
    fallback_identifiers: frozenset[Identifier] = frozenset(
        {Identifier.user_id, Identifier.national_id, Identifier.source_key, Identifier.email}
    )
    #: first names further apart than this (Levenshtein, same script) are two people, unless the
    #: dates of birth agree
    name_distance: int = Field(default=2, ge=0)
    probabilistic: ProbabilisticConfig = ProbabilisticConfig()

    @field_validator("cardinality_limits")
    @classmethod
    def _positive(cls, limits: dict[Identifier, int]) -> dict[Identifier, int]:
        for kind, limit in limits.items():
            if limit < 1:
                raise ValueError(f"{kind.value}: must be at least 1")
        return limits

    @model_validator(mode="after")
    def _priority_names_every_identifier(self) -> IdentityConfig:
        if sorted(self.identifier_priority) != sorted(Identifier):
            raise ValueError(
                "identifier_priority must list each of "
                + ", ".join(kind.value for kind in Identifier)
                + " once"
            )
        return self

    def priority(self, kind: Identifier) -> int:
        """1 for the strongest identifier; overrides rank 0, probabilistic edges last."""
        return self.identifier_priority.index(kind) + 1


PROBABILISTIC_RULE = "probabilistic"
FORCE_MERGE_RULE = "force_merge"


def load_identity_config(path: Path | None) -> IdentityConfig:
    """The config of ``path`` (YAML), or the defaults when ``path`` is ``None``."""
    if path is None:
        return IdentityConfig()
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise IdentityConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise IdentityConfigError(f"{path.name}: not YAML ({str(error).splitlines()[0]})") from None
    return parse_identity_config(data or {}, name=path.name)


def parse_identity_config(data: object, *, name: str = "identity.yaml") -> IdentityConfig:
    try:
        return IdentityConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise IdentityConfigError(f"{name}: {where}: {first['msg']}") from None
