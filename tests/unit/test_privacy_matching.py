"""The erasure matcher and the file rewriters, on real bytes: what belongs to the person, in every shape,
and what must never be taken along (SPEC 9)."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cdp.activation.audience import email_hash
from cdp.activation.models import Contact, ProfileContact
from cdp.activation.suppression import parse_suppression
from cdp.lakefs import LakeFiles
from cdp.privacy.errors import PrivacyRequestError
from cdp.privacy.files import LakeFile, file_format, zone_of
from cdp.privacy.matching import Matcher
from cdp.privacy.models import Subject, SubjectQuery
from cdp.privacy.tombstones import Tombstones, keep_untombstoned, tombstone_hash, tombstoned_record_ids
from cdp.profiles.salt import pseudonym

SALT = b"\x01" * 32


def somchai() -> Subject:
    return Subject(
        profile_ids={"p_0001"},
        record_ids={"crm:C0001"},
        user_ids={"u12"},
        anonymous_ids={"dev-3f9a2c77"},
        emails={"somchai.j@hotmail.co.th"},
        phones={"+66819473526"},
        national_ids={"1101700203452"},
        source_keys={"C0001"},
    )


@pytest.fixture
def matcher() -> Matcher:
    return Matcher(somchai(), salt=SALT)


@pytest.mark.parametrize(
    "value",
    [
        "u12",
        "Somchai.J@Hotmail.co.th ",
        "081-947-3526",
        "+66 81 947 3526",
        "66819473526",
        "1-1017-00203-45-2",
        "C0001",
        '{"traits": {"email": "SOMCHAI.J@hotmail.co.th"}}',
        "note: call +66819473526 after 5pm, or write to somchai.j@hotmail.co.th please",
        pseudonym("somchai.j@hotmail.co.th", SALT),
    ],
)
def test_the_persons_identifiers_match_in_every_shape(matcher: Matcher, value: str) -> None:
    assert matcher.value(value)


@pytest.mark.parametrize(
    "value",
    [
        "u123",  # a longer id that starts like theirs
        "xu12",
        "C00011",
        "somchai.j@hotmail.co.th.example",  # not the address
        "0819473527",
        "10110",
        "order of u12345 and C000123",
        '{"user_id": "u120"}',
        "the address is 12 Sukhumvit",
    ],
)
def test_values_that_only_look_alike_do_not(matcher: Matcher, value: str) -> None:
    assert not matcher.value(value)


def test_json_numbers_and_keys_are_checked(matcher: Matcher) -> None:
    assert matcher.anything({"phone": 66819473526})
    assert matcher.anything({"u12": True})
    assert not matcher.anything({"qty": 12, "flag": True, "nested": [1, 2.5, None]})


def test_table_mask_covers_strings_lists_and_embedded_json(matcher: Matcher) -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c", "d", "e"],
            "emails": [["x@y.com"], ["somchai.j@hotmail.co.th"], [], None, ["z@q.com"]],
            "raw": [None, None, '{"phone": "081 947 3526"}', None, '{"user": "u123"}'],
            "phone": [None, None, None, "(081) 947-3526", "0819473527"],
            "n": [1, 2, 3, 4, 5],
        }
    )
    assert matcher.table_mask(table).to_pylist() == [False, True, True, True, False]


def test_the_observed_shapes_become_byte_tokens(matcher: Matcher) -> None:
    matcher.value("081-947-3526")
    tokens = matcher.byte_tokens()
    assert b"081-947-3526" in tokens
    assert b"somchai.j@hotmail.co.th" in tokens
    assert b"u12" not in tokens  # too short to search inside text: only whole values match


def _lake(tmp_path: object) -> LakeFiles:
    return LakeFiles(str(tmp_path))


def test_a_tis620_csv_loses_the_persons_rows_and_keeps_its_encoding_and_the_others(
    tmp_path: object, matcher: Matcher
) -> None:
    files = _lake(tmp_path)
    text = (
        'รหัส,ชื่อ,เบอร์,อีเมล\nC0001,สมชาย,081-947-3526,x@y.com\nC0002,สมหญิง,089-111-2222,"som,ying@gmail.com"\n'
    )
    files.write_bytes("raw/imports/crm/1/crm.csv", text.encode("tis-620"))
    lake_file = LakeFile(files, "raw/imports/crm/1/crm.csv", matcher)
    assert lake_file.inspect().hits == 1
    assert lake_file.rewrite() == 1
    after = (files.read_bytes("raw/imports/crm/1/crm.csv") or b"").decode("tis-620")
    assert after.splitlines() == ["รหัส,ชื่อ,เบอร์,อีเมล", 'C0002,สมหญิง,089-111-2222,"som,ying@gmail.com"']


def test_json_lines_keep_other_lines_byte_for_byte(tmp_path: object, matcher: Matcher) -> None:
    files = _lake(tmp_path)
    other = b'{"message_id": "m-2", "user_id": "u123",   "traits": null}'
    lines = [b'{"message_id": "m-1", "user_id": "u12"}', other, b"not json at all", b""]
    files.write_bytes("raw/events/dt=2026-03-01/part-1.jsonl", b"\n".join(lines))
    assert LakeFile(files, "raw/events/dt=2026-03-01/part-1.jsonl", matcher).rewrite() == 1
    assert files.read_bytes("raw/events/dt=2026-03-01/part-1.jsonl") == other + b"\nnot json at all\n"


def test_a_file_left_empty_is_deleted(tmp_path: object, matcher: Matcher) -> None:
    files = _lake(tmp_path)
    files.write_bytes("exports/local/run_id=1/part-1.jsonl", b'{"profile_id": "p_0001"}\n')
    assert LakeFile(files, "exports/local/run_id=1/part-1.jsonl", matcher).rewrite() == 1
    assert not files.exists("exports/local/run_id=1/part-1.jsonl")


def test_the_suppression_list_keeps_suppressing_by_hash(tmp_path: object, matcher: Matcher) -> None:
    files = _lake(tmp_path)
    files.write_bytes(
        "privacy/suppression.jsonl",
        b'{"email": "Somchai.J@hotmail.co.th", "reason": "complaint"}\n{"email": "other@example.com"}\n',
    )
    assert LakeFile(files, "privacy/suppression.jsonl", matcher).rewrite() == 1
    lines = [
        orjson.loads(line) for line in (files.read_bytes("privacy/suppression.jsonl") or b"").splitlines()
    ]
    assert lines == [
        {"reason": "complaint", "email_sha256": email_hash("somchai.j@hotmail.co.th")},
        {"email": "other@example.com"},
    ]


def test_a_suppressed_gmail_stays_suppressed_in_every_spelling_once_hashed(tmp_path: object) -> None:
    files = _lake(tmp_path)
    files.write_bytes("privacy/suppression.jsonl", b'{"email": "Ploy.S+promo@gmail.com"}\n')
    subject = Subject(emails={"ploy.s+promo@gmail.com", "ploys@gmail.com"})
    assert LakeFile(files, "privacy/suppression.jsonl", Matcher(subject)).rewrite() == 1
    text = files.read_bytes("privacy/suppression.jsonl") or b""
    assert b"ploy" not in text.lower()
    listed = parse_suppression(text.splitlines())
    for spelling in ("ploy.s+promo@gmail.com", "p.loys@gmail.com", "ploys@googlemail.com"):
        contact = ProfileContact("p1", Contact(email=spelling), emails=(), phones=())
        assert listed.suppresses(contact), spelling
    assert not listed.suppresses(ProfileContact("p2", Contact(email="ploy@gmail.com"), emails=(), phones=()))


def test_a_parquet_snapshot_is_rewritten_with_its_schema(tmp_path: object, matcher: Matcher) -> None:
    files = _lake(tmp_path)
    schema = pa.schema([("profile_id", pa.string()), ("emails", pa.list_(pa.string())), ("n", pa.int64())])
    table = pa.table(
        {"profile_id": ["p_0001", "p_0002"], "emails": [["a@b.c"], ["d@e.f"]], "n": [1, 2]}, schema=schema
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    files.write_bytes("profiles/profiles/run_id=1/part-0.parquet", sink.getvalue())
    lake_file = LakeFile(files, "profiles/profiles/run_id=1/part-0.parquet", matcher)
    assert lake_file.inspect(collect=True).matched == [{"profile_id": "p_0001", "emails": ["a@b.c"], "n": 1}]
    assert lake_file.rewrite() == 1
    data = files.read_bytes("profiles/profiles/run_id=1/part-0.parquet") or b""
    after = pq.read_table(pa.BufferReader(data))
    assert after.schema == schema
    assert after.to_pylist() == [{"profile_id": "p_0002", "emails": ["d@e.f"], "n": 2}]
    assert pq.read_metadata(pa.BufferReader(data)).row_group(0).column(0).compression == "ZSTD"


def test_json_documents_are_redacted_but_earlier_access_exports_deleted(
    tmp_path: object, matcher: Matcher
) -> None:
    files = _lake(tmp_path)
    manifest = {
        "rejections": [{"code": "invalid_email", "example": "row 3: somchai.j@hotmail.co.th"}],
        "rows": 9,
    }
    files.write_bytes("raw/imports/crm/1/_manifest.json", orjson.dumps(manifest))
    files.write_bytes("privacy/requests/r1/access.json", orjson.dumps({"profiles": ["p_0001"]}))
    assert LakeFile(files, "raw/imports/crm/1/_manifest.json", matcher).rewrite() == 1
    assert orjson.loads(files.read_bytes("raw/imports/crm/1/_manifest.json") or b"") == {
        "rejections": [{"code": "invalid_email", "example": "[erased]"}],
        "rows": 9,
    }
    assert LakeFile(files, "privacy/requests/r1/access.json", matcher).rewrite() == 1
    assert not files.exists("privacy/requests/r1/access.json")


def test_formats_and_zones_are_named_by_path() -> None:
    assert file_format("a/b.PARQUET").value == "parquet"
    assert file_format("landing/x.ndjson").value == "jsonl"
    assert file_format("segments/definitions/vip.yaml").value == "opaque"
    assert zone_of("raw/events/dt=2026-01-01/p.jsonl") == "raw/events"
    assert zone_of("profiles/traits/run_id=1/p.parquet") == "profiles"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "name the person"),
        ({"emails": (" ",)}, "empty"),
        ({"phones": ("x" * 400,)}, "longer than"),
        ({"user_ids": ("a\nb",)}, "control characters"),
    ],
)
def test_a_request_is_validated(query: dict[str, tuple[str, ...]], reason: str) -> None:
    with pytest.raises(PrivacyRequestError, match=reason):
        SubjectQuery(**query)


def test_tombstones_drop_records_by_any_identifier_and_nothing_else() -> None:
    tombstones = Tombstones(SALT, frozenset({tombstone_hash("email", "somchai.j@hotmail.co.th", SALT)}))
    columns = ("record_id", "email", "email_key", "phone_e164", "user_id", "anonymous_id", "national_id")
    schema = pa.schema([(name, pa.string()) for name in columns])
    batch = pa.RecordBatch.from_pylist(
        [
            {"record_id": "r1", "email": "somchai.j@hotmail.co.th"},
            {"record_id": "r2", "email": "other@example.com", "user_id": "u12"},
            {"record_id": "r3", "email_key": "somchai.j@hotmail.co.th"},
        ],
        schema=schema,
    )
    assert keep_untombstoned(batch, tombstones=tombstones, schema=schema).column("record_id").to_pylist() == [
        "r2"
    ]
    assert tombstoned_record_ids(batch, tombstones=tombstones).column("record_id").to_pylist() == ["r1", "r3"]
    # a hash of the same value with another salt, or of another kind, is not a hit
    assert not Tombstones(b"\x02" * 32, tombstones.hashes).hits({"email": ["somchai.j@hotmail.co.th"]})
    assert not tombstones.hits({"user_id": ["somchai.j@hotmail.co.th"]})
