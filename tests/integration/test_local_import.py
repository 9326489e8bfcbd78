"""The import service on the local lake, read back through the Athena twin (``import_rows``,
``quarantine_imports``): examples, idempotency, crash and re-run, garbage in, nothing out."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cdp.adapters.local_imports import LocalImportStore
from cdp.imports import MappingError, UnreadableFileError
from cdp.imports.fields import IMPORT_ROWS_SCHEMA, QUARANTINE_IMPORT_COLUMNS
from cdp.imports.mapping import ImportMapping, load_mapping, parse_mapping
from cdp.imports.ports import ImportManifest
from cdp.imports.service import ImportService, import_id_for, mapping_for_file
from cdp.lake import LocalLake
from cdp.query.catalog import run_query

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: (source, data file, mapping, rows read, accepted, rejected by code)
EXAMPLE_IMPORTS = [
    (
        "crm",
        "crm_customers.csv",
        "crm_customers.yaml",
        28,
        20,
        {
            "invalid_date": 1,
            "missing_required": 1,
            "duplicate_key": 1,
            "invalid_integer": 1,
            "invalid_boolean": 1,
            "out_of_range": 1,
            "malformed_row": 1,
            "undecodable": 1,
        },
    ),
    (
        "shop",
        "shop_orders.jsonl",
        "shop_orders.yaml",
        25,
        17,
        {
            "invalid_json": 2,
            "invalid_timestamp": 1,
            "invalid_integer": 1,
            "missing_required": 1,
            "invalid_decimal": 1,
            "duplicate_key": 1,
            "out_of_range": 1,
        },
    ),
    (
        "survey",
        "survey.csv",
        "survey.yaml",
        20,
        14,
        {
            "out_of_range": 2,
            "invalid_integer": 1,
            "invalid_boolean": 1,
            "invalid_timestamp": 1,
            "empty_row": 1,
        },
    ),
]


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake.at(tmp_path / "lake")


@pytest.fixture
def service(lake: LocalLake) -> ImportService:
    return ImportService(LocalImportStore(lake))


def query(lake: LocalLake, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = run_query(lake, sql).to_pylist()
    return rows


def files_under(lake: LocalLake) -> list[str]:
    if not lake.root.exists():
        return []
    return sorted(path.relative_to(lake.root).as_posix() for path in lake.root.rglob("*") if path.is_file())


def example(name: str) -> bytes:
    return (EXAMPLES / "data" / name).read_bytes()


def example_mapping(name: str) -> ImportMapping:
    return load_mapping(EXAMPLES / "mappings" / name)


def test_the_example_files_are_small_and_the_crm_one_is_really_tis_620() -> None:
    for name in ("crm_customers.csv", "shop_orders.jsonl", "survey.csv"):
        assert len(example(name)) < 20 * 1024
    crm = example("crm_customers.csv")
    with pytest.raises(UnicodeDecodeError):
        crm.decode("utf-8")
    assert "รหัสลูกค้า" in crm.decode("tis_620", "replace")
    assert example("survey.csv").startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(("source", "data", "mapping", "read", "accepted", "rejected"), EXAMPLE_IMPORTS)
def test_each_example_imports_and_is_queryable(
    service: ImportService,
    lake: LocalLake,
    source: str,
    data: str,
    mapping: str,
    read: int,
    accepted: int,
    rejected: dict[str, int],
) -> None:
    report = service.import_file(source, data, example(data), example_mapping(mapping))
    assert report.status == "imported"
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (
        read,
        accepted,
        sum(rejected.values()),
    )
    by_code: dict[str, int] = {}
    for item in report.rejections:
        by_code[item.code] = by_code.get(item.code, 0) + item.rows
    assert by_code == rejected
    assert report.import_id == import_id_for(example(data))

    counts = query(
        lake,
        "SELECT count(*) AS n, count(DISTINCT row_key) AS keys FROM import_rows "
        f"WHERE source_id = '{source}'",
    )
    assert counts == [{"n": accepted, "keys": accepted}]
    quarantined = query(
        lake,
        "SELECT code, count(*) AS n FROM quarantine_imports "
        f"WHERE source_id = '{source}' AND import_id = '{report.import_id}' GROUP BY code",
    )
    assert {row["code"]: row["n"] for row in quarantined} == rejected
    numbers = query(
        lake,
        f"SELECT row_number FROM import_rows WHERE source_id = '{source}' "
        f"UNION ALL SELECT row_number FROM quarantine_imports WHERE source_id = '{source}' ORDER BY 1",
    )
    # every data row is in exactly one of the two tables
    assert [row["row_number"] for row in numbers] == sorted({row["row_number"] for row in numbers})
    assert len(numbers) == read


def test_imported_values_read_back_typed_through_athena_sql(service: ImportService, lake: LocalLake) -> None:
    for source, data, mapping, *_ in EXAMPLE_IMPORTS:
        service.import_file(source, data, example(data), example_mapping(mapping))
    crm = query(
        lake,
        "SELECT first_name, last_name, date_of_birth, state, consent_email, updated_at, "
        "CAST(json_extract_scalar(attributes, '$.loyalty_points') AS INTEGER) AS points, "
        "json_extract_scalar(attributes, '$.title') AS title "
        "FROM import_rows WHERE source_id = 'crm' AND row_key = 'C0001'",
    )
    assert crm == [
        {
            "first_name": "สมชาย",
            "last_name": "ใจดี",
            "date_of_birth": "1987-03-15",  # 15/03/2530 BE
            "state": "กรุงเทพมหานคร",
            "consent_email": True,
            "updated_at": "2024-01-05T02:15:00.000000Z",  # 09:15 in Bangkok
            "points": 1250,
            "title": "นาย",
        }
    ]
    shop = query(
        lake,
        "SELECT sum(quantity * unit_price) AS revenue, count(DISTINCT order_id) AS orders, "
        "min(order_date) AS first FROM import_rows WHERE source_id = 'shop'",
    )
    assert shop == [{"revenue": 20_933.25, "orders": 15, "first": "2024-01-05T03:15:00.000000Z"}]
    survey = query(
        lake,
        "SELECT json_extract_scalar(attributes, '$.favourite_category') AS category, "
        "avg(CAST(json_extract_scalar(attributes, '$.nps') AS DOUBLE)) AS nps "
        "FROM import_rows WHERE kind = 'survey' GROUP BY 1 ORDER BY 1",
    )
    assert survey[0] == {"category": "apparel", "nps": 8.5}
    undecodable = query(
        lake, "SELECT row_number, reason, raw_row FROM quarantine_imports WHERE code = 'undecodable'"
    )
    assert undecodable[0]["row_number"] == 26
    assert undecodable[0]["reason"] == 'column "ชื่อ": byte 0xFF is not valid tis-620'


def test_the_original_is_kept_unchanged_and_the_manifest_says_what_happened(
    service: ImportService, lake: LocalLake
) -> None:
    data, mapping = example("crm_customers.csv"), example_mapping("crm_customers.yaml")
    report = service.import_file("crm", "crm_customers.csv", data, mapping)
    directory = lake.path("raw/imports/crm", report.import_id)
    original = directory / "crm_customers.csv"
    assert original.read_bytes() == data
    assert not os.stat(original).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    manifest = ImportManifest.model_validate_json((directory / "_manifest.json").read_bytes())
    assert (manifest.status, manifest.rows_read, manifest.rows_accepted, manifest.rows_rejected) == (
        "complete",
        28,
        20,
        8,
    )
    assert manifest.mapping_sha256 == mapping.sha256
    assert manifest.encoding.value == "tis-620"
    assert {"national_id", "phone", "email", "date_of_birth"} <= set(manifest.pii_columns)
    assert manifest.rows_key == f"clean/import_rows/source=crm/import_id={report.import_id}/rows.parquet"
    assert manifest.quarantine_key == f"quarantine/imports/source=crm/import_id={report.import_id}/rows.jsonl"
    assert set(manifest.timings_ms) == {"read_map_encode", "write"}


def test_a_re_import_of_the_same_content_is_a_no_op(service: ImportService, lake: LocalLake) -> None:
    data, mapping = example("shop_orders.jsonl"), example_mapping("shop_orders.yaml")
    first = service.import_file("shop", "shop_orders.jsonl", data, mapping)
    before = {path: lake.path(path).stat().st_mtime_ns for path in files_under(lake)}
    again = service.import_file("shop", "orders-copy.jsonl", data, mapping)
    assert again.status == "already_imported"
    assert (again.import_id, again.file_name, again.rows_accepted) == (
        first.import_id,
        "shop_orders.jsonl",
        17,
    )
    assert not again.mapping_changed
    assert {path: lake.path(path).stat().st_mtime_ns for path in files_under(lake)} == before
    assert query(lake, "SELECT count(*) AS n FROM import_rows") == [{"n": 17}]
    remapped = mapping.model_copy(update={"default_region": "MY"})
    assert service.import_file("shop", "shop_orders.jsonl", data, remapped).mapping_changed


class CrashBeforeCommit(LocalImportStore):
    """A store that dies after the rows and the rejections are written, before the manifest."""

    def commit(self, manifest: ImportManifest) -> str:
        raise OSError("simulated crash: power lost before the manifest")


def test_a_crash_before_the_manifest_is_invisible_and_the_re_run_leaves_one_copy(lake: LocalLake) -> None:
    data, mapping = example("crm_customers.csv"), example_mapping("crm_customers.yaml")
    with pytest.raises(OSError, match="simulated crash"):
        ImportService(CrashBeforeCommit(lake)).import_file("crm", "crm_customers.csv", data, mapping)
    import_id = import_id_for(data)
    assert lake.path(f"clean/import_rows/source=crm/import_id={import_id}/rows.parquet").is_file()
    assert not lake.path(f"raw/imports/crm/{import_id}/_manifest.json").exists()
    # half an import is never seen
    assert query(lake, "SELECT count(*) AS n FROM import_rows") == [{"n": 0}]
    assert query(lake, "SELECT count(*) AS n FROM quarantine_imports") == [{"n": 0}]

    report = ImportService(LocalImportStore(lake)).import_file("crm", "crm_customers.csv", data, mapping)
    assert report.status == "imported"
    assert query(lake, "SELECT count(*) AS n, count(DISTINCT row_key) AS keys FROM import_rows") == [
        {"n": 20, "keys": 20}
    ]
    assert query(lake, "SELECT count(*) AS n FROM quarantine_imports") == [{"n": 8}]
    assert [path for path in files_under(lake) if "/." in path or path.endswith(".partial")] == []
    assert len([path for path in files_under(lake) if path.startswith("clean/import_rows/")]) == 1


def test_an_all_garbage_file_raises_and_leaves_nothing(service: ImportService, lake: LocalLake) -> None:
    mapping = example_mapping("shop_orders.yaml")
    garbage = os.urandom(4096).replace(b"\n", b"\x00") + b"\nnot json either\n"
    with pytest.raises(UnreadableFileError, match="no row could be read"):
        service.import_file("shop", "garbage.jsonl", garbage, mapping)
    crm_bytes = example("crm_customers.csv")
    with pytest.raises(UnreadableFileError, match="none of the mapping's columns"):
        service.import_file(
            "crm", "crm.csv", crm_bytes, example_mapping("survey.yaml").model_copy(update={"source": "crm"})
        )
    with pytest.raises(UnreadableFileError, match="the file is empty"):
        service.import_file("shop", "empty.jsonl", b"", mapping)
    assert files_under(lake) == []
    assert query(lake, "SELECT count(*) AS n FROM import_rows") == [{"n": 0}]


def test_inputs_that_do_not_fit_are_refused_before_anything_is_written(
    service: ImportService, lake: LocalLake
) -> None:
    data, mapping = example("survey.csv"), example_mapping("survey.yaml")
    with pytest.raises(MappingError, match="the mapping is for source 'survey', not 'crm'"):
        service.import_file("crm", "survey.csv", data, mapping)
    for bad_name in ("../survey.csv", "_manifest.json", ".hidden.csv", "a/b.csv", ""):
        with pytest.raises(ValueError, match="invalid file name"):
            service.import_file("survey", bad_name, data, mapping)
    assert files_under(lake) == []


def test_an_empty_lake_has_empty_typed_tables(lake: LocalLake) -> None:
    rows = run_query(lake, "SELECT * FROM import_rows")
    assert rows.num_rows == 0
    assert rows.column_names == IMPORT_ROWS_SCHEMA.names
    assert rows.schema.field("quantity").type == IMPORT_ROWS_SCHEMA.field("quantity").type
    assert rows.schema.field("consent_email").type == IMPORT_ROWS_SCHEMA.field("consent_email").type
    quarantine = run_query(lake, "SELECT * FROM quarantine_imports")
    assert (quarantine.num_rows, quarantine.column_names) == (0, list(QUARANTINE_IMPORT_COLUMNS))
    assert str(quarantine.schema.field("row_number").type) == "int64"
    # the event tables still work beside them
    assert run_query(lake, "SELECT count(*) AS n FROM raw_events").to_pylist() == [{"n": 0}]


def test_an_import_with_only_rejected_rows_is_complete_and_queryable(
    service: ImportService, lake: LocalLake
) -> None:
    mapping = parse_mapping(
        "source: s\nkind: customers\nformat: csv\ncolumns:\n  id: record_id\n  dob: date_of_birth\n", "m.yaml"
    )
    report = service.import_file("s", "s.csv", b"id,dob\nC1,yesterday\n,1990-01-01\n", mapping)
    assert (report.status, report.rows_accepted, report.rows_rejected) == ("imported", 0, 2)
    assert query(lake, "SELECT count(*) AS n FROM import_rows") == [{"n": 0}]
    assert query(lake, "SELECT row_number, code FROM quarantine_imports ORDER BY 1") == [
        {"row_number": 1, "code": "invalid_date"},
        {"row_number": 2, "code": "missing_required"},
    ]


def test_files_without_a_mapping(service: ImportService, lake: LocalLake) -> None:
    data = "email;Phone;First_Name;สีที่ชอบ\na@example.com;0812345678;Ann;แดง\n".encode("tis_620")
    mapping = mapping_for_file("web", "leads.csv", data)
    assert (mapping.delimiter, mapping.encoding.value) == (";", "tis-620")
    service.import_file("web", "leads.csv", data, mapping)
    assert query(lake, "SELECT email, phone, first_name, attributes FROM import_rows") == [
        {
            "email": "a@example.com",
            "phone": "0812345678",
            "first_name": "Ann",
            "attributes": '{"สีที่ชอบ":"แดง"}',
        }
    ]


def test_progress_is_reported_up_to_the_whole_file(service: ImportService) -> None:
    seen: list[tuple[float, int]] = []
    service.import_file(
        "survey",
        "survey.csv",
        example("survey.csv"),
        example_mapping("survey.yaml"),
        progress=lambda fraction, rows: seen.append((fraction, rows)),
    )
    assert seen
    assert seen[-1] == (1.0, 20)
    assert [fraction for fraction, _ in seen] == sorted(fraction for fraction, _ in seen)
