"""cdk-nag findings the constructs cannot fix, acknowledged where they arise, with reasons.

Each finding is ``(rule and finding, reason)``, such as
``("IAM5[Resource::*]", "why it must be so")``. Both cdk-nag generations are served:

- cdk-nag 3 (a validation plugin, ``Validations.of(app).add_plugins(...)``) reads
  acknowledgments made with ``Validations.of(scope).acknowledge`` on a scope;
- cdk-nag 2 (an aspect, ``Aspects.of(app).add(AwsSolutionsChecks())``) reads
  ``cdk_nag.rules_to_suppress`` metadata on the very CloudFormation resource that
  has the finding: ``{"id": "AwsSolutions-IAM5", "reason": ..., "applies_to":
  ["Resource::*"]}``. It must be written before aspects run, as plain values.

Each ignores the other's form, so both are written.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any, Final

from aws_cdk import Acknowledgment, CfnResource, Validations
from aws_cdk import aws_iam as iam

from constructs import IConstruct

_FINDING: Final = re.compile(r"(?P<rule>[A-Za-z0-9]+)(?:\[(?P<applies_to>.*)\])?")

_SUPPRESSIONS: weakref.WeakKeyDictionary[CfnResource, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
"""What each resource's ``cdk_nag`` metadata holds (written whole each time: one call)."""


def policy_resource(role: IConstruct) -> CfnResource:
    """The ``AWS::IAM::Policy`` of a role's ``DefaultPolicy`` (it must exist).

    The one ``CfnPolicy`` below the role: ``node.find_all`` is two kernel round trips,
    where ``find_child("DefaultPolicy").node.default_child`` is four."""
    (found,) = [c for c in role.node.find_all() if isinstance(c, iam.CfnPolicy)]
    return found


def acknowledgments(findings: Sequence[tuple[str, str]]) -> list[Acknowledgment]:
    """AwsSolutions ``findings`` as cdk-nag 3 acknowledgments (structs: no kernel call)."""
    return [
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
        for finding, reason in findings
    ]


def acknowledge(
    scope: IConstruct,
    findings: Sequence[tuple[str, str]],
    resources: Sequence[CfnResource] = (),
) -> None:
    """Acknowledge AwsSolutions ``findings`` on ``scope`` (cdk-nag 3), and suppress them
    on each of ``resources``, the resources that carry them (cdk-nag 2)."""
    Validations.of(scope).acknowledge(*acknowledgments(findings))
    for resource in resources:
        suppress(resource, findings)


def suppress(resource: CfnResource, findings: Sequence[tuple[str, str]]) -> None:
    """cdk-nag 2: suppress ``findings`` on ``resource`` (merged with earlier ones).

    ``IAM5[Resource::*]`` becomes rule ``AwsSolutions-IAM5`` applying to exactly
    ``Resource::*``; a finding without brackets (``SF1``) suppresses the rule on
    this resource."""
    rules = _SUPPRESSIONS.setdefault(resource, [])
    changed = False
    for finding, reason in findings:
        match = _FINDING.fullmatch(finding)
        if match is None:
            raise ValueError(f"not a cdk-nag finding: {finding!r}")
        rule_id = f"AwsSolutions-{match['rule']}"
        applies_to = match["applies_to"]
        entry = next((r for r in rules if r["id"] == rule_id and r["reason"] == reason), None)
        if entry is None:
            entry = {"id": rule_id, "reason": reason}
            rules.append(entry)
            changed = True
        if applies_to is not None and applies_to not in entry.setdefault("applies_to", []):
            entry["applies_to"].append(applies_to)
            changed = True
    if changed:
        resource.add_metadata("cdk_nag", {"rules_to_suppress": rules})
