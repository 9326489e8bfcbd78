"""``survey.csv``: a form tool's export of a customer survey, for ``examples/mappings/survey.yaml``.

UTF-8 with a BOM (Excel), Thai-locale timestamps (``15/3/2567, 10:22:05``: Buddhist era, no zero padding),
answers that become attributes, and free-text comments with commas, quotes and line breaks. Respondents
give an e-mail, a phone or both, never nothing of their own; a few answer twice.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Final

from cdp.sampledata.population import AS_OF, Person
from cdp.sampledata.shop import bangkok_time, order_moment
from cdp.sampledata.truth import ACCEPTED, TruthLog
from cdp.sampledata.variants import email_typo, email_variant, format_phone, phone_style
from cdp.sampledata.vocabulary import CATEGORIES, NICKNAMES, SURVEY_CHANNELS, SURVEY_COMMENTS

SOURCE: Final = "survey"
FILE_NAME: Final = "survey.csv"
COLUMNS: Final = (
    "Respondent Email",
    "Respondent Phone",
    "Submitted At",
    "Favourite Category",
    "Price Sensitivity (1-5)",
    "Preferred Channel",
    "NPS (0-10)",
    "Would Recommend",
    "ความคิดเห็น",
)
INVALID_KINDS: Final = (
    "out_of_range",
    "invalid_integer",
    "invalid_boolean",
    "invalid_timestamp",
    "empty_row",
    "duplicate_key",
)
FIRST_SURVEY_DAY: Final = date(2024, 1, 1)
_NPS: Final = tuple(range(11))
_NPS_WEIGHTS: Final = (1, 1, 1, 2, 2, 4, 6, 10, 14, 12, 10)
_FLUSH_CHARS: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class SurveyRates:
    second_answer: float = 0.06  # respondents who answer twice
    email_typo: float = 0.04  # of answers that also give a phone
    email_variant: float = 0.1
    comment: float = 0.45
    invalid_per_kind: float = 0.005  # of respondents, extra answers broken in each of INVALID_KINDS (≥ 1)


class SurveyWriter:
    def __init__(self, path: Path, truth: TruthLog, rng: random.Random, rates: SurveyRates) -> None:
        self._path = path
        self._truth = truth
        self._rng = rng
        self._rates = rates
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._row_number = 0

    def write(self, people: Sequence[Person]) -> None:
        """Answers in submission order. Broken answers are extra submissions by respondents who also sent
        a good one (and one blank form), so even a handful of respondents shows every way to fail."""
        rng, rates = self._rng, self._rates
        stubs: list[tuple[int, int, str]] = []  # (Bangkok seconds, person index or -1, what it is)
        respondents = [person.index for person in people if person.survey]
        for index in respondents:
            first = order_moment(rng, FIRST_SURVEY_DAY, AS_OF)
            stubs.append((first, index, ""))
            if rng.random() < rates.second_answer:
                stubs.append((first + rng.randrange(3600, 90 * 86_400), index, "repeat_submission"))
        if respondents:
            each = max(1, round(rates.invalid_per_kind * len(respondents)))
            for kind in INVALID_KINDS:
                for _ in range(each):
                    index = -1 if kind == "empty_row" else rng.choice(respondents)
                    stubs.append((order_moment(rng, FIRST_SURVEY_DAY, AS_OF), index, kind))
        stubs.sort()
        with self._path.open("wb") as out:
            out.write("\ufeff".encode())
            self._csv.writerow(COLUMNS)
            for moment, index, what in stubs:
                if index < 0:
                    self._row(["" for _ in COLUMNS], "", what, [])
                else:
                    self._answer(people[index], moment, what)
                if self._buffer.tell() > _FLUSH_CHARS:
                    self._flush(out)
            self._flush(out)

    def _answer(self, person: Person, moment: int, what: str) -> None:
        rng = self._rng
        tags = [tag for tag in ("namesake",) if person.namesake]
        if what == "repeat_submission":
            tags.append(what)
        email, phone = self._contact(person, tags)
        local = bangkok_time(moment)
        submitted = f"{local.day}/{local.month}/{local.year + 543}, {local:%H:%M:%S}"
        nps = rng.choices(_NPS, _NPS_WEIGHTS)[0]
        recommend = rng.choice(("yes", "yes", "ใช่") if nps >= 7 else ("no", "no", "ไม่", "yes"))
        comment = ""
        if rng.random() < self._rates.comment:
            comment = rng.choice(SURVEY_COMMENTS).replace("{nick}", rng.choice(NICKNAMES).thai)
        cells = [
            email,
            phone,
            submitted,
            rng.choice(CATEGORIES),
            str(rng.choice((1, 2, 3, 3, 4, 4, 5))),
            rng.choice(SURVEY_CHANNELS),
            str(nps),
            recommend,
            comment,
        ]
        expected = what if what in INVALID_KINDS and what != "duplicate_key" else ACCEPTED
        if what == "out_of_range":
            cells[6] = rng.choice(("11", "-1", "100"))
        elif what == "invalid_integer":
            cells[4] = rng.choice(("high", "สูง", "3-4"))
        elif what == "invalid_boolean":
            cells[7] = rng.choice(("maybe", "ไม่แน่ใจ", "50/50"))
        elif what == "invalid_timestamp":
            cells[2] = rng.choice(("next tuesday", "เมื่อวาน 10 โมง", "32/1/2567, 10:00:00"))
        self._row(cells, person.person_id, expected, tags)
        if what == "duplicate_key":  # the form tool exported a double submission twice
            self._row(cells, person.person_id, what, [*tags, "repeated_row"])

    def _contact(self, person: Person, tags: list[str]) -> tuple[str, str]:
        rng, rates = self._rng, self._rates
        roll = rng.random()
        use_email = person.email is not None and roll < 0.85
        use_phone = not use_email or roll > 0.3
        email = phone = ""
        if use_phone:
            style = phone_style(rng)
            phone = format_phone(person.phone, style)
            if style == "thai":
                tags.append("thai_digits")
        if use_email and person.email is not None:
            email = person.email
            if phone and rng.random() < rates.email_typo:
                email = email_typo(email, rng)
                tags.append("email_typo")
            elif rng.random() < rates.email_variant:
                email = email_variant(email, rng)
                tags.append("email_variant")
        return email, phone

    def _row(self, cells: list[str], person_id: str, expected: str, tags: list[str]) -> None:
        self._csv.writerow(cells)
        self._row_number += 1
        self._truth.add(SOURCE, self._row_number, "", person_id, expected, tags)

    def _flush(self, out: BinaryIO) -> None:
        out.write(self._buffer.getvalue().encode())
        self._buffer.seek(0)
        self._buffer.truncate()
