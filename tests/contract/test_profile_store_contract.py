"""The ProfileStore contract: memory, local SQLite and DynamoDB (moto) behave the same (STYLE 2).

Documents are the real ones (:func:`cdp.lookup.documents.profile_document`), so what is asserted is what
the lookup API will answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import orjson
import pytest

from cdp.lookup.ports import (
    DuplicateProfileError,
    IdentifierKind,
    LookupUnavailableError,
    ProfileDocument,
    ProfileStore,
)
from tests.lookup_data import documents, profile_row

EMAIL, PHONE, USER, ANON = (
    IdentifierKind.EMAIL,
    IdentifierKind.PHONE,
    IdentifierKind.USER_ID,
    IdentifierKind.ANONYMOUS_ID,
)


def somchai(**fields: object) -> dict[str, object]:
    identity: dict[str, object] = {
        "emails": ["somchai.j@gmail.com"],
        "primary_email": "somchai.j@gmail.com",
        "phones": ["+66819753042"],
        "primary_phone": "+66819753042",
        "user_ids": ["u-100"],
        "anonymous_ids": ["anon-1", "anon-2"],
    }
    return profile_row("p-somchai", **{**identity, **fields})


def malee(**fields: object) -> dict[str, object]:
    identity: dict[str, object] = {
        "first_name": "มาลี",
        "emails": ["malee@example.co.th"],
        "phones": ["+66819753042"],  # the household's shared phone
        "user_ids": ["u-200"],
    }
    return profile_row("p-malee", **{**identity, **fields})


def in_batches(docs: Sequence[ProfileDocument], size: int) -> list[list[ProfileDocument]]:
    return [list(docs[i : i + size]) for i in range(0, len(docs), size)]


def loaded(store: ProfileStore, profile_id: str) -> dict[str, object] | None:
    document = store.get(profile_id)
    return None if document is None else orjson.loads(document)


def test_a_load_makes_each_profile_readable_by_id_and_by_every_identifier(
    profile_store: ProfileStore,
) -> None:
    docs = documents(
        [somchai(), malee()], traits={"p-somchai": {"ltv": 1234.5}}, segments={"p-malee": ["vip"]}
    )
    result = profile_store.replace_all([docs])
    assert (result.profiles, result.written, result.unchanged, result.deleted) == (2, 2, 0, 0)
    assert result.identifiers_written == sum(len(d.identifiers) for d in docs)
    assert profile_store.get("p-somchai") == docs[0].document  # byte for byte what the API will answer
    document = loaded(profile_store, "p-malee")
    assert document is not None
    assert document["segments"] == ["vip"]
    assert profile_store.find(EMAIL, "somchaij@gmail.com") == ["p-somchai"]  # the Gmail match key
    assert profile_store.find(EMAIL, "malee@example.co.th") == ["p-malee"]
    assert profile_store.find(USER, "u-100") == ["p-somchai"]
    assert profile_store.find(ANON, "anon-2") == ["p-somchai"]


def test_unknown_ids_and_identifiers_find_nothing(profile_store: ProfileStore) -> None:
    assert profile_store.get("p-nobody") is None
    assert profile_store.find(EMAIL, "nobody@example.com") == []
    profile_store.replace_all([documents([somchai()])])
    assert profile_store.get("p-nobody") is None
    assert profile_store.find(USER, "u-999") == []
    assert profile_store.find(USER, "anon-1") == []  # kinds do not mix
    assert profile_store.get("PROFILE#p-somchai") is None


def test_a_shared_identifier_finds_every_holder_in_id_order_up_to_the_limit(
    profile_store: ProfileStore,
) -> None:
    household = [profile_row(f"p-{i:02d}", phones=["+6621234567"]) for i in (7, 3, 11, 5)]
    profile_store.replace_all([documents([somchai(), malee(), *household])])
    assert profile_store.find(PHONE, "+66819753042") == ["p-malee", "p-somchai"]
    assert profile_store.find(PHONE, "+6621234567") == ["p-03", "p-05", "p-07", "p-11"]
    assert profile_store.find(PHONE, "+6621234567", limit=2) == ["p-03", "p-05"]


def test_a_reload_rewrites_changes_and_deletes_what_the_run_no_longer_has(
    profile_store: ProfileStore,
) -> None:
    first = documents(
        [somchai(), malee(), profile_row("p-loser", user_ids=["u-300"], emails=["old@example.com"])]
    )
    profile_store.replace_all([first])
    # the next run: p-loser merged away, Somchai changed e-mail and lost an anonymous id, Malee unchanged
    second = documents(
        [
            somchai(
                emails=["somchai@example.co.th"],
                primary_email="somchai@example.co.th",
                anonymous_ids=["anon-1"],
            ),
            malee(),
        ],
    )
    result = profile_store.replace_all([second])
    assert (result.profiles, result.written, result.unchanged, result.deleted) == (2, 1, 1, 1)
    assert result.identifiers_written >= 1
    assert result.identifiers_deleted >= 4  # Somchai's old e-mail and anon-2; p-loser's user id and e-mail
    assert profile_store.get("p-loser") is None
    assert profile_store.find(USER, "u-300") == []
    assert profile_store.find(EMAIL, "old@example.com") == []
    assert profile_store.find(EMAIL, "somchaij@gmail.com") == []
    assert profile_store.find(ANON, "anon-2") == []
    assert profile_store.find(EMAIL, "somchai@example.co.th") == ["p-somchai"]
    assert profile_store.find(ANON, "anon-1") == ["p-somchai"]
    assert profile_store.get("p-somchai") == second[0].document
    assert profile_store.find(PHONE, "+66819753042") == ["p-malee", "p-somchai"]


def test_the_same_load_twice_writes_nothing_the_second_time(profile_store: ProfileStore) -> None:
    docs = documents([somchai(), malee()])
    profile_store.replace_all([docs])
    again = profile_store.replace_all([documents([somchai(), malee()])])
    assert (again.written, again.unchanged, again.deleted) == (0, 2, 0)
    assert (again.identifiers_written, again.identifiers_deleted) == (0, 0)
    assert profile_store.get("p-somchai") == docs[0].document


def test_an_empty_load_empties_the_store(profile_store: ProfileStore) -> None:
    profile_store.replace_all([documents([somchai(), malee()])])
    result = profile_store.replace_all([])
    assert (result.profiles, result.deleted) == (0, 2)
    assert profile_store.get("p-somchai") is None
    assert profile_store.find(PHONE, "+66819753042") == []


def test_a_load_that_fails_midway_deletes_nothing_and_a_rerun_completes_it(
    profile_store: ProfileStore,
) -> None:
    profile_store.replace_all([documents([somchai(), malee()])])
    new_run = documents([somchai(user_ids=["u-101"]), profile_row("p-new", user_ids=["u-400"])])

    def failing() -> Iterator[list[ProfileDocument]]:
        yield new_run[:1]
        raise RuntimeError("reading the next batch failed")

    with pytest.raises(RuntimeError, match="next batch"):
        profile_store.replace_all(failing())
    assert profile_store.get("p-malee") is not None  # not deleted by the unfinished load
    assert profile_store.find(USER, "u-200") == ["p-malee"]
    result = profile_store.replace_all(in_batches(new_run, 1))
    assert result.deleted == 1
    assert profile_store.get("p-malee") is None
    assert profile_store.find(USER, "u-101") == ["p-somchai"]
    assert profile_store.find(USER, "u-100") == []
    assert profile_store.find(USER, "u-400") == ["p-new"]


def test_a_profile_named_twice_in_one_load_is_refused(profile_store: ProfileStore) -> None:
    docs = documents([somchai(), malee()])
    with pytest.raises(DuplicateProfileError, match="p-somchai"):
        profile_store.replace_all([docs[:1], docs])


def test_delete_removes_one_profile_and_its_identifiers_at_once(profile_store: ProfileStore) -> None:
    profile_store.replace_all([documents([somchai(), malee()])])
    assert profile_store.delete("p-somchai") is True
    assert profile_store.get("p-somchai") is None
    assert profile_store.find(EMAIL, "somchaij@gmail.com") == []
    assert profile_store.find(PHONE, "+66819753042") == ["p-malee"]
    assert profile_store.delete("p-somchai") is False
    # the next load does not count the erased profile as deleted again
    assert profile_store.replace_all([documents([malee()])]).deleted == 0


def test_large_thai_documents_round_trip_byte_for_byte(profile_store: ProfileStore) -> None:
    big = profile_row(
        "p-ไทย/1",
        first_name="ณัฐวุฒิ",
        anonymous_ids=[f"anon-{i:05d}-{'x' * 30}" for i in range(250)],
        emails=[f"user{i}@example.co.th" for i in range(120)],
        attributes_note="ข้อมูลทดสอบ " * 500,
    )
    [doc] = documents([big], traits={"p-ไทย/1": {f"trait_{i}": i * 1.5 for i in range(200)}})
    profile_store.replace_all([[doc]])
    assert profile_store.get("p-ไทย/1") == doc.document
    stored = loaded(profile_store, "p-ไทย/1")
    assert stored is not None
    assert stored["truncated"] == {"anonymous_ids": 250, "emails": 120}
    assert profile_store.find(ANON, "anon-00099-" + "x" * 30) == ["p-ไทย/1"]
    assert profile_store.find(ANON, "anon-00100-" + "x" * 30) == []  # beyond the cap: not shown, not found


def test_loads_across_many_batches_and_store_calls(profile_store: ProfileStore) -> None:
    rows = [profile_row(f"p-{i:04d}", user_ids=[f"u-{i}"], phones=[f"+66812{i:06d}"]) for i in range(230)]
    docs = documents(rows)
    result = profile_store.replace_all(in_batches(docs, 120))  # > 100 reads and > 25 writes per call
    assert (result.profiles, result.written) == (230, 230)
    for i in (0, 99, 100, 101, 229):
        assert profile_store.find(USER, f"u-{i}") == [f"p-{i:04d}"]
        assert profile_store.get(f"p-{i:04d}") == docs[i].document
    result = profile_store.replace_all(in_batches(docs[:101], 50))
    assert (result.unchanged, result.deleted) == (101, 129)
    assert profile_store.find(USER, "u-101") == []


def test_an_unavailable_store_says_so(unavailable_profile_store: ProfileStore) -> None:
    with pytest.raises(LookupUnavailableError):
        unavailable_profile_store.get("p-somchai")
    with pytest.raises(LookupUnavailableError):
        unavailable_profile_store.find(EMAIL, "somchaij@gmail.com")
    with pytest.raises(LookupUnavailableError):
        unavailable_profile_store.replace_all([documents([somchai()])])
