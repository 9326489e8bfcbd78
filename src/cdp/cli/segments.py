"""``cdp segments``: preview a definition on the lake's current tables, list the lake's segments.

Bad definitions raise :class:`~cdp.segments.errors.SegmentDefinitionError` (a ``ConfigError``), which
``cdp``'s entry point turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cdp.settings import DEFAULT_LAKE

segments_app = typer.Typer(
    help="Segments: preview a YAML definition (size, SQL, pseudonymized sample), list the lake's.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)

LakeOption = Annotated[
    Path,
    typer.Option("--lake", envvar="CDP_LAKE", help="Lake directory.", show_default=True),
]


def _cell(value: object) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, float):
        return Text(f"{value:,.2f}")
    return Text(str(value))


@segments_app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="A segment definition.")],
    lake: LakeOption = DEFAULT_LAKE,
    sql: Annotated[bool, typer.Option("--sql", help="Print the Athena (Trino) SQL evaluated.")] = False,
    sample: Annotated[int, typer.Option(min=0, max=1000, help="Members to show (pseudonymized).")] = 10,
) -> None:
    """Validate FILE, evaluate it on the lake's current profiles (DuckDB) and print its size and a sample
    of members from profiles_pseudonymized; nothing is written."""
    from cdp.lake import LocalLake
    from cdp.lakefs import LakeFiles
    from cdp.segments.preview import preview_segment

    result = preview_segment(LakeFiles(LocalLake.at(lake).root), file, sample_size=sample)
    share = f" ({result.members / result.profiles:.1%})" if result.profiles else ""
    out.print(
        f"segment {result.definition.id} ({result.definition.name}): {result.members:,} of "
        f"{result.profiles:,} profiles{share}, as of {result.as_of.isoformat()}",
        markup=False,
        highlight=False,
    )
    if sql:
        out.print(result.athena_sql, markup=False, highlight=False)
    if result.sample:
        table = Table(
            *(result.sample[0].keys()),
            title=f"sample of {len(result.sample)} members (profiles_pseudonymized)",
        )
        for row in result.sample:
            table.add_row(*(_cell(value) for value in row.values()))
        out.print(table)


@segments_app.command("list")
def list_segments(lake: LakeOption = DEFAULT_LAKE) -> None:
    """The lake's definitions (segments/definitions/*.yaml) with their current members and the latest
    run's entries and exits."""
    from cdp.lake import LocalLake
    from cdp.lakefs import LakeFiles
    from cdp.segments.catalog import lake_catalog
    from cdp.segments.definition import DEFINITIONS_DIR, load_lake_segments
    from cdp.segments.memberships import membership_counts

    files = LakeFiles(LocalLake.at(lake).root)
    segments = load_lake_segments(files, lake_catalog(files))
    counts = membership_counts(files)
    if not len(segments):
        out.print(f"no segment definitions in {files.uri(DEFINITIONS_DIR)}", markup=False)
        return
    table = Table("id", "name", "members", "entered", "exited", "destinations", "file")
    for definition in segments:
        found = counts.get(definition.id)
        table.add_row(
            Text(definition.id),
            Text(definition.name),
            f"{found.members:,}" if found else "-",
            f"{found.entered:,}" if found else "-",
            f"{found.exited:,}" if found else "-",
            Text(", ".join(definition.destinations)),
            Text(definition.file),
        )
    out.print(table)
