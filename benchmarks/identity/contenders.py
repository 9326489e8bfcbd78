"""The two matchers, timed end to end, and the pairwise scoring of their clusters.

- **ours**: :func:`cdp.identity.probabilistic.score_record_pairs` on our record columns (match keys,
  training, prediction), deduplicating all records together as the pipeline does (SPEC 3.4: a source column
  does not mean link-only);
- **plain Splink**: Splink's comparison library with its default thresholds on FEBRL's raw columns
  (``NameComparison``, ``DateOfBirthComparison``-free Levenshtein on the raw ``YYYYMMDD`` text,
  ``JaroWinklerAtThresholds``, ``ExactMatch``), the same blocking rules on the raw columns, trained the same
  way (u by sampling with the same seed and pair budget, prior from strict rules, EM on the same two rules),
  ``link_only`` for FEBRL4 as a user of Splink would write it.

Both are clustered at the same threshold (connected components of the pairs at or above it) and scored on
the pairs inside clusters.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from benchmarks.identity.datasets import Dataset
from cdp.identity.probabilistic import MatchSettings, score_record_pairs


@dataclass(frozen=True, slots=True)
class Outcome:
    contender: str
    dataset: str
    records: int
    seconds: float
    scored_pairs: int
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int

    def as_json(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "dataset": self.dataset,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "scored_pairs": self.scored_pairs,
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
            "f1": round(self.f1, 5),
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
        }


def run_ours(dataset: Dataset, settings: MatchSettings) -> Outcome:
    started = time.perf_counter()
    pairs = score_record_pairs(dataset.records, settings=settings)
    links = zip(pairs["record_id_l"].to_pylist(), pairs["record_id_r"].to_pylist(), strict=True)
    clusters = connected_components(dataset.records["record_id"].to_pylist(), links)
    seconds = time.perf_counter() - started
    return score("ours", dataset, clusters, seconds, pairs.num_rows)


def run_plain_splink(dataset: Dataset, settings: MatchSettings) -> Outcome:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    db_api = DuckDBAPI()
    frames = [db_api.register(table) for table in dataset.raw]
    model = SettingsCreator(
        link_type="link_only" if dataset.task == "link" else "dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.JaroWinklerAtThresholds("address_1"),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("suburb"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("state"),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth", "substr(given_name, 1, 1)"),
            block_on("date_of_birth", "substr(surname, 1, 1)"),
            block_on("soc_sec_id"),
            block_on("postcode", "given_name"),
        ],
        retain_matching_columns=False,
    )
    linker = Linker(frames if len(frames) > 1 else frames[0], model, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=settings.u_max_pairs, seed=settings.seed, num_chunks=1
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), block_on("soc_sec_id")],
        recall=settings.prior_recall,
    )
    for rule in (block_on("date_of_birth"), block_on("given_name", "surname")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, max_pairs=settings.em_max_pairs
        )
    predictions = linker.inference.predict(threshold_match_probability=settings.threshold)
    scored: pa.Table = predictions.as_pyarrow_table()
    ids = [record_id for table in dataset.raw for record_id in table["unique_id"].to_pylist()]
    links = zip(scored["unique_id_l"].to_pylist(), scored["unique_id_r"].to_pylist(), strict=True)
    clusters = connected_components(ids, links)
    seconds = time.perf_counter() - started
    return score("plain Splink", dataset, clusters, seconds, scored.num_rows)


def connected_components(ids: list[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    parent = {record_id: record_id for record_id in ids}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for left, right in links:
        a, b = root(left), root(right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for record_id in ids:
        groups[root(record_id)].append(record_id)
    return list(groups.values())


def pairs_of(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for group in groups for a, b in itertools.combinations(group, 2)}


def score(
    contender: str, dataset: Dataset, clusters: list[list[str]], seconds: float, scored: int
) -> Outcome:
    by_entity: dict[str, list[str]] = defaultdict(list)
    for record_id, entity in dataset.entity_of.items():
        by_entity[entity].append(record_id)
    truth = pairs_of(by_entity.values())
    predicted = pairs_of(clusters)
    hits = len(truth & predicted)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Outcome(
        contender,
        dataset.name,
        len(dataset.entity_of),
        seconds,
        scored,
        precision,
        recall,
        f1,
        len(truth),
        len(predicted),
    )
