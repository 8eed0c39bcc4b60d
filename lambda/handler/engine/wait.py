"""Waiting for a resource being created, and reporting one that exists (the polls)."""

from __future__ import annotations

from typing import Any

import contract
import faults
from engine.shared import current_ref, describe, require_waiter, stop_step
from engine.types import (
    ABANDONED_KEY,
    ACTION_KEY,
    CREATE_FAILED,
    READY,
    REFRESH,
    STARTED_AT_KEY,
    USABLE,
    WAITER_KEY,
    WAITER_SELF,
    WAITER_START,
    Call,
    Desired,
    Observed,
)
from faults import HandlerError, NotYet
from jsonlog import log
from ownership import Ref


def wait_limit(desired: Desired) -> int:
    """How long the custom resource itself may wait (seconds from ``on_event``)."""
    return min(desired.completion_timeout_seconds, contract.SHORT_PATH_DEADLINE_SECONDS)


def done(observed: Observed, physical_id: str | None = None) -> dict[str, Any]:
    """Complete, with the attributes; ``physical_id`` replaces on_event's (a creation's)."""
    found: dict[str, Any] = {"IsComplete": True, "Data": dict(observed.data)}
    if physical_id is not None:
        found["PhysicalResourceId"] = physical_id
    return found


def wait_for(
    call: Call, desired: Desired, observed: Observed, physical_id: str | None = None
) -> dict[str, Any]:
    """Evaluate one look at a resource being created (``physical_id``: see ``done``)."""
    event, kind = call.event, call.kind
    waiter = event.extra.get(WAITER_KEY)
    started = float(event.extra.get(STARTED_AT_KEY, call.now))
    elapsed = max(0.0, call.now - started)
    log(
        "poll",
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        elapsedSeconds=round(elapsed, 1),
        **event.fields(),
    )
    status = observed.status
    if status == CREATE_FAILED:
        raise HandlerError(
            f"creating {kind.noun} {observed.name!r} ({observed.ref.arn}) failed "
            f"({status}): {observed.details}"
        )
    if status not in USABLE:
        raise HandlerError(
            f"{kind.noun} {observed.name!r} ({observed.ref.arn}) reached {status} while it "
            f"was being created: {observed.details}"
        )
    if waiter == WAITER_START:
        # long path: the stack's waiter follows the resource and signals the WaitCondition
        if not _start_long_wait(call, desired, observed, started):
            return _not_yet(call, desired, observed, elapsed)
        return done(observed, physical_id)
    if status == READY or not desired.wait_for_completion:
        return done(observed, physical_id)
    return _not_yet(call, desired, observed, elapsed)


def _not_yet(call: Call, desired: Desired, observed: Observed, elapsed: float) -> dict[str, Any]:
    if elapsed < wait_limit(desired):
        return {"IsComplete": False}
    if call.event.extra.get(ACTION_KEY) == REFRESH:
        policy = "an update in place: its rollback keeps it as it is"
    elif not call.kind.removable:
        policy = f"a {call.kind.noun} cannot be undone: it goes on"
    elif not desired.destroy:
        policy = "it is left as it is (removal policy retain)"
    elif call.kind.cancellable:
        policy = (
            "if the stack rolls back while it is still being created, it is cancelled "
            "(removal policy destroy)"
        )
    else:
        policy = (
            "its creation cannot be stopped: if the stack rolls back while it runs, the "
            "rollback waits for it to end (within the hour CloudFormation gives it) and "
            "deletes it (removal policy destroy)"
        )
    hint = "Raise completion_timeout or set wait_for_completion=False"
    if call.event.extra.get(WAITER_KEY) == WAITER_SELF:
        hint = (
            "It was replaced because a value known only at deploy time changed (such as "
            "its base model), so its WaitCondition was not renewed and the custom resource "
            "waited itself, which CloudFormation caps at an hour; deploy again once it can "
            "finish within that, or change a property of it (such as its description) "
            "together with the base so that the long path waits"
        )
    raise HandlerError(
        f"timed out after {elapsed:.0f} s waiting for {call.kind.noun} {observed.name!r} "
        f"({observed.ref.arn}); last status {observed.status}; {policy}. {hint}"
    )


def _start_long_wait(call: Call, desired: Desired, observed: Observed, started: float) -> bool:
    """Long path: hand the wait to the stack's waiter; False when it must be tried again."""
    url = desired.wait_handle_url
    if url is None:
        return True
    # the long path's module (http.client, urllib: ~50 ms to import) only when it waits
    import long_wait

    require_waiter(call, desired)
    assert call.start_waiter is not None
    event = call.event
    try:
        call.start_waiter(
            long_wait.execution_name(event.stack_id, event.logical_id, event.request_id, url),
            long_wait.waiter_input(
                call.kind.resource_type,
                observed.ref,
                observed.name,
                url,
                started,
                desired.completion_timeout_seconds,
            ),
        )
    except Exception as error:
        if faults.is_transient(error):
            log("waiter-start-retry", errorCode=faults.error_code(error), **event.fields())
            return False
        raise HandlerError(
            f"starting the waiter for {call.kind.noun} {observed.ref.arn} failed "
            f"({faults.error_code(error)}): {faults.service_message(error)} - the handler's "
            "role needs states:StartExecution on the stack's LongWaiter state machine"
        ) from error
    return True


def poll_wait(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    observed = describe(call, current_ref(call))
    if observed is None:
        raise HandlerError(
            f"waiting for {call.kind.noun} {call.event.physical_id} failed "
            "(ResourceNotFoundException): it does not exist any more (deleted outside "
            "CloudFormation?) - deploy again to create it anew"
        )
    return wait_for(call, desired, observed)


def poll_refresh(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    observed = describe(call, current_ref(call))
    if observed is None:
        raise HandlerError(f"{call.kind.noun} {call.event.physical_id} no longer exists")
    started = float(call.event.extra.get(STARTED_AT_KEY, call.now))
    waiting = call.event.extra.get(WAITER_KEY) == WAITER_START
    if waiting and not _start_long_wait(call, desired, observed, started):
        return {"IsComplete": False}
    if not _abandoned_stopped(call, started):
        return {"IsComplete": False}
    if desired.wait_for_completion and desired.wait_handle_url is None and observed.status != READY:
        # short path: an update that turns waiting on (or finds it still being created)
        # waits as a create does: whatever uses it next is deployed after it is ready
        return wait_for(call, desired, observed)
    return done(observed)


def _abandoned_stopped(call: Call, started: float) -> bool:
    """Whether the failed replacements this rollback stops (``ABANDONED_KEY``) are
    stopped; after the custom resource's own hour it gives up on them (saying so), so
    that a best-effort cleanup never fails the rollback."""
    left = []
    for physical_id in call.event.extra.get(ABANDONED_KEY) or []:
        ref = call.kind.parse_physical_id(str(physical_id))
        if not isinstance(ref, Ref):
            continue
        try:
            observed = describe(call, ref)
        except NotYet:
            return False
        except HandlerError as error:
            log("stop-failed", reason=str(error), physicalResourceId=ref.physical_id)
            continue
        if observed is not None and not stop_step(call, observed, False):
            left.append(observed)
    if left and call.now - started >= contract.SHORT_PATH_DEADLINE_SECONDS:
        for observed in left:
            log(
                "left-running",
                reason="it did not stop within the hour CloudFormation gives a rollback",
                physicalResourceId=observed.ref.physical_id,
                status=observed.status,
                **call.event.fields(),
            )
        return True
    return not left
