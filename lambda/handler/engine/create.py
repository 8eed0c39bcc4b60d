"""Create: adopt, refuse, or ask the poll to create; the poll that creates."""

from __future__ import annotations

from typing import Any

import faults
import ownership
from engine.shared import (
    RESOLVED,
    adopt,
    cancelled_before,
    conflict,
    create_later,
    describe,
    kept_name,
    name_for,
    named,
    require_waiter,
    resolve_pending,
    stack_operation,
    still_wanted,
    stop_step,
    survey_names,
    sync_settings,
)
from engine.types import (
    GONE,
    OPERATION_KEY,
    STARTED_AT_KEY,
    USABLE,
    YOUNG_SECONDS,
    Call,
    Desired,
    Observed,
)
from engine.wait import wait_for
from faults import HandlerError, NotYet
from jsonlog import log
from ownership import Pending, Ref


def on_create(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    require_waiter(call, desired)
    operation = stack_operation(call)
    if cancelled_before(operation):
        # the framework's invocation came after a sibling failed (it is asynchronous)
        raise HandlerError(
            f"CloudFormation cancelled the creation of this {call.kind.noun} before the "
            f"handler saw it (the stack is {operation}): nothing was started"
        )
    name = name_for(desired, call.event)
    found = survey_names(call, desired, name)
    if found.adoptable is not None:
        return adopt(call, desired, found.adoptable, "a live resource of ours, same identity", True)
    if found.holder is not None:
        raise conflict(call, desired, name, found.holder)
    return create_later(call, desired, name, True, operation)


def poll_create(call: Call) -> dict[str, Any]:
    """Create (once: a pending id names one creation), then wait.

    Only while CloudFormation still waits for it (``still_wanted``): a request it
    cancelled (a sibling failed, row 11) creates nothing, and one cancelled while the
    call was under way is stopped here (its Delete, with an id CloudFormation made up,
    may have looked before it existed). A channel's query cannot be stopped: until it
    is stopped, every poll looks again.
    """
    event = call.event
    desired = call.kind.parse(event.properties)
    pending = call.kind.parse_physical_id(event.physical_id)
    if not isinstance(pending, Pending):
        raise HandlerError(f"lost track of the {call.kind.noun}: {event.physical_id!r}")
    observed = resolve_pending(call, pending)
    if observed is None:
        if not still_wanted(call):
            raise HandlerError(
                f"CloudFormation no longer waits for this {call.kind.noun} (its creation "
                "was cancelled, or the stack rolled back or was deleted): nothing was created"
            )
        ref = create_for(call, desired, pending)
        if not still_wanted(call):
            created = describe(call, ref)
            if created is None:  # not readable yet: the next poll looks again (young)
                return {"IsComplete": False}
            return _cancelled(call, desired, created)
        observed = describe(call, ref)
        if observed is None:  # not readable yet right after its creation: look again
            return {"IsComplete": False}
    elif _looks_again(call, desired, observed) and not still_wanted(call):
        return _cancelled(call, desired, observed)
    if observed.status in USABLE and sync_settings(call, observed, desired):
        # what the create call cannot set (a configured audience model's policy); a poll
        # that finds it made (a retried one, one whose call failed) puts it again
        observed = describe(call, observed.ref) or observed
    # the answer carries the resource's own physical id in place of the pending one
    return wait_for(call, desired, observed, observed.ref.physical_id)


def _looks_again(call: Call, desired: Desired, observed: Observed) -> bool:
    """Whether a poll that finds the creation made looks at the stack again: in its
    first ``YOUNG_SECONDS`` (the look right after creating may not have concluded:
    throttled, the resource not readable yet; a cancellation after that is the made-up
    id Delete's, which finds it by its tags), and while a channel's query, which cannot
    be stopped at once, is being stopped (DESTROY)."""
    if observed.status in GONE:
        return False
    started = float(call.event.extra.get(STARTED_AT_KEY, call.now))
    if call.now - started < YOUNG_SECONDS:
        return True
    return not call.kind.cancellable and desired.destroy


def _cancelled(call: Call, desired: Desired, observed: Observed) -> dict[str, Any]:
    """A creation CloudFormation cancelled while it was made: under DESTROY it is stopped
    (as the Delete would have); under RETAIN kept (the next deploy adopts it)."""
    noun, arn = call.kind.noun, observed.ref.arn
    if not call.kind.removable:
        raise HandlerError(
            f"CloudFormation cancelled the creation of {noun} {arn} while it was made; a "
            f"{noun} cannot be undone: it stays, and the next deploy of this resource "
            "adopts it"
        )
    if not desired.destroy:
        raise HandlerError(
            f"CloudFormation cancelled the creation of {noun} {arn} while it was made; it "
            "is kept (removal policy retain): the next deploy of this resource adopts it"
        )
    if stop_step(call, observed, True) or call.kind.cancellable:
        raise HandlerError(
            f"CloudFormation cancelled the creation of {noun} {arn} while it was made; it "
            "was stopped (removal policy destroy)"
        )
    return {"IsComplete": False}  # being stopped (a channel's query ends first)


def create_for(call: Call, desired: Desired, pending: Pending) -> Ref:
    event = call.event
    tags = dict(desired.tags)
    # a model version's ownership tag goes under a key of its own: its ARN may be its
    # base model's, whose RESERVED_TAG_KEY is the base's (ASSUMPTION A2, ownership)
    key = ownership.tag_key(pending.name if desired.versioned else None)
    tags[key] = ownership.make_tag(
        event.stack_id,
        event.logical_id,
        event.request_id,
        desired.identity,
        event.extra.get(OPERATION_KEY),
    )
    try:
        ref = call.kind.create(call.client, desired, pending.name, tags)
    except Exception as error:
        if faults.is_conflict(error):
            # a concurrent poll of this very request may have created it
            RESOLVED.pop((pending.membership, pending.request, pending.name), None)
            found = resolve_pending(call, pending)
            if found is not None:
                return found.ref
            # something else took the name since on_event looked: say what
            namesakes = named(call, pending.membership, lambda n: n == pending.name, gone=True)
            holder = next((c for c in namesakes if c.status not in GONE), None)
            if holder is not None:
                raise conflict(call, desired, pending.name, holder) from error
            # ASSUMPTION A1/A12 unknown: whether a deleted (INACTIVE) namesake frees its
            # name. A service that keeps it answers Conflict: say so, never retry
            if namesakes:
                raise kept_name(call, desired, pending.name, namesakes[0]) from error
        if faults.is_transient(error):
            raise NotYet(error) from error
        raise call.fail(error, f"creating {call.kind.noun}", repr(pending.name)) from error
    RESOLVED[(pending.membership, pending.request, pending.name)] = ref
    log("created", physicalResourceId=ref.physical_id, **event.fields())
    return ref
