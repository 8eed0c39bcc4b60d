"""The handler role allows exactly the cleanroomsml actions the handler's code calls."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_cleanrooms_ml import (
    AudienceExportJob,
    AudienceGenerationJob,
    AudienceModel,
    ConfiguredAudienceModel,
    MLConfiguration,
    MLInputChannel,
    TrainedModel,
    TrainedModelExportJob,
    TrainedModelInferenceJob,
)
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from helpers import (
    MEMBERSHIP,
    audience_export_props,
    audience_model_props,
    channel_props,
    configured_props,
    generation_props,
    job_props,
    model_export_props,
    new_stack,
    valid_props,
)

HANDLER = Path(__file__).resolve().parent.parent / "lambda" / "handler"


KIND_MODULES = {
    "TrainedModel": "trained_models.py",
    "MLInputChannel": "ml_input_channels.py",
    "TrainedModelInferenceJob": "inference_jobs.py",
    "MLConfiguration": "ml_configurations.py",
    "TrainedModelExportJob": "trained_model_exports.py",
    "AudienceModel": "audience_models.py",
    "ConfiguredAudienceModel": "configured_audience_models.py",
    "AudienceGenerationJob": "audience_generation_jobs.py",
    "AudienceExportJob": "audience_exports.py",
}
# the engine tags what it creates (engine/shared.py); an ML configuration and the
# exports have no tags
TAGGING = {"TagResource", "UntagResource"}
UNTAGGED = {"MLConfiguration", "TrainedModelExportJob", "AudienceExportJob"}


def _called_operations(*paths: Path) -> set[str]:
    """Operation names the code in ``paths`` (default: the whole handler) reaches:
    ``<...>client.<method>`` (called or passed on to be called) and
    ``get_paginator("<method>")``."""
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    by_method = {botocore.xform_name(name): name for name in model.operation_names}
    found: set[str] = set()
    for path in paths or tuple(HANDLER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in by_method:
                target = node.value
                if (isinstance(target, ast.Name) and target.id == "client") or (
                    isinstance(target, ast.Attribute) and target.attr == "client"
                ):
                    found.add(by_method[node.attr])
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_paginator"
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in by_method  # CloudFormation's: see below
            ):
                found.add(by_method[str(node.args[0].value)])
    return found


def _kind_operations(kind: str) -> set[str]:
    own = _called_operations(HANDLER / KIND_MODULES[kind])
    return own if kind in UNTAGGED else own | TAGGING


def _build(stack: Stack, kind: str) -> None:
    if kind == "TrainedModel":
        TrainedModel(stack, "Model", **valid_props())
    elif kind == "MLInputChannel":
        MLInputChannel(stack, "Channel", **channel_props())
    elif kind == "TrainedModelInferenceJob":
        TrainedModelInferenceJob(stack, "Job", **job_props(stack))
    elif kind == "TrainedModelExportJob":
        TrainedModelExportJob(stack, "Export", **model_export_props(stack))
    elif kind == "AudienceModel":
        AudienceModel(stack, "Audience", **audience_model_props())
    elif kind == "ConfiguredAudienceModel":
        ConfiguredAudienceModel(stack, "Configured", **configured_props(stack))
    elif kind == "AudienceGenerationJob":
        AudienceGenerationJob(stack, "Generation", **generation_props(stack))
    elif kind == "AudienceExportJob":
        AudienceExportJob(stack, "AudienceExport", **audience_export_props(stack))
    else:
        MLConfiguration(
            stack,
            "Configuration",
            membership_identifier=MEMBERSHIP,
            output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results"),
        )


def _handler_actions(stack: Stack) -> dict[str, list[Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    actions: dict[str, list[Any]] = {}
    for resource_id, policy in policies.items():
        if not resource_id.startswith(f"{PROVIDER_ID}Role"):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            for action in listed:
                actions.setdefault(action, []).append(statement["Resource"])
    return actions


def test_the_code_calls_the_operations_we_expect() -> None:
    assert _called_operations() == {
        "CreateTrainedModel",
        "GetTrainedModel",
        "ListTrainedModels",
        "ListTrainedModelVersions",  # a base model's versions (ASSUMPTION A2, shared ARN)
        "CancelTrainedModel",
        "DeleteTrainedModelOutput",
        "CreateMLInputChannel",
        "GetMLInputChannel",
        "ListMLInputChannels",
        "DeleteMLInputChannelData",
        "StartTrainedModelInferenceJob",
        "GetTrainedModelInferenceJob",
        "ListTrainedModelInferenceJobs",
        "CancelTrainedModelInferenceJob",
        "PutMLConfiguration",
        "GetMLConfiguration",
        "DeleteMLConfiguration",
        "StartTrainedModelExportJob",
        "ListCollaborationTrainedModelExportJobs",
        "CreateAudienceModel",
        "GetAudienceModel",
        "ListAudienceModels",
        "DeleteAudienceModel",
        "CreateConfiguredAudienceModel",
        "GetConfiguredAudienceModel",
        "ListConfiguredAudienceModels",
        "UpdateConfiguredAudienceModel",
        "DeleteConfiguredAudienceModel",
        "GetConfiguredAudienceModelPolicy",
        "PutConfiguredAudienceModelPolicy",
        "DeleteConfiguredAudienceModelPolicy",
        "StartAudienceGenerationJob",
        "GetAudienceGenerationJob",
        "ListAudienceGenerationJobs",
        "DeleteAudienceGenerationJob",
        "StartAudienceExportJob",
        "ListAudienceExportJobs",
        "TagResource",
        "UntagResource",
    }
    # every operation belongs to exactly one kind's module, or is the engine's tagging,
    # but what an export reads of its model (its membership's collaboration)
    kinds = [_kind_operations(kind) - TAGGING for kind in KIND_MODULES]
    shared = {"GetTrainedModel"}
    assert sum(len(ops - shared) for ops in kinds) == len(_called_operations() - TAGGING - shared)


CREATES = {
    "TrainedModel": {"CreateTrainedModel"},
    "MLInputChannel": {"CreateMLInputChannel"},
    "TrainedModelInferenceJob": {"StartTrainedModelInferenceJob"},
    "MLConfiguration": {"PutMLConfiguration"},
    "TrainedModelExportJob": {
        "StartTrainedModelExportJob",
        "ListCollaborationTrainedModelExportJobs",
    },
    "AudienceModel": {"CreateAudienceModel"},
    "ConfiguredAudienceModel": {
        "CreateConfiguredAudienceModel",
        "UpdateConfiguredAudienceModel",
        "PutConfiguredAudienceModelPolicy",
        "DeleteConfiguredAudienceModelPolicy",
    },
    "AudienceGenerationJob": {"StartAudienceGenerationJob"},
    "AudienceExportJob": {"StartAudienceExportJob", "ListAudienceExportJobs"},
}
"""What only a construct of the kind grants: making one (and what only its updates, or
the waits of a kind a Delete never reads, need)."""
LIFECYCLE_SIDS = {
    "ManageWhatItMade",
    "FindAndDeleteWithoutResourceLevelPermissions",
    "PassMembership",
    "ThisStack",
}
"""Statements every handler role has, whatever the app holds (row 12)."""
# what every handler role needs besides Clean Rooms ML actions
EVERY = {
    "cleanrooms:PassMembership",
    "cloudformation:ListStackResources",  # index._stack_resources
    "cloudformation:DescribeStacks",  # index._stack_operation
}
PASSES_A_ROLE = {
    "MLInputChannel",
    "MLConfiguration",
    "ConfiguredAudienceModel",
    "AudienceGenerationJob",
}
PASSES_A_COLLABORATION = {"TrainedModelExportJob"}
"""Kinds whose calls name a collaboration (an audience generation job's only with a SQL
seed: not the one built here)."""
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def _lifecycle() -> set[str]:
    return _called_operations() - set().union(*CREATES.values())


def test_each_kind_s_module_makes_what_its_construct_grants() -> None:
    for kind, creates in CREATES.items():
        assert creates <= _kind_operations(kind), kind


@pytest.mark.parametrize("kind", list(KIND_MODULES))
def test_handler_role_allows_the_lifecycle_of_every_kind_and_making_only_its_own(
    kind: str,
) -> None:
    stack = new_stack()
    _build(stack, kind)
    actions = _handler_actions(stack)
    cleanrooms_ml = {a.split(":", 1)[1] for a in actions if a.startswith("cleanrooms-ml:")}
    assert cleanrooms_ml == _lifecycle() | CREATES[kind]
    others = set(actions) - {f"cleanrooms-ml:{op}" for op in cleanrooms_ml}
    assert others == (
        EVERY
        | LOGS
        | ({"iam:PassRole"} if kind in PASSES_A_ROLE else set())
        | ({"cleanrooms:PassCollaboration"} if kind in PASSES_A_COLLABORATION else set())
    )


def _lifecycle_statements(stack: Stack) -> list[Any]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return sorted(
        (
            statement
            for resource_id, policy in policies.items()
            if resource_id.startswith(f"{PROVIDER_ID}Role")
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement.get("Sid") in LIFECYCLE_SIDS
        ),
        key=lambda statement: str(statement["Sid"]),
    )


def test_what_a_delete_needs_does_not_depend_on_which_constructs_remain() -> None:
    """Row 12: the policy of the template in force when a removed (or moved) resource's
    cleanup Delete runs is the new one; every kind's lifecycle statements are in every
    handler role, the same whatever the app holds, and name no membership."""
    rendered = []
    for kinds in ([kind] for kind in KIND_MODULES):
        stack = new_stack()
        for kind in kinds:
            _build(stack, kind)
        rendered.append(_lifecycle_statements(stack))
    everything = new_stack()
    for kind in KIND_MODULES:
        _build(everything, kind)
    rendered.append(_lifecycle_statements(everything))
    assert all(statements == rendered[0] for statements in rendered)
    assert {statement["Sid"] for statement in rendered[0]} == LIFECYCLE_SIDS
    assert MEMBERSHIP not in json.dumps(rendered[0])


def test_a_stack_of_every_kind_allows_exactly_what_the_handler_calls() -> None:
    stack = new_stack()
    for kind in KIND_MODULES:
        _build(stack, kind)
    actions = _handler_actions(stack)
    cleanrooms_ml = {a.split(":", 1)[1] for a in actions if a.startswith("cleanrooms-ml:")}
    assert cleanrooms_ml == _called_operations()


def test_only_actions_without_resource_level_permissions_have_a_star_resource() -> None:
    stack = new_stack()
    for kind in KIND_MODULES:
        _build(stack, kind)
    starred = sorted(a for a, resources in _handler_actions(stack).items() if "*" in resources)
    assert starred == [
        "cleanrooms-ml:DeleteMLConfiguration",
        "cleanrooms-ml:GetMLConfiguration",
        "cleanrooms-ml:ListAudienceGenerationJobs",
        "cleanrooms-ml:ListAudienceModels",
        "cleanrooms-ml:ListConfiguredAudienceModels",
        "cleanrooms-ml:ListMLInputChannels",
        "cleanrooms-ml:ListTrainedModelInferenceJobs",
        "cleanrooms-ml:ListTrainedModels",
        "cleanrooms-ml:PutMLConfiguration",
    ]
    # and each of those has '*' as its only resource
    for action in starred:
        assert _handler_actions(stack)[action] == ["*"]


def test_pass_role_is_only_to_clean_rooms_ml() -> None:
    stack = new_stack()
    for kind in KIND_MODULES:
        _build(stack, kind)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    passes = [
        statement
        for resource_id, policy in policies.items()
        if resource_id.startswith(f"{PROVIDER_ID}Role")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "iam:PassRole"
    ]
    assert len(passes) == 1
    assert passes[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}
    }


def _role_actions(stack: Stack, role_prefix: str) -> set[str]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    actions: set[str] = set()
    for resource_id, policy in policies.items():
        if resource_id.startswith(f"{PROVIDER_ID}{role_prefix}"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                actions.update(listed if isinstance(listed, list) else [listed])
    return actions


def test_long_path_roles_allow_only_what_the_code_calls() -> None:
    from aws_cdk import Duration

    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(completion_timeout=Duration.hours(3)))
    sources = "\n".join(p.read_text() for p in HANDLER.rglob("*.py"))
    assert "sfn_client.start_execution(" in sources  # the one Step Functions call
    handler = _role_actions(stack, "Role")
    assert handler - {f"cleanrooms-ml:{op}" for op in _called_operations()} == (
        EVERY | LOGS | {"states:StartExecution"}
    )
    # the waiter's poll function only reads models (a base's: its versions too, A2)
    assert _role_actions(stack, "LongWaitRole") == {
        "cleanrooms-ml:GetTrainedModel",
        "cleanrooms-ml:ListTrainedModelVersions",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_the_handler_asks_cloudformation_only_about_its_own_stack() -> None:
    """The calls outside Clean Rooms ML (``index._stack_resources``: an ML
    configuration's Delete; ``index._stack_operation``: whether a creation is still
    wanted) are ``ListStackResources`` and ``DescribeStacks`` on the handler's own stack."""
    paginators = {
        str(node.args[0].value)
        for path in HANDLER.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_paginator"
        and isinstance(node.args[0], ast.Constant)
    }
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    assert paginators - {botocore.xform_name(n) for n in model.operation_names} == {
        "list_stack_resources"
    }
    sources = (HANDLER / "index.py").read_text()
    assert "_cloudformation.describe_stacks(StackName=stack_id)" in sources
    for kind in KIND_MODULES:
        stack = new_stack()
        _build(stack, kind)
        actions = _handler_actions(stack)
        for action in ("cloudformation:ListStackResources", "cloudformation:DescribeStacks"):
            assert actions[action] == [{"Ref": "AWS::StackId"}]
