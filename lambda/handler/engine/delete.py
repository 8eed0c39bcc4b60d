"""Delete: only under DESTROY and only what this resource made; its poll."""

from __future__ import annotations

from typing import Any

from engine.shared import answer, current_ref, delete_step, describe, ours, resolve
from engine.types import (
    ACTION_KEY,
    DEFERRED_STEP_KEY,
    DELETE,
    NONE,
    TARGET_KEY,
    Call,
    Desired,
    Step,
)
from identity import PropertyError
from jsonlog import log


def on_delete(call: Call) -> dict[str, Any]:
    event = call.event
    result = answer(str(event.physical_id), NONE, call.now)
    fields = event.fields()
    target = call.kind.parse_physical_id(event.physical_id)
    if target is None:
        log("delete-skipped", reason=f"physical id is not a {call.kind.noun} of ours", **fields)
        return result
    try:
        desired: Desired | None = call.kind.parse(event.properties)
    except PropertyError:
        desired = None  # unreadable properties: never delete on a guess
    if desired is None or not desired.destroy:
        log(
            "retained",
            reason="removal policy retain",
            physicalResourceId=event.physical_id,
            **fields,
        )
        return result
    observed = resolve(call, target)
    if observed is None:
        log("deleted", reason="already gone", physicalResourceId=event.physical_id, **fields)
        return result
    if not ours(observed, event):
        log("delete-skipped", reason="not created by this resource", **fields)
        return result
    step = delete_step(call, observed, first=True)
    log("deleting" if step != Step.DONE else "deleted", status=observed.status, **fields)
    if step == Step.DONE:
        return result
    result[ACTION_KEY] = DELETE
    result[TARGET_KEY] = observed.ref.physical_id
    if step == Step.DEFERRED:
        result[DEFERRED_STEP_KEY] = observed.updated
    return result


def poll_delete(call: Call) -> dict[str, Any]:
    observed = describe(call, current_ref(call))
    if observed is None:
        log("deleted", physicalResourceId=call.event.physical_id, **call.event.fields())
        return {"IsComplete": True}
    # the one-time step, if on_event could not take it and nothing has happened since
    deferred = call.event.extra.get(DEFERRED_STEP_KEY)
    first = deferred is not None and observed.updated == float(deferred)
    step = delete_step(call, observed, first)
    log(
        "poll",
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        **call.event.fields(),
    )
    return {"IsComplete": step == Step.DONE}
