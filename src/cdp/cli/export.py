"""``cdp export SEGMENT_ID [--run-id R] [--lake DIR]``: deliver a run's membership changes of one segment to
its destinations (SPEC 3.1, 8) and print the delivery report.

Exit codes as every command's: 0 when every change was delivered or held back for a reason (consent,
suppression, no contact); 1 when some failed after every attempt (they are in the ``deliveries`` table as
``failed`` and in the dead-letter queue; running the command again retries exactly those); 2 for bad
input (unknown segment or run, invalid ``segments/destinations.yaml`` or suppression list).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cdp.settings import DEFAULT_LAKE

if TYPE_CHECKING:
    from cdp.activation.deliver import ExportReport


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


def export_command(
    segment_id: Annotated[str, typer.Argument(help="The segment to deliver.")],
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="The pipeline run whose changes to deliver (default: the latest)."),
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="Report format.")
    ] = ReportFormat.table,
    lake: Annotated[
        Path, typer.Option("--lake", envvar="CDP_LAKE", help="Lake directory.", show_default=True)
    ] = DEFAULT_LAKE,
) -> None:
    """Deliver a run's segment changes to the segment's destinations (consent and suppression enforced,
    nothing sent twice) and print how many were sent, held back and why, or failed."""
    from cdp.activation.config import ActivationSettings
    from cdp.activation.errors import DeliveriesFailedError
    from cdp.activation.service import deliver_run
    from cdp.lake import LocalLake
    from cdp.lakefs import LakeFiles

    root = LocalLake.at(lake).root
    settings = ActivationSettings.from_env(os.environ).model_copy(update={"lake": str(root)})
    report = deliver_run(LakeFiles(root), segment_id, run_id=run_id, settings=settings)
    if report_format is ReportFormat.json:
        sys.stdout.write(orjson.dumps(report.document(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_report(report, Console(soft_wrap=True))
    if report.failed:
        where = settings.dead_letter_queue_url or f"{root}/exports/dead_letters/run_id={report.run_id}/"
        raise DeliveriesFailedError(
            f"{report.failed} change(s) failed after every attempt; they are dead-lettered in {where} "
            f"and a re-run of `cdp export {segment_id} --run-id {report.run_id}` retries them"
        )


def print_report(report: ExportReport, console: Console) -> None:
    table = Table(
        "destination",
        "type",
        "purpose",
        "sent",
        "no consent",
        "suppressed",
        "no contact",
        "failed",
        "already sent",
        "n/a",
        "seconds",
        title=f"segment {report.segment_id}, run {report.run_id}: {report.changes:,} change(s)",
    )
    for item in report.destinations:
        table.add_row(
            Text(item.destination_id),
            item.kind,
            item.purpose,
            f"{item.sent:,}",
            f"{item.skipped_consent:,}",
            f"{item.suppressed:,}",
            f"{item.skipped_no_contact:,}",
            f"{item.failed:,}",
            f"{item.already_sent:,}",
            f"{item.not_applicable:,}",
            f"{item.seconds:.2f}",
        )
    console.print(table)
    if not report.destinations:
        console.print(f"segment {report.segment_id} lists no destinations: nothing to deliver", markup=False)
    for item in report.destinations:
        for reason, count in item.failure_reasons.items():
            console.print(f"{item.destination_id}: {count} failed: {reason}", markup=False)
        if item.retractions:
            console.print(
                f"{item.destination_id}: {item.retractions} exit(s) retracted from people it held, whatever "
                "their consent is now",
                markup=False,
            )
