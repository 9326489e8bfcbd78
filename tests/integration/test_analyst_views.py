"""The analyst views (SPEC 4) as ``cdp query`` runs them: the Athena SQL files, transpiled, over a published
lake.

What each view promises is asserted on the rows it returns; the RFM names are checked for every one of the
125 R/F/M combinations against the grid docs/analysts.md documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.query.catalog import run_query
from cdp.query.views import ANALYST_VIEWS
from cdp.tables import IDENTITY_HISTORY, PROFILES, PROFILES_PSEUDONYMIZED, current, snapshot_files
from tests.analytics_data import PII_VALUES, RUN_1, RUN_2, build_analytics_lake

ROOT = Path(__file__).resolve().parents[2]
VIEWS_DIR = ROOT / "src" / "cdp" / "query" / "views"
ANALYSTS_DOC = ROOT / "docs" / "analysts.md"
RFM_SEGMENTS = {
    "champions",
    "loyal",
    "potential loyalists",
    "new",
    "promising",
    "needs attention",
    "about to sleep",
    "at risk",
    "can't lose them",
    "hibernating",
    "lost",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LocalLake:
    return build_analytics_lake(tmp_path_factory.mktemp("analytics") / "lake")


def documented_rfm_grid() -> dict[tuple[int, int], str]:
    """(R, FM) → segment, from the "RFM segments" table of docs/analysts.md."""
    section = ANALYSTS_DOC.read_text().split("### RFM segments", 1)[1]
    grid = {}
    for row in re.findall(r"^\| \*\*(\d)\*\* \|(.+)\|$", section, flags=re.MULTILINE):
        r_score, cells = int(row[0]), [cell.strip() for cell in row[1].split("|")]
        for fm_score, name in enumerate(cells, start=1):
            grid[(r_score, fm_score)] = name
    return grid


def test_each_view_is_one_file_of_athena_create_or_replace_view() -> None:
    assert sorted(p.name for p in VIEWS_DIR.glob("*.sql")) == sorted(v.file_name for v in ANALYST_VIEWS)
    for view in ANALYST_VIEWS:
        [statement] = sqlglot.parse(view.sql, read="athena")
        assert isinstance(statement, exp.Create)
        assert statement.kind == "VIEW"
        assert statement.args.get("replace") is True
        assert statement.this.name == view.name
        assert view.sql.startswith(f"CREATE OR REPLACE VIEW {view.name} AS\n")


def test_every_view_runs_locally_and_returns_rows(lake: LocalLake) -> None:
    for view in ANALYST_VIEWS:
        assert run_query(lake, f"SELECT * FROM {view.name}").num_rows > 0, view.name


def test_v_profiles_is_the_pseudonymized_table_and_nothing_else(lake: LocalLake) -> None:
    [statement] = sqlglot.parse(ANALYST_VIEWS[0].sql, read="athena")
    assert {table.name for table in statement.expression.find_all(exp.Table)} == {"profiles_pseudonymized"}
    result = run_query(lake, "SELECT * FROM v_profiles")
    assert result.column_names == PROFILES_PSEUDONYMIZED.schema.names
    plaintext = {"first_name", "last_name", "emails", "phones", "primary_email", "primary_phone"}
    assert plaintext <= set(PROFILES.schema.names)
    assert not plaintext & set(result.column_names)
    assert {"date_of_birth", "user_ids", "anonymous_ids", "postcode", "city"}.isdisjoint(result.column_names)
    text = str(result.to_pylist())
    assert not [value for value in PII_VALUES if value in text]
    # the same person is in `profiles` with the plaintext values: the view does not reach them
    assert "Somchai" in str(run_query(lake, "SELECT first_name FROM profiles").to_pylist())


def test_v_rfm_names_every_score_combination_as_the_doc_says(lake: LocalLake) -> None:
    grid = documented_rfm_grid()
    assert len(grid) == 25
    assert set(grid.values()) == RFM_SEGMENTS
    rows = run_query(lake, "SELECT * FROM v_rfm").to_pylist()
    assert len(rows) == 125  # every R/F/M once; the two profiles without orders have no scores, no row
    for row in rows:
        fm = (row["f_score"] + row["m_score"] + 1) // 2  # the mean of F and M, rounded half up
        assert row["fm_score"] == fm
        assert row["rfm_segment"] == grid[(row["r_score"], fm)], row
    assert {row["rfm_segment"] for row in rows} == RFM_SEGMENTS


def test_v_segment_sizes_counts_open_spells_and_the_latest_runs_changes(lake: LocalLake) -> None:
    rows = run_query(lake, "SELECT * FROM v_segment_sizes ORDER BY segment_id").to_pylist()
    assert rows == [
        {"segment_id": "lapsed", "members": 1, "entered": 0, "exited": 0, "latest_run_id": RUN_2},
        {"segment_id": "vip", "members": 3, "entered": 1, "exited": 1, "latest_run_id": RUN_2},
    ]


def test_snapshot_rows_keep_their_own_run_id_not_the_folder_name(lake: LocalLake) -> None:
    """``run_id=<id>/`` names a snapshot, not a partition: identity_history keeps every run's events."""
    runs = run_query(lake, "SELECT DISTINCT run_id FROM identity_history ORDER BY run_id").column("run_id")
    assert runs.to_pylist() == [RUN_1, RUN_2]
    files = LakeFiles(lake.root)
    paths = snapshot_files(files, current(files, IDENTITY_HISTORY))
    assert {row["run_id"] for path in paths for row in pq.read_table(path).to_pylist()} == {RUN_1, RUN_2}
    engine = DuckDbEngine()
    try:
        engine.register_parquet("previous_history", paths, IDENTITY_HISTORY.schema)
        assert {row["run_id"] for row in engine.to_arrow("previous_history").to_pylist()} == {RUN_1, RUN_2}
    finally:
        engine.close()
