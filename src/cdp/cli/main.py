"""``cdp``: every subcommand takes ``--lake DIR`` (or ``CDP_LAKE``) after its own name.

Exit codes: 0 ok, 1 failure, 2 bad usage or invalid input, always with a one-line reason on stderr.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from cdp.lake import LocalLake
from cdp.query import QueryError
from cdp.settings import DEFAULT_LAKE, ConfigError, IngestionSettings
from cdp.sources.keys import SourceExistsError, SourceNameError, UnknownSourceError

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

out = Console(soft_wrap=True)

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


# -- serve -----------------------------------------------------------------------------------------


@app.command()
def serve(
    lake: LakeOption = DEFAULT_LAKE,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8088,
) -> None:
    """Run the local ingestion API (Segment-compatible /v1/*) on the real Lambda handler."""
    from cdp.localapi.runtime import start_local_api

    server = start_local_api(_settings(lake), host=host, port=port)
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


# -- demo ------------------------------------------------------------------------------------------


@app.command()
def demo(lake: LakeOption = DEFAULT_LAKE) -> None:
    """What `make demo` runs: sources, the local API, a real SDK sending events, and what landed."""
    from cdp.demo import run_demo

    run_demo(_settings(lake), console=out)


# -- entry point -----------------------------------------------------------------------------------

_INPUT_ERRORS: tuple[type[Exception], ...] = (
    InvalidInputError,
    ConfigError,
    SourceNameError,
    SourceExistsError,
    UnknownSourceError,
    QueryError,
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
