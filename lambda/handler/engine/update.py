"""Update: in place, back to a resource of ours that has the configuration, or replace."""

from __future__ import annotations

from typing import Any

import contract
import identity
import ownership
from engine.shared import (
    adopt,
    answer,
    conflict,
    create_later,
    has_identity,
    name_for,
    named_as,
    named_like,
    ours,
    require_waiter,
    resolve,
    rolling_back,
    stack_operation,
    stop_step,
    survey_names,
    sync,
)
from engine.types import (
    ABANDONED_KEY,
    CREATE_FAILED,
    GONE,
    IN_PROGRESS,
    REFRESH,
    ROLLBACK_KEY,
    TARGET_KEY,
    USABLE,
    WAITER_KEY,
    WAITER_START,
    Call,
    Desired,
    Observed,
)
from faults import HandlerError
from identity import PropertyError
from jsonlog import log


def _fits(call: Call, observed: Observed, desired: Desired) -> bool:
    """Whether the current resource can stay: ours, usable, the desired identity and name,
    and what it holds besides them updatable in place (``Kind.in_place``).

    A name is an immutable create parameter: a fixed name must be the resource's, and a
    generated one must have been generated from the same prefix (so a change between a
    fixed and a generated name replaces, and its rollback goes back by the name).
    """
    return (
        observed.status in USABLE
        and ours(observed, call.event)
        and has_identity(observed, desired)
        and named_as(observed, desired)
        and call.kind.in_place(observed, desired) is not None
    )


def _cannot_replace(call: Call, name: str, current: Observed) -> HandlerError:
    if current.status not in USABLE:
        return HandlerError(
            f"{call.kind.noun} {name!r} ({current.ref.arn}) is {current.status}: "
            f"{current.details}; it still holds its fixed name, so no new one can be made "
            "under it: rename it (or omit the name to get a generated one), or remove that "
            "one from the membership, and deploy again"
        )
    return HandlerError(
        f"cannot replace {call.kind.noun} {name!r}: a property changed that needs a new "
        "one, and its name is fixed; rename it (or omit the name to get a generated one) "
        "and deploy again"
    )


def _stop_abandoned(call: Call, current: Observed) -> list[str]:
    """A rollback that names the resource it goes back to stops the replacement that failed.

    Row 7 with the rollback naming A: Update(props=A, old=B, PhysicalResourceId=A). B's
    creation failed or timed out, CloudFormation never held its id, so no Delete comes
    for it: under B's DESTROY, a B of ours with the old properties' identity and name,
    made after A and still being created or failed, is stopped as the cleanup's
    Delete(B) would: cancelled (a channel, whose query cannot be stopped, is deleted
    once it ends), or, failed, deleted. A finished one is left alone (it may be a
    retained one the failed update never reached: RETAIN keeps); nothing else is
    touched. A forward
    update never gets here with old properties that A does not fit (A fits them, or it
    would have been replaced, with a new id); a RETAIN B is left as its reason said.
    What is not stopped yet (physical ids) is left to the polls (``ABANDONED_KEY``).
    """
    event = call.event
    if not call.kind.removable:
        return []  # nothing it made can be undone (an export)
    try:
        previous = call.kind.parse(event.old_properties or {})
    except PropertyError:
        return []
    if not previous.destroy or (has_identity(current, previous) and named_as(current, previous)):
        return []
    try:
        candidates = named_like(call, previous)
    except HandlerError as error:  # best effort: never fail the rollback for it
        log("stop-failed", reason=str(error), **event.fields())
        return []
    # the operation this rollback undoes made it: stopped even once it has finished
    # (only while the stack is rolling back now: a late duplicate must not take a
    # later operation for the one it undid)
    operation = stack_operation(call) if candidates else None
    rolling = operation is not None and operation.startswith("UPDATE_ROLLBACK")
    undone = ownership.operation_mark(operation) if rolling else None
    left = []
    for found in candidates:
        made_by_it = undone is not None and found.tag is not None and found.tag.operation == undone
        if (
            found.ref != current.ref
            and (found.status in IN_PROGRESS | {CREATE_FAILED} or made_by_it)
            and found.status not in GONE
            and found.created > current.created
            and ours(found, event)
            and has_identity(found, previous)
            and named_as(found, previous)
        ):
            log(
                "abandoned",
                reason="the update that created it failed and was rolled back",
                physicalResourceId=found.ref.physical_id,
                status=found.status,
                **event.fields(),
            )
            if not stop_step(call, found, True):
                left.append(found.ref.physical_id)
    return left


