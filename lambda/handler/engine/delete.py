"""Delete: only under DESTROY and only what this resource made; its poll."""

from __future__ import annotations

from typing import Any

from engine.shared import (
    answer,
    current_ref,
    delete_step,
    describe,
    has_identity,
    named_as,
    named_like,
    ours,
    resolve,
)
from engine.types import (
    ACTION_KEY,
    DEFERRED_STEP_KEY,
    DELETE,
    NONE,
    STOPPING_KEY,
    TARGET_KEY,
    Call,
    Desired,
    Observed,
    Step,
)
from identity import PropertyError
from jsonlog import log
from ownership import Ref


def _desired(call: Call) -> Desired | None:
    """The Delete's properties, or None when they cannot be read (never delete on a guess)."""
    try:
        return call.kind.parse(call.event.properties)
    except PropertyError:
        return None


def on_delete(call: Call) -> dict[str, Any]:
    event = call.event
    result = answer(str(event.physical_id), NONE, call.now)
    fields = event.fields()
    target = call.kind.parse_physical_id(event.physical_id)
    desired = _desired(call)
    if not call.kind.removable:
        log(
            "retained",
            reason=f"a {call.kind.noun} cannot be undone: nothing to delete",
            physicalResourceId=event.physical_id,
            **fields,
        )
        return result
    if desired is None or not desired.destroy:
        log(
            "retained",
            reason="removal policy retain",
            physicalResourceId=event.physical_id,
            **fields,
        )
        return result
    if target is None:
        return _delete_cancelled_create(call, desired, result)
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


def _delete_cancelled_create(
    call: Call, desired: Desired, result: dict[str, Any]
) -> dict[str, Any]:
    """Row 11: a Delete whose physical id CloudFormation made up.

    CloudFormation cancelled this resource's Create (a sibling failed, or the stack is
    being deleted) before it answered, so the id is its own (``Stack-LogicalId-1XKQ...``)
    and only the ownership tags lead back to what the Create started: this stack's
    resource (owner), this life of the stack (instance), the properties' identity and
    name. Each one found is stopped as a Delete of it would be. A resource an earlier
    life of the stack kept (RETAIN) has another instance and is left alone; the Create's
    poll creates nothing once it sees the cancellation (``still_wanted``).
    """
    event = call.event
    fields = event.fields()
    found: list[Observed] = [
        c
        for c in named_like(call, desired)
        if ours(c, event)
        and has_identity(c, desired)
        and named_as(c, desired)
        and c.tag is not None
        and c.tag.made_by(event.stack_id)
    ]
    if not found:
        log(
            "delete-skipped",
            reason="no resource of ours for an id CloudFormation made up (a cancelled create)",
            physicalResourceId=event.physical_id,
            **fields,
        )
        return result
    left: list[str] = []
    deferred: dict[str, float | None] = {}
    for observed in found:
        step = delete_step(call, observed, first=True)
        log(
            "deleting" if step != Step.DONE else "deleted",
            reason="its create was cancelled",
            target=observed.ref.physical_id,
            status=observed.status,
            **fields,
        )
        if step != Step.DONE:
            left.append(observed.ref.physical_id)
        if step == Step.DEFERRED:
            deferred[observed.ref.physical_id] = observed.updated
    if left:
        result[ACTION_KEY] = DELETE
        result[STOPPING_KEY] = left
        if deferred:
            result[DEFERRED_STEP_KEY] = deferred
    return result


def poll_delete(call: Call) -> dict[str, Any]:
    stopping = call.event.extra.get(STOPPING_KEY)
    if stopping:
        refs = [call.kind.parse_physical_id(str(p)) for p in stopping]
        deleted = [_deleted(call, ref) for ref in refs if isinstance(ref, Ref)]
        return {"IsComplete": all(deleted)}
    return {"IsComplete": _deleted(call, current_ref(call))}


def _deleted(call: Call, ref: Ref) -> bool:
    """One look at a resource being deleted, taking the step it allows: True once gone."""
    observed = describe(call, ref)
    if observed is None:
        log("deleted", physicalResourceId=ref.physical_id, **call.event.fields())
        return True
    # the one-time step, if on_event could not take it and nothing has happened since
    deferred = call.event.extra.get(DEFERRED_STEP_KEY)
    if isinstance(deferred, dict):
        deferred = deferred.get(ref.physical_id)
    first = deferred is not None and observed.updated == float(deferred)
    step = delete_step(call, observed, first)
    log(
        "poll",
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        **call.event.fields(),
    )
    return step == Step.DONE
