"""``cdp segments preview FILE.yaml``: one definition evaluated on the lake's current tables, nothing written.

The same compiled SQL the segments step runs (:mod:`cdp.pipeline.segments`), on DuckDB, as of the current
``profiles`` snapshot's reference time, so the size is the one the next run would write. The sample comes
from ``profiles_pseudonymized``: salted hashes and coarse attributes, never names, emails or phones.

References (``in_segment``) resolve to ``<id>.yaml`` beside FILE first (a set being edited together), then to
the lake's definitions; FILE itself replaces a lake definition of the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.segments import (
    ENGINE_TABLES,
    create_member_views,
    current_table_files,
    reference_time,
    register_inputs,
)
from cdp.segments.catalog import lake_catalog
from cdp.segments.compiler import MEMBERS, compile_segments
from cdp.segments.definition import (
    SegmentDefinition,
    SegmentSet,
    load_lake_definitions,
    read_segment_file,
    validate_segments,
)
from cdp.tables import PROFILES_PSEUDONYMIZED, current, snapshot_files

PSEUDONYMIZED: Final = "segments_input_profiles_pseudonymized"
#: what a preview shows of a member: pseudonymized or coarse, never PII
SAMPLE_COLUMNS: Final = (
    "profile_id",
    "gender",
    "birth_year",
    "province",
    "country",
    "order_count",
    "total_spend",
    "recency_days",
    "rfm_score",
)


@dataclass(frozen=True, slots=True)
class SegmentPreview:
    definition: SegmentDefinition
    as_of: datetime
    members: int
    profiles: int
    athena_sql: str
    sample: list[dict[str, Any]]


def preview_definitions(files: LakeFiles, path: Path) -> SegmentSet:
    """FILE and the segments it references (directly or not), validated together."""
    target = read_segment_file(path)
    chosen: dict[str, SegmentDefinition] = {target.id: target}
    lake: dict[str, SegmentDefinition] | None = None
    pending = [reference.segment_id for reference in target.references()]
    while pending:
        segment_id = pending.pop()
        if segment_id in chosen:
            continue
        found: SegmentDefinition | None = None
        sibling = path.parent / f"{segment_id}.yaml"
        if sibling.is_file():
            candidate = read_segment_file(sibling)
            found = candidate if candidate.id == segment_id else None
        if found is None:
            if lake is None:
                lake = {definition.id: definition for definition in load_lake_definitions(files)}
            found = lake.get(segment_id)
        if found is None:
            continue  # validation names the reference
        chosen[segment_id] = found
        pending.extend(reference.segment_id for reference in found.references())
    return validate_segments(chosen.values(), lake_catalog(files))


_SAMPLE = """
SELECT {columns}
FROM {members} AS m
JOIN {pseudonymized} AS z ON z.profile_id = m.profile_id
ORDER BY md5(m.profile_id)
LIMIT {limit}
"""


def preview_segment(files: LakeFiles, path: Path, *, sample_size: int = 10) -> SegmentPreview:
    segments = preview_definitions(files, path)
    target = read_segment_file(path).id
    engine = DuckDbEngine()
    try:
        register_inputs(engine, current_table_files(files))
        engine.register_parquet(
            PSEUDONYMIZED,
            snapshot_files(files, current(files, PROFILES_PSEUDONYMIZED)),
            PROFILES_PSEUDONYMIZED.schema,
        )
        as_of = reference_time(engine)
        compiled = compile_segments(segments, as_of=as_of, targets=[target])
        create_member_views(engine, compiled)
        engine.materialize(MEMBERS)
        columns = ", ".join(f"z.{column}" for column in SAMPLE_COLUMNS)
        engine.create_view(
            "segments_preview_sample",
            _SAMPLE.format(
                columns=columns, members=MEMBERS, pseudonymized=PSEUDONYMIZED, limit=int(sample_size)
            ),
        )
        return SegmentPreview(
            definition=segments.definitions[target],
            as_of=as_of,
            members=engine.count_rows(MEMBERS),
            profiles=engine.count_rows(ENGINE_TABLES["profiles"]),
            athena_sql=compiled.athena_sql(),
            sample=engine.to_arrow("segments_preview_sample").to_pylist(),
        )
    finally:
        engine.close()
