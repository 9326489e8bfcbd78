"""Deterministic-only resolution of ``cdp sample-data`` (CRM, shop, survey imports) against truth.csv."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

import pyarrow.parquet as pq

from cdp.adapters.local_imports import LocalImportStore
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import load_mapping
from cdp.imports.service import ImportService
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.sampledata import generate_retailer
from tests.identity_data import profiles

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"
IMPORTS = (
    ("crm", "crm_customers.csv", "crm_customers.yaml"),
    ("shop", "shop_orders.jsonl", "shop_orders.yaml"),
    ("survey", "survey.csv", "survey.yaml"),
)


def pairs(groups: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def test_deterministic_resolution_of_sample_data_is_precise(tmp_path: Path) -> None:
    generate_retailer(tmp_path / "sample", people=200, seed=11)
    lake = LocalLake.at(tmp_path / "lake")
    service = ImportService(LocalImportStore(lake))
    for source, name, mapping in IMPORTS:
        data = (tmp_path / "sample" / name).read_bytes()
        service.import_file(source, name, data, load_mapping(MAPPINGS / mapping))
    files = LakeFiles(lake.root)
    engine = DuckDbEngine()
    try:
        run_pipeline(files, engine, steps=["standardize", "resolve"], run_id="sample")
    finally:
        engine.close()

    # (source, row_number) → record_id through the imported rows, then → true person through truth.csv
    record_of: dict[tuple[str, int], str] = {}
    for path in (lake.root / "clean" / "import_rows").rglob("*.parquet"):
        for row in pq.read_table(path, columns=["source_id", "row_number", "row_key"]).to_pylist():
            record_of[(row["source_id"], row["row_number"])] = f"{row['source_id']}:{row['row_key']}"
    person_of: dict[str, str] = {}
    with (tmp_path / "sample" / "truth.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            record_id = record_of.get((row["source"], int(row["row_number"])))
            if record_id and row["person_id"] and row["expected"] == "accepted":
                person_of.setdefault(record_id, row["person_id"])
    linked = profiles(files)
    truth_groups: dict[str, set[str]] = {}
    found_groups: dict[str, set[str]] = {}
    for record_id, person in person_of.items():
        truth_groups.setdefault(person, set()).add(record_id)
        found_groups.setdefault(linked[record_id], set()).add(record_id)
    true_pairs, found_pairs = pairs(truth_groups), pairs(found_groups)
    correct = len(true_pairs & found_pairs)
    precision = correct / len(found_pairs)
    recall = correct / len(true_pairs)
    print(
        f"\nsample data, 200 people, {len(person_of)} records: deterministic-only pairwise "
        f"precision {precision:.4f}, recall {recall:.4f} ({correct} of {len(true_pairs)} true pairs, "
        f"{len(found_pairs)} found)"
    )
    assert precision >= 0.99
    assert recall >= 0.3
