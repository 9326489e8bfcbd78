"""The segments step on DuckDB over hand-built lakes: membership spans enter, stay, exit and re-enter across
runs; merged and erased profiles exit; event windows hold at their boundaries; references evaluate the
referenced segment in the same run; a re-run replaces its own deltas; the Athena text is the same query."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.segments import evaluation_path
from cdp.query.catalog import run_query
from cdp.segments.errors import SegmentDefinitionError
from cdp.segments.preview import preview_segment
from cdp.tables import SEGMENT_MEMBERSHIPS, current
from tests.segments_data import (
    AS_OF,
    WINDOW_30_START,
    SegmentLake,
    event,
    members_of,
    memberships,
    open_spans,
    order_line,
    profile,
    publish_mixed_lake,
    remove_definition,
    run_segments,
    trait,
    write_definition,
)

BIG_SPENDERS = """id: big_spenders
name: Big spenders
destinations: [ses_vip]
condition:
  trait: total_spend
  gte: 1000
"""

T1, T2, T3, T4 = (AS_OF + timedelta(days=day) for day in (0, 1, 2, 3))


@pytest.fixture
def files(tmp_path: Path) -> LakeFiles:
    return LakeFiles(tmp_path / "lake")


def spenders(files: LakeFiles, run: str, at: datetime, **spend: float) -> None:
    SegmentLake(profiles=[profile(p, total_spend=value) for p, value in spend.items()]).publish(
        files, f"up-{run}", as_of=at
    )
    run_segments(files, run)


def test_members_enter_stay_exit_and_re_enter(files: LakeFiles) -> None:
    write_definition(files, BIG_SPENDERS)
    spenders(files, "r1", T1, p1=1500, p2=10)
    assert memberships(files) == [("big_spenders", "p1", T1, None, "r1")]

    spenders(files, "r2", T2, p1=1600, p2=2000)  # p1 stays untouched, p2 enters
    assert memberships(files) == [
        ("big_spenders", "p1", T1, None, "r1"),
        ("big_spenders", "p2", T2, None, "r2"),
    ]

    spenders(files, "r3", T3, p1=0, p2=2000)  # p1 leaves
    assert memberships(files) == [
        ("big_spenders", "p1", T1, T3, "r3"),
        ("big_spenders", "p2", T2, None, "r2"),
    ]

    spenders(files, "r4", T4, p1=5000, p2=2000)  # p1 comes back: a new span, the old one kept
    assert memberships(files) == [
        ("big_spenders", "p1", T1, T3, "r3"),
        ("big_spenders", "p1", T4, None, "r4"),
        ("big_spenders", "p2", T2, None, "r2"),
    ]
    # a run's deltas are its rows
    deltas = [(s, p, exited is None) for s, p, _, exited, run in memberships(files) if run == "r4"]
    assert deltas == [("big_spenders", "p1", True)]


def test_a_merged_profile_exits_and_the_survivor_is_evaluated_on_its_merged_activity(
    files: LakeFiles,
) -> None:
    write_definition(
        files,
        """id: repeat_buyers
name: Repeat buyers
condition: {performed: Order Completed, at_least: 2}
""",
    )
    write_definition(files, BIG_SPENDERS)
    day = timedelta(days=1)
    before = SegmentLake(
        profiles=[profile("p1", total_spend=1200), profile("p2", total_spend=1500)],
        events=[event("m1", "r-p1", AS_OF - day), event("m2", "r-p2", AS_OF - 2 * day)],
    )
    before.publish(files, "up-1", as_of=T1)
    run_segments(files, "r1")
    assert open_spans(files) == {("big_spenders", "p1"), ("big_spenders", "p2")}

    # resolve merged p2 into p1: p2's record now links to p1, and p2 is gone from profiles
    after = SegmentLake(
        profiles=[profile("p1", total_spend=2700)],
        events=before.events,
        links={"r-p2": "p1"},
    )
    after.publish(files, "up-2", as_of=T2)
    run_segments(files, "r2")
    assert memberships(files) == [
        ("big_spenders", "p1", T1, None, "r1"),  # the survivor stays as it was
        ("big_spenders", "p2", T1, T2, "r2"),  # the loser exits
        ("repeat_buyers", "p1", T2, None, "r2"),  # two orders once merged
    ]


def test_an_erased_profile_exits(files: LakeFiles) -> None:
    write_definition(files, BIG_SPENDERS)
    spenders(files, "r1", T1, p1=1500, p2=1500)
    spenders(files, "r2", T2, p1=1500)  # p2 erased: no longer in profiles
    assert memberships(files) == [
        ("big_spenders", "p1", T1, None, "r1"),
        ("big_spenders", "p2", T1, T2, "r2"),
    ]


def test_a_removed_definition_closes_its_open_spans(files: LakeFiles) -> None:
    relative = write_definition(files, BIG_SPENDERS)
    spenders(files, "r1", T1, p1=1500)
    remove_definition(files, relative)
    spenders(files, "r2", T2, p1=1500)
    assert memberships(files) == [("big_spenders", "p1", T1, T2, "r2")]


def test_event_windows_hold_at_their_boundaries(files: LakeFiles) -> None:
    """30 business days ending on AS_OF's day (Bangkok): from 2 March 00:00 +07:00 up to AS_OF itself."""
    write_definition(
        files,
        """id: active_30d
name: Active in 30 days
condition: {performed: App Opened, within_days: 30}
""",
    )
    write_definition(
        files,
        """id: never_active
name: Not active in 30 days
condition: {performed: App Opened, within_days: 30, exactly: 0}
""",
    )
    tick = timedelta(microseconds=1)
    moments = {
        "at_start": WINDOW_30_START,
        "before_start": WINDOW_30_START - tick,
        "at_as_of": AS_OF,
        "after_as_of": AS_OF + tick,
        "long_ago": AS_OF - timedelta(days=400),
    }
    SegmentLake(
        profiles=[profile(name) for name in (*moments, "nothing")],
        events=[event(f"m-{name}", f"r-{name}", at, "App Opened") for name, at in moments.items()],
    ).publish(files, "up")
    run_segments(files, "r1")
    assert members_of(files, "active_30d") == {"at_start", "at_as_of"}
    assert members_of(files, "never_active") == {"before_start", "after_as_of", "long_ago", "nothing"}


