"""``cdp``: every subcommand takes ``--lake DIR`` (or ``CDP_LAKE``) after its own name.

Exit codes: 0 ok, 1 failure, 2 bad usage or invalid input, always with a one-line reason on stderr.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cdp.cli.export import export_command
from cdp.cli.privacy import privacy_app
from cdp.cli.segments import segments_app
from cdp.identity.errors import IdentityConfigError, MatchInputError, OverrideError, UnknownProfileError
from cdp.imports import ImportInputError
from cdp.imports.fields import RowKind
from cdp.lake import LocalLake
from cdp.lookup.api_keys import ApiKeyExistsError, ApiKeyNameError, UnknownApiKeyError
from cdp.pipeline import UnknownStepError
from cdp.query import QueryError
from cdp.settings import DEFAULT_LAKE, ConfigError, IngestionSettings
from cdp.sources.keys import SourceExistsError, SourceNameError, UnknownSourceError, validate_source_name

if TYPE_CHECKING:
    from cdp.imports.rows import ProgressCallback
    from cdp.imports.service import ImportReport

app = typer.Typer(
    name="cdp",
    help="Serverless Customer Data Platform: the embedded (local) mode of the same handlers and steps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sources_app = typer.Typer(help="Manage sources and their write keys.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
identity_app = typer.Typer(help="Explain profiles and override identity resolution.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")
lookup_keys_app = typer.Typer(
    help="Manage API keys of the local profile lookup API (cdp serve); AWS uses IAM instead.",
    no_args_is_help=True,
)
app.add_typer(lookup_keys_app, name="lookup-keys")
app.add_typer(segments_app, name="segments")
app.add_typer(privacy_app, name="privacy")
app.command("export")(export_command)

out = Console(soft_wrap=True)
err = Console(stderr=True)

LakeOption = Annotated[
    Path,
    typer.Option("--lake", envvar="CDP_LAKE", help="Lake directory.", show_default=True),
]


class InvalidInputError(Exception):
    """Bad input from the user: exit code 2."""


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _lake(path: Path) -> LocalLake:
    return LocalLake.at(path)


def _settings(lake: Path) -> IngestionSettings:
    return IngestionSettings.from_env(os.environ).model_copy(update={"lake": str(_lake(lake).root)})


def _key_store(lake: Path) -> Any:
    from cdp.wiring import build_key_store

    return build_key_store(_settings(lake))


# -- sources ---------------------------------------------------------------------------------------


@sources_app.command("add")
def sources_add(name: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Create a source; its new write key is the last line printed."""
    issued = _key_store(lake).create_source(name)
    out.print(f"created source {issued.source_id} (key id {issued.key_id}); keep this write key secret:")
    print(issued.write_key)


@sources_app.command("list")
def sources_list(lake: LakeOption = DEFAULT_LAKE) -> None:
    """List sources and the id (never the secret) of each one's active key."""
    table = Table("source", "created", "active key id", "revoked keys")
    for info in _key_store(lake).list_sources():
        table.add_row(
            info.source_id,
            info.created_at.isoformat(timespec="seconds"),
            info.active_key_id or "(none: revoked)",
            str(info.revoked_key_count),
        )
    out.print(table)


