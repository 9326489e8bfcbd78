"""``cdp import`` as a user runs it: real processes, exit codes, the summary, and what ``cdp query`` sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import cdp, query_json

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CRM = str(EXAMPLES / "data" / "crm_customers.csv")
CRM_MAPPING = str(EXAMPLES / "mappings" / "crm_customers.yaml")


def test_import_prints_a_summary_creates_the_source_and_a_re_import_does_nothing(lake: Path) -> None:
    first = cdp("import", "crm", CRM, "--mapping", CRM_MAPPING, lake=lake)
    assert first.code == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("created source crm (key id wk_")
    assert lines[1].startswith("wk_")  # the new source's write key, shown once
    summary = next(line for line in lines if line.startswith("imported crm_customers.csv"))
    assert "28 rows read, 20 accepted, 8 rejected" in summary
    for code in ("invalid_date", "missing_required", "duplicate_key", "malformed_row", "undecodable"):
        assert code in first.stdout
    assert "31/02/2530" in first.stdout
    assert "crm" in cdp("sources", "list", lake=lake).stdout

    again = cdp("import", "crm", CRM, "--mapping", CRM_MAPPING, lake=lake)
    assert again.code == 0, again.stderr
    assert again.stdout.startswith("already imported: crm_customers.csv")
    assert "nothing to do" in again.stdout
    assert "wk_" not in again.stdout  # an existing source's key is never printed

    rows = query_json("SELECT count(*) AS n FROM import_rows WHERE source_id = 'crm'", lake)
    assert rows == [{"n": 20}]
    bad = query_json("SELECT row_number, code FROM quarantine_imports ORDER BY row_number LIMIT 2", lake)
    assert bad == [{"row_number": 7, "code": "invalid_date"}, {"row_number": 9, "code": "missing_required"}]


def test_import_into_an_existing_source_keeps_its_key(lake: Path) -> None:
    key = cdp("sources", "add", "shop", lake=lake).stdout.strip().splitlines()[-1]
    done = cdp(
        "import",
        "shop",
        str(EXAMPLES / "data" / "shop_orders.jsonl"),
        "--mapping",
        str(EXAMPLES / "mappings" / "shop_orders.yaml"),
        lake=lake,
    )
    assert done.code == 0, done.stderr
    assert "created source" not in done.stdout
    assert key not in done.stdout
    assert "25 rows read, 17 accepted, 8 rejected" in done.stdout


def test_import_without_a_mapping_maps_columns_by_name(tmp_path: Path, lake: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("Email,phone,first_name,สีที่ชอบ\na@example.com,0812345678,Ann,แดง\n", encoding="utf-8")
    done = cdp("import", "web", str(leads), lake=lake)
    assert done.code == 0, done.stderr
    assert "1 rows read, 1 accepted, 0 rejected" in done.stdout
    rows = query_json("SELECT email, first_name, kind, attributes FROM import_rows", lake)
    assert rows == [
        {"email": "a@example.com", "first_name": "Ann", "kind": "customers", "attributes": '{"สีที่ชอบ":"แดง"}'}
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("crm", "no-such-file.csv"), "cannot read no-such-file.csv"),
        (("crm", CRM, "--mapping", "no-such-mapping.yaml"), "mapping no-such-mapping.yaml: cannot read it"),
        (("Bad Name", CRM, "--mapping", CRM_MAPPING), "invalid source name 'Bad Name'"),
        (("shop", CRM, "--mapping", CRM_MAPPING), "the mapping is for source 'crm', not 'shop'"),
        (("crm", CRM, "--mapping", CRM_MAPPING, "--kind", "orders"), "--kind orders contradicts"),
        (("crm", str(EXAMPLES / "mappings" / "survey.yaml")), "cannot tell the format of 'survey.yaml'"),
        (("crm",), "Missing argument"),
        (("crm", CRM, "--kind", "people"), "Invalid value for '--kind'"),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr(lake: Path, args: tuple[str, ...], reason: str) -> None:
    result = cdp("import", *args, lake=lake)
    assert result.code == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("cdp: error: ")
    assert reason in result.stderr
    assert not (lake / "raw" / "imports").exists()


def test_a_bad_mapping_or_an_unreadable_file_exits_2_and_leaves_no_trace(tmp_path: Path, lake: Path) -> None:
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(
        "source: crm\nkind: customers\nformat: csv\ncolumns:\n  dob: {field: date_of_birth, type: day}\n"
    )
    bad_mapping = cdp("import", "crm", CRM, "--mapping", str(mapping), lake=lake)
    assert bad_mapping.code == 2
    assert "mapping bad.yaml: columns.dob.type: must be one of" in bad_mapping.stderr

    garbage = tmp_path / "orders.jsonl"
    garbage.write_bytes(b"\x00\x01binary\xff\xfe\nnot json\n")
    unreadable = cdp("import", "shop", str(garbage), lake=lake)
    assert unreadable.code == 2
    assert len(unreadable.stderr.strip().splitlines()) == 1
    assert "orders.jsonl: no row could be read" in unreadable.stderr
    assert not (lake / "raw" / "imports").exists()
    assert "shop" not in cdp("sources", "list", lake=lake).stdout  # not created for a failed import


def test_import_has_help_with_its_options(lake: Path) -> None:
    result = cdp("import", "--help", lake=lake)
    assert result.code == 0
    for option in ("--lake", "--mapping", "--kind"):
        assert option in result.stdout
