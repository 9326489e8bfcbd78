"""``cdp match`` (SPEC 3.4): identity resolution of one flat file, with no lake at all.

The file's rows become identity input rows, go through the standardize step's own identity
standardization (:func:`cdp.pipeline.standardize.standardize_identities`) and the resolve step's own graph
(:func:`cdp.identity.resolution.resolve_graph`) on the chosen engine, with no previous links: every
relation lives in the engine's session, nothing is written anywhere but the output file.
A ``source`` column is only a column: records are deduplicated within and across sources alike.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

import pyarrow as pa

from cdp.engine.port import Engine
from cdp.identity.config import IdentityConfig
from cdp.identity.errors import MatchInputError
from cdp.identity.overrides import IdentityOverride
from cdp.identity.resolution import PairScorer, resolve_graph
from cdp.pipeline.standardize import identity_input_schema, standardize_identities
from cdp.tables import IDENTITY_HISTORY, IDENTITY_LINKS

#: the identity columns a match file may carry beside ``record_id`` (SPEC 3.4)
MATCH_COLUMNS: Final = (
    "source",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "address_line",
    "city",
    "postcode",
    "state",
    "country",
    "national_id",
    "user_id",
    "anonymous_id",
)
_RUN_ID: Final = "match"


def read_match_file(path: Path) -> pa.Table:
    """The file's rows as identity input (:func:`identity_input_schema`); other columns are ignored."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or []]
            if "record_id" not in header:
                raise MatchInputError(f"{path.name}: no record_id column in the header")
            reader.fieldnames = header
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as error:
        raise MatchInputError(f"cannot read {path}: {error}") from None
    except csv.Error as error:
        raise MatchInputError(f"{path.name}: not a readable CSV ({error})") from None
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        record_id = (row.get("record_id") or "").strip()
        if not record_id:
            raise MatchInputError(f"{path.name} line {number}: empty record_id")
        if record_id in seen:
            raise MatchInputError(f"{path.name} line {number}: duplicate record_id {record_id!r}")
        seen.add(record_id)
    return match_input(rows)


def match_input(rows: list[dict[str, str | None]]) -> pa.Table:
    schema = identity_input_schema()
    columns: dict[str, list[object]] = {name: [] for name in schema.names}
    for row in rows:
        values = {name: _blank_is_null(row.get(name)) for name in MATCH_COLUMNS}
        record_id = str(row["record_id"]).strip()
        source = values.pop("source") or "input"
        values.update(
            record_id=record_id,
            source_id=source,
            origin="match",
            kind="customers",
            source_record_key=record_id,
            default_region="TH",
        )
        for name in schema.names:
            columns[name].append(values.get(name))
    return pa.table({field.name: pa.array(columns[field.name], field.type) for field in schema})


def match_records(
    engine: Engine,
    records: pa.Table,
    *,
    config: IdentityConfig,
    overrides: list[IdentityOverride] | None = None,
    scorer: PairScorer | None = None,
) -> pa.Table:
    """``record_id, profile_id`` for every row of ``records`` (:func:`match_input`), in input order."""
    engine.register_arrow("match_input", records)
    standardize_identities(engine, "match_input", run_id=_RUN_ID)
    engine.materialize("identity_records")
    engine.register_arrow("previous_links", IDENTITY_LINKS.schema.empty_table())
    engine.register_arrow("previous_history", IDENTITY_HISTORY.schema.empty_table())
    resolve_graph(engine, config=config, overrides=overrides or [], run_id=_RUN_ID, scorer=scorer)
    links = engine.to_arrow("identity_links")
    profile_of = dict(
        zip(links.column("record_id").to_pylist(), links.column("profile_id").to_pylist(), strict=True)
    )
    ids = records.column("record_id").to_pylist()
    return pa.table(
        {"record_id": pa.array(ids, pa.string()), "profile_id": pa.array([profile_of[i] for i in ids])}
    )


def write_match_output(table: pa.Table, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["record_id", "profile_id"])
        writer.writerows(
            zip(table.column("record_id").to_pylist(), table.column("profile_id").to_pylist(), strict=True)
        )


def _blank_is_null(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None
