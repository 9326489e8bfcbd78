"""``cdp privacy``: access requests, erasure and retention on the embedded lake (SPEC 9).

``export`` writes one JSON document (stdout or ``--output``); ``erase`` prints the erasure report and exits
1 if its proof scan still finds the person; ``retention`` expires anonymous-only profiles and old
quarantine. A request naming nobody, or an identifier several profiles share, exits 2 with one line.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from cdp.privacy.errors import PrivacyRequestError
from cdp.settings import DEFAULT_LAKE, ConfigError

privacy_app = typer.Typer(
    help="Privacy requests (PDPA/GDPR): export what is held on a person, erase them, expire old data.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)

LakeOption = Annotated[
    Path, typer.Option("--lake", envvar="CDP_LAKE", help="Lake directory.", show_default=True)
]
Emails = Annotated[list[str] | None, typer.Option("--email", help="An e-mail of the person (repeatable).")]
Phones = Annotated[list[str] | None, typer.Option("--phone", help="A phone number (repeatable).")]
UserIds = Annotated[list[str] | None, typer.Option("--user-id", help="The app's user id (repeatable).")]
AnonymousIds = Annotated[list[str] | None, typer.Option("--anonymous-id", help="A device's anonymous id.")]
ProfileIds = Annotated[
    list[str] | None,
    typer.Option("--profile-id", help="A profile id (required when an identifier is shared)."),
]


class PrivacyInputError(ConfigError):
    """A privacy request the CLI refuses (exit 2)."""


def _query(
    emails: list[str] | None,
    phones: list[str] | None,
    user_ids: list[str] | None,
    anonymous_ids: list[str] | None,
    profile_ids: list[str] | None,
) -> object:
    from cdp.privacy.models import SubjectQuery

    try:
        return SubjectQuery(
            emails=tuple(emails or ()),
            phones=tuple(phones or ()),
            user_ids=tuple(user_ids or ()),
            anonymous_ids=tuple(anonymous_ids or ()),
            profile_ids=tuple(profile_ids or ()),
        )
    except PrivacyRequestError as error:
        raise PrivacyInputError(str(error)) from None


@privacy_app.command("export")
def export(
    lake: LakeOption = DEFAULT_LAKE,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    anonymous_id: AnonymousIds = None,
    profile_id: ProfileIds = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON here.")] = None,
) -> None:
    """Everything the lake holds on the person (every zone, their lookup document) as one JSON document."""
    from cdp.privacy.models import SubjectQuery
    from cdp.privacy.wiring import local_privacy_service

    query = _query(email, phone, user_id, anonymous_id, profile_id)
    assert isinstance(query, SubjectQuery)
    document = local_privacy_service(lake).access(query)
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if output is None:
        sys.stdout.write(body.decode("utf-8") + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body + b"\n")
    output.chmod(0o600)  # it is the person's data
    summary = ", ".join(f"{zone} {rows}" for zone, rows in document["summary"].items()) or "nothing"
    out.print(f"wrote {output}: {len(document['profiles'])} profile(s); rows by zone: {summary}")
    if document["ambiguous"]:
        out.print(f"[yellow]shared identifiers: {document['ambiguous']}[/yellow]")


@privacy_app.command("erase")
def erase(
    lake: LakeOption = DEFAULT_LAKE,
    email: Emails = None,
    phone: Phones = None,
    user_id: UserIds = None,
    anonymous_id: AnonymousIds = None,
    profile_id: ProfileIds = None,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Re-run a crashed erasure with its id (idempotent).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Remove the person from every zone, the lookup store and the destinations; tombstone their
    identifiers; prove it by re-scanning the whole lake."""
    from cdp.privacy.errors import ErasureIncompleteError
    from cdp.privacy.models import SubjectQuery
    from cdp.privacy.wiring import local_privacy_service

    query = _query(email, phone, user_id, anonymous_id, profile_id)
    assert isinstance(query, SubjectQuery)
    try:
        report = local_privacy_service(lake).erase(query, request_id=request_id)
    except PrivacyRequestError as error:
        raise PrivacyInputError(str(error)) from None
    except ErasureIncompleteError as error:
        sys.stderr.write(f"cdp: error: {error}\n")
        raise typer.Exit(1) from None
    if json_output:
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table("zone", "rows removed", "files scanned", "hits after", title=f"erasure {report.request_id}")
    for zone, count in report.proof["zones"].items():
        table.add_row(
            zone, f"{report.rows_removed.get(zone, 0):,}", f"{count['files']:,}", str(count["hits"])
        )
    out.print(table)
    out.print(
        f"{report.profiles} profile(s), {report.records} record(s); "
        f"{report.files_rewritten} file(s) rewritten, {report.files_deleted} deleted; "
        f"lookup documents deleted: {report.lookup_deleted}; "
        f"destination contacts deleted: {sum(report.destinations.values())}; "
        f"tombstones: {report.tombstones}; "
        f"proof: {report.proof['hits']} hits in {report.files_scanned} files; {report.seconds:.2f} s"
    )


@privacy_app.command("retention")
def retention(
    lake: LakeOption = DEFAULT_LAKE,
    days: Annotated[
        int | None,
        typer.Option(
            min=30, max=90, help="Anonymous-only data older than this expires (default: config, 90)."
        ),
    ] = None,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="The reference time (default: now), ISO-8601 UTC.")
    ] = None,
) -> None:
    """Expire anonymous-only profiles (and their events) idle longer than the retention, and quarantine
    older than its expiry (privacy/retention.yaml)."""
    from cdp.privacy.retention import run_retention
    from cdp.privacy.wiring import local_privacy_service

    report = run_retention(local_privacy_service(lake), days=days, as_of=as_of)
    out.print(
        f"retention ({report.anonymous_days} days for anonymous-only, "
        f"{report.quarantine_days} for quarantine): "
        f"{report.profiles_expired} anonymous profile(s) expired, {report.returning_erased} record(s) of "
        f"erased people who came back erased, {report.rows_removed} row(s) removed from "
        f"{report.files_rewritten} file(s); {report.quarantine_files_deleted} quarantine file(s) and "
        f"{report.snapshots_deleted} old snapshot(s) deleted; "
        f"{report.seconds:.2f} s"
    )
