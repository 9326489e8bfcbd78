"""``crm_customers.csv``: an old Thai CRM's customers, TIS-620, for ``examples/mappings/crm_customers.yaml``.

Rows come out in customer-id order, the order the CRM created them: a person's later duplicate records
(registered again at another branch, typed by other staff) appear further down under new ids. Dates are
Buddhist era (``15/03/2530``) except where staff typed the common era. A few rows are deliberately broken
in each way the importer must quarantine; the rest must all be accepted.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final

from cdp.sampledata.population import AS_OF, BANGKOK, Person
from cdp.sampledata.truth import ACCEPTED, TruthLog
from cdp.sampledata.variants import (
    be_date,
    ce_date,
    email_variant,
    format_phone,
    impossible_be_date,
    latin_typo,
    mojibake,
    phone_style,
    province_text,
    quota,
    swapped_day_month,
    thai_typo,
)
from cdp.sampledata.vocabulary import (
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_NATIONAL_IDS,
    PLACEHOLDER_PHONES,
    STORE_PHONES,
)

SOURCE: Final = "crm"
FILE_NAME: Final = "crm_customers.csv"
COLUMNS: Final = (
    "รหัสลูกค้า",
    "คำนำหน้า",
    "ชื่อ",
    "นามสกุล",
    "วันเกิด",
    "เบอร์โทร",
    "อีเมล",
    "จังหวัด",
    "ที่อยู่",
    "เขต/อำเภอ",
    "รหัสไปรษณีย์",
    "เพศ",
    "เลขบัตรประชาชน",
    "แต้มสะสม",
    "Member Since",
    "Email Opt-in",
    "Last Updated",
)
_ID, _FIRST, _BIRTH, _ADDRESS, _POINTS, _OPT_IN = (
    COLUMNS.index(name) for name in ("รหัสลูกค้า", "ชื่อ", "วันเกิด", "ที่อยู่", "แต้มสะสม", "Email Opt-in")
)
#: the quarantine codes a broken CRM row is built to get, in the order they are assigned
INVALID_KINDS: Final = (
    "invalid_date",
    "undecodable",
    "missing_required",
    "malformed_row",
    "invalid_integer",
    "out_of_range",
    "invalid_boolean",
)
_RAW_BYTES: Final = "cdp-sample-raw-bytes"
_RAW_BASE: Final = 0xF800  # U+F8A0 in text is written as the byte 0xA0: bytes TIS-620 does not define
_FLUSH_ROWS: Final = 2048
_FIRST_MEMBER_DAY: Final = date(2012, 1, 1)
_DUPLICATE_VARIATIONS: Final = (
    ("name_typo", 30.0),
    ("swapped_names", 12.0),
    ("romanized_name", 15.0),
    ("title_in_name", 8.0),
    ("old_phone", 15.0),
    ("dob_missing", 10.0),
    ("dob_swapped", 6.0),
    ("dob_ce", 8.0),
    ("email_variant", 25.0),
    ("national_id_typo", 3.0),
)


def _raw_bytes(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if not all(_RAW_BASE + 0x80 <= ord(char) <= _RAW_BASE + 0xFF for char in chunk):
        raise error
    return bytes(ord(char) - _RAW_BASE for char in chunk), error.end


codecs.register_error(_RAW_BYTES, _raw_bytes)


@dataclass(frozen=True, slots=True)
class CrmRates:
    duplicate: float = 0.10  # CRM people with a second record
    third: float = 0.2  # of those, with a third
    repeated_row: float = 0.005  # rows exported twice under the same id
    invalid_per_kind: float = 0.003  # rows broken in each of INVALID_KINDS (at least one each)
    romanized: float = 0.04  # Thai people whose only record staff typed in English
    dob_missing: float = 0.04
    dob_ce: float = 0.03
    title_in_name: float = 0.02
    mojibake: float = 0.003
    email_variant: float = 0.08
    household_phone: float = 0.4  # of household members' records
    household_email: float = 0.5  # of records of members of households with a family inbox
    placeholder_email: float = 0.04  # of people with an e-mail; people without one get junk 30% of the time
    placeholder_phone: float = 0.03
    store_phone: float = 0.01
    national_id: float = 0.65  # of records of people whose ID is known
    placeholder_national_id: float = 0.02


@dataclass(slots=True)
class _Row:
    person: Person
    cells: list[str]
    tags: list[str]
    expected: str = ACCEPTED


class CrmWriter:
    def __init__(self, path: Path, truth: TruthLog, rng: random.Random, rates: CrmRates) -> None:
        self._path = path
        self._truth = truth
        self._rng = rng
        self._rates = rates
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._next_id = 1
        self._row_number = 0
        self._id_width = 6
        self._scheduled = 0  # duplicates scheduled so far: the tie-break of the pending heap

    def write(self, people: Sequence[Person]) -> None:
        rng, rates = self._rng, self._rates
        members = [person.index for person in people if person.crm]
        self._id_width = max(6, len(str(round(len(members) * 1.3))))
        broken = quota(rng, members, rates.invalid_per_kind, INVALID_KINDS)
        repeated = {
            index
            for index in rng.sample(members, round(rates.repeated_row * len(members)))
            if index not in broken
        }
        if members and not repeated:
            spare = [index for index in members if index not in broken]
            repeated = {spare[0]} if spare else set()
        pending: list[tuple[int, int, int, int]] = []  # (emit at step, order, person index, copy number)
        with self._path.open("wb") as out:
            self._csv.writerow(COLUMNS)
            for step, index in enumerate(members):
                while pending and pending[0][0] <= step:
                    _, _, later, copy = heapq.heappop(pending)
                    self._emit(out, self._duplicate(people[later], copy))
                person = people[index]
                copies = 0
                if rng.random() < rates.duplicate:
                    copies = 2 if rng.random() < rates.third else 1
                row = self._primary(person, has_duplicates=copies > 0)
                kind = broken.get(index)
                if kind is not None:
                    self._break(row, kind)
                self._emit(out, row)
                if index in repeated:
                    self._emit(out, self._repeat(row))
                for copy in range(1, copies + 1):
                    later_step = step + rng.randrange(1, max(2, len(members) // 4))
                    self._scheduled += 1
                    heapq.heappush(pending, (later_step, self._scheduled, index, copy))
            while pending:
                _, _, later, copy = heapq.heappop(pending)
                self._emit(out, self._duplicate(people[later], copy))
            self._flush(out)

    # -- rows ------------------------------------------------------------------------------------

    def _primary(self, person: Person, *, has_duplicates: bool) -> _Row:
        rng, rates = self._rng, self._rates
        variations: set[str] = set()
        if not person.foreign and rng.random() < rates.romanized:
            variations.add("romanized_name")
        if rng.random() < rates.dob_missing:
            variations.add("dob_missing")
        elif rng.random() < rates.dob_ce:
            variations.add("dob_ce")
        if rng.random() < rates.title_in_name:
            variations.add("title_in_name")
        if rng.random() < rates.email_variant:
            variations.add("email_variant")
        if person.married and has_duplicates:
            variations.add("surname_change")  # the first record is from before the wedding
        if rng.random() < rates.mojibake:
            variations.add("mojibake")
        created = _FIRST_MEMBER_DAY + timedelta(days=rng.randrange((AS_OF - _FIRST_MEMBER_DAY).days - 120))
        return self._row(person, variations, created)

    def _duplicate(self, person: Person, copy: int) -> _Row:
        rng = self._rng
        names = [name for name, _ in _DUPLICATE_VARIATIONS]
        weights = [weight for _, weight in _DUPLICATE_VARIATIONS]
        variations = set(rng.choices(names, weights, k=rng.choice((1, 1, 2, 2, 3))))
        if "old_phone" in variations and person.old_phone is None:
            variations.discard("old_phone")
        if {"dob_missing", "dob_swapped"} & variations and "old_phone" in variations:
            variations -= {"dob_missing", "dob_swapped"}  # a careful human still needs something to go on
        if person.married and copy == 1 and rng.random() < 0.5:
            variations.add("surname_change")
        created = AS_OF - timedelta(days=rng.randrange(30, 900))
        row = self._row(person, variations, created)
        row.tags.insert(0, "duplicate_record")
        return row

    def _row(self, person: Person, variations: set[str], created: date) -> _Row:
        rng = self._rng
        tags = [tag for tag in ("namesake",) if person.namesake]
        roman = person.foreign or "romanized_name" in variations
        if "romanized_name" in variations and not person.foreign:
            tags.append("romanized_name")
        last_name = person.last
        maiden = "surname_change" in variations and person.maiden_last is not None
        if maiden and person.maiden_last is not None:
            last_name = person.maiden_last
            tags.append("surname_change")
        if roman:
            spelling = person.spelling if rng.random() < 0.6 else rng.randrange(3)
            first = person.first.roman[min(spelling, len(person.first.roman) - 1)]
            last = last_name.roman[min(spelling, len(last_name.roman) - 1)]
            if rng.random() < 0.05:
                first, last = first.upper(), last.upper()
            title = _english_title(person, maiden, rng)
        else:
            first, last = person.first.thai, last_name.thai
            title = _thai_title(person, maiden, rng)
        if "name_typo" in variations:
            typo = latin_typo if roman else thai_typo
            if rng.random() < 0.6:
                first = typo(first, rng)
            else:
                last = typo(last, rng)
            tags.append("name_typo")
        if "mojibake" in variations and not roman:
            garbled = mojibake(first)
            if garbled is not None:
                first = garbled
                tags.append("mojibake")
        if "title_in_name" in variations and title:
            first, title = title + first if not roman else f"{title} {first}", ""
            tags.append("title_in_name")
        if "swapped_names" in variations:
            first, last = last, first
            tags.append("swapped_names")

        birth = ""
        if "dob_missing" in variations:
            tags.append("dob_missing")
        elif "dob_swapped" in variations and (swapped := swapped_day_month(person.dob)) is not None:
            birth = ce_date(swapped) if roman else be_date(swapped)
            tags.append("dob_swapped")
        elif roman or "dob_ce" in variations:
            birth = ce_date(person.dob)
            if not person.foreign and "dob_ce" in variations:
                tags.append("dob_ce")
        else:
            birth = be_date(person.dob)

        phone = self._phone(person, variations, tags)
        email = self._email(person, variations, tags)
        national_id = self._national_id(person, variations, tags)
        gender = _gender_text(person, roman, rng)
        points = int(min(rng.paretovariate(1.4) * 40 - 40, 60_000))
        points_text = f"{points:,}" if points >= 1000 and rng.random() < 0.5 else str(points)
        updated = datetime.combine(created, datetime.min.time()) + timedelta(
            minutes=rng.randrange(max(1, (AS_OF - created).days) * 1440)
        )
        address = person.address if rng.random() < 0.92 else ""
        if address and rng.random() < 0.3:
            address = address.replace("ถนน", "ถ.").replace("ซอย", "ซ.").replace("หมู่ ", "ม.")
        district = person.district.name_th
        if rng.random() < 0.15:
            district = ("เขต" if person.province.name_en == BANGKOK else "อ.") + district
        cells = [
            "",  # the id is given when the row is written
            title,
            first,
            last,
            birth,
            phone,
            email,
            province_text(person.province, rng) if rng.random() < 0.95 else "",
            address,
            district,
            person.district.postcode if rng.random() < 0.95 else "",
            gender,
            national_id,
            points_text,
            be_date(created),
            rng.choice(("Y", "Y", "Y", "N", "N", "ใช่", "ไม่", "")),
            f"{be_date(updated)} {updated:%H:%M}",
        ]
        return _Row(person, cells, tags)

    def _phone(self, person: Person, variations: set[str], tags: list[str]) -> str:
        rng, rates = self._rng, self._rates
        number = person.phone
        if "old_phone" in variations and person.old_phone is not None:
            number = person.old_phone
            tags.append("old_phone")
        elif person.household is not None and rng.random() < rates.household_phone:
            number = person.household.home_phone
            tags.append("household_phone")
        roll = rng.random()
        if roll < rates.placeholder_phone:
            tags.append("placeholder_phone")
            return rng.choice(PLACEHOLDER_PHONES)
        if roll < rates.placeholder_phone + rates.store_phone:
            tags.append("store_phone")
            return format_phone(rng.choice(STORE_PHONES), phone_style(rng))
        if roll > 0.97:
            return ""
        style = phone_style(rng)
        if style == "thai":
            tags.append("thai_digits")
        return format_phone(number, style)

    def _email(self, person: Person, variations: set[str], tags: list[str]) -> str:
        rng, rates = self._rng, self._rates
        household = person.household
        if household is not None and household.shared_email and rng.random() < rates.household_email:
            tags.append("household_email")
            return household.shared_email
        if person.email is None or rng.random() < rates.placeholder_email:
            if person.email is None and rng.random() < 0.7:
                return ""
            tags.append("placeholder_email")
            return rng.choice(PLACEHOLDER_EMAILS)
        if "email_variant" in variations:
            tags.append("email_variant")
            return email_variant(person.email, rng)
        return person.email

    def _national_id(self, person: Person, variations: set[str], tags: list[str]) -> str:
        rng, rates = self._rng, self._rates
        if rng.random() < rates.placeholder_national_id:
            tags.append("placeholder_national_id")
            return rng.choice(PLACEHOLDER_NATIONAL_IDS)
        if person.national_id is None or rng.random() >= rates.national_id:
            return ""
        digits = person.national_id
        if "national_id_typo" in variations:
            position = rng.randrange(1, 12)
            wrong = str((int(digits[position]) + rng.randrange(1, 10)) % 10)
            digits = digits[:position] + wrong + digits[position + 1 :]
            tags.append("national_id_typo")
        if rng.random() < 0.3:
            return f"{digits[0]}-{digits[1:5]}-{digits[5:10]}-{digits[10:12]}-{digits[12]}"
        return digits

    def _repeat(self, row: _Row) -> _Row:
        """The row exported again under its id: as it was, or a later version of it (more points)."""
        cells = list(row.cells)
        if self._rng.random() < 0.4:
            cells[_POINTS] = str(int(cells[_POINTS].replace(",", "")) + self._rng.randrange(10, 500))
        return _Row(row.person, cells, ["repeated_row"], expected="duplicate_key")

    def _break(self, row: _Row, kind: str) -> None:
        """Damage ``row`` so that the importer quarantines it with ``kind`` (one fault per row)."""
        rng, cells = self._rng, row.cells
        row.expected = kind
        if kind == "invalid_date":
            cells[_BIRTH] = impossible_be_date(row.person.dob, rng)
        elif kind == "undecodable":  # a no-break space pasted from Windows-874, or a stray byte
            stray = chr(_RAW_BASE + rng.choice((0xA0, 0xFF)))
            cells[_FIRST] = cells[_FIRST] + stray if stray == chr(_RAW_BASE + 0xA0) else stray + cells[_FIRST]
        elif kind == "missing_required":
            cells[_ID] = "-"  # marks "no id"; written as an empty cell
        elif kind == "malformed_row":  # an address with a comma, exported without quotes
            cells[_POINTS] = cells[_POINTS].replace(",", "")
            cells[_ADDRESS] = (cells[_ADDRESS] or "99 หมู่ 1") + ", ตำบลในเมือง"
        elif kind == "invalid_integer":
            cells[_POINTS] = rng.choice(("หนึ่งพัน", "1,2500", "12 แต้ม"))
        elif kind == "out_of_range":
            cells[_POINTS] = f"-{rng.randrange(1, 500)}"
        else:
            cells[_OPT_IN] = rng.choice(("maybe", "ไม่แน่ใจ", "?"))

    # -- output ----------------------------------------------------------------------------------

    def _emit(self, out: BinaryIO, row: _Row) -> None:
        if row.cells[_ID] == "-":
            row.cells[_ID] = ""
        elif not row.cells[_ID]:
            row.cells[_ID] = f"C{self._next_id:0{self._id_width}d}"
            self._next_id += 1
        self._row_number += 1
        if row.expected == "malformed_row":
            self._buffer.write(",".join(row.cells) + "\r\n")
        else:
            self._csv.writerow(row.cells)
        self._truth.add(
            SOURCE, self._row_number, row.cells[_ID], row.person.person_id, row.expected, row.tags
        )
        if self._row_number % _FLUSH_ROWS == 0:
            self._flush(out)

    def _flush(self, out: BinaryIO) -> None:
        out.write(self._buffer.getvalue().encode("tis_620", _RAW_BYTES))
        self._buffer.seek(0)
        self._buffer.truncate()


def _thai_title(person: Person, maiden: bool, rng: random.Random) -> str:
    if person.gender == "M":
        return "นาย"
    if person.married and not maiden:
        return "นาง"
    return "น.ส." if rng.random() < 0.2 else "นางสาว"


def _english_title(person: Person, maiden: bool, rng: random.Random) -> str:
    if person.gender == "M":
        title = "Mr."
    elif person.married and not maiden:
        title = "Mrs."
    else:
        title = rng.choice(("Ms.", "Miss"))
    return title.rstrip(".") if rng.random() < 0.4 else title


def _gender_text(person: Person, roman: bool, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return ""
    if roman or roll > 0.92:
        return person.gender
    return "ชาย" if person.gender == "M" else "หญิง"
