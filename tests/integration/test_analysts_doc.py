"""docs/analysts.md cannot drift: its tables match the contracts, its queries run and return what it says.

Every ```` ```sql ```` block is run through :func:`cdp.query.catalog.run_query` (what ``cdp query`` calls)
on a small published lake, and must return exactly the columns of the ``Columns:`` line that follows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from cdp.lake import LocalLake
from cdp.query.catalog import run_query
from cdp.query.glue_tables import ANALYST_TABLES, catalog_tables
from cdp.query.views import ANALYST_VIEWS
from tests.analytics_data import build_analytics_lake

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
TEXT = DOC.read_text()


@dataclass(frozen=True)
class Example:
    title: str
    sql: str
    columns: list[str]


def names_in(paragraph: str) -> list[str]:
    return re.findall(r"`([^`]+)`", paragraph)


def section(heading: str) -> str:
    """The text under a ``## heading`` up to the next ``## ``."""
    return TEXT.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def examples() -> list[Example]:
    found = []
    for part in section("Example queries").split("\n### ")[1:]:
        title = part.splitlines()[0]
        blocks = re.findall(r"^```sql\n(.*?)^```\n\nColumns: (.+?)\n\n", part + "\n\n", flags=re.M | re.S)
        assert len(blocks) == 1, f"{title}: one ```sql block followed by its Columns: line"
        sql, columns = blocks[0]
        found.append(Example(title, sql, names_in(columns)))
    return found


def documented_tables() -> dict[str, list[tuple[str, str]]]:
    tables = {}
    for part in section("Tables").split("\n### ")[1:]:
        name = re.match(r"`(\w+)`", part)
        assert name, part[:40]
        tables[name.group(1)] = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", part, flags=re.M)
    return tables


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LocalLake:
    return build_analytics_lake(tmp_path_factory.mktemp("analysts-doc") / "lake")


def test_every_sql_block_of_the_doc_is_an_example_with_its_columns() -> None:
    assert len(examples()) >= 10
    assert len(re.findall(r"^```sql$", TEXT, flags=re.M)) == len(examples())


@pytest.mark.parametrize("example", examples(), ids=lambda example: example.title)
def test_example_runs_through_cdp_query_and_returns_the_documented_columns(
    lake: LocalLake, example: Example
) -> None:
    result = run_query(lake, example.sql)
    assert result.column_names == example.columns
    assert result.num_rows > 0  # the small lake has data for every example


def test_the_documented_columns_of_every_table_are_the_catalogs() -> None:
    catalog = catalog_tables(lake_uri="s3://lake", raw_events_first_day=date(2026, 1, 1))
    expected = {
        table.name: [(column.name, column.type) for column in (*table.columns, *table.partition_keys)]
        for table in catalog
    }
    assert documented_tables() == expected


def test_the_doc_says_which_tables_analysts_may_read_as_the_policy_grants() -> None:
    analysts = set(re.findall(r"^### `(\w+)`\n\n[^\n]*readable by: analysts", section("Tables"), flags=re.M))
    assert analysts == {table.name for table in ANALYST_TABLES}
    [analyst_row] = [
        line for line in section("Who can see what").splitlines() if line.startswith("| analysts")
    ]
    assert set(names_in(analyst_row.split("|")[2])) == {
        *(table.name for table in ANALYST_TABLES),
        *(view.name for view in ANALYST_VIEWS),
    }


def test_the_documented_columns_of_every_view_are_what_it_returns(lake: LocalLake) -> None:
    views = section("Views")
    for view in ANALYST_VIEWS:
        part = views.split(f"### `{view.name}`\n", 1)[1].split("\n### ", 1)[0]
        [paragraph] = re.findall(r"^Columns: (.+?)\n\n", part + "\n\n", flags=re.M | re.S)
        assert run_query(lake, f"SELECT * FROM {view.name}").column_names == names_in(paragraph), view.name