@sources_app.command("rotate-key")
def sources_rotate_key(name: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Issue a new write key; the old one stops working at once. The key is the last line printed."""
    issued = _key_store(lake).rotate(name)
    out.print(f"rotated key of {issued.source_id} (new key id {issued.key_id}); the old key no longer works:")
    print(issued.write_key)


@sources_app.command("revoke")
def sources_revoke(name: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Revoke a source's write key; its events are refused (401) until a rotate-key."""
    _key_store(lake).revoke(name)
    out.print(f"revoked the write key of {name}")


# -- lookup keys -----------------------------------------------------------------------------------


def _lookup_keys(lake: Path) -> Any:
    from cdp.adapters.local_lookup_keys import LocalLookupKeyStore

    return LocalLookupKeyStore(_lake(lake))


@lookup_keys_app.command("add")
def lookup_keys_add(name: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Create an API key for GET /v1/profiles on cdp serve (header x-api-key); it is the last line printed."""
    issued = _lookup_keys(lake).add(name)
    out.print(
        f"created lookup key {issued.name} (key id {issued.key_id}); send it as x-api-key, keep it secret:"
    )
    print(issued.api_key)


@lookup_keys_app.command("list")
def lookup_keys_list(lake: LakeOption = DEFAULT_LAKE) -> None:
    """List lookup keys by name and id (never the secret)."""
    table = Table("name", "key id", "created", "revoked")
    for info in _lookup_keys(lake).list_keys():
        table.add_row(
            info.name,
            info.key_id,
            info.created_at.isoformat(timespec="seconds"),
            info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "",
        )
    out.print(table)


@lookup_keys_app.command("revoke")
def lookup_keys_revoke(name: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Revoke a lookup key; a running cdp serve refuses it (403) at once."""
    _lookup_keys(lake).revoke(name)
    out.print(f"revoked lookup key {name}")


# -- import ----------------------------------------------------------------------------------------

#: files smaller than this are imported before a progress bar would have drawn
_PROGRESS_MIN_BYTES = 4 << 20


@app.command("import")
def import_(
    source: Annotated[str, typer.Argument(help="Source name; created (with a new write key) if new.")],
    file: Annotated[Path, typer.Argument(help="A CSV, JSON-lines or Parquet file.")],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="Mapping YAML (format, encoding, delimiter, columns, types, date formats, PII). "
            "Without it, columns named like standard fields map to them and the rest become attributes.",
        ),
    ] = None,
    kind: Annotated[
        RowKind | None,
        typer.Option("--kind", help="What one row is, when no mapping says so (default: from the columns)."),
    ] = None,
    lake: LakeOption = DEFAULT_LAKE,
) -> None:
    """Import a file: typed rows to `import_rows`, bad rows to `quarantine_imports` with row number and
    reason. Importing the same content again does nothing."""
    from cdp.adapters.local_imports import LocalImportStore
    from cdp.imports.mapping import load_mapping
    from cdp.imports.service import ImportService, mapping_for_file

    validate_source_name(source)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read {file}: {error.strerror or error}") from None
    if mapping is not None:
        chosen = load_mapping(mapping)
        if kind is not None and kind is not chosen.kind:
            raise InvalidInputError(f"--kind {kind.value} contradicts the mapping's kind {chosen.kind.value}")
    else:
        chosen = mapping_for_file(source, file.name, data, kind)
    service = ImportService(LocalImportStore(_lake(lake)))
    with _import_progress(file.name, len(data)) as progress:
        report = service.import_file(source, file.name, data, chosen, progress=progress)
    _ensure_source(lake, source)
    _print_import_report(report)


@contextmanager
def _import_progress(name: str, size: int) -> Iterator[ProgressCallback | None]:
    """A progress bar on stderr for large files (stdout keeps only the summary)."""
    if size < _PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {name}", total=1.0, rows=0)
        yield lambda fraction, rows: bar.update(task, completed=fraction, rows=rows)


def _ensure_source(lake: Path, source: str) -> None:
    """``cdp import`` creates a new source like ``sources add`` does; an existing one keeps its key."""
    try:
        issued = _key_store(lake).create_source(source)
    except SourceExistsError:
        return
    out.print(f"created source {issued.source_id} (key id {issued.key_id}); its write key, shown once:")
    print(issued.write_key)


def _print_import_report(report: ImportReport) -> None:
    if report.status == "already_imported":
        out.print(
            f"already imported: {report.file_name} is import {report.import_id} of source "
            f"{report.source_id} ({report.imported_at}): {report.rows_accepted} rows accepted, "
            f"{report.rows_rejected} rejected; nothing to do",
            markup=False,
        )
        if report.mapping_changed:
            out.print(
                "note: this mapping differs from the one the file was imported with; "
                "the same content is not imported twice",
                markup=False,
            )
        return
    out.print(
        f"imported {report.file_name} into source {report.source_id} (import id {report.import_id}): "
        f"{report.rows_read} rows read, {report.rows_accepted} accepted, {report.rows_rejected} rejected "
        f"in {report.duration_seconds:.2f} s",
        markup=False,
    )
    if report.missing_columns:
        missing = ", ".join(f'"{name}"' for name in report.missing_columns)
        out.print(f"warning: mapped columns not in the file (left empty): {missing}", markup=False)
    if report.rejections:
        table = Table("reason", "column", "rows", "example", title="rejected rows (table quarantine_imports)")
        for item in report.rejections:
            table.add_row(Text(item.code), Text(item.column or ""), str(item.rows), Text(item.example))
        out.print(table)


