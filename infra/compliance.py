"""Exceptions to the security scanners, each written next to the resource it concerns, with its reason.

Three scanners read the synthesized templates: cdk-nag AwsSolutions (inside the app, at synth), cfn-lint
and checkov (``tests/infra``). An exception to any of them is a decision, so it must say why in words;
``tests/infra`` reads every one back from the templates and fails on a missing or empty reason.

* cdk-nag 3.x: ``Validations.of(scope).acknowledge(...)`` applies to ``scope`` and everything under it; the
  app enables ``write_suppressions_to_cloud_formation`` so each acknowledgment also lands in the resource's
  ``Metadata.cdk_nag.rules_to_suppress``.
* checkov: ``Metadata.checkov.skip`` entries (``id`` + ``comment``) on the resource.
* cfn-lint: ``Metadata.cfn-lint.config.ignore_checks`` on the resource (cfn-lint has no reason field, so
  the reason is kept beside it under ``Metadata.cfn-lint-reasons``).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def _checked(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"a suppression needs a reason in words, got {reason!r}")
    return reason


def acknowledge_nag(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one cdk-nag finding (``AwsSolutions-IAM5[Resource::…]`` style ids for per-finding rules)."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=_checked(reason)))


def skip_checkov(resource: CfnResource, check: str, reason: str) -> None:
    """Accept one checkov check on one resource."""
    metadata: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check, "comment": _checked(reason)}]
    resource.add_metadata("checkov", metadata)


def ignore_cfn_lint(resource: CfnResource, rule: str, reason: str) -> None:
    """Accept one cfn-lint rule on one resource."""
    config: dict[str, Any] = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    config["config"]["ignore_checks"] = [*config["config"]["ignore_checks"], rule]
    resource.add_metadata("cfn-lint", config)
    reasons: dict[str, str] = resource.get_metadata("cfn-lint-reasons") or {}
    resource.add_metadata("cfn-lint-reasons", {**reasons, rule: _checked(reason)})


def cfn(construct: IConstruct) -> CfnResource:
    """The L1 resource behind an L2 construct."""
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource as its default child")
    return child


def nag_resource(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a resource in a finding id: ``<Logical.Arn>`` for a resource of the same stack, the
    export name for an ``Fn::ImportValue``, the intrinsic as compact JSON otherwise."""
    resolved = Stack.of(scope).resolve(value)
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and isinstance(resolved.get("Fn::ImportValue"), str):
        return str(resolved["Fn::ImportValue"])
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        logical_id, attribute = resolved["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    return json.dumps(resolved, separators=(",", ":"))
