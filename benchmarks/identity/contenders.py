"""The matchers, timed end to end, and the pairwise scoring of their clusters.

- **ours (cdp match)**: the product's resolve path, as ``cdp match`` runs it: the file's rows →
  :func:`cdp.identity.match.match_input` → :func:`cdp.identity.match.match_records` on a fresh
  :class:`~cdp.engine.duckdb_engine.DuckDbEngine` with the default identity rules and
  :func:`cdp.pipeline.resolve.probabilistic_scorer` (standardization, deterministic identifier graph with
  its guards, the scorer's edges with their refusals, SQL label propagation, stable profile ids); the
  clusters are its profiles. All records deduplicated together (SPEC 3.4: a source column does not mean
  link-only);
- **ours (scorer)**: :func:`cdp.identity.probabilistic.score_record_pairs` alone on our record columns
  (already mapped by :mod:`benchmarks.identity.datasets`: no standardization, no graph, no guards), then
  connected components in Python;
- **plain Splink**: Splink's comparison library with its default thresholds on FEBRL's raw columns
  (``NameComparison``, ``DateOfBirthComparison``-free Levenshtein on the raw ``YYYYMMDD`` text,
  ``JaroWinklerAtThresholds``, ``ExactMatch``), the same blocking rules on the raw columns, trained the same
  way (u by sampling with the same seed and pair budget, prior from strict rules, EM on the same two rules),
  ``link_only`` for FEBRL4 as a user of Splink would write it.

All use the same threshold (the scorer's pairs at or above it) and are scored on the pairs inside their
clusters.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchmarks.identity.datasets import Dataset
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.engine.port import BatchFunction
from cdp.identity.probabilistic import MatchSettings, score_record_pairs

SCORER = "ours (scorer)"
CDP_MATCH = "ours (cdp match)"
PLAIN = "plain Splink"


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
    cpu_seconds: float | None = None
    #: the process's peak RSS when the clock stopped (``VmHWM``; reset before a scale run)
    peak_rss_mb: float | None = None
    #: seconds per stage (cdp match: input, standardize, score, graph, output)
    stages: dict[str, float] = field(default_factory=dict)
    #: cdp match: the engine operations that took longest (materialized views, summed over rounds)
    slowest_operations: list[tuple[str, float]] = field(default_factory=list)
    #: cdp match: refusals and guards, counted against the truth (not timed)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.cpu_seconds is not None:
            extra["cpu_seconds"] = round(self.cpu_seconds, 3)
        if self.peak_rss_mb is not None:
            extra["peak_rss_mb"] = self.peak_rss_mb
        if self.stages:
            extra["stages"] = {name: round(value, 3) for name, value in self.stages.items()}
        if self.slowest_operations:
            extra["slowest_operations"] = [[name, round(value, 3)] for name, value in self.slowest_operations]
        if self.diagnostics:
            extra["diagnostics"] = self.diagnostics
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
            **extra,
        }


def run_scorer(dataset: Dataset, settings: MatchSettings, *, diagnose: bool = False) -> Outcome:
    del diagnose  # nothing to diagnose: no guards
    started, cpu = time.perf_counter(), time.process_time()
    pairs = score_record_pairs(dataset.records, settings=settings)
    links = zip(pairs["record_id_l"].to_pylist(), pairs["record_id_r"].to_pylist(), strict=True)
    clusters = connected_components(dataset.records["record_id"].to_pylist(), links)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    outcome = score(SCORER, dataset, clusters, seconds, pairs.num_rows, cpu_seconds=cpu)
    return replace(outcome, peak_rss_mb=peak_rss_mb())


class TimedDuckDbEngine(DuckDbEngine):
    """The product's DuckDB engine, unchanged, with the seconds of each operation summed by its relation
    (the rounds of label propagation add up under their view's name)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def _timed(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[what] += time.perf_counter() - started

    def map_batches(self, name: str, source: str, function: BatchFunction, schema: pa.Schema) -> None:
        with self._timed(f"map_batches {name}"):
            super().map_batches(name, source, function, schema)

    def materialize(self, name: str) -> None:
        with self._timed(f"materialize {name}"):
            super().materialize(name)

    def count_rows(self, source: str) -> int:
        with self._timed(f"count_rows {source}"):
            return super().count_rows(source)

    def to_arrow(self, source: str) -> pa.Table:
        with self._timed(f"to_arrow {source}"):
            return super().to_arrow(source)


def run_cdp_match(dataset: Dataset, settings: MatchSettings, *, diagnose: bool = False) -> Outcome:
    """``cdp match`` on the dataset's rows, timed from the rows (as ``csv.DictReader`` gives them) to the
    clusters; ``diagnose`` then counts, untimed, what the guards refused or cut against the truth."""
    from cdp.identity.config import load_identity_config
    from cdp.identity.match import match_input, match_records
    from cdp.pipeline.resolve import probabilistic_scorer

    config = load_identity_config(None)
    if config.probabilistic.threshold != settings.threshold:
        probabilistic = config.probabilistic.model_copy(update={"threshold": settings.threshold})
        config = config.model_copy(update={"probabilistic": probabilistic})
    stages: dict[str, float] = {"score": 0.0, "scored_pairs": 0}
    started, cpu = time.perf_counter(), time.process_time()
    records = match_input(dataset.match_rows)
    stages["input"] = time.perf_counter() - started
    engine = TimedDuckDbEngine()
    try:
        scorer = probabilistic_scorer(engine, config)
        if scorer is None:
            raise RuntimeError("the default identity rules gave no scorer: is splink installed?")
        timed_scorer = _timed_scorer(scorer, stages)
        matched_at = time.perf_counter()
        result = match_records(engine, records, config=config, scorer=timed_scorer)
        matched = time.perf_counter() - matched_at
        collected_at = time.perf_counter()
        groups: dict[str, list[str]] = defaultdict(list)
        for record_id, profile_id in zip(
            result["record_id"].to_pylist(), result["profile_id"].to_pylist(), strict=True
        ):
            groups[profile_id].append(record_id)
        clusters = list(groups.values())
        stages["output"] = time.perf_counter() - collected_at
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = peak_rss_mb()
        operations = dict(engine.seconds)
        stages["standardize"] = operations.get("map_batches identity_standardized", 0.0) + operations.get(
            "materialize identity_records", 0.0
        )
        stages["graph"] = matched - stages["standardize"] - stages["score"]
        slowest = sorted(operations.items(), key=lambda item: -item[1])[:12]
        diagnostics = _diagnose(engine, dataset, groups) if diagnose else {}
    finally:
        engine.close()
    outcome = score(CDP_MATCH, dataset, clusters, seconds, int(stages.pop("scored_pairs")), cpu_seconds=cpu)
    order = ("input", "standardize", "score", "graph", "output")
    return replace(
        outcome,
        peak_rss_mb=peak,
        stages={name: stages[name] for name in order},
        slowest_operations=slowest,
        diagnostics=diagnostics,
    )


def _timed_scorer(scorer: Callable[[pa.Table], pa.Table], stages: dict[str, float]) -> Any:
    def timed(records: pa.Table) -> pa.Table:
        started = time.perf_counter()
        pairs = scorer(records)
        stages["score"] += time.perf_counter() - started
        stages["scored_pairs"] += pairs.num_rows
        return pairs

    return timed


#: identity input column → its ``identity_records`` column, to count what standardization dropped
_STANDARDIZED_AS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "date_of_birth": "date_of_birth",
    "phone": "phone_e164",
    "email": "email_key",
    "address_line": "address_line",
    "city": "city",
    "postcode": "postcode",
    "state": "province_code",
    "national_id": "national_id",
}


