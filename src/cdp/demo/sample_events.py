"""Deterministic sample customers and their event streams (a Thai retailer's web, app and shop).

Seeded, so every demo run and test sees the same people; names, cities and products in Thai and English.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIRST_NAMES = [
    ("สมชาย", "Somchai"),
    ("สมหญิง", "Somying"),
    ("ณัฐพล", "Nattaphon"),
    ("ศิริพร", "Siriporn"),
    ("ธนากร", "Thanakorn"),
    ("พิมพ์ชนก", "Pimchanok"),
    ("กิตติพงษ์", "Kittipong"),
    ("อรอุมา", "Onuma"),
    ("วีรยุทธ", "Weerayut"),
    ("ปรียาภรณ์", "Preeyaporn"),
]
LAST_NAMES = [
    ("ใจดี", "Jaidee"),
    ("รักไทย", "Rakthai"),
    ("ศรีสุข", "Srisuk"),
    ("วงศ์สวัสดิ์", "Wongsawat"),
    ("บุญมา", "Boonma"),
]
CITIES = [("กรุงเทพมหานคร", "Bangkok"), ("เชียงใหม่", "Chiang Mai"), ("ขอนแก่น", "Khon Kaen"), ("ภูเก็ต", "Phuket")]
PRODUCTS = [
    ("SKU-RICE-5KG", "ข้าวหอมมะลิ 5 กก.", "grocery", 245.0),
    ("SKU-TEA-THAI", "ชาไทย Thai Tea Mix", "beverage", 89.0),
    ("SKU-FAN-16", "พัดลม 16 นิ้ว", "appliance", 1290.0),
    ("SKU-SHIRT-L", "เสื้อยืด size L", "fashion", 350.0),
    ("SKU-PHONE-CASE", "Phone case", "accessory", 199.0),
]


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    user_id: str
    anonymous_id: str
    first_name_th: str
    last_name_th: str
    first_name_en: str
    last_name_en: str
    email: str
    phone: str
    city_th: str
    city_en: str


@dataclass(frozen=True, slots=True)
class SampleCall:
    """One SDK call: ``method`` is the Segment call name, ``kwargs`` its keyword arguments."""

    method: str
    kwargs: dict[str, object]


def sample_customers(count: int, seed: int = 7) -> list[SampleCustomer]:
    rng = random.Random(seed)
    customers = []
    for number in range(1, count + 1):
        first_th, first_en = rng.choice(FIRST_NAMES)
        last_th, last_en = rng.choice(LAST_NAMES)
        city_th, city_en = rng.choice(CITIES)
        customers.append(
            SampleCustomer(
                user_id=f"user-{number:04d}",
                anonymous_id=f"anon-{rng.getrandbits(64):016x}",
                first_name_th=first_th,
                last_name_th=last_th,
                first_name_en=first_en,
                last_name_en=last_en,
                email=f"{first_en.lower()}.{last_en.lower()}{number}@example.co.th",
                phone=f"+6681{rng.randrange(1_000_000, 9_999_999)}",
                city_th=city_th,
                city_en=city_en,
            )
        )
    return customers


def sample_calls(
    customers: list[SampleCustomer], *, now: datetime | None = None, seed: int = 11
) -> list[SampleCall]:
    """Each customer browses anonymously, signs up (identify + alias), shops on web or app."""
    rng = random.Random(seed)
    end = now or datetime.now(UTC)
    calls: list[SampleCall] = []
    for customer in customers:
        moment = end - timedelta(days=rng.randrange(1, 60), minutes=rng.randrange(0, 600))
        channel = rng.choice(["web", "app"])
        context = {"channel": channel, "locale": "th-TH", "timezone": "Asia/Bangkok"}
        if channel == "web":
            calls.append(
                SampleCall(
                    "page",
                    {
                        "anonymous_id": customer.anonymous_id,
                        "name": "หน้าแรก Home",
                        "properties": {"path": "/", "title": "ร้านค้าออนไลน์"},
                        "context": context,
                        "timestamp": moment,
                    },
                )
            )
        else:
            calls.append(
                SampleCall(
                    "screen",
                    {
                        "anonymous_id": customer.anonymous_id,
                        "name": "Home",
                        "properties": {"variant": "th"},
                        "context": context,
                        "timestamp": moment,
                    },
                )
            )
        moment += timedelta(minutes=3)
        calls.append(
            SampleCall(
                "identify",
                {
                    "user_id": customer.user_id,
                    "anonymous_id": customer.anonymous_id,
                    "traits": {
                        "email": customer.email,
                        "phone": customer.phone,
                        "first_name": customer.first_name_th,
                        "last_name": customer.last_name_th,
                        "name_en": f"{customer.first_name_en} {customer.last_name_en}",
                        "city": customer.city_th,
                        "consent": {"email": rng.random() < 0.8, "sms": rng.random() < 0.5},
                    },
                    "context": context,
                    "timestamp": moment,
                },
            )
        )
        calls.append(
            SampleCall(
                "alias",
                {"previous_id": customer.anonymous_id, "user_id": customer.user_id, "timestamp": moment},
            )
        )
        for _ in range(rng.randrange(1, 4)):
            sku, name, category, price = rng.choice(PRODUCTS)
            quantity = rng.randrange(1, 4)
            moment += timedelta(minutes=rng.randrange(5, 240))
            calls.append(
                SampleCall(
                    "track",
                    {
                        "user_id": customer.user_id,
                        "event": "Product Viewed",
                        "properties": {"product_id": sku, "name": name, "category": category, "price": price},
                        "context": context,
                        "timestamp": moment,
                    },
                )
            )
            if rng.random() < 0.7:
                calls.append(
                    SampleCall(
                        "track",
                        {
                            "user_id": customer.user_id,
                            "event": "Order Completed",
                            "properties": {
                                "order_id": f"ORD-{rng.getrandbits(40):010x}",
                                "currency": "THB",
                                "revenue": round(price * quantity, 2),
                                "products": [{"product_id": sku, "quantity": quantity, "price": price}],
                            },
                            "context": context,
                            "timestamp": moment + timedelta(minutes=2),
                        },
                    )
                )
    return calls
