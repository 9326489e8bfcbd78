"""``cdp demo``: the embedded mode end to end, driven by a real Segment SDK over real HTTP.

At this stage: create sources, start the local API on the real Lambda handler, send sample events with
``segment-analytics-python`` (only the host changed), send one deliberately half-bad batch, and show what
landed with the same Athena SQL an analyst would run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
from rich.console import Console
from rich.table import Table
from segment.analytics import Client

from cdp.demo.sample_events import sample_calls, sample_customers
from cdp.lake import LocalLake
from cdp.localapi.runtime import start_local_api
from cdp.query.catalog import run_query
from cdp.settings import IngestionSettings
from cdp.sources.keys import SourceExistsError, WriteKeyStore
from cdp.wiring import build_key_store

DEMO_CUSTOMERS = 40


@dataclass(frozen=True, slots=True)
class DemoResult:
    sent: int
    stored: int
    quarantined: int


def _fresh_key(store: WriteKeyStore, source: str) -> str:
    """The demo is re-runnable: an existing source gets a rotated key."""
    try:
        return store.create_source(source).write_key
    except SourceExistsError:
        return store.rotate(source).write_key


def run_demo(settings: IngestionSettings, *, console: Console) -> DemoResult:
    lake = LocalLake.at(settings.lake)
    store = build_key_store(settings)
    web_key = _fresh_key(store, "web")
    console.rule("[bold]1. sources")
    console.print(f"lake: {lake.root}\nsource [bold]web[/] has a fresh write key (stored hashed)")

    server = start_local_api(settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, name="cdp-local-api", daemon=True)
    thread.start()
    try:
        console.rule("[bold]2. a real Segment SDK sends events to the local API")
        before = _count(lake, "raw_events")
        calls = sample_calls(sample_customers(DEMO_CUSTOMERS))
        errors: list[str] = []
        client = Client(
            write_key=web_key,
            host=server.url,
            on_error=lambda error, _batch: errors.append(str(error)),
            max_retries=2,
            upload_size=250,
        )
        for call in calls:
            getattr(client, call.method)(**call.kwargs)
        client.flush()
        client.shutdown()
        if errors:
            raise RuntimeError(f"the SDK reported {len(errors)} upload errors, first: {errors[0]}")
        console.print(f"segment-analytics-python sent {len(calls)} events from {DEMO_CUSTOMERS} customers")

        console.rule("[bold]3. a batch with bad events keeps the good ones")
        response = requests.post(
            f"{server.url}/v1/batch",
            auth=(web_key, ""),
            json={
                "batch": [
                    {
                        "type": "track",
                        "event": "Coupon Applied",
                        "userId": "user-0001",
                        "properties": {"code": "ลด10"},
                    },
                    {"type": "track", "userId": "user-0002"},
                    {"type": "identify", "traits": {"email": "nobody@example.com"}},
                ]
            },
            timeout=10,
        )
        console.print(f"HTTP {response.status_code} {response.text}")
    finally:
        server.shutdown()
        server.server_close()

    console.rule("[bold]4. what landed (Athena SQL over the lake, run by DuckDB)")
    _show(
        console,
        lake,
        "SELECT type, count(*) AS events, count(DISTINCT user_id) AS users FROM raw_events "
        "GROUP BY type ORDER BY events DESC",
    )
    _show(
        console,
        lake,
        "SELECT user_id, event, json_extract_scalar(properties, '$.revenue') AS revenue_thb, timestamp "
        "FROM raw_events WHERE event = 'Order Completed' ORDER BY timestamp DESC LIMIT 5",
    )
    _show(
        console,
        lake,
        "SELECT user_id, json_extract_scalar(traits, '$.first_name') AS first_name, "
        "json_extract_scalar(traits, '$.city') AS city FROM raw_events WHERE type = 'identify' "
        "ORDER BY user_id LIMIT 5",
    )
    _show(console, lake, "SELECT code, reason, count(*) AS events FROM quarantine_events GROUP BY 1, 2")
    stored = _count(lake, "raw_events") - before
    quarantined = _count(lake, "quarantine_events")
    hint = 'cdp query "SELECT * FROM raw_events LIMIT 3"'
    console.print(
        f"[bold green]done[/]: {stored} new events stored once each, {quarantined} quarantined in total. "
        f"Try: {hint} --lake {lake.root}"
    )
    return DemoResult(sent=len(calls) + 3, stored=stored, quarantined=quarantined)


def _count(lake: LocalLake, table: str) -> int:
    return int(run_query(lake, f"SELECT count(*) AS n FROM {table}").column("n")[0].as_py())  # noqa: S608


def _show(console: Console, lake: LocalLake, sql: str) -> None:
    result = run_query(lake, sql)
    table = Table(*result.column_names, title=sql, title_justify="left", title_style="dim")
    for row in result.to_pylist():
        table.add_row(*("NULL" if value is None else str(value) for value in row.values()))
    console.print(table)