def test_event_filters_and_purchases(files: LakeFiles) -> None:
    write_definition(
        files,
        """id: shoe_browsers
name: Browsed expensive shoes in the app
condition:
  performed: Product Viewed
  channel: app
  where:
    - {property: category, eq: shoes}
    - {property: price, gte: 1000}
    - {property: on_sale, eq: true}
  at_least: 2
  within_days: 30
""",
    )
    write_definition(
        files,
        """id: shoe_buyers
name: Bought shoes twice in 90 days
condition: {purchased: {category: shoes}, at_least: 2, within_days: 90}
""",
    )
    day = timedelta(days=1)

    def viewed(
        message: str, who: str, price: float, *, channel: str = "app", on_sale: bool = True
    ) -> dict[str, object]:
        properties = {"category": "shoes", "price": price, "on_sale": on_sale}
        return event(
            message, f"r-{who}", AS_OF - day, "Product Viewed", channel=channel, properties=properties
        )

    SegmentLake(
        profiles=[profile(name) for name in ("fan", "cheap", "web", "once", "buyer", "one_order", "old")],
        events=[
            viewed("a1", "fan", 1500),
            viewed("a2", "fan", 1000),
            viewed("b1", "cheap", 1500),
            viewed("b2", "cheap", 999.5),
            viewed("c1", "web", 1500, channel="web"),
            viewed("c2", "web", 1500, channel="web"),
            viewed("d1", "once", 1500),
            viewed("d2", "once", 1500, on_sale=False),
        ],
        orders=[
            # two orders (one with two shoe lines) in the window
            order_line("o1", "r-buyer", AS_OF - 10 * day, category="shoes"),
            order_line("o1", "r-buyer", AS_OF - 10 * day, category="shoes"),
            order_line("o2", "r-buyer", AS_OF - 80 * day, category="shoes"),
            # one order with two shoe lines is one purchase
            order_line("o3", "r-one_order", AS_OF - day, category="shoes"),
            order_line("o3", "r-one_order", AS_OF - day, category="shoes"),
            order_line("o4", "r-one_order", AS_OF - day, category="bags"),
            # outside 90 days
            order_line("o5", "r-old", AS_OF - 5 * day, category="shoes"),
            order_line("o6", "r-old", AS_OF - 120 * day, category="shoes"),
        ],
    ).publish(files, "up")
    run_segments(files, "r1")
    assert members_of(files, "shoe_browsers") == {"fan"}
    assert members_of(files, "shoe_buyers") == {"buyer"}


def test_references_and_negation_evaluate_in_the_same_run(files: LakeFiles) -> None:
    write_definition(
        files,
        """id: women
name: Women
condition: {trait: gender, eq: female}
""",
    )
    write_definition(
        files,
        """id: not_women
name: Not women (unknown included)
condition: {not: {in_segment: women}}
""",
    )
    write_definition(
        files,
        """id: young_women
name: Women 25-34
condition:
  all:
    - in_segment: women
    - trait: age
      between: [25, 34]
""",
    )
    write_definition(
        files,
        """id: men_by_ne
name: Known gender other than female
condition: {trait: gender, ne: female}
""",
    )
    SegmentLake(
        profiles=[
            profile("ann", gender="female"),
            profile("bea", gender="female"),
            profile("cal", gender="male"),
            profile("dee"),
        ],
        traits=[trait("ann", "age", 30, "integer"), trait("bea", "age", 40, "integer")],
    ).publish(files, "up")
    run_segments(files, "r1")
    assert members_of(files, "women") == {"ann", "bea"}
    assert members_of(files, "young_women") == {"ann"}
    assert members_of(files, "not_women") == {"cal", "dee"}
    assert members_of(files, "men_by_ne") == {"cal"}


