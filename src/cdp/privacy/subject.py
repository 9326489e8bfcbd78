"""From what a request names to everything the lake knows of the person, through the identity graph.

1. The query's identifiers are normalized the way the pipeline normalizes them (e-mail → address and
   mailbox match key, phone → E.164), so ``Somchai@Example.com`` and ``081-234-5678`` find what the
   pipeline stored.
2. The current ``identity_records`` carrying any of them are the seeds; ``identity_links`` gives their
   profiles, and every record of those profiles is the person's.
3. Those records' identifiers (every e-mail, phone, user id, device id, national id and source key the
   person ever used), their events' message ids and their orders' ids complete the :class:`Subject`.

A query identifier held by more than one profile (a household's shared e-mail, a family phone) makes the
subject *ambiguous*: the access export shows every candidate, and erasure refuses until the request names
the profile, so one person's request never erases another.

Data that arrived after the last pipeline run is not in the graph yet; the query's own identifiers are
always part of the subject, so such raw lines are still found.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cdp.lakefs import LakeFiles
from cdp.privacy.models import RECORD_IDENTIFIERS, Subject, SubjectQuery
from cdp.standardize.email import standardize_email
from cdp.standardize.phone import standardize_phone
from cdp.tables import EVENTS, IDENTITY_LINKS, IDENTITY_RECORDS, ORDERS, LakeTable, current

_RECORD_COLUMNS = ("record_id", "origin", "source_record_key", *(column for column, _ in RECORD_IDENTIFIERS))


def read_current(files: LakeFiles, table: LakeTable, columns: Sequence[str]) -> pa.Table | None:
    """The published snapshot of ``table`` (only ``columns``), or None when it was never published."""
    snapshot = current(files, table)
    if snapshot is None:
        return None
    parts = [
        pq.read_table(pa.BufferReader(data), columns=list(columns), use_threads=False)
        for path in files.find(snapshot.directory, lambda name: name.endswith(".parquet"))
        if (data := files.read_bytes(path)) is not None
    ]
    return pa.concat_tables(parts) if parts else None


def normalized_query(query: SubjectQuery) -> Subject:
    """The query's own identifiers, normalized (always part of the subject)."""
    subject = Subject()
    for email in query.emails:
        result = standardize_email(email)
        subject.emails.add(email.strip().lower())
        subject.emails.update(value for value in (result.normalized, result.match_key) if value)
    for phone in query.phones:
        subject.phones.add(standardize_phone(phone).e164 or phone.strip())
    subject.user_ids.update(query.user_ids)
    subject.anonymous_ids.update(query.anonymous_ids)
    subject.profile_ids.update(query.profile_ids)
    return subject


def resolve_subject(files: LakeFiles, query: SubjectQuery) -> Subject:
    subject = normalized_query(query)
    records = read_current(files, IDENTITY_RECORDS, _RECORD_COLUMNS)
    links = read_current(files, IDENTITY_LINKS, ("record_id", "profile_id"))
    if records is None or links is None:
        return subject
    profile_of = dict(
        zip(links.column("record_id").to_pylist(), links.column("profile_id").to_pylist(), strict=True)
    )

    def _in(column: str, values: set[str]) -> pa.ChunkedArray | pa.Array:
        return pc.fill_null(
            pc.is_in(records.column(column), value_set=pa.array(sorted(values), pa.string())), False
        )

    seeds = pc.or_(
        pc.or_(_in("email", subject.emails), _in("email_key", subject.emails)),
        pc.or_(
            _in("phone_e164", subject.phones),
            pc.or_(_in("user_id", subject.user_ids), _in("anonymous_id", subject.anonymous_ids)),
        ),
    )
    # which profiles each query identifier reaches: more than one is a shared identifier
    reached: defaultdict[str, set[str]] = defaultdict(set)
    for row in records.filter(seeds).to_pylist():
        profile = profile_of.get(row["record_id"])
        if profile is None:
            continue
        for kind, column in (
            ("email", "email"),
            ("email", "email_key"),
            ("phone", "phone_e164"),
            ("user_id", "user_id"),
            ("anonymous_id", "anonymous_id"),
        ):
            value = row[column]
            if value and value in _query_values(subject, kind):
                reached[f"{kind}:{value}"].add(profile)
    profiles = set(subject.profile_ids)
    for identifier, found in reached.items():
        profiles.update(found)
        candidates = sorted(found)
        if (
            len(found) > 1
            and not (found & subject.profile_ids)
            and candidates not in subject.ambiguous.values()
        ):
            kind = identifier.split(":", 1)[0]  # (an address and its match key name the same people once)
            subject.ambiguous[f"{kind} #{len(subject.ambiguous) + 1}"] = candidates
    subject.profile_ids = profiles
    members = {record for record, profile in profile_of.items() if profile in profiles}
    subject.record_ids.update(members)
    mine = records.filter(
        pc.is_in(records.column("record_id"), value_set=pa.array(sorted(members), pa.string()))
    )
    for row in mine.to_pylist():
        _add(subject.user_ids, row["user_id"])
        _add(subject.anonymous_ids, row["anonymous_id"])
        _add(subject.emails, row["email"])
        _add(subject.emails, row["email_key"])
        _add(subject.phones, row["phone_e164"])
        _add(subject.national_ids, row["national_id"])
        if row["origin"] == "import":
            _add(subject.source_keys, row["source_record_key"])
    _drop_shared(
        subject,
        records.filter(
            pc.invert(pc.is_in(records.column("record_id"), value_set=pa.array(sorted(members), pa.string())))
        ),
    )
    subject.message_ids.update(_owned(files, EVENTS, "message_id", members))
    subject.order_ids.update(_owned(files, ORDERS, "order_id", members))
    return subject


def _drop_shared(subject: Subject, others: pa.Table) -> None:
    """Identifiers other people's records carry too (a household phone, a family e-mail) are not the
    person's alone: they are neither matched (their rows would go with them) nor tombstoned (it would
    suppress the others); the person's own rows are still found by their other identifiers and ids."""
    for column, target in (*subject.identifier_sets(), ("source_record_key", subject.source_keys)):
        if not target:
            continue
        shared = pc.is_in(others.column(column), value_set=pa.array(sorted(target), pa.string()))
        for value in others.column(column).filter(pc.fill_null(shared, False)).to_pylist():
            if value in target:
                target.discard(value)
                subject.shared += 1


def _query_values(subject: Subject, kind: str) -> set[str]:
    return {
        "email": subject.emails,
        "phone": subject.phones,
        "user_id": subject.user_ids,
        "anonymous_id": subject.anonymous_ids,
    }[kind]


def _add(target: set[str], value: str | None) -> None:
    if value:
        target.add(value)


def _owned(files: LakeFiles, table: LakeTable, column: str, record_ids: set[str]) -> set[str]:
    rows = read_current(files, table, (column, "identity_record_id"))
    if rows is None or not record_ids:
        return set()
    mine = rows.filter(
        pc.fill_null(
            pc.is_in(rows.column("identity_record_id"), value_set=pa.array(sorted(record_ids), pa.string())),
            False,
        )
    )
    return {value for value in mine.column(column).to_pylist() if value}
