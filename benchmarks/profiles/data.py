"""A synthetic lake for the profiles step: published snapshots of identity_records, identity_links, orders
and events (plus one import of consent rows), generated with numpy and pyarrow in chunks.

Ratios per profile (seeded, so every run builds the same lake): ~1.3 identity records (30 % of people
have a second record from another source), ~3 orders (Poisson, so ~5 % have none) of 1-3 lines (1.4 on
average; every line carries the order total, as shop exports do), ~10 events (track 50 %, page 25 %,
screen 20 %, identify 5 %, half of the identifies with consent traits), 5 % survey records with answers in
``attributes``. Times spread over the two years before ``AS_OF``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.imports.layout import manifest_key, rows_key
from cdp.lakefs import LakeFiles
from cdp.tables import EVENTS, IDENTITY_LINKS, IDENTITY_RECORDS, ORDERS, LakeTable, publish, snapshot_path

AS_OF: Final = datetime(2026, 3, 31, 5, 0, tzinfo=UTC)
RUN_ID: Final = "bench-inputs"
CHUNK: Final = 1_000_000
_SPAN_US: Final = 2 * 365 * 86_400 * 1_000_000
_AS_OF_US: Final = int(AS_OF.timestamp() * 1_000_000)

FIRST = np.array(
    ["somchai", "malee", "nattaphon", "siriporn", "thanakorn", "pimchanok", "kittipong", "onuma"]
)
LAST = np.array(["jaidee", "rakthai", "srisuk", "wongsawat", "boonma", "saetang"])
CITIES = np.array(["Bang Rak", "Sathon", "Mueang Chiang Mai", "Mueang Khon Kaen", "Kathu", "Bang Bua Thong"])
PROVINCES = np.array(["TH-10", "TH-10", "TH-50", "TH-40", "TH-83", "TH-12"])
CATEGORIES = np.array(["grocery", "beverage", "appliance", "fashion", "accessory", "beauty", "home", "books"])
CHANNELS = np.array(["web", "app", "line", "pos"])
EVENT_TYPES = np.array(["track", "page", "screen", "identify"])
EVENT_NAMES = np.array(["Product Viewed", "Product Added", "Order Completed", "Products Searched"])
SOURCES = np.array(["crm", "shop", "app", "pos"])


@dataclass(frozen=True, slots=True)
class BenchLake:
    profiles: int
    records: int
    orders: int
    order_lines: int
    events: int
    consent_rows: int
    bytes_on_disk: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def _times(rng: np.random.Generator, count: int) -> pa.Array:
    micros = _AS_OF_US - rng.integers(0, _SPAN_US, size=count)
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _table(columns: dict[str, Any], table: LakeTable, count: int) -> pa.Table:
    arrays = []
    for field in table.schema:
        value = columns.get(field.name)
        arrays.append(pa.nulls(count, field.type) if value is None else pa.array(value, field.type))
    return pa.Table.from_arrays(arrays, schema=table.schema)


class _Snapshot:
    """One published snapshot written chunk by chunk."""

    def __init__(self, files: LakeFiles, table: LakeTable) -> None:
        self._files, self._table, self.rows = files, table, 0
        directory = Path(files.path(snapshot_path(table, RUN_ID)))
        directory.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(directory / "part-00000.parquet", table.schema, compression="zstd")

    def write(self, chunk: pa.Table) -> None:
        self._writer.write_table(chunk, row_group_size=122_880)
        self.rows += chunk.num_rows

    def publish(self) -> None:
        self._writer.close()
        publish(self._files, self._table, RUN_ID, self.rows)


def generate_lake(root: Path, profiles: int, seed: int = 7) -> BenchLake:
    files = LakeFiles(root)
    rng = np.random.default_rng(seed)
    people = np.arange(profiles)
    second = people[rng.random(profiles) < 0.3]

    # identity records and links: everyone's first record, a second one from another source for 10 %, and a
    # consent record (a CRM consent import's row) for 20 %: ~1.3 records a person
    second = people[rng.random(profiles) < 0.1]
    consenting = people[rng.random(profiles) < 0.2]
    owner = np.concatenate([people, second, consenting])
    count = owner.size
    is_consent = np.arange(count) >= people.size + second.size
    record_ids = pc.if_else(
        pa.array(is_consent), _strings("crm:consent-", owner), _strings("rec-", np.arange(count))
    )
    source = SOURCES[rng.integers(0, SOURCES.size, count)]
    survey = (rng.random(count) < 0.05) & ~is_consent
    source = np.where(survey, "survey", np.where(is_consent, "crm", source))
    nps = rng.integers(0, 11, count)
    attributes = np.where(
        survey,
        np.char.add(np.char.add('{"nps": ', nps.astype(str)), ', "would_recommend": true}'),
        None,
    )
    records = _table(
        {
            "record_id": record_ids,
            "source_id": source,
            "origin": np.where(source == "app", "event", "import"),
            "kind": np.where(survey, "survey", np.where(is_consent, "consent", "customers")),
            "source_record_key": record_ids,
            "email": pc.binary_join_element_wise(_strings("user", owner), "@mail.co.th", ""),
            "phone_e164": np.char.add("+668", (10_000_000 + owner).astype(str)),
            "first_name": FIRST[rng.integers(0, FIRST.size, count)],
            "last_name": LAST[(owner % LAST.size)],
            "date_of_birth": np.char.add(
                (1950 + owner % 55).astype(str), np.where(owner % 2 == 0, "-03-14", "-11-02")
            ),
            "gender": np.where(owner % 2 == 0, "male", "female"),
            "city": CITIES[owner % CITIES.size],
            "province_code": PROVINCES[owner % PROVINCES.size],
            "postcode": (10_000 + owner % 80_000).astype(str),
            "country_code": np.full(count, "TH"),
            "user_id": np.where(source == "app", np.char.add("u-", owner.astype(str)), None),
            "attributes": attributes,
            "first_seen": _times(rng, count),
            "last_seen": _times(rng, count),
            "run_id": np.full(count, RUN_ID),
        },
        IDENTITY_RECORDS,
        count,
    )
    snapshot = _Snapshot(files, IDENTITY_RECORDS)
    snapshot.write(records)
    snapshot.publish()
    links = _table(
        {
            "record_id": record_ids,
            "profile_id": _strings("p-", owner),
            "matched_by": np.full(count, "email"),
            "match_probability": np.ones(count),
            "run_id": np.full(count, RUN_ID),
        },
        IDENTITY_LINKS,
        count,
    )
    snapshot = _Snapshot(files, IDENTITY_LINKS)
    snapshot.write(links)
    snapshot.publish()
    del records, links

    # orders: ~3 a person, 1-3 lines each; the line carries its person's first record
    orders_total = int(rng.poisson(3.0, profiles).sum())
    orders_snapshot = _Snapshot(files, ORDERS)
    written_orders = 0
    while written_orders < orders_total:
        n = min(CHUNK, orders_total - written_orders)
        buyer = rng.integers(0, profiles, n)
        lines = 1 + (rng.random(n) < 0.3).astype(int) + (rng.random(n) < 0.05).astype(int)
        order_number = np.repeat(np.arange(written_orders, written_orders + n), lines)
        line_buyer = np.repeat(buyer, lines)
        total_lines = order_number.size
        quantity = rng.integers(1, 4, total_lines)
        price = np.round(rng.uniform(20, 2000, total_lines), 2)
        line_value = quantity * price
        order_total = np.repeat(np.add.reduceat(line_value, np.r_[0, np.cumsum(lines)[:-1]]), lines)
        order_time = np.repeat(_times(rng, n).to_numpy(zero_copy_only=False), lines)
        orders_snapshot.write(
            _table(
                {
                    "order_id": _strings("SO-", order_number),
                    "source_id": np.full(total_lines, "shop"),
                    "origin": np.full(total_lines, "import"),
                    "identity_record_id": _strings("rec-", line_buyer),
                    "order_time": order_time,
                    "order_total": np.round(order_total, 2),
                    "currency": np.full(total_lines, "THB"),
                    "product_id": _strings("SKU-", rng.integers(0, 500, total_lines)),
                    "category": CATEGORIES[rng.integers(0, CATEGORIES.size, total_lines)],
                    "quantity": quantity,
                    "unit_price": price,
                    "channel": np.repeat(CHANNELS[rng.integers(0, CHANNELS.size, n)], lines),
                    "run_id": np.full(total_lines, RUN_ID),
                },
                ORDERS,
                total_lines,
            )
        )
        written_orders += n
    order_lines = orders_snapshot.rows
    orders_snapshot.publish()

    # events: ~10 a person, on their first record (the event identity)
    events_total = 10 * profiles
    events_snapshot = _Snapshot(files, EVENTS)
    written = 0
    while written < events_total:
        n = min(CHUNK, events_total - written)
        person = rng.integers(0, profiles, n)
        kind = EVENT_TYPES[np.searchsorted(np.cumsum([0.5, 0.25, 0.2, 0.05]), rng.random(n), side="right")]
        consent = (kind == "identify") & (rng.random(n) < 0.5)
        granted = np.where(rng.random(n) < 0.7, "true", "false")
        times = _times(rng, n)
        dates = pc.strftime(times.cast(pa.timestamp("us", tz="Asia/Bangkok")), format="%Y-%m-%d")
        events_snapshot.write(
            _table(
                {
                    "message_id": _strings("m-", np.arange(written, written + n)),
                    "type": kind,
                    "event": np.where(
                        kind == "track", EVENT_NAMES[rng.integers(0, EVENT_NAMES.size, n)], None
                    ),
                    "name": np.where((kind == "page") | (kind == "screen"), "Home", None),
                    "user_id": np.char.add("u-", person.astype(str)),
                    "traits": np.where(
                        consent,
                        np.char.add(np.char.add('{"consent": {"email": ', granted), "}}"),
                        None,
                    ),
                    "properties": np.full(n, '{"path": "/"}'),
                    "context": np.full(n, '{"locale": "th-TH"}'),
                    "event_time": times,
                    "received_at": times,
                    "source_id": np.full(n, "app"),
                    "channel": np.where(kind == "page", "web", "app"),
                    "identity_record_id": _strings("rec-", person),
                    "dt": dates,
                    "run_id": np.full(n, RUN_ID),
                },
                EVENTS,
                n,
            )
        )
        written += n
    events_snapshot.publish()

    consent_rows = _consent_import(files, consenting, rng)

    size = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
    return BenchLake(
        profiles=profiles,
        records=int(owner.size),
        orders=orders_total,
        order_lines=order_lines,
        events=events_total,
        consent_rows=consent_rows,
        bytes_on_disk=size,
    )


def _consent_import(files: LakeFiles, chosen: np.ndarray, rng: np.random.Generator) -> int:
    count = chosen.size
    columns: dict[str, Any] = {
        "source_id": np.full(count, "crm"),
        "import_id": np.full(count, "bench00000000001"),
        "file_name": np.full(count, "consent.csv"),
        "row_number": np.arange(1, count + 1),
        "row_key": None,  # set below
        "kind": np.full(count, "consent"),
        "imported_at": np.full(count, "2026-03-01T00:00:00.000000Z"),
        "updated_at": np.full(count, "2025-06-01T00:00:00.000000Z"),
        "consent_email": rng.random(count) < 0.6,
    }
    table = pa.Table.from_arrays(
        [
            pa.nulls(count, field.type)
            if columns.get(field.name) is None
            else pa.array(columns[field.name], field.type)
            for field in IMPORT_ROWS_SCHEMA
        ],
        schema=IMPORT_ROWS_SCHEMA,
    )
    keys = _strings("consent-", chosen)  # the records ``crm:consent-<person>``
    table = table.set_column(IMPORT_ROWS_SCHEMA.get_field_index("row_key"), "row_key", keys)
    target = Path(files.path(rows_key("crm", "bench00000000001")))
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target, compression="zstd")
    files.write_bytes(manifest_key("crm", "bench00000000001"), b"{}")
    return count
