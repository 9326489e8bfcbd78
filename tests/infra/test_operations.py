"""Operations across every synthesized stack: each dead-letter queue, function, Glue job and HTTP API is
alarmed, every log group keeps its logs for a set time, every function and job carries the stage its
metrics are filed under; and the operations stack's dashboard shows what issue 10 asks of it.

The coverage tests are generic on purpose: they find the resources in the templates (a queue is a
dead-letter queue when something dead-letters into it), so a stack added later is held to the same rules
without a line changed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.components.alarms import AlarmThresholds, ApiErrorRates
from infra.components.lookup_alarms import LookupAlarmThresholds
from infra.components.operations import DELIVERY_OUTCOMES
from infra.stacks.operations import GLUE_STEPS
from tests.infra.conftest import SynthesizedApp, as_list

STAGE = "dev"
#: keys under which a resource names the queue it dead-letters into (Lambda, EventBridge rule targets,
#: EventBridge Scheduler targets, SQS redrive, async-invoke destinations, SNS subscriptions)
DEAD_LETTER_KEYS = {"DeadLetterConfig", "RedrivePolicy", "OnFailure", "deadLetterTargetArn"}


@pytest.fixture(scope="module")
def stacks(dev_app: SynthesizedApp) -> dict[str, Template]:
    """stack name (``cdp-dev-…``) -> template, every stack of the app."""
    app = dev_app.data_stack.node.scope
    assert app is not None
    return {
        child.stack_name: Template.from_stack(child)
        for child in app.node.children
        if isinstance(child, Stack)
    }


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(resource_type)
    return found


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def referenced(value: Any, candidates: set[str]) -> set[str]:
    """Logical ids of ``candidates`` that ``value`` refers to (Ref or GetAtt)."""
    found = set()
    for node in walk(value):
        if isinstance(node, dict):
            if node.get("Ref") in candidates:
                found.add(node["Ref"])
            attribute = node.get("Fn::GetAtt")
            if isinstance(attribute, list) and attribute[0] in candidates:
                found.add(attribute[0])
    return found


def dead_letter_queues(template: Template) -> set[str]:
    queues = set(resources(template, "AWS::SQS::Queue"))
    found: set[str] = set()
    for resource in template.to_json()["Resources"].values():
        for node in walk(resource.get("Properties", {})):
            if not isinstance(node, dict):
                continue
            for key, value in node.items():
                if key in DEAD_LETTER_KEYS:
                    found |= referenced(value, queues)
            # a function that dead-letters by itself (the export's failed changes) names it in its environment
            for name, value in node.get("Variables", {}).items():
                if "DEAD_LETTER" in name:
                    found |= referenced(value, queues)
    return found


def alarms(template: Template) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()]


def metric_alarms(template: Template, namespace: str, metric: str) -> list[dict[str, Any]]:
    return [a for a in alarms(template) if (a.get("Namespace"), a.get("MetricName")) == (namespace, metric)]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    [value] = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == name]
    return value


# -- every resource alarmed -------------------------------------------------------------------------


def test_every_dead_letter_queue_pages_when_anything_waits_in_it(stacks: dict[str, Template]) -> None:
    total = 0
    for name, template in stacks.items():
        watched = {
            dimension(a, "QueueName")["Fn::GetAtt"][0]
            for a in metric_alarms(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
            if a["Threshold"] <= 1 and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        }
        unwatched = dead_letter_queues(template) - watched
        assert not unwatched, f"{name}: dead-letter queues without a depth alarm: {sorted(unwatched)}"
        total += len(dead_letter_queues(template))
    # ingest, import function, upload rule, export, segment-changes redrive (and any stack added since)
    assert total >= 5


def test_every_function_pages_on_errors_and_throttles(stacks: dict[str, Template]) -> None:
    total = 0
    for name, template in stacks.items():
        functions = set(resources(template, "AWS::Lambda::Function"))
        for metric in ("Errors", "Throttles"):
            watched = {
                dimension(a, "FunctionName")["Ref"]
                for a in metric_alarms(template, "AWS/Lambda", metric)
                if a["Threshold"] <= 1
            }
            assert not functions - watched, (
                f"{name}: functions without a {metric} alarm: {functions - watched}"
            )
        total += len(functions)
    assert total >= 5  # ingest, import, lookup, loader, export


def test_every_glue_job_reports_a_failed_or_timed_out_run_to_an_alarm_topic(
    stacks: dict[str, Template],
) -> None:
    jobs = {
        job["Properties"]["Name"]: name
        for name, template in stacks.items()
        for job in resources(template, "AWS::Glue::Job").values()
    }
    assert len(jobs) >= 5  # import-file and the four pipeline steps
    reported: set[str] = set()
    for template in stacks.values():
        topics = set(resources(template, "AWS::SNS::Topic"))
        for rule in resources(template, "AWS::Events::Rule").values():
            properties = rule["Properties"]
            pattern = properties.get("EventPattern", {})
            if pattern.get("detail-type") != ["Glue Job State Change"]:
                continue
            assert {"FAILED", "TIMEOUT"} <= set(pattern["detail"]["state"])
            assert any(referenced(target["Arn"], topics) for target in properties["Targets"])
            reported |= set(pattern["detail"]["jobName"])
    assert not set(jobs) - reported, f"Glue jobs no failure rule reports: {sorted(set(jobs) - reported)}"


def test_every_http_api_pages_on_its_5xx_and_4xx_rates(stacks: dict[str, Template]) -> None:
    total = 0
    for name, template in stacks.items():
        apis = set(resources(template, "AWS::ApiGatewayV2::Api"))
        for api in apis:
            rates = {}
            for alarm in alarms(template):
                queries = alarm.get("Metrics", [])
                metrics = {
                    q["MetricStat"]["Metric"]["MetricName"]
                    for q in queries
                    if "MetricStat" in q and referenced(q["MetricStat"]["Metric"]["Dimensions"], {api})
                }
                [expression] = [q["Expression"] for q in queries if "Expression" in q] or [None]
                for kind in ("5xx", "4xx"):
                    if metrics == {kind, "Count"} and expression and "/" in expression:
                        rates[kind] = alarm["Threshold"]
            assert set(rates) == {"5xx", "4xx"}, f"{name}: API {api} lacks a rate alarm: {rates}"
            assert all(0 < threshold < 1 for threshold in rates.values())
        total += len(apis)
    assert total >= 2  # ingestion, lookup


def test_every_alarm_says_why_and_notifies_on_alarm_and_recovery(stacks: dict[str, Template]) -> None:
    for name, template in stacks.items():
        for alarm in alarms(template):
            assert alarm.get("AlarmActions"), (name, alarm.get("AlarmDescription"))
            assert alarm.get("OKActions"), (name, alarm.get("AlarmDescription"))
            assert len(alarm.get("AlarmDescription", "")) > 20, name
            assert alarm["TreatMissingData"] == "notBreaching"


def test_the_rate_alarms_read_the_thresholds_and_ignore_quiet_periods(stacks: dict[str, Template]) -> None:
    ingestion = AlarmThresholds().api_error_rates
    lookup = LookupAlarmThresholds().api_error_rates
    for stack, rates in (("cdp-dev-ingestion", ingestion), ("cdp-dev-serving", lookup)):
        found = {}
        for alarm in alarms(stacks[stack]):
            for query in alarm.get("Metrics", []):
                if "Expression" in query:
                    found[alarm["Threshold"]] = query["Expression"]
        assert set(found) >= {rates.server_error_rate, rates.client_error_rate}, stack
        assert all(f">= {rates.min_requests}," in expression for expression in found.values())
    assert lookup.client_error_rate > ingestion.client_error_rate  # unknown profiles are a lookup's 404s
    for bad in ({"server_error_rate": 0}, {"client_error_rate": 1.5}, {"min_requests": 0}):
        with pytest.raises(ValueError):
            ApiErrorRates(**bad)  # type: ignore[arg-type]


# -- logs kept for a set time ------------------------------------------------------------------------


def test_every_log_group_has_a_retention_and_every_function_and_job_logs_into_one(
    stacks: dict[str, Template],
) -> None:
    for name, template in stacks.items():
        groups = resources(template, "AWS::Logs::LogGroup")
        for group_id, group in groups.items():
            assert group["Properties"].get("RetentionInDays"), f"{name}: {group_id} keeps logs forever"
        assert not resources(template, "Custom::LogRetention"), name  # set on the group, not after
        for function_id, function in resources(template, "AWS::Lambda::Function").items():
            # without a log group of its own a function logs to /aws/lambda/<name>, kept forever
            target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            assert referenced(target, set(groups)), f"{name}: {function_id} logs to a default group"
        names = {g["Properties"].get("LogGroupName") for g in groups.values()}
        for job in resources(template, "AWS::Glue::Job").values():
            arguments = job["Properties"]["DefaultArguments"]
            prefix = arguments["--custom-logGroup-prefix"]
            assert {f"{prefix}/output", f"{prefix}/error"} <= names, (name, prefix)
            if arguments.get("--enable-continuous-cloudwatch-log") == "true":
                assert arguments.get("--continuous-log-logGroup") in names, (name, prefix)
        for machine in resources(template, "AWS::StepFunctions::StateMachine").values():
            destinations = machine["Properties"]["LoggingConfiguration"]["Destinations"]
            assert all(referenced(d, set(groups)) for d in destinations), name


# -- the stage dimension -------------------------------------------------------------------------------


def test_every_function_and_glue_job_files_its_metrics_under_the_stage(stacks: dict[str, Template]) -> None:
    for name, template in stacks.items():
        for function in resources(template, "AWS::Lambda::Function").values():
            assert function["Properties"]["Environment"]["Variables"]["CDP_STAGE"] == STAGE, name
        for job in resources(template, "AWS::Glue::Job").values():
            assert job["Properties"]["DefaultArguments"]["--stage"] == STAGE, name


def test_pipeline_jobs_may_put_metric_data_in_their_namespaces_only(stacks: dict[str, Template]) -> None:
    pipeline = stacks["cdp-dev-pipeline"]
    policies = resources(pipeline, "AWS::IAM::Policy").values()
    for job in resources(pipeline, "AWS::Glue::Job").values():
        properties = job["Properties"]
        role = properties["Role"]["Fn::GetAtt"][0]
        statements = [
            s
            for p in policies
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if "cloudwatch:PutMetricData" in as_list(s["Action"])
        ]
        namespaces = {
            n for s in statements for n in as_list(s["Condition"]["StringEquals"]["cloudwatch:namespace"])
        }
        expected = set()
        if properties["DefaultArguments"].get("--metrics_namespace"):
            expected.add(properties["DefaultArguments"]["--metrics_namespace"])
        if properties["DefaultArguments"].get("--enable-metrics") == "true":
            expected.add("Glue")
        assert namespaces == expected, properties["Name"]
        assert all(s["Resource"] == "*" and s["Action"] == "cloudwatch:PutMetricData" for s in statements)
    steps = {
        job["Properties"]["Name"]
        for job in resources(pipeline, "AWS::Glue::Job").values()
        if job["Properties"]["DefaultArguments"].get("--metrics_namespace") == "CDP"
    }
    assert steps == {
        f"cdp-dev-{job}"
        for job in ("standardize", "resolve-identities", "build-profiles", "evaluate-segments")
    }


# -- the dashboard -------------------------------------------------------------------------------------


def dashboard_body(stacks: dict[str, Template]) -> dict[str, Any]:
    """The dashboard's JSON, each CloudFormation reference replaced by ``<stack>:<logical id>`` of the
    resource it resolves to (``Fn::GetStackOutput`` followed into the producing stack's outputs)."""
    [dashboard] = resources(stacks["cdp-dev-operations"], "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]

    def resolve(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Fn::GetStackOutput" in part:
            output = part["Fn::GetStackOutput"]
            value = stacks[output["StackName"]].to_json()["Outputs"][output["OutputName"]]["Value"]
            target = value.get("Ref") or value["Fn::GetAtt"][0]
            return f"{output['StackName']}:{target}"
        if "Ref" in part:
            return f"<{part['Ref']}>"
        raise AssertionError(f"unexpected reference {part}")

    loaded: dict[str, Any] = json.loads("".join(resolve(part) for part in parts))
    return loaded


@pytest.fixture(scope="module")
def dashboard(stacks: dict[str, Template]) -> dict[str, list[list[Any]]]:
    """widget title -> its metrics lines"""
    body = dashboard_body(stacks)
    return {
        widget["properties"]["title"]: widget["properties"]["metrics"]
        for widget in body["widgets"]
        if widget["type"] == "metric"
    }


def custom(metrics: list[list[Any]], name: str) -> list[dict[str, str]]:
    """The dimensions of each ``CDP`` metric ``name`` on a widget."""
    found = []
    for line in metrics:
        if line[:2] == ["CDP", name]:
            fields = [f for f in line[2:] if isinstance(f, str)]
            found.append(dict(zip(fields[::2], fields[1::2], strict=True)))
    return found


def test_the_dashboard_has_the_widgets_issue_10_asks_for(dashboard: dict[str, list[list[Any]]]) -> None:
    titles = " | ".join(dashboard)
    for wanted in (
        "Ingestion rate",
        "API error rates",
        "Pipeline duration",
        "Pipeline failures",
        "Profiles",
        "Merges blocked",
        "Deliveries by outcome",
        "Dead-letter queues",
        "Glue step runtimes",
        "Function errors",
        "Function throttles",
    ):
        assert wanted in titles


def test_ingestion_rate_and_error_rates_read_both_apis(
    dashboard: dict[str, list[list[Any]]], stacks: dict[str, Template]
) -> None:
    rate = dashboard["Ingestion rate (per 5 minutes)"]
    [api] = resources(stacks["cdp-dev-ingestion"], "AWS::ApiGatewayV2::Api")
    assert ["AWS/ApiGateway", "Count", "ApiId", f"cdp-dev-ingestion:{api}"] == rate[0][:4]
    for name in ("EventsAccepted", "EventsRejected", "EventsSuppressed"):
        assert custom(rate, name) == [{"service": "cdp-ingest", "stage": STAGE}]
    errors = dashboard["API error rates (share of requests)"]
    expressions = [line[0]["expression"] for line in errors if isinstance(line[0], dict)]
    assert len(expressions) == 4
    assert all("/" in e for e in expressions)
    apis = {line[3] for line in errors if line[:1] == ["AWS/ApiGateway"]}
    [lookup] = resources(stacks["cdp-dev-serving"], "AWS::ApiGatewayV2::Api")
    assert apis == {f"cdp-dev-ingestion:{api}", f"cdp-dev-serving:{lookup}"}


def test_pipeline_duration_and_failures_read_the_state_machine_and_the_glue_failure_rule(
    dashboard: dict[str, list[list[Any]]], stacks: dict[str, Template]
) -> None:
    arn_suffix = ":stateMachine:cdp-dev-pipeline"
    [duration] = [
        line for line in dashboard["Pipeline duration (state machine, minutes)"] if line[0] == "AWS/States"
    ]
    assert duration[1] == "ExecutionTime"
    assert duration[3].endswith(arn_suffix)
    failures = dashboard["Pipeline failures"]
    assert {line[1] for line in failures if line[0] == "AWS/States"} == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
    }
    [rule_line] = [line for line in failures if line[0] == "AWS/Events"]
    rule_names = {
        r["Properties"].get("Name")
        for r in resources(stacks["cdp-dev-pipeline"], "AWS::Events::Rule").values()
    }
    assert rule_line[3] in rule_names
    # the state machine the dashboard names is the orchestration's
    machines = [
        m["Properties"].get("StateMachineName")
        for t in stacks.values()
        for m in resources(t, "AWS::StepFunctions::StateMachine").values()
    ]
    assert "cdp-dev-pipeline" in machines


def test_profiles_merges_blocked_and_deliveries_read_the_custom_metrics(
    dashboard: dict[str, list[list[Any]]],
) -> None:
    assert custom(dashboard["Profiles"], "Profiles") == [
        {"service": "cdp-pipeline", "stage": STAGE, "step": "profiles"}
    ]
    assert custom(dashboard["Profiles"], "LookupProfiles") == [
        {"service": "cdp-lookup-loader", "stage": STAGE}
    ]
    merges = dashboard["Merges blocked by the identity guards"]
    assert custom(merges, "MergesBlocked") == [{"service": "cdp-pipeline", "stage": STAGE, "step": "resolve"}]
    [search] = [line[0]["expression"] for line in merges if isinstance(line[0], dict)]
    assert search.startswith("SEARCH('{CDP,guard,service,stage,step}")
    assert f'stage="{STAGE}"' in search
    deliveries = custom(dashboard["Deliveries by outcome"], "Deliveries")
    assert [d["outcome"] for d in deliveries] == list(DELIVERY_OUTCOMES)
    assert all(d["service"] == "cdp-export" and d["stage"] == STAGE for d in deliveries)
    runtimes = custom(dashboard["Glue step runtimes (seconds)"], "StepDuration")
    assert [r["step"] for r in runtimes] == list(GLUE_STEPS)


def test_every_dead_letter_queue_and_function_it_shows_is_the_real_one(
    dashboard: dict[str, list[list[Any]]], stacks: dict[str, Template]
) -> None:
    shown_queues = {line[3] for line in dashboard["Dead-letter queues (messages waiting)"]}
    shown_functions = {line[3] for line in dashboard["Function errors"]}
    assert shown_functions == {line[3] for line in dashboard["Function throttles"]}
    for stack in ("cdp-dev-ingestion", "cdp-dev-pipeline", "cdp-dev-serving", "cdp-dev-activation"):
        template = stacks[stack]
        assert {f"{stack}:{q}" for q in dead_letter_queues(template)} <= shown_queues, stack
        assert {f"{stack}:{f}" for f in resources(template, "AWS::Lambda::Function")} <= shown_functions, (
            stack
        )


def test_the_operations_stack_deploys_after_the_stacks_it_reads(dev_app: SynthesizedApp) -> None:
    app = dev_app.data_stack.node.scope
    assert app is not None
    operations = app.node.find_child("CdpOperations-dev")
    assert isinstance(operations, Stack)
    assert operations.stack_name == "cdp-dev-operations"
    depends_on = {stack.stack_name for stack in operations.dependencies}
    assert {"cdp-dev-ingestion", "cdp-dev-pipeline", "cdp-dev-serving", "cdp-dev-activation"} <= depends_on
