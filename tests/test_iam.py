"""The handler role allows exactly the cleanroomsml actions the handler's code calls."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import botocore.session
from aws_cdk import Stack
from aws_cdk.assertions import Template

from cdk_cleanrooms_ml import TrainedModel
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from helpers import new_stack, valid_props

HANDLER = Path(__file__).resolve().parent.parent / "lambda" / "handler"


def _called_operations() -> set[str]:
    """Operation names the handler reaches: ``<...>client.<method>`` (called or passed
    on to be called) and ``get_paginator("<method>")``."""
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    by_method = {botocore.xform_name(name): name for name in model.operation_names}
    found: set[str] = set()
    for path in HANDLER.rglob("*.py"):
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
            ):
                found.add(by_method[str(node.args[0].value)])
    return found


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
        "CancelTrainedModel",
        "DeleteTrainedModelOutput",
        "TagResource",
        "UntagResource",
    }


def test_handler_role_allows_only_what_the_code_calls() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    actions = _handler_actions(stack)
    cleanrooms_ml = {a.split(":", 1)[1] for a in actions if a.startswith("cleanrooms-ml:")}
    assert cleanrooms_ml == _called_operations()
    assert set(actions) - {f"cleanrooms-ml:{op}" for op in cleanrooms_ml} == {
        "cleanrooms:PassMembership",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_only_list_trained_models_has_a_star_resource() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    starred = sorted(a for a, resources in _handler_actions(stack).items() if "*" in resources)
    assert starred == ["cleanrooms-ml:ListTrainedModels"]


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
    assert handler - {f"cleanrooms-ml:{op}" for op in _called_operations()} == {
        "cleanrooms:PassMembership",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "states:StartExecution",
    }
    # the waiter's poll function only reads models
    assert _role_actions(stack, "LongWaitRole") == {
        "cleanrooms-ml:GetTrainedModel",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
