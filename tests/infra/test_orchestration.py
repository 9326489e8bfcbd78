"""The orchestration stack: the pipeline state machine as synthesized, its expressions evaluated, its role and
its schedule.

The definition is read from the template (``DefinitionString`` is an ``Fn::Join``: its references become
``${Ref:…}`` / ``${ImportValue:…}`` placeholders) and walked state by state. The JSONata it holds is
evaluated with JSONata 2.0.6, the version Step Functions runs (``tests/infra/states_jsonata.py``), so the run
id, the conditions and the messages are checked for what they compute, not only for their text.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from cdp.lookup_wiring import LoadRequest
from cdp.pipeline.runner import STEPS
from cdp.tables import new_run_id
from infra.app import ContextError, stage_config
from infra.components.activation import ExportSizing
from infra.components.orchestration import (
    GLUE_BUSY_ERRORS,
    GLUE_TRANSIENT_ERRORS,
    LAMBDA_SERVICE_ERRORS,
    LAMBDA_THROTTLED_ERRORS,
    LIST_SEGMENTS_REQUEST,
    RUN_ID_PATTERN,
    OrchestrationConfig,
    PipelineJobs,
    PipelineSchedule,
)
from infra.stacks.data import DataExports
from infra.stacks.orchestration import CdpOrchestrationStack
from lambdas.export.handler import ExportRequest, SegmentsToExportRequest
from tests.infra.conftest import KEY, SynthesizedApp, as_list, glue_jobs, logical_id, of_type, one
from tests.infra.states_jsonata import UNDEFINED, evaluate, evaluate_many

STATE_MACHINE = "cdp-dev-pipeline"
NOTIFY = "Notify failure"
#: the states that do the work, in run order, and the ``cdp run`` step each one is
WORK = {
    "Standardize": "standardize",
    "Resolve identities": "resolve",
    "Build profiles": "profiles",
    "Evaluate segments": "segments",
    "List activated segments": "export",
    "Export segments": "export",
    "Refresh lookup": "lookup",
}
GLUE_STEPS = ("Standardize", "Resolve identities", "Build profiles", "Evaluate segments")
EXPORT_FUNCTION = "${ImportValue:cdp-dev-export-function-name}"
LOADER_FUNCTION = "${ImportValue:cdp-dev-lookup-loader-function-name}"
EXECUTION = "arn:aws:states:ap-southeast-1:123456789012:execution:cdp-dev-pipeline:7f6c1d2e-aaaa-bbbb"
STARTED = "2026-11-28T19:00:00.123Z"


def placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    [(kind, value)] = part.items()
    if kind == "Ref":
        return f"${{Ref:{value}}}"
    if kind == "Fn::ImportValue":
        return f"${{ImportValue:{value}}}"
    if kind == "Fn::GetAtt":
        return f"${{GetAtt:{'.'.join(value)}}}"
    raise AssertionError(f"unexpected intrinsic in the definition: {part}")


def definition_of(state_machine: dict[str, Any]) -> dict[str, Any]:
    text = state_machine["Properties"]["DefinitionString"]
    if isinstance(text, dict):
        separator, parts = text["Fn::Join"]
        text = separator.join(placeholder(part) for part in parts)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.fixture(scope="session")
def orchestration(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpOrchestration-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def stack_template(dev_app: SynthesizedApp) -> Any:
    def template(construct_id: str) -> Template:
        stack = dev_app.data_stack.node.scope.node.find_child(construct_id)  # type: ignore[union-attr]
        assert isinstance(stack, Stack)
        return Template.from_stack(stack)

    return template


@pytest.fixture(scope="session")
def state_machine(orchestration: Template) -> dict[str, Any]:
    [found] = of_type(orchestration, "AWS::StepFunctions::StateMachine").values()
    return found


@pytest.fixture(scope="session")
def definition(state_machine: dict[str, Any]) -> dict[str, Any]:
    return definition_of(state_machine)


@pytest.fixture(scope="session")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = definition["States"]
    return found


@pytest.fixture(scope="session")
def segment_states(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = states["Export segments"]["ItemProcessor"]["States"]
    return found


def run_order(definition: dict[str, Any]) -> list[str]:
    """The states a successful run passes through, from StartAt (a Choice goes on by its Default)."""
    order, name = [], definition["StartAt"]
    while name:
        state = definition["States"][name]
        order.append(name)
        if state["Type"] == "Choice":
            nexts = [choice["Next"] for choice in state["Choices"]]
            succeed = [n for n in nexts if definition["States"][n]["Type"] == "Succeed"]
            name = succeed[0] if succeed else state["Default"]
        else:
            name = state.get("Next")
    return order


def context(**execution: Any) -> dict[str, Any]:
    return {"Execution": {"Id": EXECUTION, "StartTime": STARTED, **execution}}


# -- the state machine -----------------------------------------------------------------------------------


def test_the_state_machine_has_the_name_the_dashboard_uses_logs_everything_encrypted_and_traces(
    orchestration: Template, state_machine: dict[str, Any], definition: dict[str, Any]
) -> None:
    properties = state_machine["Properties"]
    assert properties["StateMachineName"] == STATE_MACHINE
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", True)
    [destination] = logging["Destinations"]
    log_group_id = logical_id(orchestration, "AWS::Logs::LogGroup", "PipelineLogs")
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    log_group = of_type(orchestration, "AWS::Logs::LogGroup")[log_group_id]["Properties"]
    assert log_group == {
        "KmsKeyId": KEY,  # the data key, whose policy lets CloudWatch Logs use it under /cdp/dev/
        "LogGroupName": "/cdp/dev/states/pipeline",
        "RetentionInDays": 365,
        "Tags": log_group["Tags"],
    }
    assert definition["QueryLanguage"] == "JSONata"
    assert definition["TimeoutSeconds"] == OrchestrationConfig().timeout_hours * 3600 < 24 * 3600
    outputs = orchestration.to_json()["Outputs"]
    assert outputs["StateMachineName"]["Value"] == STATE_MACHINE


def test_the_steps_run_in_the_order_cdp_run_runs_them(
    definition: dict[str, Any], states: dict[str, dict[str, Any]], stack_template: Any
) -> None:
    order = [name for name in run_order(definition) if name in WORK]
    assert order == list(WORK)
    assert list(dict.fromkeys(WORK.values())) == list(STEPS)
    assert run_order(definition)[:2] == ["Choose run id", "Name the run"]
    assert run_order(definition)[-2:] == ["Lookup loaded?", "Run complete"]
    # the Glue steps run the pipeline stack's jobs, by their names, in the same order
    jobs = glue_jobs(stack_template("CdpPipeline-dev"))
    ran = [states[name]["Arguments"]["JobName"] for name in GLUE_STEPS]
    assert ran == [
        "cdp-dev-standardize",
        "cdp-dev-resolve-identities",
        "cdp-dev-build-profiles",
        "cdp-dev-evaluate-segments",
    ]
    assert set(ran) <= set(jobs)


# -- one run id ----------------------------------------------------------------------------------------


def test_every_step_gets_the_one_run_id_from_the_same_variable(
    states: dict[str, dict[str, Any]], segment_states: dict[str, dict[str, Any]]
) -> None:
    for name in GLUE_STEPS:
        state = states[name]
        assert state["Type"] == "Task"
        assert state["Resource"] == "arn:${Ref:AWS::Partition}:states:::glue:startJobRun.sync", name
        assert state["Arguments"]["Arguments"] == {"--run_id": "{% $run_id %}"}, name
        assert set(state["Arguments"]) == {"JobName", "Arguments"}, name  # no null NotificationProperty
    assert segment_states["Deliver segment"]["Arguments"]["Payload"]["run_id"] == "{% $run_id %}"
    # assigned once, before the first step, and never again
    every_state = {**states, **segment_states}
    assigners = [name for name, state in every_state.items() if "run_id" in state.get("Assign", {})]
    assert assigners == ["Name the run"]


def test_a_given_run_id_is_used_and_otherwise_one_is_derived_like_new_run_id(
    states: dict[str, dict[str, Any]],
) -> None:
    field = states["Name the run"]["Assign"]["run_id"]
    given, derived, again = evaluate_many(
        [
            (field, {"states": {"input": {"run_id": "20261101T000000Z-abc123"}, "context": context()}}),
            (field, {"states": {"input": {"trigger": "schedule"}, "context": context()}}),
            (field, {"states": {"input": {}, "context": context(Id=EXECUTION + "-2")}}),
        ]
    )
    assert given == "20261101T000000Z-abc123"
    digest = hashlib.sha256(EXECUTION.encode()).hexdigest()[:6]
    assert derived == f"20261128T190000Z-{digest}"
    # the same shape as the runs cdp run names, and different for another execution started at once
    local = new_run_id(datetime(2026, 11, 28, 19, 0, 0, tzinfo=UTC))
    assert re.sub("[0-9a-f]{6}$", "", derived) == re.sub("[0-9a-f]{6}$", "", local)
    assert again != derived
    assert again.startswith("20261128T190000Z-")
    assert re.fullmatch(RUN_ID_PATTERN, derived)


def test_a_run_id_that_is_not_one_fails_the_execution_before_any_step(
    states: dict[str, dict[str, Any]],
) -> None:
    choose = states["Choose run id"]
    [refuse] = choose["Choices"]
    assert (refuse["Next"], choose["Default"]) == ("Refuse run id", "Name the run")
    assert states["Refuse run id"]["Type"] == "Fail"
    assert states["Refuse run id"]["Error"] == "InvalidRunId"
    inputs = [
        ({}, False),
        ({"trigger": "schedule"}, False),
        ({"run_id": new_run_id()}, False),
        ({"run_id": "manual-rerun_2026.11.28"}, False),
        ({"run_id": "a" * 128}, False),
        ({"run_id": "a" * 129}, True),
        ({"run_id": ""}, True),
        ({"run_id": "two words"}, True),
        ({"run_id": "../profiles"}, True),
        ({"run_id": "x/y"}, True),
        ({"run_id": 20261128}, True),
        ({"run_id": None}, True),
    ]
    refused = evaluate_many(
        [(refuse["Condition"], {"states": {"input": given, "context": context()}}) for given, _ in inputs]
    )
    assert refused == [expected for _, expected in inputs]
    # the export function accepts exactly the ids the state machine lets through
    schema = ExportRequest.model_json_schema()["properties"]["run_id"]["anyOf"][0]
    assert schema["pattern"] == RUN_ID_PATTERN


# -- retries and failures -------------------------------------------------------------------------------


def retries(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {error: retry for retry in state.get("Retry", []) for error in retry["ErrorEquals"]}


def test_glue_steps_retry_a_busy_job_and_throttling_with_backoff_but_not_a_failed_run(
    states: dict[str, dict[str, Any]],
) -> None:
    for name in GLUE_STEPS:
        retry = retries(states[name])
        assert set(retry) == {*GLUE_BUSY_ERRORS, *GLUE_TRANSIENT_ERRORS}, name
        busy = retry["Glue.ConcurrentRunsExceededException"]
        assert (busy["BackoffRate"], busy["IntervalSeconds"], busy["JitterStrategy"]) == (2, 300, "FULL")
        assert busy["MaxAttempts"] >= 4  # a run started by hand takes up to its 2 h timeout
        for error in ("Glue.ThrottlingException", "Glue.InternalServiceException", "Glue.AWSGlueException"):
            assert (retry[error]["BackoffRate"], retry[error]["IntervalSeconds"]) == (2, 30), (name, error)
        assert not {"States.ALL", "States.TaskFailed"} & set(retry), name  # a FAILED job is not re-run


def test_lambda_steps_retry_service_errors_and_throttling_with_backoff(
    states: dict[str, dict[str, Any]], segment_states: dict[str, dict[str, Any]]
) -> None:
    for state in (
        states["List activated segments"],
        segment_states["Deliver segment"],
        states["Refresh lookup"],
    ):
        assert state["Resource"] == "arn:${Ref:AWS::Partition}:states:::lambda:invoke"
        retry = retries(state)
        assert set(retry) == {*LAMBDA_SERVICE_ERRORS, *LAMBDA_THROTTLED_ERRORS}
        for error in LAMBDA_SERVICE_ERRORS:
            assert retry[error]["BackoffRate"] == 2
        throttled = retry["Lambda.TooManyRequestsException"]
        assert (throttled["BackoffRate"], throttled["JitterStrategy"]) == (2, "FULL")
        assert "States.ALL" not in retry  # a function that raised (bad config) is not retried


def test_every_task_and_the_map_catch_everything_to_the_notification(
    states: dict[str, dict[str, Any]], segment_states: dict[str, dict[str, Any]]
) -> None:
    catching = [name for name, s in states.items() if s["Type"] in {"Task", "Map"} and name != NOTIFY]
    assert sorted(catching) == sorted({*WORK})
    for name in catching:
        [catch] = states[name]["Catch"]
        assert (catch["ErrorEquals"], catch["Next"]) == (["States.ALL"], NOTIFY), name
        output = evaluate(
            catch["Output"],
            run_id="r-1",
            states={"errorOutput": {"Error": "States.TaskFailed", "Cause": "boom"}, "context": context()},
        )
        assert output == {"run_id": "r-1", "state": name, "error": "States.TaskFailed", "cause": "boom"}
    # inside the Map a failure fails the iteration, and so the Map, whose Catch notifies
    assert all("Catch" not in s for s in segment_states.values())
    # a loop that gave up reaches the notification too
    assert states["Lookup incomplete"]["Next"] == NOTIFY
    # the notification itself never hides the failure: published or not, the run fails with its error
    notify = states[NOTIFY]
    assert notify["Resource"] == "arn:${Ref:AWS::Partition}:states:::sns:publish"
    assert notify["Arguments"]["TopicArn"].startswith("${Ref:AlarmsTopic")
    assert notify["Next"] == "Run failed"
    assert [(c["ErrorEquals"], c["Next"]) for c in notify["Catch"]] == [(["States.ALL"], "Run failed")]
    assert states["Run failed"]["Type"] == "Fail"


def test_the_notification_says_which_run_failed_where_why_and_how_to_retry(
    states: dict[str, dict[str, Any]],
) -> None:
    failure = {"run_id": "20261128T190000Z-01dcec", "state": "Build profiles", "error": "States.TaskFailed"}
    message = states[NOTIFY]["Arguments"]["Message"]
    run_failed = states["Run failed"]
    text, no_cause, error, cause = evaluate_many(
        [
            (
                message,
                {"states": {"input": {**failure, "cause": "Glue job run FAILED"}, "context": context()}},
            ),
            (message, {"states": {"input": failure, "context": context()}}),
            (run_failed["Error"], {"states": {"input": failure}}),
            (run_failed["Cause"], {"states": {"input": failure}}),
        ]
    )
    for fragment in (
        "run 20261128T190000Z-01dcec failed in state Build profiles",
        "Error: States.TaskFailed",
        "Cause: Glue job run FAILED",
        f"Execution: {EXECUTION}",
        '{"run_id": "20261128T190000Z-01dcec"}',
    ):
        assert fragment in text
    assert "Cause: \n" in no_cause  # a failure without a cause still notifies
    assert (error, cause) == ("States.TaskFailed", "States.TaskFailed")
    assert states[NOTIFY]["Arguments"]["Subject"] == f"CDP pipeline run failed ({STATE_MACHINE})"


# -- exports and lookup ---------------------------------------------------------------------------------


def test_the_export_map_delivers_each_listed_segment_at_the_functions_concurrency(
    states: dict[str, dict[str, Any]], stack_template: Any
) -> None:
    listing = states["List activated segments"]
    assert listing["Arguments"]["FunctionName"].endswith(f":function:{EXPORT_FUNCTION}")
    assert listing["Arguments"]["Payload"] == LIST_SEGMENTS_REQUEST
    SegmentsToExportRequest.model_validate(listing["Arguments"]["Payload"])
    assert evaluate(listing["Output"], states={"result": {"Payload": {"segment_ids": ["vip"]}}}) == {
        "segment_ids": ["vip"]
    }
    export = states["Export segments"]
    assert export["Type"] == "Map"
    assert evaluate(export["Items"], states={"input": {"segment_ids": ["lapsed", "vip"]}}) == [
        "lapsed",
        "vip",
    ]
    assert evaluate(export["Items"], states={"input": {"segment_ids": []}}) == []
    activation = stack_template("CdpActivation-dev")
    [function] = of_type(activation, "AWS::Lambda::Function").values()
    reserved = function["Properties"]["ReservedConcurrentExecutions"]
    assert export["MaxConcurrency"] == reserved == ExportSizing().reserved_concurrency
    # the function names are the exports the activation and serving stacks publish
    assert activation.to_json()["Outputs"]["ExportFunctionName"]["Export"] == {
        "Name": "cdp-dev-export-function-name"
    }
    serving = stack_template("CdpServing-dev")
    assert serving.to_json()["Outputs"]["LookupLoaderFunctionName"]["Export"] == {
        "Name": "cdp-dev-lookup-loader-function-name"
    }


def test_each_segment_is_delivered_again_until_complete_and_at_most_the_configured_times(
    segment_states: dict[str, dict[str, Any]],
) -> None:
    limit = OrchestrationConfig().max_export_invocations
    start, deliver, decide = (
        segment_states["Start segment export"],
        segment_states["Deliver segment"],
        segment_states["Segment delivered?"],
    )
    assert (start["Next"], deliver["Next"]) == ("Deliver segment", "Segment delivered?")
    assert deliver["Arguments"]["FunctionName"].endswith(f":function:{EXPORT_FUNCTION}")
    payload = evaluate_many(
        [
            (value, {"export_segment_id": "vip", "run_id": "r-1"})
            for value in deliver["Arguments"]["Payload"].values()
        ]
    )
    request = ExportRequest.model_validate(dict(zip(deliver["Arguments"]["Payload"], payload, strict=True)))
    assert (request.segment_id, request.run_id) == ("vip", "r-1")
    assert evaluate(start["Assign"]["export_segment_id"], states={"input": "vip"}) == "vip"
    assert start["Assign"]["export_invocations"] == 0
    assert evaluate(deliver["Assign"]["export_invocations"], export_invocations=0) == 1
    done, give_up = decide["Choices"]
    assert (done["Next"], give_up["Next"], decide["Default"]) == (
        "Segment delivered",
        "Export incomplete",
        "Deliver segment",  # the loop
    )
    assert segment_states["Segment delivered"]["Type"] == "Succeed"
    assert segment_states["Export incomplete"]["Error"] == "ExportIncomplete"
    report = {"segment_id": "vip", "changes": 900, "sent": 850, "failed": 0}
    results = evaluate_many(
        [
            (done["Condition"], {"states": {"input": {**report, "complete": True}}}),
            (done["Condition"], {"states": {"input": {**report, "complete": False}}}),
            (give_up["Condition"], {"export_invocations": limit - 1}),
            (give_up["Condition"], {"export_invocations": limit}),
        ]
    )
    assert results == [True, False, False, True]


def test_the_lookup_is_refreshed_until_complete_and_at_most_the_configured_times(
    states: dict[str, dict[str, Any]],
) -> None:
    limit = OrchestrationConfig().max_lookup_invocations
    refresh, decide = states["Refresh lookup"], states["Lookup loaded?"]
    assert refresh["Arguments"]["FunctionName"].endswith(f":function:{LOADER_FUNCTION}")
    assert refresh["Arguments"]["Payload"] == {"lake_bucket": "${ImportValue:cdp-dev-lake-bucket-name}"}
    LoadRequest.model_validate({"lake_bucket": "cdp-dev-lake-123456789012"})  # what the import resolves to
    assert states["Name the run"]["Assign"]["lookup_invocations"] == 0
    assert evaluate(refresh["Assign"]["lookup_invocations"], lookup_invocations=2) == 3
    done, give_up = decide["Choices"]
    assert (done["Next"], give_up["Next"], decide["Default"]) == (
        "Run complete",
        "Lookup incomplete",
        "Refresh lookup",
    )
    results = evaluate_many(
        [
            (done["Condition"], {"states": {"input": {"loaded": 10, "complete": True}}}),
            (done["Condition"], {"states": {"input": {"loaded": 10, "complete": False}}}),
            (done["Condition"], {"states": {"input": {}}}),
            (give_up["Condition"], {"lookup_invocations": limit - 1}),
            (give_up["Condition"], {"lookup_invocations": limit}),
            (states["Lookup incomplete"]["Output"], {"run_id": "r-1"}),
        ]
    )
    assert results[:5] == [True, False, False, False, True]
    assert (results[5]["error"], results[5]["run_id"]) == ("LookupRefreshIncomplete", "r-1")


def test_outputs_evaluate_without_undefined_fields(states: dict[str, dict[str, Any]]) -> None:
    glue = evaluate(
        states["Standardize"]["Output"],
        run_id="r-1",
        states={"result": {"Id": "jr_1", "JobRunState": "SUCCEEDED", "ExecutionTime": 312}},
    )
    assert glue == {
        "run_id": "r-1",
        "job_name": "cdp-dev-standardize",
        "job_run_id": "jr_1",
        "execution_seconds": 312,
    }
    complete = evaluate(states["Run complete"]["Output"], run_id="r-1", states={"input": {"complete": True}})
    assert complete == {"run_id": "r-1", "lookup": {"complete": True}}
    # an error without a cause leaves the key out instead of failing the Catch
    uncaused = evaluate(
        states["Standardize"]["Catch"][0]["Output"], run_id="r-1", states={"errorOutput": {"Error": "E"}}
    )
    assert uncaused == {"run_id": "r-1", "state": "Standardize", "error": "E"}
    assert evaluate("{% $states.input.nothing %}", states={"input": {}}) is UNDEFINED


# -- the role ---------------------------------------------------------------------------------------------


def test_the_role_runs_the_named_jobs_invokes_the_two_functions_and_nothing_else(
    orchestration: Template,
) -> None:
    role_id = logical_id(orchestration, "AWS::IAM::Role", "PipelineStateMachineRole")
    role = of_type(orchestration, "AWS::IAM::Role")[role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(orchestration, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    by_action: dict[str, list[Any]] = {}
    for statement in policy:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, action  # no wildcard actions
            by_action.setdefault(action, []).extend(as_list(statement["Resource"]))
    services = {action.split(":")[0] for action in by_action}
    assert services == {"glue", "lambda", "sns", "kms", "logs", "xray"}  # no s3, no iam, no states
    jobs = [
        "cdp-dev-standardize",
        "cdp-dev-resolve-identities",
        "cdp-dev-build-profiles",
        "cdp-dev-evaluate-segments",
    ]
    job_arns = [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":glue:", {"Ref": "AWS::Region"}, ":",
                           {"Ref": "AWS::AccountId"}, f":job/{job}"]]}
        for job in jobs
    ]  # fmt: skip
    for action in ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"):
        assert sorted(map(json.dumps, by_action[action])) == sorted(map(json.dumps, job_arns)), action
    assert {a for a in by_action if a.startswith("glue:")} == {
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    }
    invoked = {json.dumps(resource) for resource in by_action.pop("lambda:InvokeFunction")}
    assert all(
        "cdp-dev-export-function-name" in r or "cdp-dev-lookup-loader-function-name" in r for r in invoked
    )
    assert len(invoked) == 4  # each function and its versions (":*")
    [topic] = by_action["sns:Publish"]
    assert topic == {"Ref": logical_id(orchestration, "AWS::SNS::Topic", "AlarmsTopic")}
    [kms] = [s for s in policy if s.get("Sid") == "PublishToTheEncryptedAlarmTopic"]
    assert (sorted(as_list(kms["Action"])), kms["Resource"]) == (["kms:Decrypt", "kms:GenerateDataKey"], KEY)
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Join": ["", ["sns.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }
    anywhere = {a for a, resources in by_action.items() if "*" in resources}
    assert anywhere
    assert all(a.startswith(("logs:", "xray:")) for a in anywhere)  # no resource-level form for these


# -- the schedule and the alarms ------------------------------------------------------------------------


def test_the_schedule_starts_the_state_machine_daily_at_two_in_the_business_time_zone(
    orchestration: Template,
) -> None:
    [schedule] = of_type(orchestration, "AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["Name"] == STATE_MACHINE
    assert (properties["ScheduleExpression"], properties["ScheduleExpressionTimezone"]) == (
        "cron(0 2 * * ? *)",
        "Asia/Bangkok",
    )
    assert properties["State"] == "ENABLED"
    assert properties["KmsKeyArn"] == KEY
    target = properties["Target"]
    machine_id = logical_id(orchestration, "AWS::StepFunctions::StateMachine", "PipelineStateMachine")
    assert target["Arn"] == {"Ref": machine_id}
    assert json.loads(target["Input"]) == {"trigger": "schedule"}  # no run_id: the execution derives one
    queue_id = logical_id(orchestration, "AWS::SQS::Queue", "TriggerDeadLetters")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert of_type(orchestration, "AWS::SQS::Queue")[queue_id]["Properties"]["KmsMasterKeyId"] == KEY
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = of_type(orchestration, "AWS::IAM::Role")[role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [statements] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(orchestration, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    grants = {(action, json.dumps(s["Resource"])) for s in statements for action in as_list(s["Action"])}
    assert ("states:StartExecution", json.dumps({"Ref": machine_id})) in grants
    assert {action for action, _ in grants} == {
        "states:StartExecution",
        "sqs:SendMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


def test_a_timed_out_run_and_a_failed_scheduled_start_alarm_on_the_encrypted_topic(
    orchestration: Template,
) -> None:
    topic_id = logical_id(orchestration, "AWS::SNS::Topic", "AlarmsTopic")
    assert of_type(orchestration, "AWS::SNS::Topic")[topic_id]["Properties"]["KmsMasterKeyId"] == KEY
    timed_out = one(orchestration, "AWS::CloudWatch::Alarm", "ExecutionsTimedOut")["Properties"]
    assert (timed_out["Namespace"], timed_out["MetricName"]) == ("AWS/States", "ExecutionsTimedOut")
    machine_id = logical_id(orchestration, "AWS::StepFunctions::StateMachine", "PipelineStateMachine")
    assert timed_out["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}]
    dead_letters = one(orchestration, "AWS::CloudWatch::Alarm", "ScheduleDeadLetters")["Properties"]
    assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
    for alarm in (timed_out, dead_letters):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


# -- configuration --------------------------------------------------------------------------------------


def test_the_schedule_follows_context_pipeline_schedule() -> None:
    def schedule(value: str) -> PipelineSchedule:
        return stage_config(App(context={"stage": "dev", "pipelineSchedule": value}))[
            1
        ].orchestration.schedule

    assert stage_config(App())[1].orchestration.schedule == PipelineSchedule()
    assert schedule("06:30") == PipelineSchedule(expression="cron(30 6 * * ? *)")
    assert schedule("cron(15 1 ? * MON-FRI *)").expression == "cron(15 1 ? * MON-FRI *)"
    assert schedule("rate(12 hours)").expression == "rate(12 hours)"
    assert schedule("off") == PipelineSchedule(enabled=False)
    for bad in ("25:00", "2am", "cron(0 2 * *)", "rate(0 hours)", "at(2026-11-28T02:00:00)", ""):
        with pytest.raises(ContextError, match="pipelineSchedule"):
            schedule(bad)


def test_a_disabled_schedule_is_deployed_disabled_in_the_stages_time_zone() -> None:
    app = App()
    stack = CdpOrchestrationStack(
        app,
        "CdpOrchestration-dev",
        stage="dev",
        data=DataExports.for_stage("dev"),
        jobs=PipelineJobs(standardize="s", resolve="r", profiles="p", segments="g"),
        export_concurrency=2,
        config=OrchestrationConfig(schedule=PipelineSchedule.parse("off"), max_lookup_invocations=3),
        time_zone="Asia/Tokyo",
        log_group_prefix="/cdp/dev/",
        log_retention=stage_config(App())[1].log_retention,
        alarm_email=None,
    )
    template = Template.from_stack(stack)
    [schedule] = of_type(template, "AWS::Scheduler::Schedule").values()
    assert (schedule["Properties"]["State"], schedule["Properties"]["ScheduleExpressionTimezone"]) == (
        "DISABLED",
        "Asia/Tokyo",
    )
    [machine] = of_type(template, "AWS::StepFunctions::StateMachine").values()
    definition = definition_of(machine)
    assert definition["States"]["Export segments"]["MaxConcurrency"] == 2
    assert (
        definition["States"]["Lookup loaded?"]["Choices"][1]["Condition"] == "{% $lookup_invocations >= 3 %}"
    )
    with pytest.raises(ValueError, match="at least 1"):
        OrchestrationConfig(max_export_invocations=0)
