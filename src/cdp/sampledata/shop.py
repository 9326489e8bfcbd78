"""``shop_orders.jsonl``: the online shop's order lines, for ``examples/mappings/shop_orders.yaml``.

One JSON object per order line, in order-time order with sequential order ids, as a shop export is. Orders
carry the buyer's e-mail and/or phone as typed at checkout (no name: the shop never asked), always at least
one of the buyer's own identifiers, so a careful human can tell whose order it is. Guest orders come from
people with no CRM record and no app account. Order times are written four ways (``+07:00``, naive Bangkok
time, UTC ``Z``, a Buddhist-era year).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from cdp.sampledata.population import AS_OF, Person
from cdp.sampledata.truth import ACCEPTED, TruthLog
from cdp.sampledata.variants import email_variant, format_phone, phone_style, quota
from cdp.sampledata.vocabulary import PLACEHOLDER_EMAILS, PLACEHOLDER_PHONES, PRODUCTS, Product

SOURCE: Final = "shop"
FILE_NAME: Final = "shop_orders.jsonl"
INVALID_KINDS: Final = (
    "invalid_json",
    "invalid_timestamp",
    "invalid_integer",
    "out_of_range",
    "invalid_decimal",
    "missing_required",
    "duplicate_key",
)
#: the shop opened on this day; orders run from it to the export day
FIRST_ORDER_DAY: Final = date(2023, 1, 1)
BANGKOK_OFFSET: Final = timedelta(hours=7)
_EPOCH: Final = datetime(1970, 1, 1)
_HOURS: Final = tuple(range(24))
_HOUR_WEIGHTS: Final = (1, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 6, 8, 7, 5, 5, 5, 6, 7, 9, 10, 9, 6, 3)


@dataclass(frozen=True, slots=True)
class ShopRates:
    orders_mean: float = 2.2  # orders per buyer (geometric)
    lines_mean: float = 1.6  # lines per order
    placeholder_email: float = 0.03
    placeholder_phone: float = 0.02
    email_variant: float = 0.12
    invalid_per_kind: float = 0.002  # orders broken in each of INVALID_KINDS (at least one each)


@dataclass(frozen=True, slots=True)
class AppOrder:
    """An order placed in the app: the app's event stream reports it too (``Order Completed``)."""

    order_id: str
    local_time: datetime  # Bangkok wall-clock time
    total_satang: int
    lines: tuple[tuple[Product, int], ...]


def bangkok_time(seconds: int) -> datetime:
    """Naive Bangkok wall-clock time from seconds since 1970-01-01 00:00 Bangkok time."""
    return _EPOCH + timedelta(seconds=seconds)


def order_moment(rng: random.Random, start: date, end: date) -> int:
    """A realistic order time (more at lunch and in the evening) as Bangkok seconds since 1970."""
    day = start + timedelta(days=rng.randrange(max(1, (end - start).days)))
    hour = rng.choices(_HOURS, _HOUR_WEIGHTS)[0]
    return (day - _EPOCH.date()).days * 86_400 + hour * 3600 + rng.randrange(3600)


def money(satang: int) -> float:
    return satang / 100


