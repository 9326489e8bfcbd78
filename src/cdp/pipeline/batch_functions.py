"""Pure functions over Arrow record batches for what the steps' SQL cannot say the same way on both engines.

They run in-process on DuckDB and inside ``mapInArrow`` on Spark executors, so they must be module-level,
deterministic, and return exactly their declared schema for every batch (empty ones included).
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from cdp.settings import DEFAULT_TIME_ZONE

BUSINESS_TIME_ZONE = DEFAULT_TIME_ZONE


def with_business_date(
    batch: pa.RecordBatch, *, column: str = "event_time", zone: str = BUSINESS_TIME_ZONE
) -> pa.RecordBatch:
    """Fill ``dt`` with the date of ``column`` in the business time zone (``YYYY-MM-DD``)."""
    moments = batch.column(column).cast(pa.timestamp("us", tz=zone))
    dates = pc.strftime(moments, format="%Y-%m-%d")
    index = batch.schema.get_field_index("dt")
    return batch.set_column(index, "dt", dates.cast(pa.string()))


ORDER_LINE_FIELDS: tuple[str, ...] = ("product_id", "product_name", "category", "quantity", "unit_price")


def explode_order_products(batch: pa.RecordBatch, *, schema: pa.Schema) -> pa.RecordBatch:
    """One row per product of an ``Order Completed`` event (Segment's ecommerce spec ``products`` array).

    Input rows carry ``products`` (JSON text) beside the order columns; an order without a readable products
    array stays one row with empty product columns. Output has ``schema`` (the orders table's columns).
    """
    rows = batch.to_pylist()
    out: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for line in _order_lines(row.get("products")):
            for name in schema.names:
                out[name].append(line[name] if name in ORDER_LINE_FIELDS else row.get(name))
    return pa.RecordBatch.from_pydict(out, schema=schema)


def _order_lines(products: str | None) -> list[dict[str, Any]]:
    empty = dict.fromkeys(ORDER_LINE_FIELDS)
    if not products:
        return [empty]
    try:
        items = orjson.loads(products)
    except orjson.JSONDecodeError:
        return [empty]
    if not isinstance(items, list) or not items:
        return [empty]
    lines = []
    for item in items:
        if not isinstance(item, dict):
            continue
        lines.append(
            {
                "product_id": _text(item.get("product_id") or item.get("sku") or item.get("id")),
                "product_name": _text(item.get("name")),
                "category": _text(item.get("category")),
                "quantity": _integer(item.get("quantity")),
                "unit_price": _number(item.get("price")),
            }
        )
    return lines or [empty]


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _integer(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(str(value)))
    except (TypeError, ValueError, OverflowError):
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
