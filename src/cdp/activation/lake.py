"""What an export reads from the lake (local directory or ``s3://``, one code path through
:class:`cdp.lakefs.LakeFiles` and pyarrow): a run's membership deltas, the people's contact fields and
consent, the suppression list, and which destinations a segment goes to.

- **Deltas** come from the snapshot *of the run* (``segments/memberships/run_id=<R>/``), not the current
  one: a later run rewrites the ``run_id`` of rows it changes, so only run R's own snapshot still holds all
  of R's deltas (``run_id = R``; ``exited_at`` null → entered, else exited).
- **Contact fields and consent** come from the *current* ``profiles`` snapshot: the latest address and the
  latest consent decision are the ones that count at the moment of sending.
- **Destinations of a segment**: the ``destinations:`` of its definition among the lake's
  ``segments/definitions/*.yaml``, parsed by the segment module (:mod:`cdp.segments.definition`), which
  owns their schema.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Final

import pyarrow.compute as pc
import pyarrow.dataset as ds

from cdp.activation.config import SUPPRESSION_PATH
from cdp.activation.consent import parse_consent
from cdp.activation.errors import ActivationInputError, UnknownSegmentError
from cdp.activation.models import Change, Contact, MembershipDelta, ProfileContact
from cdp.activation.suppression import SuppressionList, SuppressionListError, parse_suppression
from cdp.lakefs import LakeFiles
from cdp.tables import PROFILES, SEGMENT_MEMBERSHIPS, current, snapshot_path

if TYPE_CHECKING:
    from cdp.segments.definition import SegmentDefinition

#: ids that may name folders of the ledger and audience files (the segment module's are narrower)
SEGMENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PROFILE_COLUMNS: Final = (
    "profile_id",
    "first_name",
    "emails",
    "phones",
    "primary_email",
    "primary_phone",
    "user_ids",
    "consent",
)


def check_segment_id(segment_id: str) -> str:
    if not SEGMENT_ID.match(segment_id) or ".." in segment_id:
        raise UnknownSegmentError(f"{segment_id!r} is not a segment id (letters, digits, '_', '-', '.')")
    return segment_id


def _definitions(files: LakeFiles) -> dict[str, SegmentDefinition]:
    from cdp.segments.definition import load_lake_definitions

    return {definition.id: definition for definition in load_lake_definitions(files)}


def segment_destination_ids(files: LakeFiles, segment_id: str) -> list[str]:
    """The ``destinations:`` of the segment's definition (empty: the segment is not activated)."""
    from cdp.segments.definition import DEFINITIONS_DIR

    definitions = _definitions(files)
    if segment_id not in definitions:
        known = ", ".join(sorted(definitions)) or "none"
        raise UnknownSegmentError(
            f"no segment {segment_id!r} among the definitions in {DEFINITIONS_DIR}/ (defined: {known})"
        )
    return list(definitions[segment_id].destinations)


def activated_segments(files: LakeFiles) -> list[str]:
    """Segments whose definition lists at least one destination, by id."""
    return sorted(segment_id for segment_id, d in _definitions(files).items() if d.destinations)


def published_membership_run(files: LakeFiles) -> str:
    snapshot = current(files, SEGMENT_MEMBERSHIPS)
    if snapshot is None:
        raise UnknownSegmentError("no segment memberships are published yet: run the segments step first")
    return snapshot.run_id


def membership_deltas(files: LakeFiles, segment_id: str, run_id: str) -> list[MembershipDelta]:
    """Run ``run_id``'s changes of one segment, one per profile and change, by profile id."""
    directory = snapshot_path(SEGMENT_MEMBERSHIPS, run_id)
    paths = [files.path(name) for name in files.find(directory, lambda name: name.endswith(".parquet"))]
    if not paths:
        raise UnknownSegmentError(f"no segment_memberships snapshot for run {run_id!r} ({directory})")
    table = ds.dataset(paths, filesystem=files.fs, format="parquet").to_table(
        columns=["profile_id", "entered_at", "exited_at"],
        filter=(pc.field("segment_id") == segment_id) & (pc.field("run_id") == run_id),
    )
    deltas: dict[tuple[str, Change], MembershipDelta] = {}
    columns = (table.column(name).to_pylist() for name in ("profile_id", "entered_at", "exited_at"))
    for profile_id, entered_at, exited_at in zip(*columns, strict=True):
        if exited_at is None:
            deltas[(profile_id, Change.ENTERED)] = MembershipDelta(profile_id, Change.ENTERED, entered_at)
        else:
            deltas[(profile_id, Change.EXITED)] = MembershipDelta(profile_id, Change.EXITED, exited_at)
    return [deltas[key] for key in sorted(deltas)]


def profile_contacts(files: LakeFiles, profile_ids: Collection[str]) -> dict[str, ProfileContact]:
    """The current ``profiles`` rows of ``profile_ids`` (a profile absent from it is absent here)."""
    snapshot = current(files, PROFILES)
    if snapshot is None or not profile_ids:
        return {}
    paths = [
        files.path(name) for name in files.find(snapshot.directory, lambda name: name.endswith(".parquet"))
    ]
    if not paths:
        return {}
    table = ds.dataset(paths, filesystem=files.fs, format="parquet").to_table(
        columns=list(PROFILE_COLUMNS), filter=pc.field("profile_id").isin(sorted(profile_ids))
    )
    people: dict[str, ProfileContact] = {}
    columns = [table.column(name).to_pylist() for name in PROFILE_COLUMNS]
    for profile_id, first_name, emails, phones, email, phone, user_ids, consent in zip(*columns, strict=True):
        emails, phones, user_ids = tuple(emails or ()), tuple(phones or ()), sorted(user_ids or ())
        people[profile_id] = ProfileContact(
            profile_id=profile_id,
            contact=Contact(
                email=email or (emails[0] if emails else None),
                phone=phone or (phones[0] if phones else None),
                first_name=first_name,
                user_id=user_ids[0] if user_ids else None,
            ),
            emails=emails,
            phones=phones,
            consent=parse_consent(consent),
        )
    return people


def load_suppression(files: LakeFiles, path: str = SUPPRESSION_PATH) -> SuppressionList:
    data = files.read_bytes(path)
    if data is None:
        return SuppressionList()
    try:
        return parse_suppression(data.splitlines(), path)
    except SuppressionListError as error:
        raise ActivationInputError(str(error)) from None
