"""The export function as the orchestrator drives it: first "which segments?", then each segment of the run.

The state machine (``infra/components/orchestration.py``) maps over the ``segment_ids`` this request answers,
so the answer must be exactly the activated segments, and a configuration that no export could deliver must
fail here, before the first segment is delivered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cdp.activation.config import ActivationSettings
from cdp.activation.errors import ActivationInputError
from cdp.activation.service import segments_to_export
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext
from cdp.pipeline.export import check_export_config
from cdp.tables import DELIVERIES
from infra.components.orchestration import LIST_SEGMENTS_REQUEST
from tests.activation_data import (
    AS_OF_1,
    RUN_1,
    Person,
    configure_destinations,
    define_segment,
    membership,
    publish_memberships,
    publish_people,
    suppress,
)

DESTINATIONS = [
    {"id": "newsletter", "type": "local", "purpose": "email", "needs_any": ["email"], "include": ["email"]},
    {"id": "texts", "type": "local", "purpose": "sms", "needs_any": ["phone"], "acts_on": ["entered"]},
]
PEOPLE = [Person("p1", "somchai@example.co.th", "+66819753001"), Person("p2", None, "+66819753002")]


def context() -> LocalLambdaContext:
    """The export function's, as the orchestrator invokes it: 15 minutes to go."""
    return LocalLambdaContext(function_name="cdp-test-export", memory_limit_in_mb=2048, timeout_seconds=900)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    publish_people(root, PEOPLE)
    publish_memberships(
        root, [membership("vip", p.profile_id, RUN_1, entered=AS_OF_1) for p in PEOPLE], RUN_1
    )
    define_segment(root, "vip", ["newsletter", "texts"])
    define_segment(root, "lapsed", ["newsletter"])
    define_segment(root, "quiet", [])  # evaluated, but delivered nowhere
    configure_destinations(root, DESTINATIONS)
    suppress(root, {"email": "nobody@example.co.th", "reason": "asked"})
    return root


@pytest.fixture
def invoke(lake: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import lambdas.export.handler as handler

    monkeypatch.setattr(handler, "_settings", ActivationSettings(lake=str(lake)))

    def call(event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = handler.lambda_handler(event, context())  # type: ignore[arg-type]
        return answer

    return call


def nothing_delivered(lake: Path) -> bool:
    files = LakeFiles(lake)
    return not files.find("exports", lambda name: True) and not files.find(DELIVERIES.prefix, lambda n: True)


def test_the_state_machines_request_lists_exactly_the_activated_segments(lake: Path, invoke: Any) -> None:
    answer = invoke(dict(LIST_SEGMENTS_REQUEST))
    assert answer == {"segment_ids": ["lapsed", "vip"]}  # sorted; "quiet" has no destinations
    assert nothing_delivered(lake)  # listing delivers nothing


def test_each_listed_segment_is_then_delivered_with_the_run_id(lake: Path, invoke: Any) -> None:
    reports = [
        invoke({"segment_id": segment_id, "run_id": RUN_1})
        for segment_id in invoke(dict(LIST_SEGMENTS_REQUEST))["segment_ids"]
    ]
    assert [(r["segment_id"], r["run_id"], r["complete"]) for r in reports] == [
        ("lapsed", RUN_1, True),  # no deltas of its own in RUN_1
        ("vip", RUN_1, True),
    ]
    assert [r["changes"] for r in reports] == [0, 2]


def test_a_segment_naming_an_undefined_destination_fails_the_list_before_any_delivery(
    lake: Path, invoke: Any
) -> None:
    define_segment(lake, "lapsed", ["newsletter", "push"])
    with pytest.raises(ActivationInputError, match="segment 'lapsed' names destination 'push'"):
        invoke(dict(LIST_SEGMENTS_REQUEST))
    assert nothing_delivered(lake)
    # the pipeline's own check before its steps is the same one
    with pytest.raises(ActivationInputError, match="segment 'lapsed' names destination 'push'"):
        check_export_config(LakeFiles(lake))


def test_a_broken_suppression_list_fails_the_list(lake: Path) -> None:
    (lake / "privacy" / "suppression.jsonl").write_text("not json\n")
    with pytest.raises(ActivationInputError, match=r"suppression\.jsonl line 1"):
        segments_to_export(LakeFiles(lake))


@pytest.mark.parametrize(
    "event",
    [
        {"action": "export_everything"},
        {"action": "list_activated_segments", "segment_id": "vip"},  # one request or the other
    ],
)
def test_other_actions_are_refused(invoke: Any, event: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        invoke(event)


def test_a_lake_without_activated_segments_lists_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lambdas.export.handler as handler

    monkeypatch.setattr(handler, "_settings", ActivationSettings(lake=str(tmp_path)))
    answer = handler.lambda_handler(dict(LIST_SEGMENTS_REQUEST), context())  # type: ignore[arg-type]
    assert answer == {"segment_ids": []}  # the Map then runs no iteration
