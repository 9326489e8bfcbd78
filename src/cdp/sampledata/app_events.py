"""``app_events.jsonl``: what the retailer's app and website send, as Segment-spec payloads.

One JSON object per line, the body of one ``/v1/batch`` element (``type``, ``messageId``, ``timestamp``,
``userId`` / ``anonymousId``, ``traits`` / ``properties``, ``context``), ready for a caller to send through a
real SDK (:func:`sdk_call` gives the ``segment-analytics-python`` method and arguments) or the HTTP API. The
generator never sends them itself.

A person's devices browse anonymously (``anonymousId`` only), then the person logs in: ``identify`` ties the
device's ``anonymousId`` to the ``userId``, often followed by ``alias``. A second device brings a second
``anonymousId``; a household tablet is one ``anonymousId`` under two people's ``userId`` s; some visitors
never log in at all. Orders placed in the app also appear here as ``Order Completed``, with the shop's
order id. Lines are grouped by person, time-ordered within each person.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from cdp.sampledata.population import AS_OF, Person
from cdp.sampledata.shop import BANGKOK_OFFSET, AppOrder, money
from cdp.sampledata.truth import TruthLog
from cdp.sampledata.variants import email_variant, format_phone, phone_style, province_text
from cdp.sampledata.vocabulary import APP_SCREENS, PRODUCTS, SEARCH_TERMS

SOURCE: Final = "app"
FILE_NAME: Final = "app_events.jsonl"
APP_NAME: Final = "DeeDee Mart"
FIRST_APP_DAY: Final = date(2023, 1, 1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS: Final = 86_400_000
_AS_OF_MS: Final = (AS_OF - _EPOCH.date()).days * _DAY_MS
_FIRST_MS: Final = (FIRST_APP_DAY - _EPOCH.date()).days * _DAY_MS
_BANGKOK_MS: Final = int(BANGKOK_OFFSET.total_seconds()) * 1000
_LOCALE: Final = {"locale": "th-TH", "timezone": "Asia/Bangkok"}
_ANDROID_MODELS: Final = (
    ("samsung", "SM-A546E"),
    ("OPPO", "CPH2591"),
    ("vivo", "V2250"),
    ("Xiaomi", "23049PCD8G"),
)
_IPHONE_MODELS: Final = ("iPhone14,5", "iPhone15,2", "iPhone13,2", "iPhone16,1")

#: Segment payload keys → ``segment-analytics-python`` keyword arguments
_SDK_ARGUMENTS: Final = {
    "userId": "user_id",
    "anonymousId": "anonymous_id",
    "previousId": "previous_id",
    "messageId": "message_id",
    "traits": "traits",
    "properties": "properties",
    "context": "context",
    "event": "event",
    "name": "name",
    "category": "category",
}


@dataclass(frozen=True, slots=True)
class AppRates:
    anonymous_only: float = 0.35  # of app visitors known to no other source: they never log in
    second_device: float = 0.2
    shared_device: float = 0.35  # of households with two logged-in app users: one tablet for both
    web: float = 0.3  # devices that are the website (page events) rather than the app (screen events)
    alias: float = 0.6
    logged_out: float = 0.15
    nickname_as_name: float = 0.15
    romanized_name: float = 0.4


@dataclass(frozen=True, slots=True)
class AppPlan:
    """Decided before the shop writes: who logs in (only they can order in the app) and who shares."""

    identified: frozenset[int]
    shared_devices: dict[int, str]  # person index → the household tablet's anonymousId


@dataclass(frozen=True, slots=True)
class SdkCall:
    """One SDK call: ``getattr(client, method)(**kwargs)`` on a ``segment.analytics.Client``."""

    method: str
    kwargs: dict[str, Any]


@dataclass(slots=True)
class _Device:
    anonymous_id: str
    context: dict[str, Any]
    web: bool
    tags: tuple[str, ...] = ()


@dataclass(slots=True)
class _Timeline:
    events: list[tuple[int, int, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)

    def add(self, moment: int, payload: dict[str, Any], tags: tuple[str, ...]) -> None:
        self.events.append((min(moment, _AS_OF_MS - 1), len(self.events), payload, tags))


def sdk_call(payload: dict[str, Any]) -> SdkCall:
    """The ``segment-analytics-python`` call that sends ``payload`` (a line of ``app_events.jsonl``)."""
    kwargs = {_SDK_ARGUMENTS[key]: value for key, value in payload.items() if key in _SDK_ARGUMENTS}
    kwargs["timestamp"] = datetime.fromisoformat(payload["timestamp"])
    return SdkCall(str(payload["type"]), kwargs)


def read_sdk_calls(path: Path) -> Iterator[SdkCall]:
    with path.open("rb") as lines:
        for line in lines:
            yield sdk_call(orjson.loads(line))


def uuid4_text(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def plan_app(people: Sequence[Person], rng: random.Random, rates: AppRates) -> AppPlan:
    identified: set[int] = set()
    households: dict[str, list[int]] = {}
    for person in people:
        if not person.app:
            continue
        elsewhere = person.crm or person.shop or person.survey
        if elsewhere or rng.random() >= rates.anonymous_only:
            identified.add(person.index)
            if person.household is not None:
                households.setdefault(person.household.household_id, []).append(person.index)
    shared: dict[int, str] = {}
    for members in households.values():
        if len(members) > 1 and rng.random() < rates.shared_device:
            tablet = uuid4_text(rng)
            shared[members[0]] = shared[members[1]] = tablet
    return AppPlan(frozenset(identified), shared)


class AppEventWriter:
    def __init__(self, path: Path, truth: TruthLog, rng: random.Random, rates: AppRates) -> None:
        self._path = path
        self._truth = truth
        self._rng = rng
        self._rates = rates
        self._user_ids: set[str] = set()
        self._line_number = 0

    def write(self, people: Sequence[Person], plan: AppPlan, orders: dict[int, list[AppOrder]]) -> None:
        with self._path.open("wb") as out:
            for person in people:
                if not person.app:
                    continue
                timeline = _Timeline()
                if person.index in plan.identified:
                    self._member(person, plan, orders.get(person.index, []), timeline)
                else:
                    self._visitor(timeline)
                timeline.events.sort(key=lambda event: (event[0], event[1]))
                for moment, _, payload, tags in timeline.events:
                    payload["messageId"] = uuid4_text(self._rng)
                    payload["timestamp"] = _timestamp(moment)
                    out.write(orjson.dumps(payload) + b"\n")
                    self._line_number += 1
                    self._truth.add(
                        SOURCE, self._line_number, payload["messageId"], person.person_id, dirt=tags
                    )

    # -- people ----------------------------------------------------------------------------------

    def _visitor(self, timeline: _Timeline) -> None:
        """Someone who browses and never logs in: only an anonymousId."""
        rng = self._rng
        device = self._device(None, web_allowed=True)
        moment = rng.randrange(_FIRST_MS, _AS_OF_MS - _DAY_MS)
        for _ in range(rng.randrange(2, 6)):
            moment += rng.randrange(20_000, 600_000)
            timeline.add(moment, self._browse(device, None), ("anonymous",))

    def _member(self, person: Person, plan: AppPlan, orders: list[AppOrder], timeline: _Timeline) -> None:
        rng, rates = self._rng, self._rates
        user_id = self._user_id()
        start = rng.randrange(_FIRST_MS, _AS_OF_MS - 10 * _DAY_MS)
        if orders:
            first_order = _utc_ms(orders[0].local_time)
            start = min(start, first_order - rng.randrange(3_600_000, 30 * _DAY_MS))
        devices = [self._device(plan.shared_devices.get(person.index), web_allowed=not orders)]
        if rng.random() < rates.second_device:
            second = self._device(None, web_allowed=True)
            second.tags = ("second_device",)
            devices.append(second)
        for number, device in enumerate(devices):
            moment = start if number == 0 else rng.randrange(start + _DAY_MS, _AS_OF_MS - _DAY_MS // 2)
            for _ in range(rng.randrange(1, 4)):
                moment += rng.randrange(10_000, 300_000)
                timeline.add(moment, self._browse(device, None), ("anonymous", *device.tags))
            moment += rng.randrange(30_000, 600_000)
            traits, trait_tags = self._traits(person, full=number == 0)
            identify: dict[str, Any] = {"type": "identify", "userId": user_id}
            identify.update(anonymousId=device.anonymous_id, traits=traits, context=device.context)
            timeline.add(moment, identify, (*device.tags, *trait_tags))
            if number == 0 and rng.random() < rates.alias:
                alias = {"type": "alias", "previousId": device.anonymous_id, "userId": user_id}
                timeline.add(moment + 1_000, alias, device.tags)
            for _ in range(rng.randrange(1, 5)):
                moment += rng.randrange(60_000, 5 * _DAY_MS)
                timeline.add(moment, self._browse(device, user_id), device.tags)
            if rng.random() < rates.logged_out:
                moment += rng.randrange(_DAY_MS, 20 * _DAY_MS)
                timeline.add(moment, self._browse(device, None), ("anonymous", *device.tags))
        first = devices[0]
        for order in orders:
            moment = _utc_ms(order.local_time)
            products = [
                {
                    "product_id": product.sku,
                    "sku": product.sku,
                    "name": product.name,
                    "category": product.category,
                    "price": money(product.price_satang),
                    "quantity": quantity,
                }
                for product, quantity in order.lines
            ]
            properties = {
                "order_id": order.order_id,
                "total": money(order.total_satang),
                "revenue": money(order.total_satang),
                "currency": "THB",
                "products": products,
            }
            event: dict[str, Any] = {"type": "track", "event": "Order Completed", "userId": user_id}
            event.update(anonymousId=first.anonymous_id, properties=properties, context=first.context)
            timeline.add(moment, event, first.tags)

    # -- payloads --------------------------------------------------------------------------------

    def _user_id(self) -> str:
        while True:
            user_id = f"usr_{self._rng.getrandbits(48):012x}"
            if user_id not in self._user_ids:
                self._user_ids.add(user_id)
                return user_id

    def _device(self, shared: str | None, *, web_allowed: bool) -> _Device:
        """A phone or tablet running the app, or a browser on the website (not for app orders)."""
        rng = self._rng
        web = rng.random() < self._rates.web and web_allowed and shared is None
        if web:
            context: dict[str, Any] = {
                "library": {"name": "analytics.js", "version": "next-1.70.0"},
                "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
                **_LOCALE,
            }
        elif rng.random() < 0.45:
            context = {
                "app": {"name": APP_NAME, "version": "4.2.0", "build": "4200"},
                "device": {"manufacturer": "Apple", "model": rng.choice(_IPHONE_MODELS), "type": "ios"},
                "os": {"name": "iOS", "version": rng.choice(("16.7", "17.5", "18.1"))},
                "library": {"name": "analytics-swift", "version": "1.5.11"},
                **_LOCALE,
            }
        else:
            maker, model = rng.choice(_ANDROID_MODELS)
            context = {
                "app": {"name": APP_NAME, "version": "4.2.0", "build": "4200"},
                "device": {"manufacturer": maker, "model": model, "type": "android"},
                "os": {"name": "Android", "version": rng.choice(("12", "13", "14"))},
                "library": {"name": "analytics-kotlin", "version": "1.16.0"},
                **_LOCALE,
            }
        if shared is not None:
            context = {**context, "device": {**context["device"], "model": "SM-X205", "name": "แท็บเล็ตที่บ้าน"}}
        return _Device(shared or uuid4_text(rng), context, web, ("shared_device",) if shared else ())

    def _browse(self, device: _Device, user_id: str | None) -> dict[str, Any]:
        """A page or screen view, a product view, a search or an add-to-cart."""
        rng = self._rng
        payload: dict[str, Any] = {"type": "track"}
        if user_id is not None:
            payload["userId"] = user_id
        payload["anonymousId"] = device.anonymous_id
        roll = rng.random()
        product = rng.choice(PRODUCTS)
        if roll < 0.4:
            screen = rng.choice(APP_SCREENS)
            if device.web:
                path = f"/{rng.choice(('', 'category', 'product', 'cart', 'promotion'))}"
                payload.update(
                    type="page", name=screen, properties={"path": path, "title": f"{screen} | {APP_NAME}"}
                )
            else:
                payload.update(type="screen", name=screen, properties={"variant": "th"})
        elif roll < 0.75:
            properties = {
                "product_id": product.sku,
                "sku": product.sku,
                "name": product.name,
                "category": product.category,
                "price": money(product.price_satang),
                "currency": "THB",
            }
            payload.update(event="Product Viewed", properties=properties)
        elif roll < 0.9:
            payload.update(event="Products Searched", properties={"query": rng.choice(SEARCH_TERMS)})
        else:
            properties = {
                "product_id": product.sku,
                "name": product.name,
                "price": money(product.price_satang),
                "quantity": rng.choice((1, 1, 2)),
                "currency": "THB",
            }
            payload.update(event="Product Added", properties=properties)
        payload["context"] = device.context
        return payload

    def _traits(self, person: Person, *, full: bool) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Profile traits as the app's sign-up form collects them (Segment reserved trait names)."""
        rng, rates = self._rng, self._rates
        traits: dict[str, Any] = {}
        tags: list[str] = [tag for tag in ("namesake",) if person.namesake]
        if not full:  # a second device's login: the app sends little
            if person.email is not None and rng.random() < 0.5:
                traits["email"] = person.email
            return traits, tuple(tags)
        roll = rng.random()
        if person.nickname is not None and roll < rates.nickname_as_name:
            traits["firstName"] = rng.choice((person.nickname.thai, person.nickname.roman[0]))
            tags.append("nickname_as_name")
        elif person.foreign or roll < rates.nickname_as_name + rates.romanized_name:
            spelling = person.spelling if rng.random() < 0.7 else rng.randrange(3)
            traits["firstName"] = person.first.roman[min(spelling, len(person.first.roman) - 1)]
            traits["lastName"] = person.last.roman[min(spelling, len(person.last.roman) - 1)]
            if not person.foreign:
                tags.append("romanized_name")
        else:
            traits["firstName"], traits["lastName"] = person.first.thai, person.last.thai
        if person.nickname is not None and rng.random() < 0.5:
            traits["nickname"] = rng.choice((person.nickname.thai, *person.nickname.roman))
        if person.email is not None and rng.random() < 0.85:
            traits["email"] = person.email
            if rng.random() < 0.15:
                traits["email"] = email_variant(person.email, rng)
                tags.append("email_variant")
        if rng.random() < 0.65:
            style = phone_style(rng)
            traits["phone"] = format_phone(person.phone, style)
            if style == "thai":
                tags.append("thai_digits")
        if rng.random() < 0.5:
            traits["birthday"] = person.dob.isoformat()
        if rng.random() < 0.4:
            traits["gender"] = "male" if person.gender == "M" else "female"
        if rng.random() < 0.35:
            traits["address"] = {
                "city": person.district.name_th,
                "state": province_text(person.province, rng),
                "postalCode": person.district.postcode,
                "country": "TH",
            }
        return traits, tuple(tags)


def _utc_ms(local: datetime) -> int:
    return int((local - datetime(1970, 1, 1)).total_seconds()) * 1000 - _BANGKOK_MS


def _timestamp(moment: int) -> str:
    seconds, millis = divmod(moment, 1000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"
