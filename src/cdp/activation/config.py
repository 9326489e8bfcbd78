"""Destinations (``segments/destinations.yaml`` in the lake) and the export's settings, typed (STYLE 3).

Parsed once per export, before anything is sent; a bad file fails with one line naming the destination and
the field (``segments/destinations.yaml: destination 'vip-sms' (sms) field templates.entered: …``).

.. code-block:: yaml

    destinations:
      - id: vip-newsletter            # [a-z0-9][a-z0-9_-]*, unique; segments list these ids
        type: ses_contact_list        # ses_contact_list | sms | sns | eventbridge | sqs | s3_audience | local
        contact_list: cdp-prod-audiences
        topic: vip
      - id: vip-sms
        type: sms
        origination_identity: arn:aws:sms-voice:ap-southeast-1:123456789012:phone-number/phone-abc
        templates: {entered: "สวัสดี {first_name}! VIP offers are waiting in the app."}
        max_per_second: 10             # the origination identity's MPS
      - id: app-notifications
        type: sns
        topic_arn: arn:aws:sns:ap-southeast-1:123456789012:cdp-prod-segment-changes
        include: [user_id]             # contact fields the events carry (default: none, ids only)

Every type also takes ``purpose`` (see :mod:`cdp.activation.consent`), ``description``, ``region``,
``endpoint_url`` (embedded mode: a moto server on 127.0.0.1) and ``max_per_second`` (the pace).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdp.activation.audience import PhoneHashFormat
from cdp.activation.consent import DEFAULT_PURPOSE, FIXED_PURPOSE, ConsentPurpose
from cdp.activation.errors import ActivationInputError
from cdp.activation.models import Change, ContactField
from cdp.lakefs import LakeFiles
from cdp.settings import DEFAULT_LAKE, config_from_env

#: configuration, not output: outside ``exports/``, whose lifecycle rule expires what it holds (an expired
#: suppression list would silently stop suppressing); the segments and privacy zones never expire
DESTINATIONS_PATH: Final = "segments/destinations.yaml"
SUPPRESSION_PATH: Final = "privacy/suppression.jsonl"
#: names under ``exports/`` that are not destinations' folders
RESERVED_IDS: Final = frozenset({"deliveries", "dead_letters", "suppression", "destinations"})
ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
BUCKET_NAME: Final = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
REGION: Final = r"^[a-z]{2}(-[a-z]+)+-\d$"
#: what an SMS template may say: ``{first_name}`` (empty when unknown) and ``{segment_id}``
SMS_PLACEHOLDERS: Final = frozenset({"first_name", "segment_id"})
#: SendTextMessage's limit on MessageBody (characters)
SMS_MAX_LENGTH: Final = 1600


class _Destination(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    purpose: ConsentPurpose | None = None
    description: str | None = None
    #: AWS region of the service (default: the environment's, as boto3 resolves it)
    region: str | None = Field(default=None, pattern=REGION)
    #: embedded mode: the AWS endpoint to call instead (a moto server on 127.0.0.1)
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    #: changes per second at most (default: the adapter's own limit)
    max_per_second: float | None = Field(default=None, gt=0, le=100_000)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved under exports/")
        return value

    @model_validator(mode="after")
    def _purpose_fits_the_type(self) -> _Destination:
        kind = str(getattr(self, "type", ""))
        default = DEFAULT_PURPOSE.get(kind)
        if self.purpose is None and default is None:
            raise ValueError(f"purpose is required for a {kind} destination (ads, email, push or sms)")
        if kind in FIXED_PURPOSE and self.purpose not in (None, default):
            raise ValueError(f"a {kind} destination delivers for purpose {default}, not {self.purpose}")
        return self

    @property
    def consent_purpose(self) -> ConsentPurpose:
        purpose = self.purpose or DEFAULT_PURPOSE[str(getattr(self, "type", ""))]
        assert purpose is not None  # the validator guarantees it
        return purpose


class SesContactListConfig(_Destination):
    """Entered → the address is created in (or updated on) the contact list with ``topic`` OPT_IN;
    exited → that topic OPT_OUT (the contact and its other topics stay: see docs/activation.md)."""

    type: Literal["ses_contact_list"]
    contact_list: str = Field(min_length=1, max_length=64)
    topic: str = Field(min_length=1, max_length=64)


class SmsConfig(_Destination):
    """One text per change type that has a template (usually ``entered`` only)."""

    type: Literal["sms"]
    #: phone number, pool, sender id (or its ARN) to send from
    origination_identity: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_:/\+-]+$")
    message_type: Literal["TRANSACTIONAL", "PROMOTIONAL"] = "PROMOTIONAL"
    templates: dict[Change, str] = Field(min_length=1)
    #: the most to pay per message part, in USD (e.g. "0.05"); unset: the account's default
    max_price: str | None = Field(default=None, pattern=r"^\d{1,2}\.\d{1,5}$")

    @field_validator("templates")
    @classmethod
    def _known_placeholders(cls, templates: dict[Change, str]) -> dict[Change, str]:
        for change, text in templates.items():
            if not text.strip() or len(text) > SMS_MAX_LENGTH:
                raise ValueError(f"{change.value}: 1 to {SMS_MAX_LENGTH} characters")
            try:
                fields = [
                    (name, spec, conversion)
                    for _, name, spec, conversion in string.Formatter().parse(text)
                    if name is not None
                ]
            except ValueError as error:
                raise ValueError(f"{change.value}: {error}") from None
            unknown = sorted({name for name, _, _ in fields} - SMS_PLACEHOLDERS)
            if unknown or any(spec or conversion for _, spec, conversion in fields):
                allowed = ", ".join(f"{{{name}}}" for name in sorted(SMS_PLACEHOLDERS))
                raise ValueError(
                    f"{change.value}: placeholders may only be {allowed}, got {unknown or 'a format spec'}"
                )
        return templates


class _EventDestination(_Destination):
    #: contact fields the events carry besides the ids (default: none)
    include: tuple[ContactField, ...] = ()


class SnsConfig(_EventDestination):
    type: Literal["sns"]
    topic_arn: str = Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


class EventBridgeConfig(_EventDestination):
    """Events ``segment.entered`` / ``segment.exited`` (detail-type) from ``source`` on ``event_bus``."""

    type: Literal["eventbridge"]
    #: the bus name or ARN (e.g. ``cdp-prod-segments``)
    event_bus: str = Field(min_length=1, max_length=1600)
    source: str = Field(default="cdp.segments", pattern=r"^[A-Za-z0-9._-]{1,256}$")

    @field_validator("source")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError("sources starting with 'aws.' are reserved for AWS services")
        return value


class SqsConfig(_EventDestination):
    type: Literal["sqs"]
    queue_url: str = Field(pattern=r"^https?://\S+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")


class S3AudienceConfig(_Destination):
    """One CSV object per run (``<prefix>segment_id=<S>/run_id=<R>/audience-<hash>.csv``), SSE-KMS."""

    type: Literal["s3_audience"]
    bucket: str = Field(pattern=BUCKET_NAME)
    #: key prefix; default ``exports/<id>/`` (the lake's exports zone when ``bucket`` is the lake)
    prefix: str | None = Field(default=None, pattern=r"^[^/\s][^\s]*/$")
    #: the KMS key (id, ARN or alias) for SSE-KMS; unset: the bucket's default KMS key
    kms_key_id: str | None = Field(default=None, min_length=1, max_length=2048)
    phone_format: PhoneHashFormat = PhoneHashFormat.E164

    @property
    def key_prefix(self) -> str:
        return self.prefix if self.prefix is not None else f"exports/{self.id}/"


class LocalConfig(_Destination):
    """Embedded mode: records what it would deliver as JSON lines under ``exports/<id>/run_id=<R>/``."""

    type: Literal["local"]
    include: tuple[ContactField, ...] = ()
    #: the contact fields a change needs (at least one) to be deliverable, as the real destination would
    needs_any: tuple[ContactField, ...] = ()
    acts_on: tuple[Change, ...] = (Change.ENTERED, Change.EXITED)


DestinationConfig = Annotated[
    SesContactListConfig
    | SmsConfig
    | SnsConfig
    | EventBridgeConfig
    | SqsConfig
    | S3AudienceConfig
    | LocalConfig,
    Field(discriminator="type"),
]


class DestinationsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    destinations: list[DestinationConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> DestinationsFile:
        seen: set[str] = set()
        for destination in self.destinations:
            if destination.id in seen:
                raise ValueError(f"destination id {destination.id!r} is used twice")
            seen.add(destination.id)
        return self


def parse_destinations(text: str | bytes, source: str = DESTINATIONS_PATH) -> dict[str, DestinationConfig]:
    """The destinations by id; :class:`~cdp.activation.errors.ActivationInputError` with one line."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ActivationInputError(f"{source}{where}: not valid YAML") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ActivationInputError(f"{source}: expected a mapping with a 'destinations' list")
    try:
        parsed = DestinationsFile.model_validate(document)
    except ValidationError as error:
        raise ActivationInputError(f"{source}: {_first_error(error, document)}") from None
    return {destination.id: destination for destination in parsed.destinations}


