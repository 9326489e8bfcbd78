"""Survivorship rules (SPEC 6): which of a person's records gives each attribute of the profile; and which
Segment consent categories stand for which purpose (:class:`cdp.profiles.consent.ConsentConfig`).

One validated model, read from the lake's ``profiles/config/profiles.yaml`` when the step starts (STYLE 3);
without the file every attribute keeps its default rule. A bad file fails before any work, with one line
naming the file, the field and the reason.

```yaml
trusted_sources: [crm, pos, shop]        # the default order for most_trusted, most trusted first
survivorship:
  first_name: most_trusted               # the rule alone
  city: {rule: most_trusted, sources: [pos, crm]}
  primary_email: most_recent
consent:
  categories: {Advertising: ads, C0004: ads}   # Segment categoryPreferences → purpose (replaces the default)
```

Rules (ties always end on a unique key, so both engines pick the same record):
- ``most_recent``: the value of the record seen last (``last_seen``), ties by the smaller ``record_id``;
- ``most_frequent``: the value the most records carry, ties by the most recent of them, then the smaller
  value;
- ``most_trusted``: the value from the most trusted source in the list (unlisted sources after the
  listed ones), then the most recent as above.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdp.lakefs import LakeFiles
from cdp.profiles.consent import ConsentConfig
from cdp.profiles.errors import ProfilesConfigError, first_error, yaml_problem

#: the lake's survivorship rules (optional)
PROFILES_CONFIG_PATH: Final = "profiles/config/profiles.yaml"

_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SurvivorshipRule(StrEnum):
    most_recent = "most_recent"
    most_frequent = "most_frequent"
    most_trusted = "most_trusted"


class ProfileAttribute(StrEnum):
    """An attribute of ``profiles`` chosen from the person's records."""

    first_name = "first_name"
    last_name = "last_name"
    date_of_birth = "date_of_birth"
    gender = "gender"
    city = "city"
    province = "province"
    postcode = "postcode"
    country = "country"
    company = "company"
    primary_email = "primary_email"
    primary_phone = "primary_phone"


#: the ``identity_records`` column each attribute is chosen from
ATTRIBUTE_COLUMNS: Final[dict[ProfileAttribute, str]] = {
    ProfileAttribute.first_name: "first_name",
    ProfileAttribute.last_name: "last_name",
    ProfileAttribute.date_of_birth: "date_of_birth",
    ProfileAttribute.gender: "gender",
    ProfileAttribute.city: "city",
    ProfileAttribute.province: "province_code",
    ProfileAttribute.postcode: "postcode",
    ProfileAttribute.country: "country_code",
    ProfileAttribute.company: "company",
    ProfileAttribute.primary_email: "email",
    ProfileAttribute.primary_phone: "phone_e164",
}

#: names, birth date and gender: what most records agree on; where someone lives and how to reach them: the
#: latest we heard
DEFAULT_RULES: Final[dict[ProfileAttribute, SurvivorshipRule]] = {
    ProfileAttribute.first_name: SurvivorshipRule.most_frequent,
    ProfileAttribute.last_name: SurvivorshipRule.most_frequent,
    ProfileAttribute.date_of_birth: SurvivorshipRule.most_frequent,
    ProfileAttribute.gender: SurvivorshipRule.most_frequent,
    ProfileAttribute.city: SurvivorshipRule.most_recent,
    ProfileAttribute.province: SurvivorshipRule.most_recent,
    ProfileAttribute.postcode: SurvivorshipRule.most_recent,
    ProfileAttribute.country: SurvivorshipRule.most_recent,
    ProfileAttribute.company: SurvivorshipRule.most_recent,
    ProfileAttribute.primary_email: SurvivorshipRule.most_recent,
    ProfileAttribute.primary_phone: SurvivorshipRule.most_recent,
}


def _source_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if not _SOURCE_ID.match(value):
            raise ValueError(f"{value!r} is not a source id (a-z, 0-9, '-', '_')")
    if len(set(values)) != len(values):
        raise ValueError("a source is listed twice")
    return values


class AttributeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: SurvivorshipRule
    #: most_trusted only: source ids, most trusted first (default: the config's ``trusted_sources``)
    sources: tuple[str, ...] = ()

    @field_validator("sources")
    @classmethod
    def _valid_sources(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _source_ids(values)

    @model_validator(mode="after")
    def _sources_only_when_trusted(self) -> AttributeRule:
        if self.sources and self.rule is not SurvivorshipRule.most_trusted:
            raise ValueError("sources apply to most_trusted only")
        return self


class ProfilesConfig(BaseModel):
    """The step's survivorship rules and consent categories; defaults are what a lake without
    ``profiles.yaml`` gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_sources: tuple[str, ...] = ()
    survivorship: dict[ProfileAttribute, AttributeRule] = Field(default_factory=dict)
    consent: ConsentConfig = Field(default_factory=ConsentConfig)

    @field_validator("trusted_sources")
    @classmethod
    def _valid_sources(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _source_ids(values)

    @field_validator("survivorship", mode="before")
    @classmethod
    def _rule_shorthand(cls, value: Any) -> Any:
        """``city: most_recent`` is short for ``city: {rule: most_recent}``."""
        if isinstance(value, dict):
            return {key: {"rule": rule} if isinstance(rule, str) else rule for key, rule in value.items()}
        return value

    @model_validator(mode="after")
    def _trusted_rules_have_sources(self) -> ProfilesConfig:
        for attribute, chosen in self.survivorship.items():
            if chosen.rule is SurvivorshipRule.most_trusted and not (chosen.sources or self.trusted_sources):
                raise ValueError(
                    f"survivorship.{attribute.value}: most_trusted needs sources (here or in trusted_sources)"
                )
        return self

    def rule(self, attribute: ProfileAttribute) -> SurvivorshipRule:
        chosen = self.survivorship.get(attribute)
        return chosen.rule if chosen else DEFAULT_RULES[attribute]

    def trust_order(self, attribute: ProfileAttribute) -> tuple[str, ...]:
        """Sources of a most_trusted attribute, most trusted first (empty for the other rules)."""
        chosen = self.survivorship.get(attribute)
        if chosen is None or chosen.rule is not SurvivorshipRule.most_trusted:
            return ()
        return chosen.sources or self.trusted_sources


def parse_profiles_config(data: object, *, name: str = PROFILES_CONFIG_PATH) -> ProfilesConfig:
    try:
        return ProfilesConfig.model_validate(data)
    except ValidationError as error:
        where, reason = first_error(error)
        raise ProfilesConfigError(f"{name}: {where + ': ' if where else ''}{reason}") from None


def load_profiles_config(files: LakeFiles) -> ProfilesConfig:
    """The lake's rules (``profiles/config/profiles.yaml``), or the defaults without the file."""
    data = files.read_bytes(PROFILES_CONFIG_PATH)
    if data is None:
        return ProfilesConfig()
    try:
        parsed = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise ProfilesConfigError(f"{PROFILES_CONFIG_PATH}: not YAML ({yaml_problem(error)})") from None
    return parse_profiles_config(parsed or {})
