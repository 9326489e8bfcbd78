"""How well identity resolution did on sample data: pairwise precision and recall against ``truth.csv``.

A pair is two records of one person. Resolution found it when both records share a profile; precision is
the share of pairs put together that are truly one person, recall the share of true pairs put together.
Only imported records (CRM, shop, survey rows) are scored: ``truth.csv`` names them by file row, and the
lake's ``import_rows`` maps a file row to its record id (``<source>:<row key>``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pyarrow.parquet as pq


@dataclass(frozen=True, slots=True)
class PairwiseAccuracy:
    records: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def true_people(import_row_files: Iterable[Path], truth_csv: Path) -> dict[str, str]:
    """record id → true person id, for every accepted imported row named in ``truth_csv``."""
    record_of: dict[tuple[str, int], str] = {}
    for path in import_row_files:
        for row in pq.read_table(path, columns=["source_id", "row_number", "row_key"]).to_pylist():
            record_of[(row["source_id"], row["row_number"])] = f"{row['source_id']}:{row['row_key']}"
    person_of: dict[str, str] = {}
    with truth_csv.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            record_id = record_of.get((row["source"], int(row["row_number"])))
            if record_id and row["person_id"] and row["expected"] == "accepted":
                person_of.setdefault(record_id, row["person_id"])
    return person_of


def pairwise_accuracy(truth: Mapping[str, str], found: Mapping[str, str]) -> PairwiseAccuracy:
    """Score ``found`` (record id → profile id) on the records of ``truth`` (record id → person id)."""
    scored = [record_id for record_id in truth if record_id in found]
    true_pairs = _pairs(_groups(scored, truth))
    found_pairs = _pairs(_groups(scored, found))
    return PairwiseAccuracy(
        records=len(scored),
        true_pairs=len(true_pairs),
        found_pairs=len(found_pairs),
        correct_pairs=len(true_pairs & found_pairs),
    )


def _groups(records: Iterable[str], key: Mapping[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for record_id in records:
        groups.setdefault(key[record_id], []).append(record_id)
    return list(groups.values())


def _pairs(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups for pair in combinations(sorted(members), 2)}
