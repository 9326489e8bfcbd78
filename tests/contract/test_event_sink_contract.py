from __future__ import annotations

from cdp.ingestion.records import RAW_EVENT_COLUMNS
from tests.contract.conftest import SinkUnderTest, quarantined, raw_event


def test_written_events_are_stored_with_every_column(sink_under_test: SinkUnderTest) -> None:
    sink_under_test.sink.write_events([raw_event("m-1"), raw_event("m-2")])
    stored = sink_under_test.stored_events()
    assert [row["message_id"] for row in stored] == ["m-1", "m-2"]
    expected = dict(raw_event("m-1"))
    assert {column: stored[0][column] for column in (*RAW_EVENT_COLUMNS, "dt")} == expected


def test_events_land_in_their_date_partition(sink_under_test: SinkUnderTest) -> None:
    sink_under_test.sink.write_events(
        [
            raw_event("late", dt="2026-03-01", received_at="2026-03-01T10:00:00.000000Z"),
            raw_event("early", dt="2026-03-02", received_at="2026-03-01T18:00:00.000000Z"),
        ]
    )
    assert {(row["message_id"], row["dt"]) for row in sink_under_test.stored_events()} == {
        ("late", "2026-03-01"),
        ("early", "2026-03-02"),
    }


def test_thai_text_and_json_columns_round_trip(sink_under_test: SinkUnderTest) -> None:
    sink_under_test.sink.write_events([raw_event("m-th")])
    [row] = sink_under_test.stored_events()
    assert row["properties"] == '{"revenue":450.5,"สินค้า":"ข้าว"}'


def test_rejections_are_stored_with_reason_and_index(sink_under_test: SinkUnderTest) -> None:
    sink_under_test.sink.write_rejections([quarantined(1), quarantined(4)])
    stored = sink_under_test.stored_rejections()
    assert [(row["event_index"], row["code"], row["reason"]) for row in stored] == [
        (1, "invalid_event", "event is required"),
        (4, "invalid_event", "event is required"),
    ]


def test_an_empty_write_stores_nothing(sink_under_test: SinkUnderTest) -> None:
    sink_under_test.sink.write_events([])
    sink_under_test.sink.write_rejections([])
    assert sink_under_test.stored_events() == []
    assert sink_under_test.stored_rejections() == []