# -- serve -----------------------------------------------------------------------------------------


@app.command()
def serve(
    lake: LakeOption = DEFAULT_LAKE,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8088,
) -> None:
    """Run the local ingestion API (Segment-compatible POST /v1/*) and profile lookup API (GET
    /v1/profiles, x-api-key from `cdp lookup-keys add`) on the real Lambda handlers."""
    from cdp.localapi.runtime import start_local_api
    from cdp.lookup_wiring import LookupSettings

    lookup = LookupSettings.from_env(os.environ).model_copy(update={"lake": str(_lake(lake).root)})
    server = start_local_api(_settings(lake), host=host, port=port, lookup=lookup)
    out.print(f"cdp serve: listening on {server.url} (lake {_lake(lake).root}); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# -- query -----------------------------------------------------------------------------------------


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One Athena (Trino) SQL statement.")],
    lake: LakeOption = DEFAULT_LAKE,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Run Athena-dialect SQL over the lake tables (DuckDB, in memory, no lock on the lake)."""
    from cdp.query.catalog import run_query

    result = run_query(_lake(lake), sql)
    rows = result.to_pylist()
    if output_format is OutputFormat.json:
        sys.stdout.write(orjson.dumps(rows, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif output_format is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.column_names)
        writer.writerows([["" if row[c] is None else row[c] for c in result.column_names] for row in rows])
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table(*result.column_names)
        for row in rows:
            table.add_row(*("NULL" if value is None else str(value) for value in row.values()))
        out.print(table)
        out.print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


# -- run -----------------------------------------------------------------------------------------


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command()
def run(
    lake: LakeOption = DEFAULT_LAKE,
    steps: Annotated[
        str | None, typer.Option("--steps", help="Comma-separated steps (default: all), e.g. standardize.")
    ] = None,
    engine: Annotated[EngineName, typer.Option(help="Execution engine.")] = EngineName.duckdb,
) -> None:
    """Run pipeline steps over the lake and publish new table snapshots."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from cdp.lakefs import LakeFiles
    from cdp.pipeline.runner import parse_steps, run_pipeline

    chosen = parse_steps(steps)
    runner = _engine(engine)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=None)
            report = run_pipeline(
                LakeFiles(_lake(lake).root),
                runner,
                steps=chosen,
                on_step=lambda step: progress.update(task, description=f"step {step} on {runner.name}"),
            )
    finally:
        runner.close()
    table = Table("step", "table", "rows", "seconds", title=f"run {report.run_id} on {report.engine}")
    for step in report.steps:
        for index, (name, rows) in enumerate(step.rows.items()):
            table.add_row(
                step.step if index == 0 else "",
                name,
                f"{rows:,}",
                f"{step.seconds:.2f}" if index == 0 else "",
            )
    out.print(table)
    for step in report.steps:
        counted = {name: count for name, count in step.guards.items() if count}
        if counted:  # what the guards blocked, refused or skipped (SPEC 6, 8): the run report's other half
            out.print(f"{step.step}: " + ", ".join(f"{name} {count:,}" for name, count in counted.items()))


def _engine(name: EngineName) -> Any:
    if name is EngineName.spark:
        from cdp.engine.spark_engine import SparkEngine, local_spark_session

        session = local_spark_session()
        session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines are not for the person at the prompt
        return SparkEngine(session)
    from cdp.engine.duckdb_engine import DuckDbEngine

    return DuckDbEngine()


# -- identity --------------------------------------------------------------------------------------