class ShopWriter:
    def __init__(self, path: Path, truth: TruthLog, rng: random.Random, rates: ShopRates) -> None:
        self._path = path
        self._truth = truth
        self._rng = rng
        self._rates = rates
        self._line_number = 0
        #: person index → their app orders, for the app's event stream
        self.app_orders: dict[int, list[AppOrder]] = {}

    def write(self, people: Sequence[Person], app_users: set[int]) -> None:
        rng, rates = self._rng, self._rates
        stubs: list[tuple[int, int]] = []  # (Bangkok seconds, person index): small, sorted by time
        for person in people:
            if person.shop:
                count = 1
                while rng.random() > 1 / rates.orders_mean and count < 40:
                    count += 1
                stubs.extend((order_moment(rng, FIRST_ORDER_DAY, AS_OF), person.index) for _ in range(count))
        stubs.sort()
        broken = quota(rng, range(len(stubs)), rates.invalid_per_kind, INVALID_KINDS)
        width = max(7, len(str(len(stubs))))
        with self._path.open("wb") as out:
            for number, (moment, index) in enumerate(stubs):
                person = people[index]
                order_id = f"SO-{number + 1:0{width}d}"
                self._order(out, person, order_id, moment, broken.get(number), index in app_users)

    def _order(
        self, out: BinaryIO, person: Person, order_id: str, moment: int, broken: str | None, app_user: bool
    ) -> None:
        rng, rates = self._rng, self._rates
        tags = [tag for tag in ("namesake",) if person.namesake]
        if not (person.crm or person.app):
            tags.append("guest")
        channels = ("web", "app", "line", "store") if app_user else ("web", "line", "store")
        channel = rng.choices(channels, (30, 35, 15, 20) if app_user else (45, 25, 30))[0]
        email, phone = self._contact(person, tags)
        local = bangkok_time(moment)
        count = 1
        while rng.random() > 1 / rates.lines_mean and count < len(PRODUCTS):
            count += 1
        lines = tuple((product, rng.choice((1, 1, 1, 2, 2, 3))) for product in rng.sample(PRODUCTS, count))
        total = sum(product.price_satang * qty for product, qty in lines)
        if channel == "app" and app_user:
            self.app_orders.setdefault(person.index, []).append(AppOrder(order_id, local, total, lines))
        ordered_at = _ordered_at(local, rng)
        total_value: object = money(total)
        if rng.random() < 0.1:
            total_value = f"{money(total):,.2f}"
        elif total % 100 == 0 and rng.random() < 0.5:
            total_value = total // 100
        if broken == "missing_required":
            order_id = ""
        elif broken == "invalid_timestamp":
            ordered_at = rng.choice(("31/02/2567 10:00", "เมื่อวาน", "2024-13-05T10:00:00", "25/12/2567 25:61"))
        for position, (product, qty) in enumerate(lines):
            record: dict[str, Any] = {
                "order_id": order_id or None,
                "customer_email": email,
                "customer_phone": phone,
                "ordered_at": ordered_at,
                "total": total_value,
                "currency": "THB",
                "sku": product.sku,
                "product_name": product.name,
                "category": product.category,
                "qty": qty if rng.random() < 0.9 else str(qty),
                "unit_price": money(product.price_satang),
                "channel": channel,
            }
            expected = broken if broken in ("missing_required", "invalid_timestamp") else ACCEPTED
            if position == 0 and broken == "invalid_integer":
                record["qty"], expected = f"{qty} ชิ้น", broken
            elif position == 0 and broken == "out_of_range":
                record["qty"], expected = 0, broken
            elif position == 0 and broken == "invalid_decimal":
                record["unit_price"], expected = rng.choice(("ฟรี", "12,5", "฿199")), broken
            line = orjson.dumps(record)
            if position == 0 and broken == "invalid_json":  # the export was cut off mid-line
                text = line.decode()
                line, expected = text[: len(text) * 2 // 3].encode(), broken
            self._line(out, line, order_id, person, expected, tags)
            if position == 0 and broken == "duplicate_key":  # the same line exported twice
                self._line(out, line, order_id, person, broken, [*tags, "repeated_row"])

    def _contact(self, person: Person, tags: list[str]) -> tuple[str | None, str | None]:
        """E-mail and phone as typed at checkout: at least one of them the buyer's own."""
        rng, rates = self._rng, self._rates
        roll = rng.random()
        use_email = person.email is not None and roll < 0.85
        use_phone = not use_email or roll > 0.25
        email = phone = None
        if use_email and person.email is not None:
            email = person.email
            if rng.random() < rates.email_variant:
                email = email_variant(email, rng)
                tags.append("email_variant")
        if use_phone:
            style = phone_style(rng)
            phone = format_phone(person.phone, style)
            if style == "thai":
                tags.append("thai_digits")
        if email is not None and phone is not None:
            junk = rng.random()
            if junk < rates.placeholder_email:
                email = rng.choice(PLACEHOLDER_EMAILS)
                tags.append("placeholder_email")
            elif junk < rates.placeholder_email + rates.placeholder_phone:
                phone = rng.choice(PLACEHOLDER_PHONES)
                tags.append("placeholder_phone")
        return email, phone

    def _line(
        self, out: BinaryIO, line: bytes, order_id: str, person: Person, expected: str, tags: list[str]
    ) -> None:
        self._line_number += 1
        out.write(line + b"\n")
        self._truth.add(SOURCE, self._line_number, order_id, person.person_id, expected, tags)


def _ordered_at(local: datetime, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.70:
        return f"{local:%Y-%m-%dT%H:%M:%S}+07:00"
    if roll < 0.85:
        return f"{local:%Y-%m-%d %H:%M:%S}"
    if roll < 0.95:
        return f"{(local - BANGKOK_OFFSET).replace(tzinfo=UTC):%Y-%m-%dT%H:%M:%SZ}"
    return f"{local.year + 543}-{local:%m-%dT%H:%M:%S}+07:00"
