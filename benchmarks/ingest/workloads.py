"""The requests the benchmark sends: seeded, realistic Segment events, as API Gateway delivers them.

Events look like what analytics.js and the mobile SDKs post for a Thai retailer: nested properties (an order
with several products), Thai text, a full ``context`` (library, page, device, campaign, user agent) and
``originalTimestamp`` + ``sentAt`` so the handler does its clock-skew correction on every event.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cdp.demo.sample_events import CITIES, FIRST_NAMES, LAST_NAMES, PRODUCTS
from cdp.localapi.apigw import http_api_event

#: SPEC 3.2: 500 KB per request, counted in KiB of decoded JSON.
MAX_REQUEST_BYTES = 500 * 1024

_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)
_CAMPAIGNS = (
    {"name": "songkran-2026", "source": "line", "medium": "social", "content": "สงกรานต์ลดแรง"},
    {"name": "1111-mega-sale", "source": "google", "medium": "cpc", "term": "ข้าวหอมมะลิ"},
    {"name": "member-day", "source": "newsletter", "medium": "email"},
)
_STEPS = ("ตะกร้าสินค้า Cart", "ที่อยู่จัดส่ง Shipping", "ชำระเงิน Payment")


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One HTTP request: the decoded JSON ``body`` and the payload v2 ``event`` API Gateway builds from it."""

    call: str
    body: bytes
    event: dict[str, Any]
    events: int


class SegmentTraffic:
    """A seeded stream of Segment messages from a few hundred shoppers on web and app."""

    def __init__(self, seed: int = 20261128, shoppers: int = 500) -> None:
        self._rng = random.Random(seed)
        self._shoppers = [self._shopper(number) for number in range(1, shoppers + 1)]
        self._clock = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)

    def track(self) -> dict[str, Any]:
        shopper = self._rng.choice(self._shoppers)
        products = self._rng.sample(PRODUCTS, k=self._rng.randint(1, 3))
        lines: list[dict[str, Any]] = [
            {
                "product_id": sku,
                "sku": sku,
                "name": name,
                "category": category,
                "price": price,
                "quantity": self._rng.randint(1, 4),
                "position": position,
            }
            for position, (sku, name, category, price) in enumerate(products, start=1)
        ]
        event, properties = self._rng.choice(
            (
                ("Product Viewed", {**lines[0], "currency": "THB", "value": lines[0]["price"]}),
                (
                    "Checkout Step Viewed",
                    {"checkout_id": self._hex(16), "step": 2, "step_name": self._rng.choice(_STEPS)},
                ),
                (
                    "Order Completed",
                    {
                        "order_id": f"ORD-{self._hex(10)}",
                        "affiliation": "ร้านค้าออนไลน์ Online Store",
                        "currency": "THB",
                        "revenue": round(sum(line["price"] * line["quantity"] for line in lines), 2),
                        "shipping": 40.0,
                        "tax": 0.0,
                        "discount": 50.0,
                        "coupon": "SONGKRAN50",
                        "payment_method": self._rng.choice(["promptpay", "credit_card", "cod"]),
                        "shipping_address": {"city": shopper["city"], "postal_code": "10110"},
                        "products": lines,
                    },
                ),
            )
        )
        return self._message(shopper, {"type": "track", "event": event, "properties": properties})

    def identify(self) -> dict[str, Any]:
        shopper = self._rng.choice(self._shoppers)
        traits = {
            "email": shopper["email"],
            "phone": shopper["phone"],
            "first_name": shopper["first_name"],
            "last_name": shopper["last_name"],
            "name_en": shopper["name_en"],
            "address": {"street": "99/9 ถนนสุขุมวิท", "city": shopper["city"], "country": "TH"},
            "consent": {"email": self._rng.random() < 0.8, "sms": self._rng.random() < 0.5},
            "loyalty_tier": self._rng.choice(["silver", "gold", "platinum"]),
        }
        return self._message(shopper, {"type": "identify", "traits": traits})

    def page(self) -> dict[str, Any]:
        shopper = self._rng.choice(self._shoppers)
        sku, name, category, _ = self._rng.choice(PRODUCTS)
        return self._message(
            shopper,
            {
                "type": "page",
                "name": name,
                "category": category,
                "properties": {
                    "path": f"/th/products/{sku.lower()}",
                    "title": f"{name} | ร้านค้าออนไลน์",
                    "url": f"https://shop.example.co.th/th/products/{sku.lower()}",
                    "referrer": "https://www.google.co.th/",
                    "search": "",
                },
            },
        )

    def mixed(self) -> dict[str, Any]:
        """The mix a storefront sends: mostly pages and tracks, some identifies."""
        draw = self._rng.random()
        if draw < 0.45:
            return self.track()
        if draw < 0.85:
            return self.page()
        return self.identify()

    def sent_at(self) -> str:
        return _iso(self._clock + timedelta(seconds=2))

    # -- parts --------------------------------------------------------------------------------------

    def _message(self, shopper: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        self._clock += timedelta(milliseconds=self._rng.randint(1, 400))
        identity: dict[str, Any] = {"anonymousId": shopper["anonymous_id"]}
        if shopper["signed_in"] or fields["type"] == "identify":
            identity["userId"] = shopper["user_id"]
        return {
            **fields,
            **identity,
            "messageId": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "originalTimestamp": _iso(self._clock),
            "context": self._context(shopper),
            "integrations": {"All": True},
        }

    def _context(self, shopper: dict[str, Any]) -> dict[str, Any]:
        context: dict[str, Any] = {
            "ip": shopper["ip"],
            "locale": "th-TH",
            "timezone": "Asia/Bangkok",
            "userAgent": shopper["user_agent"],
            "campaign": shopper["campaign"],
        }
        if shopper["channel"] == "web":
            context["library"] = {"name": "analytics.js", "version": "npm:next-1.74.0"}
            context["page"] = {
                "path": "/th/",
                "referrer": "https://line.me/",
                "title": "ร้านค้าออนไลน์ — ช้อปของดีทั่วไทย",
                "url": "https://shop.example.co.th/th/",
            }
        else:
            context["library"] = {"name": "analytics-ios", "version": "4.1.8"}
            context["app"] = {"name": "ร้านค้า Shop", "version": "3.12.0", "build": "3120"}
            context["device"] = {
                "id": shopper["device_id"],
                "manufacturer": "Apple",
                "model": "iPhone15,2",
                "type": "ios",
                "advertisingId": shopper["device_id"],
                "adTrackingEnabled": False,
            }
            context["os"] = {"name": "iOS", "version": "18.1"}
            context["network"] = {"wifi": True, "cellular": False, "carrier": "AIS"}
            context["screen"] = {"width": 393, "height": 852, "density": 3}
        return context

    def _shopper(self, number: int) -> dict[str, Any]:
        first_th, first_en = self._rng.choice(FIRST_NAMES)
        last_th, last_en = self._rng.choice(LAST_NAMES)
        city_th, _ = self._rng.choice(CITIES)
        return {
            "user_id": f"user-{number:05d}",
            "anonymous_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "device_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)).upper(),
            "signed_in": self._rng.random() < 0.6,
            "first_name": first_th,
            "last_name": last_th,
            "name_en": f"{first_en} {last_en}",
            "email": f"{first_en.lower()}.{last_en.lower()}{number}@example.co.th",
            "phone": f"+6681{self._rng.randrange(1_000_000, 9_999_999)}",
            "city": city_th,
            "ip": f"203.0.113.{self._rng.randrange(1, 255)}",
            "user_agent": self._rng.choice(_USER_AGENTS),
            "campaign": self._rng.choice(_CAMPAIGNS),
            "channel": self._rng.choice(["web", "app"]),
        }

    def _hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"


