from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdp.ingestion.models import Alias, Group, InvalidMessageError, Track, parse_message


def test_track_needs_event_and_someone() -> None:
    with pytest.raises(InvalidMessageError, match="event is required"):
        parse_message({"type": "track", "userId": "u1"})
    with pytest.raises(InvalidMessageError, match="userId or anonymousId is required"):
        parse_message({"type": "track", "event": "Signed Up"})


def test_explicit_nulls_mean_absent() -> None:
    message = parse_message(
        {"type": "track", "event": "Viewed", "userId": "u1", "anonymousId": None, "properties": None}
    )
    assert isinstance(message, Track)
    assert message.anonymous_id is None
    assert message.properties is None


def test_numeric_user_id_becomes_string_but_bool_is_refused() -> None:
    assert parse_message({"type": "identify", "userId": 42}).user_id == "42"
    with pytest.raises(InvalidMessageError, match="userId"):
        parse_message({"type": "identify", "userId": True})


def test_blank_ids_are_absent() -> None:
    with pytest.raises(InvalidMessageError, match="userId or anonymousId"):
        parse_message({"type": "identify", "userId": "   ", "anonymousId": ""})


def test_alias_and_group_need_their_ids() -> None:
    with pytest.raises(InvalidMessageError, match="previousId"):
        parse_message({"type": "alias", "userId": "u1"})
    alias = parse_message({"type": "alias", "userId": "u1", "previousId": "anon-1"})
    assert isinstance(alias, Alias)
    assert alias.previous_id == "anon-1"
    with pytest.raises(InvalidMessageError, match="groupId"):
        parse_message({"type": "group", "userId": "u1"})
    group = parse_message({"type": "group", "userId": "u1", "groupId": 7})
    assert isinstance(group, Group)
    assert group.group_id == "7"


@pytest.mark.parametrize(
    ("field", "value"),
    [("properties", [1, 2]), ("traits", "x"), ("context", 3), ("integrations", True)],
)
def test_json_columns_must_be_objects(field: str, value: object) -> None:
    with pytest.raises(InvalidMessageError, match=field):
        parse_message({"type": "track", "event": "e", "userId": "u", field: value})


def test_timestamps_are_iso_strings_and_naive_means_utc() -> None:
    message = parse_message(
        {"type": "track", "event": "e", "userId": "u", "timestamp": "2026-01-02T03:04:05"}
    )
    assert message.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(InvalidMessageError, match="timestamp"):
        parse_message({"type": "track", "event": "e", "userId": "u", "timestamp": "yesterday"})
    with pytest.raises(InvalidMessageError, match="timestamp"):
        parse_message({"type": "track", "event": "e", "userId": "u", "timestamp": 1700000000})


def test_ids_with_nul_or_too_long_are_refused() -> None:
    with pytest.raises(InvalidMessageError, match="NUL"):
        parse_message({"type": "identify", "userId": "a\x00b"})
    with pytest.raises(InvalidMessageError, match="at most"):
        parse_message({"type": "identify", "userId": "x" * 2000})
