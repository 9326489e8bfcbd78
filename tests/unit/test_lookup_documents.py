"""The profile document: its shape, typed traits, current segments, index keys, determinism."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from cdp.lookup.documents import (
    MAX_IDENTIFIERS_PER_KIND,
    DocumentError,
    build_documents,
    profile_document,
    segments_by_profile,
    traits_by_profile,
)
from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS
from tests.lookup_data import membership_row, profile_row, trait_row


def test_the_document_groups_the_profile_row_and_adds_traits_and_segments() -> None:
    row = profile_row(
        "p-1",
        emails=["somchai.j@gmail.com"],
        primary_email="somchai.j@gmail.com",
        phones=["+66819753042"],
        primary_phone="+66819753042",
        user_ids=["u-1"],
        province="TH-10",
        recency_days=3,
        last_order_at=datetime(2026, 2, 27, 9, 30, 15, 123000, tzinfo=UTC),
        loyalty_tier="gold",  # a column this module does not know yet
    )
    document = orjson.loads(profile_document(row, {"ltv": 1234.5}, ["vip", "active"]).document)
    assert document["profile_id"] == "p-1"
    assert document["identifiers"] == {
        "emails": ["somchai.j@gmail.com"],
        "phones": ["+66819753042"],
        "user_ids": ["u-1"],
        "anonymous_ids": [],
        "primary_email": "somchai.j@gmail.com",
        "primary_phone": "+66819753042",
    }
    assert document["attributes"]["first_name"] == "สมชาย"
    assert document["attributes"]["province"] == "TH-10"
    assert document["attributes"]["loyalty_tier"] == "gold"
    assert document["activity"]["last_order_at"] == "2026-02-27T09:30:15.123000Z"
    assert document["activity"]["total_spend"] == 4590.0
    assert document["rfm"]["rfm_score"] == "545"
    assert document["rfm"]["recency_days"] == 3
    assert document["consent"] == {"email": {"granted": True, "at": "2026-01-02T03:04:05Z", "source": "crm"}}
    assert document["traits"] == {"ltv": 1234.5}
    assert document["segments"] == ["active", "vip"]
    assert document["updated_at"] == "2026-03-01T00:00:00Z"
    assert "truncated" not in document


def test_traits_keep_their_declared_types() -> None:
    traits = pa.Table.from_pylist(
        [
            trait_row("p-1", "ltv", 1234.5),
            trait_row("p-1", "orders_30d", 2),
            trait_row("p-1", "is_vip", True),
            trait_row("p-1", "churned", False),
            trait_row("p-1", "favourite_category", "beauty"),
            trait_row("p-1", "last_purchase", "2026-02-27T09:30:00Z", value_type="timestamp"),
            trait_row("p-1", "propensity", None, value_type="number"),
            trait_row("p-2", "ltv", 10.0),
        ],
        schema=PROFILE_TRAITS.schema,
    )
    assert traits_by_profile(traits) == {
        "p-1": {
            "ltv": 1234.5,
            "orders_30d": 2,
            "is_vip": True,
            "churned": False,
            "favourite_category": "beauty",
            "last_purchase": "2026-02-27T09:30:00Z",
            "propensity": None,
        },
        "p-2": {"ltv": 10.0},
    }
    assert isinstance(traits_by_profile(traits)["p-1"]["orders_30d"], int)


def test_segments_are_the_current_memberships_sorted_and_distinct() -> None:
    memberships = pa.Table.from_pylist(
        [
            membership_row("vip", "p-1"),
            membership_row("active", "p-1"),
            membership_row("lapsed", "p-1", exited=True),
            membership_row("vip", "p-1"),  # re-entered: two open rows
            membership_row("lapsed", "p-2", exited=True),
        ],
        schema=SEGMENT_MEMBERSHIPS.schema,
    )
    assert segments_by_profile(memberships) == {"p-1": ["active", "vip"]}


def test_emails_are_found_by_their_match_key_and_primaries_are_always_indexed() -> None:
    row = profile_row(
        "p-1",
        emails=["somchai.j@gmail.com", "SOMCHAI@Example.co.th"],
        primary_phone="+66819753042",
        user_ids=["u-1"],
        anonymous_ids=["a-1"],
    )
    assert profile_document(row, {}, []).identifiers == (
        "ANON#a-1",
        "EMAIL#somchai@example.co.th",
        "EMAIL#somchaij@gmail.com",
        "PHONE#+66819753042",
        "USER#u-1",
    )


def test_long_identifier_lists_are_capped_and_the_cut_is_counted() -> None:
    row = profile_row("p-1", anonymous_ids=[f"a-{i:04d}" for i in range(MAX_IDENTIFIERS_PER_KIND + 50)])
    built = profile_document(row, {}, [])
    document = orjson.loads(built.document)
    assert len(document["identifiers"]["anonymous_ids"]) == MAX_IDENTIFIERS_PER_KIND
    assert document["truncated"] == {"anonymous_ids": MAX_IDENTIFIERS_PER_KIND + 50}
    assert len(built.identifiers) == MAX_IDENTIFIERS_PER_KIND


def test_equal_profiles_give_equal_bytes_and_any_change_a_new_digest() -> None:
    first = profile_document(profile_row("p-1", user_ids=["u-1"]), {"ltv": 1.0}, ["vip"])
    again = profile_document(profile_row("p-1", user_ids=["u-1"]), {"ltv": 1.0}, ["vip"])
    assert (first.document, first.digest) == (again.document, again.digest)
    for changed in (
        profile_document(profile_row("p-1", user_ids=["u-1"]), {"ltv": 2.0}, ["vip"]),
        profile_document(profile_row("p-1", user_ids=["u-1"]), {"ltv": 1.0}, []),
        profile_document(profile_row("p-1", user_ids=["u-2"]), {"ltv": 1.0}, ["vip"]),
        profile_document(profile_row("p-1", user_ids=["u-1"], city="Chiang Mai"), {"ltv": 1.0}, ["vip"]),
    ):
        assert changed.digest != first.digest


def test_build_documents_reads_arrow_rows() -> None:
    profiles = pa.Table.from_pylist(
        [profile_row("p-1", user_ids=["u-1"]), profile_row("p-2")], schema=PROFILES.schema
    )
    built = list(build_documents(profiles, {"p-2": {"ltv": 3.0}}, {"p-1": ["vip"]}))
    assert [d.profile_id for d in built] == ["p-1", "p-2"]
    assert orjson.loads(built[0].document)["segments"] == ["vip"]
    assert orjson.loads(built[1].document)["traits"] == {"ltv": 3.0}
    # the Arrow row and the plain dict give the same document
    assert built[0].document == profile_document(profile_row("p-1", user_ids=["u-1"]), {}, ["vip"]).document


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (profile_row("p-1", consent="{not json"), "consent is not JSON"),
        (profile_row("p-1", consent="[1, 2]"), "not a JSON object"),
        (profile_row(""), "no profile_id"),
        (profile_row("p" * 600), "longer than"),
    ],
)
def test_rows_the_profiles_step_must_not_write_are_refused(row: dict[str, object], message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        profile_document(row, {}, [])