def track_requests(traffic: SegmentTraffic, write_key: str, count: int) -> list[PreparedRequest]:
    """``count`` single ``/v1/track`` requests, each with its own ``sentAt`` as analytics.js sends it."""
    return [
        _request("track", {**traffic.track(), "sentAt": traffic.sent_at()}, write_key, events=1)
        for _ in range(count)
    ]


def batch_requests(traffic: SegmentTraffic, write_key: str, count: int) -> list[PreparedRequest]:
    """``count`` ``/v1/batch`` requests of mixed events, each filled to just under the 500 KiB limit."""
    return [_full_batch(traffic, write_key) for _ in range(count)]


def _full_batch(traffic: SegmentTraffic, write_key: str) -> PreparedRequest:
    envelope = b'{"batch":[],"sentAt":"2026-11-28T00:00:00.000000Z"}'
    size = len(envelope)
    items: list[dict[str, Any]] = []
    for item in _endless(traffic):
        grown = size + len(orjson.dumps(item)) + (1 if items else 0)
        if grown > MAX_REQUEST_BYTES:
            break
        items.append(item)
        size = grown
    body = {"batch": items, "sentAt": traffic.sent_at()}
    request = _request("batch", body, write_key, events=len(items))
    assert len(request.body) <= MAX_REQUEST_BYTES, len(request.body)
    return request


def _endless(traffic: SegmentTraffic) -> Iterator[dict[str, Any]]:
    while True:
        yield traffic.mixed()


def _request(call: str, payload: dict[str, Any], write_key: str, *, events: int) -> PreparedRequest:
    body = orjson.dumps(payload)
    basic = base64.b64encode(f"{write_key}:".encode()).decode("ascii")
    event = http_api_event(
        method="POST",
        path=f"/v1/{call}",
        query="",
        headers=[
            ("Host", "ingest.example.co.th"),
            ("Content-Type", "application/json"),
            ("Authorization", f"Basic {basic}"),
            ("User-Agent", "analytics-node-next/latest"),
        ],
        body=body,
        source_ip="203.0.113.10",
    )
    return PreparedRequest(call=call, body=body, event=event, events=events)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