def _diagnose(engine: DuckDbEngine, dataset: Dataset, groups: dict[str, list[str]]) -> dict[str, Any]:
    """Per rule and reason, refused edges and accepted edges a split guard cut (their records ended in two
    profiles), each split into true and false pairs; the values standardization dropped; and where the
    missed true pairs went."""
    entity = dataset.entity_of
    profile_of = {record_id: profile for profile, members in groups.items() for record_id in members}

    def pair_kind(left: str, right: str) -> str:
        return "true" if entity[left] == entity[right] else "false"

    engine.create_view(
        "bench_edges",
        "SELECT record_id_l, record_id_r, rule, status, reason FROM identity_edges "
        "WHERE status = 'refused' OR rule <> 'probabilistic'",
    )
    edges = engine.to_arrow("bench_edges").to_pylist()
    engine.create_view(
        "bench_probabilistic",
        "SELECT record_id_l, record_id_r FROM identity_edges "
        "WHERE status = 'accepted' AND rule = 'probabilistic'",
    )
    accepted = engine.to_arrow("bench_probabilistic")
    refused: Counter[str] = Counter()
    cut: Counter[str] = Counter()
    edge_pairs: set[tuple[str, str]] = set()
    for edge in edges:
        left, right = edge["record_id_l"], edge["record_id_r"]
        edge_pairs.add((left, right) if left < right else (right, left))
        if edge["status"] == "refused":
            refused[f"{edge['rule']}: {edge['reason']}, {pair_kind(left, right)} pair"] += 1
        elif profile_of[left] != profile_of[right]:
            cut[f"{edge['rule']}, {pair_kind(left, right)} pair"] += 1
    for left, right in zip(
        accepted["record_id_l"].to_pylist(), accepted["record_id_r"].to_pylist(), strict=True
    ):
        edge_pairs.add((left, right) if left < right else (right, left))
        if profile_of[left] != profile_of[right]:
            cut[f"probabilistic, {pair_kind(left, right)} pair"] += 1
    present = ", ".join(f"count({name}) AS {name}" for name in _STANDARDIZED_AS.values())
    engine.create_view("bench_present", f"SELECT count(*) AS records, {present} FROM identity_records")
    kept = engine.to_arrow("bench_present").to_pylist()[0]
    given = {
        name: sum(1 for row in dataset.match_rows if (row.get(name) or "").strip())
        for name in _STANDARDIZED_AS
    }
    dropped = {
        name: {"given": given[name], "kept": kept[column]}
        for name, column in _STANDARDIZED_AS.items()
        if given[name]
    }
    by_entity: dict[str, list[str]] = defaultdict(list)
    for record_id, owner in entity.items():
        by_entity[owner].append(record_id)
    missed = pairs_of(by_entity.values()) - pairs_of(groups.values())
    refused_pairs = {
        (edge["record_id_l"], edge["record_id_r"]) for edge in edges if edge["status"] == "refused"
    }
    refused_pairs |= {(right, left) for left, right in refused_pairs}
    return {
        "refused_edges": dict(sorted(refused.items())),
        "accepted_edges_cut_by_guards": dict(sorted(cut.items())),
        "standardized_values": dropped,
        "missed_true_pairs": {
            "total": len(missed),
            "with_a_refused_edge": len(missed & refused_pairs),
            "with_an_accepted_edge_cut": len((missed & edge_pairs) - refused_pairs),
            "without_an_edge": len(missed - edge_pairs),
        },
    }


def run_plain_splink(dataset: Dataset, settings: MatchSettings, *, diagnose: bool = False) -> Outcome:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    del diagnose
    started, cpu = time.perf_counter(), time.process_time()
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
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    outcome = score(PLAIN, dataset, clusters, seconds, scored.num_rows, cpu_seconds=cpu)
    return replace(outcome, peak_rss_mb=peak_rss_mb())


def peak_rss_mb() -> float | None:
    """``VmHWM`` of this process in MB (Linux), else ``None``."""
    return status_mb("VmHWM")


def status_mb(name: str) -> float | None:
    """A memory figure of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MB, else ``None``."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{name}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (``/proc/self/clear_refs``, Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


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
    contender: str,
    dataset: Dataset,
    clusters: list[list[str]],
    seconds: float,
    scored: int,
    *,
    cpu_seconds: float | None = None,
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
        cpu_seconds,
    )
