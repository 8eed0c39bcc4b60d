"""Where the handler's logs go, how long they stay, and what they may contain.

The Provider framework's functions log each whole event, properties included
(hyperparameters, environment values): their application log level must stay
above INFO. The waiter state machines must log no execution data. The handler's
own log lines are tested in test_handler.py (redaction)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicies, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_cleanrooms_ml import HandlerLogs, TrainedModel, ValidationError
from helpers import new_stack, valid_props

QUIET_LEVELS = {"WARN", "ERROR", "FATAL"}


def _resources(stack: Stack, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = dict(Template.from_stack(stack).find_resources(kind))
    return found


def _log_group(stack: Stack) -> dict[str, Any]:
    (group,) = _resources(stack, "AWS::Logs::LogGroup").values()
    found: dict[str, Any] = group
    return found


@pytest.mark.parametrize("timeout", [None, Duration.hours(3)], ids=["short", "long path"])
def test_framework_functions_log_above_info_and_state_machines_log_no_data(
    timeout: Duration | None,
) -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(completion_timeout=timeout))
    functions = _resources(stack, "AWS::Lambda::Function")
    framework = {
        name: f["Properties"]
        for name, f in functions.items()
        if f["Properties"]["Handler"].startswith("framework.")
    }
    assert len(framework) == 3  # onEvent, isComplete, onTimeout
    for name, properties in framework.items():
        assert properties["LoggingConfig"]["ApplicationLogLevel"] in QUIET_LEVELS, name
    machines = _resources(stack, "AWS::StepFunctions::StateMachine")
    assert len(machines) == (2 if timeout else 1)
    for name, machine in machines.items():
        logging = machine["Properties"].get("LoggingConfiguration")
        assert logging is None or logging.get("IncludeExecutionData") is False, name


def test_the_log_group_by_default_keeps_a_year_and_outlives_the_stack() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    group = _log_group(stack)
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("order", ["before", "after"])
def test_configure_before_or_after_the_first_construct(order: str) -> None:
    stack = new_stack()
    if order == "after":
        TrainedModel(stack, "Model", **valid_props())
    HandlerLogs.configure(
        stack, retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
    )
    if order == "before":
        TrainedModel(stack, "Model", **valid_props())
    group = _log_group(stack)
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Delete"
    assert group["UpdateReplacePolicy"] == "Delete"


@pytest.mark.parametrize("order", ["before", "after"])
def test_never_expire_and_one_setting_at_a_time(order: str) -> None:
    stack = new_stack()
    if order == "after":
        TrainedModel(stack, "Model", **valid_props())
    HandlerLogs.configure(stack, removal_policy=RemovalPolicy.DESTROY)
    HandlerLogs.configure(stack, retention=logs.RetentionDays.INFINITE)
    if order == "before":
        TrainedModel(stack, "Model", **valid_props())
    group = _log_group(stack)
    assert "RetentionInDays" not in group.get("Properties", {})
    assert group["DeletionPolicy"] == "Delete"  # the earlier call's choice stays


def test_removal_policies_of_the_stack_reach_the_log_group() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    RemovalPolicies.of(stack).destroy()
    assert _log_group(stack)["DeletionPolicy"] == "Delete"


def test_wrong_arguments_are_named_all_at_once() -> None:
    stack = new_stack()
    with pytest.raises(ValidationError) as raised:
        HandlerLogs.configure(stack, retention=30, removal_policy="destroy")  # type: ignore[arg-type]
    failures = raised.value.failures
    assert failures[0].startswith("retention: 30 (an int) is not a RetentionDays")
    assert failures[1].startswith("removal_policy: 'destroy' (a string) is not a RemovalPolicy")
    assert "use RemovalPolicy.DESTROY" in failures[1]
    with pytest.raises(ValidationError, match="SNAPSHOT is not supported"):
        HandlerLogs.configure(stack, removal_policy=RemovalPolicy.SNAPSHOT)
    with pytest.raises(ValidationError) as raised:
        HandlerLogs.configure("Test")  # type: ignore[arg-type]
    assert raised.value.construct_path == "(no scope)"
    assert raised.value.failures[0].startswith("scope: 'Test' (a string) is not a construct")
