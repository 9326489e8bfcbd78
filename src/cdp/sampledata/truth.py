"""The ground truth: which true person every generated record belongs to, and what should become of it.

``truth.csv`` (UTF-8, one row per record of every source, in file order per source)::

    source,row_number,record_key,person_id,expected,dirt
    crm,1,C000001,P000017,accepted,
    crm,2,C000002,P000018,accepted,household_phone;email_variant
    crm,3,C000002,P000018,duplicate_key,repeated_row
    shop,1,SO-0000001,P000120,accepted,guest
    survey,7,,,empty_row,
    app,1,6b1f…-…,P000003,accepted,anonymous

- ``row_number``: the importer's numbering (1-based data rows after a CSV header, a quoted line break
  inside a row does not start a new one; JSON lines by line number), so ``(source, row_number)`` joins to
  ``import_rows`` and ``quarantine_imports``. App events are numbered by line of ``app_events.jsonl``.
- ``record_key``: the CRM customer id, the shop ``order_id``, the event ``messageId``; empty for survey
  rows (they have no key) and for rows that lack theirs.
- ``person_id``: the true person; empty only for rows that hold nobody's data (an empty survey row).
- ``expected``: ``accepted``, or the quarantine code the importer must give the row.
- ``dirt``: the deliberate dirt on this record, ``;``-separated (see :data:`DIRT_TAGS`).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Final, TextIO

TRUTH_COLUMNS: Final = ("source", "row_number", "record_key", "person_id", "expected", "dirt")
ACCEPTED: Final = "accepted"

#: every dirt tag, with what it means for a careful human resolving identities
DIRT_TAGS: Final = {
    "duplicate_record": "a further CRM record of a person the CRM already has (other id, other details)",
    "name_typo": "one typing slip in the first or last name",
    "swapped_names": "first and last name in each other's column",
    "romanized_name": "the name in Latin script (a spelling variant) instead of Thai",
    "title_in_name": "the title glued to the first name (นายสมชาย, น.ส.สมหญิง) and the title column empty",
    "surname_change": "a married woman's record under her maiden name",
    "mojibake": "the name's UTF-8 bytes read as TIS-620 by an old system (เธชเธก…)",
    "old_phone": "a mobile number the person used before",
    "household_phone": "the household's shared phone, not the person's own",
    "household_email": "the household's shared inbox, not the person's own",
    "store_phone": "the branch's front-desk phone, typed for a walk-in member (shared by many people)",
    "placeholder_email": "a junk e-mail (test@test.com, '-', ไม่มี, n/a …)",
    "placeholder_phone": "a junk phone (0000000000, '-', ไม่มี, 1234567890 …)",
    "placeholder_national_id": "a junk ID card number",
    "email_variant": "the person's address written differently (case, Gmail dots, +tag, spaces)",
    "email_typo": "a mistyped e-mail domain: the address reaches nobody",
    "thai_digits": "the phone written in Thai digits",
    "dob_ce": "the date of birth in the common era instead of the Buddhist era",
    "dob_swapped": "the date of birth with day and month read the other way round",
    "dob_missing": "no date of birth",
    "national_id_typo": "one wrong digit in the ID card number (fails its checksum)",
    "namesake": "an unrelated person has exactly the same full name",
    "repeated_row": "the row above again (same key): an export glitch",
    "repeat_submission": "a second survey answer by the same person, later",
    "guest": "a shop order by someone with no CRM record and no app account",
    "anonymous": "an app event with an anonymousId and no userId",
    "shared_device": "an app event from a device several household members use",
    "second_device": "an app event from the person's second device (another anonymousId)",
    "nickname_as_name": "an app identify whose first name is the ชื่อเล่น (nickname)",
}


class TruthLog:
    """Streams truth rows to ``truth.csv`` and counts them, so the dataset can describe itself."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(TRUTH_COLUMNS)
        self.records: Counter[str] = Counter()
        self.expected: Counter[tuple[str, str]] = Counter()
        self.dirt: Counter[tuple[str, str]] = Counter()

    def add(
        self,
        source: str,
        row_number: int,
        record_key: str,
        person_id: str,
        expected: str = ACCEPTED,
        dirt: Iterable[str] = (),
    ) -> None:
        tags = ";".join(dirt)
        self._writer.writerow((source, row_number, record_key, person_id, expected, tags))
        self.records[source] += 1
        self.expected[source, expected] += 1
        if tags:
            for tag in tags.split(";"):
                self.dirt[source, tag] += 1

    def close(self) -> None:
        self._file.close()