@app.command()
def match(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="CSV with a unique record_id.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write record_id,profile_id.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="identity.yaml with the resolution rules.")
    ] = None,
    engine: Annotated[EngineName, typer.Option(help="Execution engine.")] = EngineName.duckdb,
    lake: Annotated[
        Path, typer.Option("--lake", envvar="CDP_LAKE", hidden=True, help="Unused: no lake is touched.")
    ] = DEFAULT_LAKE,
) -> None:
    """Resolve the records of one CSV into profiles (same standardization and resolution as the
    pipeline, nothing written but OUT.csv): one output row per input record."""
    import time

    from cdp.identity.config import load_identity_config
    from cdp.identity.match import match_records, read_match_file, write_match_output
    from cdp.pipeline.resolve import probabilistic_scorer

    del lake  # every subcommand accepts --lake; this one never touches one
    started = time.perf_counter()
    rules = load_identity_config(config)
    records = read_match_file(input_file)
    runner = _engine(engine)
    try:
        result = match_records(runner, records, config=rules, scorer=probabilistic_scorer(runner, rules))
    finally:
        runner.close()
    try:
        write_match_output(result, output)
    except OSError as error:
        raise InvalidInputError(f"cannot write {output}: {error.strerror or error}") from None
    profiles = len(set(result.column("profile_id").to_pylist()))
    out.print(
        f"matched {result.num_rows:,} records into {profiles:,} profiles in "
        f"{time.perf_counter() - started:.2f} s on {runner.name}: {output}",
        markup=False,
    )


@identity_app.command("explain")
def identity_explain(profile_id: str, lake: LakeOption = DEFAULT_LAKE) -> None:
    """Print a profile's records, the edges (rule or score) that hold them together, and refused edges."""
    from cdp.identity.explain import explain_profile
    from cdp.lakefs import LakeFiles

    found = explain_profile(LakeFiles(_lake(lake).root), profile_id)
    out.print(f"profile {found.profile_id}: {len(found.records)} record(s)", markup=False)
    records = Table("record", "matched by", "p", "source", "name", "email", "phone", "birth", "user_id")
    matched = {link["record_id"]: link for link in found.links}
    for row in found.records:
        link = matched.get(row["record_id"], {})
        probability = link.get("match_probability")
        records.add_row(
            Text(row["record_id"]),
            Text(str(link.get("matched_by", ""))),
            "" if probability is None else f"{probability:.3f}",
            Text(row["source_id"] or ""),
            Text(" ".join(part for part in (row["first_name"], row["last_name"]) if part)),
            Text(row["email"] or ""),
            Text(row["phone_e164"] or ""),
            Text(row["date_of_birth"] or ""),
            Text(row["user_id"] or ""),
        )
    out.print(records)
    edges = Table("record", "record", "rule", "p", "status", "reason", title="edges")
    for edge in [*found.edges, *found.refused]:
        edges.add_row(
            Text(edge["record_id_l"]),
            Text(edge["record_id_r"]),
            Text(edge["rule"]),
            "" if edge["match_probability"] is None else f"{edge['match_probability']:.3f}",
            edge["status"],
            Text(edge["reason"] or ""),
        )
    out.print(edges)


class OverrideKind(StrEnum):
    FORCE_MERGE = "force-merge"
    NEVER_MERGE = "never-merge"
    SPLIT = "split"


@identity_app.command("override")
def identity_override(
    action: Annotated[OverrideKind, typer.Argument(help="force-merge A B | never-merge A B | split A")],
    records: Annotated[list[str], typer.Argument(help="Record id(s) from identity_records.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in identity_history.")],
    lake: LakeOption = DEFAULT_LAKE,
) -> None:
    """Add a manual override to identity/overrides.jsonl; it wins from the next resolve run on."""
    from cdp.identity.overrides import IdentityOverride, OverrideAction, add_override
    from cdp.lakefs import LakeFiles

    try:
        override = IdentityOverride(
            action=OverrideAction(action.value.replace("-", "_")), records=tuple(records), reason=reason
        )
    except ValueError as error:
        raise InvalidInputError(_first_error(error)) from None
    added = add_override(LakeFiles(_lake(lake).root), override)
    out.print(
        f"added {added.action.value} {' '.join(added.records)}; run `cdp run --steps resolve` to apply it",
        markup=False,
    )


