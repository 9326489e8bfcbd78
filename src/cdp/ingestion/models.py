"""Pydantic models of the Segment Tracking API spec (the calls our HTTP API accepts).

Only what the spec defines is validated; unknown top-level keys are ignored, as Segment does. Explicit JSON
``null`` means "absent" (SDKs send ``"anonymousId": null``), and numeric ids are accepted as strings because
several SDKs (and hand-written clients) send ``"userId": 42``. Segment's consent object
(``context.consent.categoryPreferences``: consent category → boolean, stamped on every event by Segment's
consent-management wrappers) is validated too, because the consent store records it as the person's decision
(:mod:`cdp.profiles.consent`): a malformed one is refused with the reason rather than read as a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

MAX_ID_LENGTH = 1024
MAX_NAME_LENGTH = 1024
#: a consent category id (``Advertising``, OneTrust's ``C0004``); real ones are short
MAX_CONSENT_CATEGORY_LENGTH = 128


def _identifier(value: object) -> object:
    """Ids are strings; ints (not bools, not floats) become strings; blank strings mean absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be a string, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        if "\x00" in stripped:
            raise ValueError("must not contain NUL characters")
        if len(stripped) > MAX_ID_LENGTH:
            raise ValueError(f"must be at most {MAX_ID_LENGTH} characters")
        return stripped or None
    raise ValueError("must be a string")


def _timestamp(value: object) -> object:
    """ISO-8601 strings only (what every SDK sends); naive times are read as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def consent_problem(context: dict[str, Any]) -> str | None:
    """What is wrong with ``context.consent`` (Segment's consent object), or ``None`` when it is absent or
    well formed: an object whose ``categoryPreferences``, when given, maps category ids to booleans, no two
    ids differing only in case (the consent store matches categories case-insensitively)."""
    if "consent" not in context or context["consent"] is None:
        return None
    consent = context["consent"]
    if not isinstance(consent, dict):
        return "consent must be an object"
    preferences = consent.get("categoryPreferences")
    if preferences is None:
        return None
    if not isinstance(preferences, dict):
        return "consent.categoryPreferences must be an object of category: true|false"
    seen: dict[str, str] = {}
    for category, answer in preferences.items():
        if not category.strip() or len(category) > MAX_CONSENT_CATEGORY_LENGTH:
            return (
                f"consent.categoryPreferences: a category must be 1 to {MAX_CONSENT_CATEGORY_LENGTH} "
                "characters"
            )
        if not isinstance(answer, bool):
            return f"consent.categoryPreferences.{category} must be true or false"
        key = category.lower()
        if key in seen:
            return f"consent.categoryPreferences: {seen[key]!r} and {category!r} differ only in case"
        seen[key] = category
    return None


Identifier = Annotated[str | None, BeforeValidator(_identifier)]
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
JsonObject = dict[str, Any] | None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=False, frozen=True)

    message_id: Identifier = Field(default=None, alias="messageId")
    user_id: Identifier = Field(default=None, alias="userId")
    anonymous_id: Identifier = Field(default=None, alias="anonymousId")
    timestamp: Timestamp = None
    original_timestamp: Timestamp = Field(default=None, alias="originalTimestamp")
    sent_at: Timestamp = Field(default=None, alias="sentAt")
    context: JsonObject = None
    integrations: JsonObject = None
    properties: JsonObject = None
    traits: JsonObject = None

    @field_validator("context")
    @classmethod
    def _consent(cls, context: JsonObject) -> JsonObject:
        problem = consent_problem(context) if context else None
        if problem:
            raise ValueError(problem)
        return context

    @model_validator(mode="after")
    def _someone(self) -> _Message:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("userId or anonymousId is required")
        return self


class Track(_Message):
    type: Literal["track"]
    event: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class Identify(_Message):
    type: Literal["identify"]


class Page(_Message):
    type: Literal["page"]
    name: Annotated[str | None, Field(max_length=MAX_NAME_LENGTH)] = None


class Screen(_Message):
    type: Literal["screen"]
    name: Annotated[str | None, Field(max_length=MAX_NAME_LENGTH)] = None


class Group(_Message):
    type: Literal["group"]
    group_id: Annotated[Identifier, Field(alias="groupId")]

    @model_validator(mode="after")
    def _group_id(self) -> Group:
        if self.group_id is None:
            raise ValueError("groupId is required")
        return self


class Alias(_Message):
    type: Literal["alias"]
    previous_id: Annotated[Identifier, Field(alias="previousId")]

    @model_validator(mode="after")
    def _alias_ids(self) -> Alias:
        if self.previous_id is None or self.user_id is None:
            raise ValueError("alias needs previousId and userId")
        return self


SegmentMessage = Annotated[
    Track | Identify | Page | Screen | Group | Alias,
    Field(discriminator="type"),
]
MESSAGE_TYPES: frozenset[str] = frozenset({"track", "identify", "page", "screen", "group", "alias"})

_ADAPTER: TypeAdapter[Track | Identify | Page | Screen | Group | Alias] = TypeAdapter(SegmentMessage)


class InvalidMessageError(ValueError):
    """One event failed validation; ``str()`` is a one-line reason a client can act on."""


def parse_message(payload: dict[str, Any]) -> Track | Identify | Page | Screen | Group | Alias:
    """Validate one event (``payload["type"]`` already set) or raise :class:`InvalidMessageError`."""
    try:
        return _ADAPTER.validate_python(payload)
    except ValidationError as exc:
        raise InvalidMessageError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    reasons = []
    for error in exc.errors(include_url=False, include_input=False):
        # drop the discriminator tag pydantic puts first in the location
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] in MESSAGE_TYPES:
            loc = loc[1:]
        message = (
            "is required" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
        )
        separator = " " if error["type"] == "missing" else ": "
        reasons.append(f"{'.'.join(loc)}{separator}{message}" if loc else message)
    return "; ".join(reasons[:3])
