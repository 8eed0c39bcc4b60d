"""One removal policy: every way CDK offers to set one reaches the handler's
``RemovalPolicy`` property together with ``DeletionPolicy``/``UpdateReplacePolicy``,
or is refused with a clear error. A synthesized template never carries a
DeletionPolicy that disagrees with the handler's policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnDeletionPolicy, CfnResource, RemovalPolicies, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

import contract
from cdk_cleanrooms_ml import (
    MLConfiguration,
    MLInputChannel,
    TrainedModel,
    TrainedModelInferenceJob,
)
from helpers import MEMBERSHIP, channel_props, job_props, new_stack, valid_props

KINDS: dict[str, Callable[[Stack, dict[str, Any]], Any]] = {
    "TrainedModel": lambda stack, extra: TrainedModel(stack, "Subject", **valid_props(**extra)),
    "MLInputChannel": lambda stack, extra: MLInputChannel(
        stack, "Subject", **channel_props(**extra)
    ),
    "TrainedModelInferenceJob": lambda stack, extra: TrainedModelInferenceJob(
        stack, "Subject", **job_props(stack, **extra)
    ),
    "MLConfiguration": lambda stack, extra: MLConfiguration(
        stack,
        "Subject",
        membership_identifier=MEMBERSHIP,
        output_bucket=s3.Bucket.from_bucket_name(stack, "Output", "results"),
        **extra,
    ),
}


def _rendered(stack: Stack) -> dict[str, Any]:
    resources = Template.from_stack(stack).to_json()["Resources"]
    (found,) = [r for r in resources.values() if r["Type"].startswith("Custom::CleanRoomsML")]
    return {
        "DeletionPolicy": found.get("DeletionPolicy"),
        "UpdateReplacePolicy": found.get("UpdateReplacePolicy"),
        "handler": found["Properties"].get(contract.REMOVAL_POLICY, contract.REMOVAL_POLICY_RETAIN),
    }


DESTROYED = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "handler": "destroy"}
RETAINED = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "handler": "retain"}


def _default_child(subject: Any) -> CfnResource:
    child = subject.node.default_child
    assert isinstance(child, CfnResource)
    return child


WAYS: dict[str, Callable[[Stack, Any, RemovalPolicy], None]] = {
    "the construct": lambda stack, subject, policy: subject.apply_removal_policy(policy),
    "RemovalPolicies.of(stack).apply": lambda stack, subject, policy: RemovalPolicies.of(
        stack
    ).apply(policy),
    "RemovalPolicies.of(construct).apply": lambda stack, subject, policy: RemovalPolicies.of(
        subject
    ).apply(policy),
    "the custom resource's own": lambda stack, subject, policy: _default_child(
        subject
    ).apply_removal_policy(policy),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_default_is_retain_and_the_prop_reaches_the_handler(kind: str) -> None:
    stack = new_stack()
    KINDS[kind](stack, {})
    assert _rendered(stack) == RETAINED
    stack = new_stack()
    KINDS[kind](stack, {"removal_policy": RemovalPolicy.DESTROY})
    assert _rendered(stack) == DESTROYED


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_way_reaches_the_handler(kind: str, way: str) -> None:
    stack = new_stack()
    subject = KINDS[kind](stack, {})
    WAYS[way](stack, subject, RemovalPolicy.DESTROY)
    assert _rendered(stack) == DESTROYED
    # and back
    stack = new_stack()
    subject = KINDS[kind](stack, {"removal_policy": RemovalPolicy.DESTROY})
    WAYS[way](stack, subject, RemovalPolicy.RETAIN)
    assert _rendered(stack) == RETAINED


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_shorthands_of_removal_policies_reach_the_handler(kind: str) -> None:
    stack = new_stack()
    KINDS[kind](stack, {})
    RemovalPolicies.of(stack).destroy()
    assert _rendered(stack) == DESTROYED
    stack = new_stack()
    KINDS[kind](stack, {"removal_policy": RemovalPolicy.DESTROY})
    RemovalPolicies.of(stack).retain()
    assert _rendered(stack) == RETAINED


def _apply_and_synth(way: str, policy: RemovalPolicy) -> None:
    stack = new_stack()
    subject = KINDS["TrainedModel"](stack, {})
    WAYS[way](stack, subject, policy)
    Template.from_stack(stack)  # an aspect applies it at synth


UNHONOURED = [RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE]


@pytest.mark.parametrize("policy", UNHONOURED)
@pytest.mark.parametrize("way", list(WAYS))
def test_a_policy_the_handler_cannot_honour_is_refused_every_way(
    way: str, policy: RemovalPolicy
) -> None:
    expected = rf"Subject: removal policy {policy.name} is not supported"
    with pytest.raises(Exception, match=expected):
        _apply_and_synth(way, policy)


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_unsupported_policy_as_the_prop_is_a_validation_error(kind: str) -> None:
    from cdk_cleanrooms_ml import ValidationError

    with pytest.raises(ValidationError, match=r"removal_policy: .*SNAPSHOT"):
        KINDS[kind](new_stack(), {"removal_policy": RemovalPolicy.SNAPSHOT})


def test_a_policy_that_spares_replacements_is_refused() -> None:
    stack = new_stack()
    subject = KINDS["TrainedModel"](stack, {})
    with pytest.raises(Exception, match="must apply to replacements too"):
        _default_child(subject).apply_removal_policy(
            RemovalPolicy.DESTROY, apply_to_update_replace_policy=False
        )


@pytest.mark.parametrize(
    ("deletion", "replace"),
    [
        (CfnDeletionPolicy.DELETE, None),
        (None, CfnDeletionPolicy.DELETE),
        (CfnDeletionPolicy.SNAPSHOT, None),
        (CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE, None),
    ],
)
@pytest.mark.parametrize("kind", ["TrainedModel", "MLInputChannel"])
def test_cfn_options_set_directly_that_disagree_fail_the_synth(
    kind: str, deletion: CfnDeletionPolicy | None, replace: CfnDeletionPolicy | None
) -> None:
    stack = new_stack()
    subject = KINDS[kind](stack, {})
    options = _default_child(subject).cfn_options
    if deletion is not None:
        options.deletion_policy = deletion
    if replace is not None:
        options.update_replace_policy = replace
    with pytest.raises(Exception, match=r"Subject.*disagrees with the handler's removal policy"):
        Template.from_stack(stack)


def test_cfn_options_that_agree_synthesize() -> None:
    stack = new_stack()
    subject = KINDS["TrainedModel"](stack, {"removal_policy": RemovalPolicy.DESTROY})
    options = _default_child(subject).cfn_options
    options.deletion_policy = CfnDeletionPolicy.DELETE
    options.update_replace_policy = CfnDeletionPolicy.DELETE
    assert _rendered(stack) == DESTROYED
