"""The lookup API's domain: a profile id or one identifier in, the profile document (or why not) out.

Transport-free like :mod:`cdp.ingestion.service`: the Lambda handler (and through it ``cdp serve``) turns a
request into a call here and the :class:`LookupResponse` back into HTTP. Identifiers are normalized with
the pipeline's own standardizers, so a lookup finds what the pipeline stored however it is typed:
``Somchai.J@Gmail.com`` → the match key ``somchaij@gmail.com``; ``081-975-3042`` → ``+66819753042`` (phones
without a country code are read in ``default_region``, TH unless configured). A value the pipeline would
have refused (invalid, or a placeholder such as ``0812345678`` or ``test@test.com``) is answered 400: no
profile can hold it.

Nothing the client sends raises out of here; only a store failure becomes a 5xx (503, retry).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote, unquote_plus

import orjson

from cdp.lookup.ports import (
    DEFAULT_FIND_LIMIT,
    MAX_VALUE_BYTES,
    IdentifierKind,
    LookupUnavailableError,
    ProfileStore,
)
from cdp.standardize.email import standardize_email
from cdp.standardize.phone import DEFAULT_REGION, standardize_phone

logger = logging.getLogger(__name__)

#: profile documents carry personal data: no cache on the way may keep them
_NO_STORE: Final = {"Cache-Control": "no-store"}
_MAX_QUERY_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class LookupResponse:
    """``body`` is JSON; ``outcome`` names what happened for logs and metrics (never the identifier)."""

    status: int
    body: bytes
    outcome: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, **extra: Any) -> LookupResponse:
    body = orjson.dumps({"code": code, "message": message, **extra})
    return LookupResponse(status, body, code, _NO_STORE)


class ProfileLookupService:
    def __init__(self, store: ProfileStore, *, default_region: str = DEFAULT_REGION) -> None:
        self._store = store
        self._region = default_region

    def by_id(self, profile_id: str) -> LookupResponse:
        """``GET /v1/profiles/{profile_id}`` (the id as it is in the path, still percent-encoded)."""
        decoded = unquote(profile_id, errors="replace")
        problem = _unusable(decoded)
        if problem:
            return _error(400, "invalid_profile_id", f"profile id {problem}")
        try:
            document = self._store.get(decoded)
        except LookupUnavailableError as error:
            return _unavailable(error)
        if document is None:
            return _error(404, "not_found", "no profile with this id")
        return LookupResponse(200, document, "found", _NO_STORE)

    def by_identifier(self, raw_query: str) -> LookupResponse:
        """``GET /v1/profiles?email=…`` (or ``phone``, ``user_id``, ``anonymous_id``): exactly one."""
        parsed = _one_parameter(raw_query)
        if isinstance(parsed, LookupResponse):
            return parsed
        kind, value = parsed
        normalized = self._normalize(kind, value)
        if isinstance(normalized, LookupResponse):
            return normalized
        try:
            profile_ids = self._store.find(kind, normalized, limit=DEFAULT_FIND_LIMIT)
            if not profile_ids:
                return _error(404, "not_found", f"no profile has this {kind.value}")
            if len(profile_ids) > 1:
                return _ambiguous(kind, profile_ids)
            document = self._store.get(profile_ids[0])
        except LookupUnavailableError as error:
            return _unavailable(error)
        if document is None:  # deleted between the two reads (a load or an erasure running)
            return _error(404, "not_found", f"no profile has this {kind.value}")
        return LookupResponse(200, document, "found", _NO_STORE)

    def _normalize(self, kind: IdentifierKind, value: str) -> str | LookupResponse:
        if kind is IdentifierKind.EMAIL:
            email = standardize_email(value)
            if email.match_key is None:
                return _error(400, "invalid_email", f"not a usable e-mail address ({email.reason})")
            return email.match_key
        if kind is IdentifierKind.PHONE:
            phone = standardize_phone(value, self._region)
            if phone.e164 is None:
                return _error(400, "invalid_phone", f"not a usable phone number ({phone.reason})")
            return phone.e164
        problem = _unusable(value)
        if problem:
            return _error(400, "invalid_parameter", f"{kind.value} {problem}")
        return value


def _one_parameter(raw_query: str) -> tuple[IdentifierKind, str] | LookupResponse:
    allowed = ", ".join(kind.value for kind in IdentifierKind)
    if len(raw_query) > _MAX_QUERY_BYTES:
        return _error(400, "invalid_parameter", f"query string longer than {_MAX_QUERY_BYTES} characters")
    pairs = [part.partition("=") for part in raw_query.split("&") if part]
    if not pairs:
        return _error(400, "missing_parameter", f"give exactly one of {allowed}")
    if len(pairs) > 1:
        return _error(400, "too_many_parameters", f"give exactly one of {allowed}, not {len(pairs)}")
    raw_name, _, raw_value = pairs[0]
    name = unquote_plus(raw_name, errors="replace")
    try:
        kind = IdentifierKind(name)
    except ValueError:
        return _error(400, "unknown_parameter", f"unknown parameter {name[:40]!r}; give one of {allowed}")
    value = unquote_plus(raw_value, errors="replace").strip()
    if kind is IdentifierKind.EMAIL and " " in value:
        # a '+' typed into a URL by hand (somchai+shop@…) arrives as a space under form decoding; no
        # e-mail address holds a space, so the literal reading is the only one that can match
        value = unquote(raw_value, errors="replace").strip()
    if not value:
        return _error(400, "missing_parameter", f"{kind.value} is empty")
    return kind, value


def _unusable(value: str) -> str | None:
    """Why a raw id cannot be a key (empty, too long, not UTF-8), or ``None``."""
    if not value:
        return "is empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > MAX_VALUE_BYTES:
        return f"is longer than {MAX_VALUE_BYTES} bytes"
    return None


def _ambiguous(kind: IdentifierKind, profile_ids: list[str]) -> LookupResponse:
    """300 Multiple Choices: the identifier is shared (a household phone); the caller picks by id rather
    than the API guessing and showing one person's data to someone asking about another."""
    listed = profile_ids[: DEFAULT_FIND_LIMIT - 1]
    return _error(
        300,
        "multiple_profiles",
        f"{len(listed)}{'+' if len(profile_ids) > len(listed) else ''} profiles share this {kind.value}; "
        "get one by its id",
        profiles=[{"profile_id": i, "href": f"/v1/profiles/{quote(i, safe='')}"} for i in listed],
        more=len(profile_ids) > len(listed),
    )


def _unavailable(error: LookupUnavailableError) -> LookupResponse:
    logger.warning("profile store unavailable: %s", error)
    response = _error(503, "unavailable", "the profile store is unavailable; retry")
    return LookupResponse(response.status, response.body, response.outcome, {**_NO_STORE, "Retry-After": "1"})
