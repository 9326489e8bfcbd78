"""Typed configuration, parsed once at cold start / command start (STYLE 3).

Nothing below this module reads ``os.environ``: entry points call :meth:`IngestionSettings.from_env`
and pass the result down.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

DEFAULT_LAKE = Path(".cdp/lake")
DEFAULT_TIME_ZONE = "Asia/Bangkok"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the reason."""


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def config_from_env(model: type[ConfigT], env: Mapping[str, str], variables: Mapping[str, str]) -> ConfigT:
    """``model`` from the environment variables named by ``variables`` (field -> variable); one unset or
    empty leaves its field to the default. :class:`ConfigError` names the variable of the first invalid
    field."""
    raw = {field: env[variable] for field, variable in variables.items() if env.get(variable)}
    return validated_config(model, raw, variables)


def validated_config(
    model: type[ConfigT], raw: Mapping[str, object], variables: Mapping[str, str]
) -> ConfigT:
    """``model`` from ``raw`` field values read from the variables ``variables`` names (field -> variable);
    :class:`ConfigError` names the variable of the first invalid field."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise ConfigError(f"invalid configuration {variables.get(field, field)}: {first['msg']}") from error


class IngestionLimits(BaseModel):
    """Segment Tracking API limits, counted on decoded JSON bytes (SPEC 3.2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_event_kib: int = Field(default=32, ge=1, le=1024)
    max_request_kib: int = Field(default=500, ge=1, le=6 * 1024)
    max_batch_events: int = Field(default=2500, ge=1, le=100_000)

    @property
    def max_event_bytes(self) -> int:
        return self.max_event_kib * 1024

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_kib * 1024


class RateLimit(BaseModel):
    """Per-write-key token bucket: ``requests_per_second`` refill, ``burst`` capacity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_second: float = Field(default=1000.0, gt=0)
    burst: int = Field(default=5000, ge=1)


class IngestionSettings(BaseModel):
    """Everything the ingest handler needs, on AWS and locally."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake: str = Field(default=str(DEFAULT_LAKE), min_length=1)
    sink: Literal["local", "firehose"] = "local"
    key_store: Literal["local", "dynamodb"] = "local"
    #: Firehose DirectPut streams of the AWS sink (accepted events, rejections); required when sink=firehose
    firehose_events_stream: str | None = Field(default=None, min_length=1, validate_default=True)
    firehose_quarantine_stream: str | None = Field(default=None, min_length=1, validate_default=True)
    #: DynamoDB table of the AWS key store; required when key_store=dynamodb
    key_table: str | None = Field(default=None, min_length=1, validate_default=True)
    time_zone: str = DEFAULT_TIME_ZONE
    limits: IngestionLimits = IngestionLimits()
    rate_limit: RateLimit = RateLimit()

    @field_validator("firehose_events_stream", "firehose_quarantine_stream")
    @classmethod
    def _stream_for_firehose(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("sink") == "firehose":
            raise ValueError("is required when the event sink is firehose")
        return value

    @field_validator("key_table")
    @classmethod
    def _table_for_dynamodb(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("key_store") == "dynamodb":
            raise ValueError("is required when the key store is dynamodb")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IngestionSettings:
        """Build settings from ``CDP_*`` variables; raise :class:`ConfigError` naming the bad one."""
        raw: dict[str, object] = {}
        for path, var in _ENV_VARS.items():
            if env.get(var):
                node = raw
                *parents, leaf = path
                for part in parents:
                    node = node.setdefault(part, {})  # type: ignore[assignment]
                node[leaf] = env[var]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(str(part) for part in first["loc"])
            where = _ENV_VARS.get(loc, ".".join(loc))
            raise ConfigError(f"invalid configuration {where}: {first['msg']}") from exc


_ENV_VARS: dict[tuple[str, ...], str] = {
    ("lake",): "CDP_LAKE",
    ("sink",): "CDP_EVENT_SINK",
    ("key_store",): "CDP_KEY_STORE",
    ("firehose_events_stream",): "CDP_FIREHOSE_EVENTS_STREAM",
    ("firehose_quarantine_stream",): "CDP_FIREHOSE_QUARANTINE_STREAM",
    ("key_table",): "CDP_KEY_TABLE",
    ("time_zone",): "CDP_TIME_ZONE",
    ("limits", "max_event_kib"): "CDP_MAX_EVENT_KIB",
    ("limits", "max_request_kib"): "CDP_MAX_REQUEST_KIB",
    ("limits", "max_batch_events"): "CDP_MAX_BATCH_EVENTS",
    ("rate_limit", "requests_per_second"): "CDP_RATE_LIMIT_RPS",
    ("rate_limit", "burst"): "CDP_RATE_LIMIT_BURST",
}
