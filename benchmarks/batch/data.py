"""The files under test: the sample-data generator's CRM and shop files, cut to exactly N data rows.

Each file comes from ``cdp.sampledata``'s own stage writers with the seeds :func:`generate_retailer` uses
(``cdp-sample-data/{seed}/{stage}``), so ``crm_customers.csv`` is byte for byte the CRM file
``generate_retailer(out_dir, people=P, seed=seed)`` writes, up to the cut. Only the two files the benchmark
imports are written: no survey, no app events (320 MB of the 100k-person dataset and most of its time), no
``truth.csv`` on disk. Each file gets its own population, sized for N rows of that file (≈ 0.81 CRM rows and
≈ 2 shop lines per person), so a million shop lines take ≈ 500k people rather than the 1.24M the CRM needs.

The cut keeps the first N data rows (the importer's numbering: after the header, quoted line breaks inside
a row, blank lines skipped), so the generator's ground truth for rows 1..N says exactly what importing the
cut file must give; it is collected while writing and kept as :attr:`BenchFile.expected`.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cdp.sampledata import crm, shop
from cdp.sampledata.app_events import plan_app
from cdp.sampledata.crm import CrmWriter
from cdp.sampledata.population import build_population
from cdp.sampledata.retailer import MAPPINGS, RetailerRates
from cdp.sampledata.shop import ShopWriter
from cdp.sampledata.truth import ACCEPTED, TruthLog

REPO: Final = Path(__file__).resolve().parents[2]
MAPPINGS_DIR: Final = REPO / "examples" / "mappings"
SOURCES: Final = (crm.SOURCE, shop.SOURCE)
FILE_NAMES: Final = {crm.SOURCE: crm.FILE_NAME, shop.SOURCE: shop.FILE_NAME}
#: rows per true person, a little under what the generator gives (0.81-0.82 and 2.01-2.03), so that one
#: generation is nearly always enough; a short one is redone with more people
ROWS_PER_PERSON: Final = {crm.SOURCE: 0.80, shop.SOURCE: 1.98}


@dataclass(frozen=True, slots=True)
class BenchFile:
    """One file to import, and what importing it must give according to the generator."""

    source: str
    path: Path
    mapping: Path
    rows: int
    size_bytes: int
    people: int
    seed: int
    #: ``accepted`` or a quarantine code → rows, for rows 1..N
    expected: dict[str, int]
    #: dirt tag → rows carrying it, for rows 1..N
    dirt: dict[str, int]
    rows_with_dirt: int
    seconds: float

    @property
    def accepted(self) -> int:
        return self.expected.get(ACCEPTED, 0)

    @property
    def quarantined(self) -> dict[str, int]:
        return {code: rows for code, rows in sorted(self.expected.items()) if code != ACCEPTED}

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.path.name,
            "mapping": str(self.mapping.relative_to(REPO)),
            "rows": self.rows,
            "size_bytes": self.size_bytes,
            "people": self.people,
            "seed": self.seed,
            "expected_accepted": self.accepted,
            "expected_quarantined": self.quarantined,
            "rows_with_dirt": self.rows_with_dirt,
            "dirt": self.dirt,
            "generation_seconds": round(self.seconds, 2),
        }


@dataclass(slots=True)
class _Truth:
    records: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    dirt: Counter[str] = field(default_factory=Counter)
    rows_with_dirt: int = 0


class _PrefixTruth(TruthLog):
    """The generator's truth log, counted for rows 1..``rows`` only and never written to disk."""

    def __init__(self, rows: int) -> None:  # no file: everything needed is counted here
        self._rows = rows
        self.counted = _Truth()

    def add(
        self,
        source: str,
        row_number: int,
        record_key: str,
        person_id: str,
        expected: str = ACCEPTED,
        dirt: Iterable[str] = (),
    ) -> None:
        del source, record_key, person_id
        counted = self.counted
        counted.records += 1
        if row_number > self._rows:
            return
        counted.expected[expected] += 1
        tags = [tag for tag in dirt if tag]
        if tags:
            counted.rows_with_dirt += 1
            counted.dirt.update(tags)

    def close(self) -> None:
        return None


def _stage(seed: int, name: str) -> random.Random:
    return random.Random(f"cdp-sample-data/{seed}/{name}")  # the seeds generate_retailer uses


def _write(source: str, path: Path, people: int, seed: int, truth: TruthLog) -> None:
    rates = RetailerRates()
    population = build_population(people, _stage(seed, "people"), rates.population)
    if source == crm.SOURCE:
        CrmWriter(path, truth, _stage(seed, "crm"), rates.crm).write(population)
        return
    plan = plan_app(population, _stage(seed, "app-plan"), rates.app)
    ShopWriter(path, truth, _stage(seed, "shop"), rates.shop).write(population, set(plan.identified))


def first_rows(data: bytes, rows: int, *, header: bool, quoted: bool) -> tuple[bytes, int]:
    """The prefix of a text file holding its header and first ``rows`` data rows, and how many it holds.

    A row ends at a line break outside quotes (CSV: ``"`` counted per line, doubled quotes keep the
    parity); blank lines are not rows, as in the importer's numbering.
    """
    position, found, quotes = 0, -1 if header else 0, 0
    while found < rows and position < len(data):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end + 1
        line = data[position:end]
        position = end
        if quoted:
            quotes += line.count(b'"')
            if quotes % 2:
                continue
            quotes = 0
        if line.strip():
            found += 1
    return data[:position], found


def generate_file(source: str, out_dir: Path, rows: int, seed: int) -> BenchFile:
    """Write ``out_dir/<the source's file name>`` with exactly ``rows`` data rows."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = FILE_NAMES[source]
    full = out_dir / f"uncut-{name}"
    people = math.ceil(rows / ROWS_PER_PERSON[source]) + 50
    while True:
        truth = _PrefixTruth(rows)
        _write(source, full, people, seed, truth)
        if truth.counted.records >= rows:
            break
        people = math.ceil(people * rows / max(truth.counted.records, 1) * 1.02) + 50
    cut, found = first_rows(full.read_bytes(), rows, header=source == crm.SOURCE, quoted=source == crm.SOURCE)
    full.unlink()
    if found != rows:
        raise RuntimeError(f"{name}: cut {found} rows, wanted {rows}")
    target = out_dir / name
    target.write_bytes(cut)
    counted = truth.counted
    if sum(counted.expected.values()) != rows:
        raise RuntimeError(f"{name}: the generator's truth covers {sum(counted.expected.values())} of {rows}")
    return BenchFile(
        source=source,
        path=target,
        mapping=MAPPINGS_DIR / MAPPINGS[source],
        rows=rows,
        size_bytes=len(cut),
        people=people,
        seed=seed,
        expected=dict(sorted(counted.expected.items())),
        dirt=dict(sorted(counted.dirt.items())),
        rows_with_dirt=counted.rows_with_dirt,
        seconds=time.perf_counter() - started,
    )
