"""Order history per profile, as the predictive models read it: orders in time order, each with its value and
the set of categories of its lines.

Built from two small Arrow tables so the profiles step (either engine) and
:func:`cdp.predictive.predict_traits` (the lake's snapshots) feed the same code: ``orders`` (``profile_id``,
``order_id``, ``order_time``, ``order_value``) and ``order_categories`` (``profile_id``, ``order_id``,
``category``). ``order_time`` may be a UTC timestamp or ISO-8601 text (what
:func:`cdp.profiles.windows.iso_text_sql` writes: identical on both engines, where a collected Spark
timestamp is not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    time: datetime
    value: float
    categories: frozenset[str]


#: profile_id → its orders, oldest first (ties by order_id); profiles sorted by id
History = Mapping[str, Sequence[Order]]


def _as_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def order_history(orders: pa.Table, order_categories: pa.Table) -> dict[str, list[Order]]:
    """Orders by profile; rows without a profile, an order id or a time are ignored."""
    categories: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in order_categories.select(["profile_id", "order_id", "category"]).to_pylist():
        if row["profile_id"] and row["order_id"] and row["category"]:
            categories[(row["profile_id"], row["order_id"])].add(str(row["category"]))
    by_profile: dict[str, list[Order]] = defaultdict(list)
    for row in orders.select(["profile_id", "order_id", "order_time", "order_value"]).to_pylist():
        profile, order_id, time = row["profile_id"], row["order_id"], row["order_time"]
        if not profile or not order_id or time is None:
            continue
        by_profile[profile].append(
            Order(
                order_id=order_id,
                time=_as_time(time),
                value=float(row["order_value"] or 0.0),
                categories=frozenset(categories.get((profile, order_id), ())),
            )
        )
    return {
        profile: sorted(by_profile[profile], key=lambda order: (order.time, order.order_id))
        for profile in sorted(by_profile)
    }


def before(history: History, moment: datetime) -> dict[str, list[Order]]:
    """Each profile's orders up to ``moment`` (inclusive); profiles without one are left out."""
    kept = {profile: [o for o in orders if o.time <= moment] for profile, orders in history.items()}
    return {profile: orders for profile, orders in kept.items() if orders}


def between(history: History, start: datetime, end: datetime) -> dict[str, list[Order]]:
    """Each profile's orders in ``(start, end]``; profiles without one are left out."""
    kept = {profile: [o for o in orders if start < o.time <= end] for profile, orders in history.items()}
    return {profile: orders for profile, orders in kept.items() if orders}
