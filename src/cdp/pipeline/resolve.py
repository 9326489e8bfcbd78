"""The resolve step: ``identity_records`` → ``identity_links``, ``identity_edges``, ``identity_history``.

Written once on the engine port (:mod:`cdp.identity.resolution`); ``glue_jobs/resolve_identities.py``
builds a Spark engine and calls :func:`resolve`, ``cdp run`` calls it with DuckDB, ``cdp match`` runs the
same graph on a flat file. The previous run's links (for stable profile IDs) and history are read from
their published snapshots and materialized first, so a re-run with the same run id can replace them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from cdp.engine.port import Engine
from cdp.identity.config import IdentityConfig, load_identity_config, parse_identity_config
from cdp.identity.overrides import IdentityOverride, load_overrides
from cdp.identity.resolution import PairScorer, resolve_graph
from cdp.lakefs import LakeFiles
from cdp.pipeline.standardize import StepReport
from cdp.tables import (
    IDENTITY_EDGES,
    IDENTITY_HISTORY,
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    LakeTable,
    current,
    snapshot_files,
)

#: the lake's identity rules (optional: defaults without it)
CONFIG_PATH = "identity/identity.yaml"


@dataclass(frozen=True, slots=True)
class ResolveInputs:
    """Published snapshots the step reads (file lists resolved by the caller)."""

    identity_record_files: Sequence[str]
    previous_link_files: Sequence[str]
    previous_history_files: Sequence[str]


def resolve_inputs(files: LakeFiles) -> ResolveInputs:
    return ResolveInputs(
        identity_record_files=snapshot_files(files, current(files, IDENTITY_RECORDS)),
        previous_link_files=snapshot_files(files, current(files, IDENTITY_LINKS)),
        previous_history_files=snapshot_files(files, current(files, IDENTITY_HISTORY)),
    )


def lake_identity_config(files: LakeFiles) -> IdentityConfig:
    import yaml

    data = files.read_bytes(CONFIG_PATH)
    if data is None:
        return load_identity_config(None)
    return parse_identity_config(yaml.safe_load(data) or {}, name=CONFIG_PATH)


def resolve(
    engine: Engine,
    inputs: ResolveInputs,
    *,
    config: IdentityConfig,
    overrides: list[IdentityOverride],
    run_id: str,
    write: Callable[[LakeTable, str], int],
    scorer: PairScorer | None = None,
) -> StepReport:
    started = time.perf_counter()
    report = StepReport(step="resolve", run_id=run_id, engine=engine.name)
    engine.register_parquet("identity_records", list(inputs.identity_record_files), IDENTITY_RECORDS.schema)
    engine.register_parquet("previous_links", list(inputs.previous_link_files), IDENTITY_LINKS.schema)
    engine.register_parquet("previous_history", list(inputs.previous_history_files), IDENTITY_HISTORY.schema)
    engine.materialize("previous_links")
    engine.materialize("previous_history")
    resolution = resolve_graph(engine, config=config, overrides=overrides, run_id=run_id, scorer=scorer)
    report.guards.update(resolution.guards)
    report.guards["propagation_rounds"] = resolution.rounds
    for table in (IDENTITY_LINKS, IDENTITY_EDGES, IDENTITY_HISTORY):
        report.rows[table.name] = write(table, table.name)
    report.seconds = time.perf_counter() - started
    return report


class DefaultScorer:
    """Marker: the step builds :func:`probabilistic_scorer` from the lake's identity rules."""


#: ``scorer=DEFAULT_SCORER``: the probabilistic matcher the rules ask for (``probabilistic.enabled``)
DEFAULT_SCORER: Final = DefaultScorer()


def resolve_in_lake(
    engine: Engine,
    files: LakeFiles,
    *,
    run_id: str,
    write: Callable[[LakeTable, str], int],
    scorer: PairScorer | DefaultScorer | None = DEFAULT_SCORER,
) -> StepReport:
    """The step as the runner calls it: rules and overrides from the lake's ``identity/`` zone; ``scorer``
    ``None`` resolves on the deterministic rules alone."""
    config = lake_identity_config(files)
    return resolve(
        engine,
        resolve_inputs(files),
        config=config,
        overrides=load_overrides(files),
        run_id=run_id,
        write=write,
        scorer=probabilistic_scorer(engine, config) if isinstance(scorer, DefaultScorer) else scorer,
    )


def probabilistic_scorer(engine: Engine, config: IdentityConfig) -> PairScorer | None:
    """The probabilistic matcher (``cdp.identity.probabilistic``, Splink) on ``engine``'s backend at the
    rules' threshold; ``None`` when the rules disable it or Splink is not installed."""
    if not config.probabilistic.enabled:
        return None
    try:
        module: Any = importlib.import_module("cdp.identity.probabilistic")
    except ModuleNotFoundError:
        return None
    settings = module.MatchSettings(threshold=config.probabilistic.threshold)
    spark = getattr(engine, "spark_session", None)
    bound: PairScorer = partial(module.score_record_pairs, spark=spark, settings=settings)
    return bound
