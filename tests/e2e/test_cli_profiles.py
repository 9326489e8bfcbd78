"""`cdp run --steps standardize,resolve,profiles` as a user runs it, read back with `cdp query`."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import cdp, import_examples, query_json


def test_imports_become_profiles_traits_and_pseudonymized_profiles(lake: Path) -> None:
    import_examples(lake)
    ran = cdp("run", "--steps", "standardize,resolve,profiles", lake=lake, timeout=180)
    assert ran.code == 0, ran.stderr
    assert "profiles_pseudonymized" in ran.stdout

    [linked] = query_json("SELECT count(DISTINCT profile_id) AS n FROM identity_links", lake)
    [profiles] = query_json("SELECT count(*) AS n, count(DISTINCT profile_id) AS ids FROM profiles", lake)
    assert profiles == {"n": linked["n"], "ids": linked["n"]}
    [buyers] = query_json(
        "SELECT count(*) AS n FROM profiles WHERE order_count > 0 AND rfm_score IS NOT NULL "
        "AND total_spend > 0",
        lake,
    )
    assert buyers["n"] > 0
    traits = query_json("SELECT DISTINCT trait_set FROM profile_traits ORDER BY 1", lake)
    assert {row["trait_set"] for row in traits} >= {"transactional", "geographic", "psychographic"}
    # every identifier of the analysts' table is a SHA-256 hex digest (Athena SQL, as an analyst writes it)
    [hashed] = query_json(
        "SELECT count(*) AS n, "
        "CAST(count_if(NOT regexp_like(first_name_hash, '^[0-9a-f]{64}$')) AS bigint) AS bad_names, "
        "CAST(sum(cardinality(filter(email_hashes, h -> NOT regexp_like(h, '^[0-9a-f]{64}$')))) AS bigint) "
        "AS bad_emails, "
        "CAST(sum(cardinality(email_hashes)) AS bigint) AS emails "
        "FROM profiles_pseudonymized",
        lake,
    )
    assert hashed["n"] == linked["n"]
    assert (hashed["bad_names"], hashed["bad_emails"]) == (0, 0)
    assert hashed["emails"] > 0
    assert (lake / "_local" / "pseudonymization.salt").stat().st_size == 32


def test_a_bad_trait_file_stops_the_run_with_one_line(lake: Path) -> None:
    traits = lake / "profiles" / "config" / "traits"
    traits.mkdir(parents=True)
    (traits / "shop.yaml").write_text(
        "traits:\n  - name: aov\n    description: d\n    relation: orders\n"
        "    expression: sum(order_value) / count(*)\n    window: 90d\n    type: number\n"
        "    data_type: behavioural\n",
        encoding="utf-8",
    )
    result = cdp("run", "--steps", "standardize,profiles", lake=lake)
    assert result.code == 2
    assert result.stderr.strip() == (
        "cdp: error: profiles/config/traits/shop.yaml: trait aov: expression: "
        "needs exactly one aggregate function, found 2 (sum, count)"
    )
    assert not (lake / "clean" / "events").exists()  # nothing ran
