"""Entry points of the ``Custom::CleanRoomsMLTrainedModel`` handler.

The CDK Provider framework calls ``on_event`` once per CloudFormation event and
then ``is_complete`` every 10 seconds until it returns ``IsComplete: True`` or
raises. ``long_wait_poll`` is a step of the long path's waiter (a Step
Functions state machine) for waits over an hour. This module only makes the
clients (once per container) and dispatches; the logic is in ``lifecycle`` and
``long_wait``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import contract
import lifecycle
import long_wait
from aws_client import make_client
from jsonlog import log

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

_client: CleanRoomsMLClient | None = None
_sfn: Any = None


def _get_client() -> CleanRoomsMLClient:
    global _client
    if _client is None:
        _client = make_client()
    return _client


def _start_waiter(name: str, payload: Mapping[str, Any]) -> None:
    global _sfn
    if _sfn is None:
        import boto3

        _sfn = boto3.client("stepfunctions")
    long_wait.start_waiter(_sfn, os.environ[contract.LONG_WAITER_ARN_ENV], name, payload)


def _run(step: str, fn: Callable[[], dict[str, Any]], event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return fn()
    except Exception as error:
        log(
            "failed",
            operation=step,
            requestType=event.get("RequestType"),
            logicalResourceId=event.get("LogicalResourceId"),
            reason=str(error),
        )
        raise


def _starter() -> Callable[[str, Mapping[str, Any]], None] | None:
    """The long path's waiter starter, when the stack has a waiter."""
    return _start_waiter if os.environ.get(contract.LONG_WAITER_ARN_ENV) else None


def on_event(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    return _run(
        "on_event",
        lambda: lifecycle.on_event(_get_client(), event, start_waiter=_starter()),
        event,
    )


def is_complete(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler (it starts the long path's waiter)."""
    return _run(
        "is_complete",
        lambda: lifecycle.is_complete(_get_client(), event, start_waiter=_starter()),
        event,
    )


def long_wait_poll(event: dict[str, Any], context: object) -> dict[str, Any]:
    """One step of the long path's waiter state machine (input: its state)."""
    return _run("long_wait_poll", lambda: long_wait.poll(_get_client(), event, time.time()), event)


__all__ = ["is_complete", "long_wait_poll", "on_event"]