def _first_error(error: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return str(first["msg"]).removeprefix("Value error, ")
    return str(error)


# -- sample data -----------------------------------------------------------------------------------


@app.command("sample-data")
def sample_data(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory for the files (created if new), e.g. .cdp/sample.")
    ],
    people: Annotated[int, typer.Option(min=1, help="How many true people the records come from.")] = 500,
    seed: Annotated[int, typer.Option(help="The same seed writes the same bytes.")] = 42,
    lake: Annotated[
        Path, typer.Option("--lake", envvar="CDP_LAKE", hidden=True, help="Unused: only OUT_DIR is written.")
    ] = DEFAULT_LAKE,
) -> None:
    """Write a Thai retailer's sample data with its ground truth: CRM (TIS-620), shop orders, survey,
    app events (Segment spec) and truth.csv. Import the first three with examples/mappings/*.yaml."""
    import time

    from cdp.sampledata import generate_retailer

    del lake  # every subcommand accepts --lake; this one never touches a lake
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir} exists and is not a directory")
    started = time.perf_counter()
    try:
        dataset = generate_retailer(out_dir, people=people, seed=seed)
    except OSError as error:
        raise InvalidInputError(f"cannot write to {out_dir}: {error.strerror or error}") from None
    seconds = time.perf_counter() - started
    table = Table(
        "source", "file", "records", "accepted", "quarantined", title=f"{people:,} people, seed {seed}"
    )
    for source in dataset.sources:
        rejected = ", ".join(f"{code} {count}" for code, count in source.quarantined.items())
        table.add_row(
            source.source, source.path.name, f"{source.records:,}", f"{source.accepted:,}", Text(rejected)
        )
    out.print(table)
    out.print(
        f"wrote {out_dir} in {seconds:.1f} s; who is who: {dataset.truth.name}, {dataset.people_file.name}",
        markup=False,
    )
    for source in dataset.sources:
        if source.mapping is not None:
            out.print(
                f"cdp import {source.source} {source.path} --mapping examples/mappings/{source.mapping}",
                markup=False,
            )


# -- demo ------------------------------------------------------------------------------------------


@app.command()
def demo(
    lake: LakeOption = DEFAULT_LAKE,
    people: Annotated[int, typer.Option(min=1, help="How many true people the sample data has.")] = 300,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Where to write the HTML report (default: beside the lake)."),
    ] = None,
) -> None:
    """What `make demo` runs: a generated retailer's events, files, the pipeline, AWS destinations on a
    moto server, an access request and an erasure, end to end; then a summary and an HTML report."""
    from cdp.demo import DemoSetupError, run_demo

    try:
        run_demo(_settings(lake), console=out, people=people, report_path=report)
    except DemoSetupError as error:
        raise InvalidInputError(str(error)) from None


# -- entry point -----------------------------------------------------------------------------------

_INPUT_ERRORS: tuple[type[Exception], ...] = (
    InvalidInputError,
    ConfigError,
    SourceNameError,
    SourceExistsError,
    UnknownSourceError,
    QueryError,
    ImportInputError,  # MappingError, UnreadableFileError, FileNameError
    IdentityConfigError,
    OverrideError,
    MatchInputError,
    UnknownProfileError,
    UnknownStepError,
    ApiKeyNameError,
    ApiKeyExistsError,
    UnknownApiKeyError,
)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one line on stderr and exit code 1 (failure) or 2 (bad input)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="cdp", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        _fail("aborted")
        return 1
    except typer.TyperException as error:  # usage errors: bad options, missing arguments
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        _fail(message.replace("\n", " "))
        return 2
    except _INPUT_ERRORS as error:
        _fail(str(error))
        return 2
    except Exception as error:
        _fail(f"{type(error).__name__}: {error}")
        return 1
    return result if isinstance(result, int) else 0


def _fail(message: str) -> None:
    sys.stderr.write(f"cdp: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