def test_a_re_run_of_the_same_run_id_replaces_its_own_deltas(files: LakeFiles) -> None:
    write_definition(files, BIG_SPENDERS)
    spenders(files, "r1", T1, p1=1500, p2=1500)
    spenders(files, "r2", T2, p1=1500, p2=0, p3=2000)
    first = memberships(files)
    run_segments(files, "r2")  # same inputs: the same rows
    assert memberships(files) == first
    assert current(files, SEGMENT_MEMBERSHIPS).run_id == "r2"  # type: ignore[union-attr]

    # inputs changed before the retry: r2 is computed again from r1's snapshot, not stacked on its own
    spenders(files, "r2", T2, p1=0, p2=1500)
    assert memberships(files) == [
        ("big_spenders", "p1", T1, T2, "r2"),
        ("big_spenders", "p2", T1, None, "r1"),
    ]
    manifest = orjson.loads(files.read_bytes(evaluation_path("r2", "manifest.json")) or b"")
    assert manifest["previous_run_id"] == "r1"
    assert manifest["segments"] == [
        {
            "id": "big_spenders",
            "name": "Big spenders",
            "file": "segments/definitions/big_spenders.yaml",
            "destinations": ["ses_vip"],
            "members": 1,
            "entered": 0,
            "exited": 1,
        }
    ]
    audit = (files.read_bytes(evaluation_path("r2", "evaluation.sql")) or b"").decode()
    assert audit.startswith("-- segment evaluation of run r2, as of 2026-04-01T05:00:00+00:00\n")
    assert "COALESCE(w.total_spend >= 1000, FALSE)" in audit


def test_invalid_definitions_fail_before_anything_is_written(files: LakeFiles) -> None:
    write_definition(files, BIG_SPENDERS)
    write_definition(files, "id: broken\nname: Broken\ncondition: {trait: rmf_score, eq: '555'}\n")
    spenders_lake = SegmentLake(profiles=[profile("p1", total_spend=1500)])
    spenders_lake.publish(files, "up")
    with pytest.raises(SegmentDefinitionError) as raised:
        run_segments(files, "r1")
    assert str(raised.value) == (
        "segments/definitions/broken.yaml: condition: unknown trait 'rmf_score' (did you mean 'rfm_score'?)"
    )
    assert current(files, SEGMENT_MEMBERSHIPS) is None
    assert not files.exists(evaluation_path("r1", "manifest.json"))


def test_the_athena_text_is_the_query_the_engine_ran(files: LakeFiles, tmp_path: Path) -> None:
    """The audit's Athena SQL, transpiled by sqlglot and run by ``cdp query``'s DuckDB over the lake, finds
    the members the step wrote; so does preview's per-segment SQL."""
    publish_mixed_lake(files)
    run_segments(files, "r1")
    written = open_spans(files)
    assert written == {
        ("big_spenders", "p2"),
        ("bkk_women_25_34", "p1"),
        ("bkk_women_25_34", "p5"),
        ("engaged_or_vip", "p1"),
        ("engaged_or_vip", "p2"),
        ("engaged_or_vip", "p3"),
        ("engaged_or_vip", "p4"),
        ("quiet", "p4"),
        ("quiet", "p5"),
        ("shoe_lookers", "p4"),  # p2 looked too, but lives in Bangkok's region; p1's pair was too cheap
    }
    audit = (files.read_bytes(evaluation_path("r1", "evaluation.sql")) or b"").decode()
    lake = LocalLake.at(files.base)
    found = run_query(lake, audit).to_pylist()
    assert {(row["segment_id"], row["profile_id"]) for row in found} == written
    assert len(found) == len(written)

    definition = tmp_path / "engaged_or_vip.yaml"
    definition.write_bytes(files.read_bytes("segments/definitions/engaged_or_vip.yaml") or b"")
    preview = preview_segment(files, definition)
    alone = run_query(lake, preview.athena_sql).to_pylist()
    assert {row["profile_id"] for row in alone} == members_of(files, "engaged_or_vip")
    assert preview.members == 4
    assert preview.profiles == 5


def test_preview_resolves_references_beside_the_file_and_samples_pseudonymized_rows(
    files: LakeFiles, tmp_path: Path
) -> None:
    publish_mixed_lake(files)
    (tmp_path / "spenders.yaml").write_text(
        "id: spenders\nname: S\ncondition: {trait: total_spend, gt: 50}\n"
    )
    target = tmp_path / "target.yaml"
    target.write_text(
        "id: female_spenders\nname: F\n"
        "condition:\n  all: [{in_segment: spenders}, {trait: gender, eq: female}]\n"
    )
    preview = preview_segment(files, target, sample_size=1)
    assert (preview.members, preview.profiles, preview.as_of) == (2, 5, AS_OF)
    [row] = preview.sample
    assert row["profile_id"] in {"p1", "p2"}
    assert set(row) == {
        "profile_id", "gender", "birth_year", "province", "country", "order_count", "total_spend",
        "recency_days", "rfm_score",
    }  # fmt: skip
    assert "WITH segment_wide AS" in preview.athena_sql

    target.write_text("id: x\nname: X\ncondition: {in_segment: nowhere}\n")
    with pytest.raises(SegmentDefinitionError, match=rf"^{target}: condition: unknown segment 'nowhere'$"):
        preview_segment(files, target)
