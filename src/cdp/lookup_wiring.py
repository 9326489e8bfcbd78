"""Composition root of the profile lookup: settings in, a wired store and service out.

The twin of :mod:`cdp.wiring` (ingestion) and :mod:`cdp.import_wiring` (batch import), used by the lookup
Lambda, the loader Lambda, ``cdp serve`` and the pipeline's ``lookup`` step. Adapters are imported here
lazily, so the lookup handler's cold start loads neither boto3 nor pyarrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from cdp.lake import LocalLake
from cdp.lookup.ports import ProfileStore
from cdp.lookup.service import ProfileLookupService
from cdp.settings import DEFAULT_LAKE, ConfigError, config_from_env
from cdp.standardize.phone import DEFAULT_REGION

BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class LookupSettings(BaseModel):
    """What the lookup function, its loader and ``cdp serve`` need."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: the local lake (its ``_local/`` holds the SQLite store); unused with the DynamoDB store
    lake: str = Field(default=str(DEFAULT_LAKE), min_length=1)
    profile_store: Literal["local", "dynamodb"] = "local"
    #: the DynamoDB table of the AWS store; required when profile_store=dynamodb
    profile_table: str | None = Field(default=None, min_length=3, max_length=255, validate_default=True)
    #: where a phone number typed without a country code is read (ISO 3166-1 alpha-2)
    phone_region: str = Field(default=DEFAULT_REGION, pattern=r"^[A-Z]{2}$")
    #: the lake bucket the loader function reads; an invocation naming another bucket is refused
    lake_bucket: str | None = Field(default=None, pattern=BUCKET_NAME)

    @field_validator("profile_table")
    @classmethod
    def _table_for_dynamodb(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("profile_store") == "dynamodb":
            raise ValueError("is required when the profile store is dynamodb")
        return value

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LookupSettings:
        """From ``CDP_*`` variables; :class:`~cdp.settings.ConfigError` names the bad one."""
        return config_from_env(cls, env, _ENV_VARS)


_ENV_VARS: dict[str, str] = {
    "lake": "CDP_LAKE",
    "profile_store": "CDP_PROFILE_STORE",
    "profile_table": "CDP_PROFILE_TABLE",
    "phone_region": "CDP_PHONE_REGION",
    "lake_bucket": "CDP_LAKE_BUCKET",
}


class LoadRequest(BaseModel):
    """What the orchestrator invokes the loader function with: ``{"lake_bucket": "…"}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    lake_bucket: str = Field(pattern=BUCKET_NAME)

    def lake_uri(self, settings: LookupSettings) -> str:
        if settings.lake_bucket is not None and settings.lake_bucket != self.lake_bucket:
            raise ConfigError(
                f"lake_bucket {self.lake_bucket!r}: this loader reads only {settings.lake_bucket!r}"
            )
        return f"s3://{self.lake_bucket}"


def build_profile_store(settings: LookupSettings, *, loading: bool = False) -> ProfileStore:
    """The store of ``settings``; ``loading`` gives the DynamoDB client the patience of a batch job
    (a lookup's reads must fail fast inside API Gateway's 30 s, a loader's writes may wait)."""
    if settings.profile_store == "dynamodb":
        from cdp.adapters.aws_dynamodb_profiles import DynamoDbProfileStore

        if settings.profile_table is None:  # guaranteed by validation; narrows the type
            raise ConfigError("invalid configuration CDP_PROFILE_TABLE: is required")
        return DynamoDbProfileStore(table_name=settings.profile_table, read_timeout=10.0 if loading else 2.0)
    from cdp.adapters.local_profiles import SqliteProfileStore

    return SqliteProfileStore(LocalLake.at(settings.lake))


def build_lookup_service(settings: LookupSettings) -> ProfileLookupService:
    return ProfileLookupService(build_profile_store(settings), default_region=settings.phone_region)
