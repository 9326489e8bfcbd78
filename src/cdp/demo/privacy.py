"""The demo's data-protection stage: one access request and one erasure, with proof (SPEC 9).

Kept apart from the rest of the demo: it needs the privacy service (:mod:`cdp.privacy`), the lake as the
pipeline left it, and the moto server still running (erasure deletes the person's SES contacts through
the destinations' endpoints). The subject is a person a data protection officer could plausibly be asked
about: someone with an e-mail address that belongs to exactly one profile (a household's shared inbox
would make the request ambiguous, and the service refuses those), preferably someone the run just
subscribed to an SES contact list, so the erasure visibly reaches a destination too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cdp.demo.report import PrivacySection, mask_email
from cdp.lake import LocalLake
from cdp.query.catalog import connect


class PrivacyUnavailableError(RuntimeError):
    """The privacy service is not installed in this checkout (or cannot be built for the lake)."""


@dataclass(frozen=True, slots=True)
class Subject:
    email: str
    profile_id: str


def candidate_subjects(lake: LocalLake, *, preferred: Collection[str] = ()) -> list[Subject]:
    """Profiles whose primary e-mail no other profile holds, ``preferred`` profiles first, then by id
    (deterministic, so the same seed erases the same person)."""
    connection = connect(lake)
    try:
        rows = connection.execute(
            """
            WITH addresses AS (
                SELECT profile_id, lower(email) AS email FROM profiles, unnest(emails) AS t(email)
            ), shared AS (
                SELECT email FROM addresses GROUP BY 1 HAVING count(DISTINCT profile_id) > 1
            )
            SELECT p.profile_id, p.primary_email FROM profiles AS p
            WHERE p.primary_email IS NOT NULL
              AND lower(p.primary_email) NOT IN (SELECT email FROM shared)
            ORDER BY p.profile_id
            """
        ).fetchall()
    finally:
        connection.close()
    subjects = [Subject(email=str(email), profile_id=str(profile)) for profile, email in rows]
    return sorted(subjects, key=lambda s: (s.profile_id not in preferred, s.profile_id))


def run_privacy_requests(
    lake: LocalLake,
    *,
    preferred: Collection[str] = (),
    contacts: Callable[[], Collection[str]] | None = None,
    on_access: Callable[[Subject, dict[str, Any]], None] | None = None,
) -> tuple[Subject, PrivacySection]:
    """Access request, then erasure, of the first unambiguous candidate; ``contacts`` lists the addresses
    of the demo's SES contact lists (read before and after, to show the contact went too)."""
    try:
        from cdp.privacy.models import SubjectQuery
        from cdp.privacy.wiring import local_privacy_service
    except ImportError as error:
        raise PrivacyUnavailableError(f"the privacy service is not available: {error}") from None
    service = local_privacy_service(lake.root)
    for subject in candidate_subjects(lake, preferred=preferred)[:20]:
        query = SubjectQuery(emails=(subject.email,))
        started = time.perf_counter()
        document = service.access(query)
        if document.get("ambiguous"):
            continue  # another profile shares one of the person's identifiers: ask about someone else
        access_seconds = time.perf_counter() - started
        if on_access is not None:
            on_access(subject, document)
        before = _holds(contacts, subject.email)
        erased = service.erase(query).to_dict()
        after = _holds(contacts, subject.email)
        proof = erased.get("proof", {})
        return subject, PrivacySection(
            subject=mask_email(subject.email),
            profiles=int(erased.get("profiles", 0)),
            records=int(erased.get("records", 0)),
            access_zones={str(zone): int(rows) for zone, rows in document.get("summary", {}).items()},
            access_bytes=len(orjson.dumps(document)),
            access_seconds=round(access_seconds, 3),
            files_scanned=int(erased.get("files_scanned", 0)),
            files_rewritten=int(erased.get("files_rewritten", 0)),
            rows_removed={str(zone): int(rows) for zone, rows in erased.get("rows_removed", {}).items()},
            lookup_deleted=int(erased.get("lookup_deleted", 0)),
            destinations={str(name): int(n) for name, n in erased.get("destinations", {}).items()},
            tombstones=int(erased.get("tombstones", 0)),
            proof_hits=int(proof.get("hits", -1)),
            proof_zones={
                str(zone): {"files": int(counts.get("files", 0)), "hits": int(counts.get("hits", 0))}
                for zone, counts in proof.get("zones", {}).items()
            },
            seconds=float(erased.get("seconds", 0.0)),
            contact_before=before,
            contact_after=after,
        )
    raise PrivacyUnavailableError("no profile has an e-mail address of its own to ask about")


def _holds(contacts: Callable[[], Collection[str]] | None, email: str) -> bool | None:
    if contacts is None:
        return None
    return email.lower() in {address.lower() for address in contacts()}


def lake_mentions(root: Path, needle: str) -> list[str]:
    """Lake files whose bytes contain ``needle`` (case-insensitive): a plain-bytes check the demo prints
    beside the service's own proof. Parquet pages are compressed, so this sees JSON lines, CSV, SQLite
    and metadata; the service's proof decodes Parquet too."""
    token = needle.lower().encode()
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and token in path.read_bytes().lower()
    )
