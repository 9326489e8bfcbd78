"""Resolution of ``cdp sample-data`` (CRM, shop, survey imports) scored against its truth.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdp.adapters.local_imports import LocalImportStore
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import load_mapping
from cdp.imports.service import ImportService
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.sampledata import generate_retailer
from cdp.sampledata.accuracy import PairwiseAccuracy, pairwise_accuracy, true_people
from tests.identity_data import profiles

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"
IMPORTS = (
    ("crm", "crm_customers.csv", "crm_customers.yaml"),
    ("shop", "shop_orders.jsonl", "shop_orders.yaml"),
    ("survey", "survey.csv", "survey.yaml"),
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    generate_retailer(root, people=200, seed=11)
    return root


def resolve_sample(sample: Path, lake_root: Path, **options: Any) -> PairwiseAccuracy:
    lake = LocalLake.at(lake_root)
    service = ImportService(LocalImportStore(lake))
    for source, name, mapping in IMPORTS:
        service.import_file(source, name, (sample / name).read_bytes(), load_mapping(MAPPINGS / mapping))
    files = LakeFiles(lake.root)
    engine = DuckDbEngine()
    try:
        run_pipeline(files, engine, steps=["standardize", "resolve"], run_id="sample", **options)
    finally:
        engine.close()
    truth = true_people((lake.root / "clean" / "import_rows").rglob("*.parquet"), sample / "truth.csv")
    return pairwise_accuracy(truth, profiles(files))


def test_deterministic_resolution_of_sample_data_is_precise(sample: Path, tmp_path: Path) -> None:
    accuracy = resolve_sample(sample, tmp_path / "lake", scorer=None)
    print(
        f"\nsample data, 200 people, {accuracy.records} records, deterministic only: pairwise precision "
        f"{accuracy.precision:.4f}, recall {accuracy.recall:.4f}"
    )
    assert accuracy.precision >= 0.99
    assert accuracy.recall >= 0.9


def test_probabilistic_matching_keeps_precision_and_loses_no_recall(sample: Path, tmp_path: Path) -> None:
    deterministic = resolve_sample(sample, tmp_path / "det", scorer=None)
    default = resolve_sample(sample, tmp_path / "default")  # the rules' probabilistic matcher (Splink)
    print(
        f"\nsample data, with Splink: precision {default.precision:.4f}, recall {default.recall:.4f} "
        f"(deterministic {deterministic.recall:.4f})"
    )
    assert default.precision >= 0.99
    assert default.recall >= deterministic.recall