def on_update(call: Call) -> dict[str, Any]:
    event = call.event
    desired = call.kind.parse(event.properties)
    require_waiter(call, desired)
    target = call.kind.parse_physical_id(event.physical_id)
    if target is None:
        raise HandlerError(
            f"cannot update {event.physical_id!r}: it is not a {call.kind.noun} "
            "this handler created"
        )
    old_url = (event.old_properties or {}).get(contract.WAIT_HANDLE_URL)
    new_wait = desired.wait_handle_url != old_url
    current = resolve(call, target)
    if current is not None and _fits(call, current, desired):
        abandoned = _stop_abandoned(call, current)
        # tags, and what the kind updates in place (a rollback puts the old back: row 8)
        changed = sync(call, current, desired)
        log(
            "updated" if changed else "unchanged",
            physicalResourceId=event.physical_id,
            status=current.status,
            **event.fields(),
        )
        # the physical id stays as it is (a pending one too): another id would be a
        # replacement, whose cleanup would delete this very resource
        return answer(
            str(event.physical_id),
            REFRESH,
            call.now,
            **{
                WAITER_KEY: WAITER_START if desired.wait_handle_url and new_wait else None,
                TARGET_KEY: current.ref.physical_id,
                ABANDONED_KEY: abandoned or None,
            },
        )
    back = current is not None and ours(current, event) and rolling_back(call)
    if (
        back
        and current is not None
        and has_identity(current, desired)
        and named_as(current, desired)
    ):
        # the rollback's own Update, its resource failed or stopped meanwhile (an update
        # that waited for it, say): a rollback goes back to it as it is, starting nothing
        return _kept(call, current, "the rollback keeps it as it is")
    name = name_for(desired, event)
    found = survey_names(call, desired, name)
    if found.adoptable is not None:
        # a rollback, a retried delivery, or back to a configuration a kept resource has
        same = current is not None and found.adoptable.ref == current.ref
        return adopt(
            call,
            desired,
            found.adoptable,
            "going back to it",
            new_wait,
            physical_id=str(event.physical_id) if same else None,
        )
    if back and current is not None and _fits_old(call, current):
        # a forward Update delivered after CloudFormation cancelled it (the framework's
        # invocation is asynchronous), or a rollback whose original is gone: either way
        # the stack keeps what it has, and nothing starts in a rollback
        return _kept(call, current, "an update that arrived after its cancellation")
    if found.holder is not None:
        if current is not None and found.holder.ref == current.ref:
            raise _cannot_replace(call, name, current)
        raise conflict(call, desired, name, found.holder)
    why = "the current one no longer exists"
    if current is not None:
        why = (
            f"it is {current.status}, no longer usable"
            if current.status not in USABLE
            else "a property changed that needs a new one"
        )
    refused = _protected(call, desired, current, why)
    if refused is not None:
        raise refused
    log("replacing", reason=why, physicalResourceId=event.physical_id, **event.fields())
    return create_later(call, desired, name, new_wait)


def _fits_old(call: Call, current: Observed) -> bool:
    """Whether ``current`` is usable and what the event's old properties ask for."""
    try:
        previous = call.kind.parse(call.event.old_properties or {})
    except PropertyError:
        return False
    return (
        current.status in USABLE and has_identity(current, previous) and named_as(current, previous)
    )


def _kept(call: Call, current: Observed, why: str) -> dict[str, Any]:
    """In a rollback: the resource the stack has, in place, reported without waiting."""
    event = call.event
    log("kept", reason=why, status=current.status, **event.fields())
    return answer(
        str(event.physical_id),
        REFRESH,
        call.now,
        **{TARGET_KEY: current.ref.physical_id, ROLLBACK_KEY: True},
    )


def _protected(
    call: Call, desired: Desired, current: Observed | None, why: str
) -> HandlerError | None:
    """The retrain guard: a replacement of a resource under ``replacement_protection``
    fails here, before anything starts, unless this deploy allows it. A rollback is
    never refused (it goes back to what the stack had; CloudFormation's status says)."""
    path = desired.replacement_protection
    if path is None or desired.replacement_allowed:
        return None
    operation = stack_operation(call)
    if operation is not None and operation.startswith("UPDATE_ROLLBACK"):
        return None
    event, kind = call.event, call.kind
    what = why
    try:
        previous = kind.parse(event.old_properties or {})
    except PropertyError:
        previous = None
    if previous is not None:
        found = identity.changes(previous.request, desired.request)
        if previous.fixed_name != desired.fixed_name:
            found.append(
                f"name: {previous.fixed_name or 'generated'!r} -> "
                f"{desired.fixed_name or 'generated'!r}"
            )
        if found and current is not None and current.status in USABLE:
            what = "; ".join(found)
    subject = f"{kind.noun} {current.name!r} ({current.ref.arn})" if current else kind.noun
    log("replacement-refused", reason=what, **event.fields())
    return HandlerError(
        f"{subject} is protected from replacement (replacement_protection) and this update "
        f"would replace it, starting {kind.starts}: {what}. Nothing was started. To allow "
        f"it for one deploy: cdk deploy -c {contract.ALLOW_REPLACEMENT_CONTEXT_KEY}={path} "
        "(or * for every construct); or set replacement_protection=False"
    )
