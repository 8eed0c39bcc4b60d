"""Entry points of the Clean Rooms ML handler (one per stack, every resource type).

The CDK Provider framework calls ``on_event`` once per CloudFormation event and
then ``is_complete`` every 10 seconds until it returns ``IsComplete: True`` or
raises. ``long_wait_poll`` is a step of the long path's waiter (a Step Functions
state machine) for waits over an hour, and its last word when a step keeps
failing. This module makes the clients (once per container),
finds the resource kind by ``ResourceType`` and dispatches to ``engine``; every
failure leaves as one bounded, redacted message.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, cast

import attributes
import contract
import engine
import faults
from aws_client import make_client
from jsonlog import log

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

KIND_MODULES: Final = {
    contract.RESOURCE_TYPE: "trained_models",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "ml_input_channels",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "inference_jobs",
    contract.ML_CONFIGURATION_RESOURCE_TYPE: "ml_configurations",
    contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: "trained_model_exports",
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: "audience_models",
    contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: "configured_audience_models",
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: "audience_generation_jobs",
    contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: "audience_exports",
}
"""The module of every resource kind the handler serves, by ``ResourceType``: a
container imports the one its events name (cold start), not all of them. Each
module has ``KIND``; ``secret_values`` where properties hold secrets; ``REQUESTS``
and ``POLLS`` where the kind has a lifecycle of its own (else ``engine``'s)."""
BUDGET_MARGIN_SECONDS: Final = 10.0


def _kind_module(resource_type: object) -> ModuleType | None:
    name = KIND_MODULES.get(str(resource_type))
    return None if name is None else importlib.import_module(name)


def kind_of(resource_type: object) -> engine.Kind | None:
    """The kind that serves ``resource_type`` (None: not one of ours)."""
    module = _kind_module(resource_type)
    return None if module is None else cast(engine.Kind, module.KIND)


def _tables(resource_type: object) -> tuple[engine.Table, engine.Table]:
    """The kind's requests and polls (its own, or ``engine``'s)."""
    module = _kind_module(resource_type)
    if module is not None and hasattr(module, "REQUESTS"):
        return cast(tuple[engine.Table, engine.Table], (module.REQUESTS, module.POLLS))
    return engine.REQUESTS, engine.POLLS


clock: Callable[[], float] = time.time
"""The handler's clock (epoch seconds); tests put a virtual one here, and a ``sleep``
that moves it."""
sleep: Callable[[float], None] = time.sleep

_client: CleanRoomsMLClient | None = None
_sfn: Any = None


def _get_client() -> CleanRoomsMLClient:
    global _client
    if _client is None:
        _client = make_client()
    return _client


def _start_waiter(name: str, payload: Mapping[str, Any]) -> None:
    import long_wait  # the long path's: imported when a waiter starts

    global _sfn
    if _sfn is None:
        _sfn = make_client("stepfunctions")
    long_wait.start_waiter(_sfn, os.environ[contract.LONG_WAITER_ARN_ENV], name, payload)


_cloudformation: Any = None


def _stack_resources(stack_id: str) -> list[engine.StackResource]:
    """The stack's resources as CloudFormation lists them (``ListStackResources``)."""
    global _cloudformation
    if _cloudformation is None:
        _cloudformation = make_client("cloudformation")
    paginator = _cloudformation.get_paginator("list_stack_resources")
    return [
        engine.StackResource(
            logical_id=str(row.get("LogicalResourceId", "")),
            physical_id=str(row.get("PhysicalResourceId", "")),
            status=str(row.get("ResourceStatus", "")),
        )
        for page in paginator.paginate(StackName=stack_id)
        for row in page.get("StackResourceSummaries", [])
    ]


def _stack_operation(stack_id: str) -> str:
    """The operation the stack is in (``DescribeStacks``): its status and when the
    operation began (``engine.STACK_GONE`` once the stack no longer exists)."""
    global _cloudformation
    if _cloudformation is None:
        _cloudformation = make_client("cloudformation")
    try:
        stacks = _cloudformation.describe_stacks(StackName=stack_id).get("Stacks") or []
    except Exception as error:
        if faults.error_code(error) == "ValidationError" and "does not exist" in str(error):
            return engine.STACK_GONE
        raise
    if not stacks or stacks[0].get("StackStatus") == "DELETE_COMPLETE":
        return engine.STACK_GONE
    stack = stacks[0]
    since = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    when = since.isoformat() if hasattr(since, "isoformat") else str(since)
    return f"{stack.get('StackStatus')}@{when}"


def _starter() -> Callable[[str, Mapping[str, Any]], None] | None:
    """The long path's waiter starter, when the stack has a waiter."""
    return _start_waiter if os.environ.get(contract.LONG_WAITER_ARN_ENV) else None


def _secret_values(event: Mapping[str, Any]) -> tuple[str, ...]:
    module = _kind_module(event.get("ResourceType"))
    find = getattr(module, "secret_values", None)
    if find is None:
        return ()
    values: list[str] = []
    for key in ("ResourceProperties", "OldResourceProperties"):
        props = event.get(key)
        if isinstance(props, Mapping):
            values.extend(find(props))
    return tuple(values)


def _run(
    step: str, event: Mapping[str, Any], fn: Callable[[tuple[str, ...]], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``fn``; any failure leaves as one bounded message without secret values."""
    hidden = _secret_values(event)
    with faults.hiding(hidden):
        try:
            return fn(hidden)
        except Exception as error:
            message = faults.bounded(faults.redact(str(error), hidden))
            log(
                "failed",
                operation=step,
                requestType=event.get("RequestType"),
                logicalResourceId=event.get("LogicalResourceId"),
                reason=message,
            )
            raise faults.HandlerError(message) from None


def _call(
    event: Mapping[str, Any], hidden: tuple[str, ...], context: object, polling: bool
) -> engine.Call:
    kind = kind_of(event.get("ResourceType"))
    if kind is None:
        raise faults.HandlerError(f"unknown resource type {event.get('ResourceType')!r}")
    now = clock()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = now + remaining() / 1000 - BUDGET_MARGIN_SECONDS if callable(remaining) else None
    return engine.Call(
        kind=kind,
        client=_get_client(),
        event=engine.Event.from_dict(event),
        now=now,
        polling=polling,
        deadline=deadline,
        start_waiter=_starter(),
        clock=clock,
        sleep=sleep,
        secrets=hidden,
        stack_resources=_stack_resources,
        stack_operation=_stack_operation,
    )


def on_event(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    if event.get("ResourceType") == contract.ATTRIBUTES_RESOURCE_TYPE:
        return attributes.echo(engine.Event.from_dict(event), clock())
    requests, _ = _tables(event.get("ResourceType"))
    return _run(
        "on_event",
        event,
        lambda hidden: engine.on_event(_call(event, hidden, context, False), requests),
    )


def is_complete(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler (it also starts the long path's waiter)."""
    if event.get("ResourceType") == contract.ATTRIBUTES_RESOURCE_TYPE:
        return {"IsComplete": True}
    _, polls = _tables(event.get("ResourceType"))
    return _run(
        "is_complete",
        event,
        lambda hidden: engine.is_complete(_call(event, hidden, context, True), polls),
    )


def long_wait_poll(event: dict[str, Any], context: object) -> dict[str, Any]:
    """One step of the long path's waiter state machine (input: its state).

    With ``failure`` in the state (the state machine caught a poll that kept
    failing) it is the waiter's last step: it signals FAILURE with the reason.
    """
    import long_wait

    if event.get("failure"):
        return _run("long_wait_give_up", {}, lambda _: long_wait.give_up(event, clock()))
    kind = kind_of(event.get("resourceType", contract.RESOURCE_TYPE))
    if kind is None:
        raise faults.HandlerError(f"unknown resource type {event.get('resourceType')!r}")
    return _run("long_wait_poll", {}, lambda _: long_wait.poll(kind, _get_client(), event, clock()))


__all__ = ["is_complete", "long_wait_poll", "on_event"]
