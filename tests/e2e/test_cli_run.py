"""`cdp import` then `cdp run --steps standardize` as a user runs them, read back with `cdp query`."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import cdp, import_examples, query_json


def test_imported_files_become_standardized_identity_records_and_orders(lake: Path) -> None:
    import_examples(lake, "crm", "shop")
    ran = cdp("run", "--steps", "standardize", lake=lake, timeout=120)
    assert ran.code == 0, ran.stderr
    assert "identity_records" in ran.stdout

    imported = query_json("SELECT count(*) AS n FROM import_rows", lake)[0]["n"]
    records = query_json(
        "SELECT count(*) AS n, count(email_key) AS emails, count(phone_e164) AS phones FROM identity_records",
        lake,
    )[0]
    assert records["n"] == imported  # one identity record per imported row (no events yet)
    assert records["emails"] > 0
    assert records["phones"] > 0
    # every phone is E.164 and every stored email is lower-case: standardized, not copied
    bad = query_json(
        "SELECT count(*) AS n FROM identity_records WHERE phone_e164 NOT LIKE '+%' OR email <> lower(email)",
        lake,
    )[0]
    assert bad["n"] == 0
    orders = query_json("SELECT count(DISTINCT order_id) AS n FROM orders WHERE origin = 'import'", lake)[0]
    assert orders["n"] > 0


def test_unknown_step_is_bad_usage(lake: Path) -> None:
    result = cdp("run", "--steps", "standardise", lake=lake)
    assert result.code == 2
    assert "unknown step 'standardise'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_on_an_empty_lake_publishes_empty_tables(lake: Path) -> None:
    assert cdp("run", lake=lake).code == 0
    assert query_json("SELECT count(*) AS n FROM events", lake) == [{"n": 0}]
