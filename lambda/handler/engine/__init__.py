"""The lifecycle engine: what each CloudFormation event does, for every resource kind.

The Provider framework calls ``on_event`` once per event, then ``is_complete``
every 10 seconds until it is done. Here each request type and each poll action is
one small unit (``engine.create``, ``engine.update``, ``engine.delete``,
``engine.wait``), found through one table (``REQUESTS``, ``POLLS``), so a reader
follows one event sequence of ``cloudformation-event-sequences.md`` through one
place. Resource-specific calls sit behind the narrow ``Kind`` interface.

``on_event`` decides; ``is_complete`` acts and observes:

- **Create**: adopt a live resource of ours with the desired identity (a retried
  delivery; a stack deleted and deployed again after a rolled-back first deploy
  that kept it), refuse a name something else holds, or hand the creation to the
  poll with a pending physical id. Nothing is created before the framework's waiter
  runs, so a waiter that cannot start leaves nothing behind.
- **Update**: in place (tags) when the current resource has the desired identity;
  otherwise go back to a live resource of ours that has it (how a rollback looks:
  never start a training to restore a configuration we have); otherwise a
  replacement, created by the poll.
- **Delete**: only under DESTROY and only a resource of ours: one step now, the
  rest by the poll.
- **Polls**: ``create`` (create or find created, then wait), ``wait`` (until
  ready), ``refresh`` (report attributes), ``delete`` (until gone).

Transient failures (``faults.is_transient``) are tried again in ``on_event`` while
its time budget lasts and are "not yet" in ``is_complete``; a Delete's one-time step
that meets one is handed to the next poll instead (``Step.DEFERRED``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import contract
import faults
from engine.create import on_create, poll_create
from engine.delete import on_delete, poll_delete
from engine.shared import RESOLVED
from engine.types import (
    ACTION_KEY,
    CREATE,
    CREATE_FAILED,
    DEFERRED_STEP_KEY,
    DELETE,
    GONE,
    IN_PROGRESS,
    NONE,
    OPERATION_KEY,
    READY,
    REFRESH,
    STACK_GONE,
    STARTED_AT_KEY,
    STOPPING_KEY,
    TARGET_KEY,
    USABLE,
    WAIT,
    WAITER_KEY,
    WAITER_SELF,
    WAITER_START,
    Call,
    Desired,
    Event,
    Kind,
    Observed,
    StackResource,
    Step,
    Summary,
    WaiterStarter,
)
from engine.update import on_update
from engine.wait import poll_refresh, poll_wait, wait_limit
from faults import HandlerError, NotYet
from identity import PropertyError
from jsonlog import log

REQUESTS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
}
"""What ``on_event`` does, by request type."""

POLLS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    CREATE: poll_create,
    WAIT: poll_wait,
    REFRESH: poll_refresh,
    DELETE: poll_delete,
    NONE: lambda call: {"IsComplete": True},
}
"""What ``is_complete`` does, by the action ``on_event`` chose."""


Table = dict[str, Callable[[Call], dict[str, Any]]]


def on_event(call: Call, requests: Table = REQUESTS) -> dict[str, Any]:
    """The Provider framework's ``onEvent``: decide, and say what the polls do.

    ``requests``: a kind with requests of its own (the ML configuration) passes them.
    """
    event = call.event
    log(
        "on-event",
        physicalResourceId=event.physical_id if event.request_type != "Create" else None,
        **event.fields(),
    )
    handler = requests.get(event.request_type)
    if handler is None:
        raise HandlerError(f"unknown request type {event.request_type!r}")
    return handler(call)


def is_complete(call: Call, polls: Table = POLLS) -> dict[str, Any]:
    """The Provider framework's ``isComplete``: one look (and the step it allows)."""
    action = str(call.event.extra.get(ACTION_KEY, NONE))
    poll = polls.get(action)
    if poll is None:
        raise HandlerError(f"unknown action {action!r}")
    try:
        return poll(call)
    except NotYet as pause:
        return _paused(call, pause)


def _paused(call: Call, pause: NotYet) -> dict[str, Any]:
    """A transient failure while polling: not yet, unless the wait is over."""
    event = call.event
    log("poll-retry", errorCode=faults.error_code(pause.cause), **event.fields())
    if event.request_type == "Delete":
        return {"IsComplete": False}
    started = float(event.extra.get(STARTED_AT_KEY, call.now))
    elapsed = max(0.0, call.now - started)
    try:
        limit = wait_limit(call.kind.parse(event.properties))
    except PropertyError:
        limit = contract.SHORT_PATH_DEADLINE_SECONDS
    if elapsed >= limit:
        raise HandlerError(
            f"timed out after {elapsed:.0f} s waiting for {call.kind.noun} "
            f"{event.physical_id}; the last look failed ({faults.describe(pause.cause)})"
        )
    return {"IsComplete": False}


__all__ = [
    "ACTION_KEY",
    "CREATE",
    "CREATE_FAILED",
    "DEFERRED_STEP_KEY",
    "DELETE",
    "GONE",
    "IN_PROGRESS",
    "NONE",
    "OPERATION_KEY",
    "POLLS",
    "READY",
    "REFRESH",
    "REQUESTS",
    "RESOLVED",
    "STACK_GONE",
    "STARTED_AT_KEY",
    "STOPPING_KEY",
    "TARGET_KEY",
    "USABLE",
    "WAIT",
    "WAITER_KEY",
    "WAITER_SELF",
    "WAITER_START",
    "Call",
    "Desired",
    "Event",
    "Kind",
    "Observed",
    "StackResource",
    "Step",
    "Summary",
    "Table",
    "WaiterStarter",
    "is_complete",
    "on_event",
]