def load_destinations(files: LakeFiles, path: str = DESTINATIONS_PATH) -> dict[str, DestinationConfig]:
    """The lake's destinations (none when the file does not exist)."""
    data = files.read_bytes(path)
    return {} if data is None else parse_destinations(data, path)


def _first_error(error: ValidationError, document: Mapping[str, Any]) -> str:
    first = error.errors()[0]
    location = list(first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if len(location) >= 2 and location[0] == "destinations" and isinstance(location[1], int):
        index = location[1]
        raw = document.get("destinations") or []
        entry = raw[index] if isinstance(raw, list) and index < len(raw) else {}
        name = entry.get("id") if isinstance(entry, dict) else None
        kind = entry.get("type") if isinstance(entry, dict) else None
        label = f"destination {name!r}" if name else f"destination #{index + 1}"
        if kind:
            label += f" ({kind})"
        rest = location[2:]
        if rest and rest[0] == kind:  # pydantic names the union member by its tag
            rest = rest[1:]
        if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
            rest = ["type"]
        field = ".".join(str(part) for part in rest)
        return f"{label} field {field}: {message}" if field else f"{label}: {message}"
    field = ".".join(str(part) for part in location)
    return f"field {field}: {message}" if field else message


class ActivationSettings(BaseModel):
    """The export's settings from ``CDP_*`` variables (the Lambda's environment, or the CLI's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake: str = Field(default=str(DEFAULT_LAKE), min_length=1)
    #: the lake bucket of the export function (``s3://<bucket>`` is then the lake)
    lake_bucket: str | None = Field(default=None, pattern=BUCKET_NAME)
    #: dead letters go to this SQS queue; unset: JSON lines under the lake's ``exports/dead_letters/``
    dead_letter_queue_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    #: attempts per change (the first call included) before it is recorded failed and dead-lettered
    max_attempts: int = Field(default=6, ge=1, le=20)
    #: exponential backoff with full jitter: a retry waits up to base * 2**(n-1) seconds, capped
    base_delay_seconds: float = Field(default=0.5, ge=0, le=60)
    max_delay_seconds: float = Field(default=20.0, ge=0, le=900)

    @property
    def lake_uri(self) -> str:
        return f"s3://{self.lake_bucket}" if self.lake_bucket else self.lake

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActivationSettings:
        return config_from_env(cls, env, _ENV_VARS)


_ENV_VARS: dict[str, str] = {
    "lake": "CDP_LAKE",
    "lake_bucket": "CDP_LAKE_BUCKET",
    "dead_letter_queue_url": "CDP_DEAD_LETTER_QUEUE_URL",
    "max_attempts": "CDP_DELIVERY_MAX_ATTEMPTS",
    "base_delay_seconds": "CDP_DELIVERY_BASE_DELAY_SECONDS",
    "max_delay_seconds": "CDP_DELIVERY_MAX_DELAY_SECONDS",
}
