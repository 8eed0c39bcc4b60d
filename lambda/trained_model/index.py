"""Entry points of the ``Custom::CleanRoomsMLTrainedModel`` handler.

The CDK Provider framework calls ``on_event`` once per CloudFormation event and
then ``is_complete`` every 10 seconds until it returns ``IsComplete: True`` or
raises. This module only makes the client (once per container) and dispatches;
the logic is in ``lifecycle``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lifecycle
from aws_client import make_client
from jsonlog import log

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

_client: CleanRoomsMLClient | None = None


def _get_client() -> CleanRoomsMLClient:
    global _client
    if _client is None:
        _client = make_client()
    return _client


def _run(step: str, fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = fn(_get_client(), event)
    except Exception as error:
        log(
            "failed",
            operation=step,
            requestType=event.get("RequestType"),
            logicalResourceId=event.get("LogicalResourceId"),
            reason=str(error),
        )
        raise
    return result


def on_event(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    return _run("on_event", lifecycle.on_event, event)


def is_complete(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    return _run("is_complete", lifecycle.is_complete, event)
