"""Update: in place, back to a resource of ours that has the configuration, or replace."""

from __future__ import annotations

from typing import Any

import contract
from engine.shared import (
    adopt,
    answer,
    conflict,
    create_later,
    has_identity,
    name_for,
    ours,
    require_waiter,
    resolve,
    survey_names,
    sync_tags,
)
from engine.types import REFRESH, USABLE, WAITER_KEY, WAITER_START, Call, Desired, Event, Observed
from faults import HandlerError
from jsonlog import log


def _fits(observed: Observed, desired: Desired, event: Event) -> bool:
    """Whether the current resource can stay: ours, usable, the desired identity and name."""
    return (
        observed.status in USABLE
        and ours(observed, event)
        and has_identity(observed, desired)
        and (desired.fixed_name is None or observed.name == desired.fixed_name)
    )


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
    if current is not None and _fits(current, desired, event):
        changed = sync_tags(call, current, desired)
        log(
            "updated" if changed else "unchanged",
            physicalResourceId=current.ref.physical_id,
            status=current.status,
            **event.fields(),
        )
        return answer(
            current.ref.physical_id,
            REFRESH,
            call.now,
            **{WAITER_KEY: WAITER_START if desired.wait_handle_url and new_wait else None},
        )
    name = name_for(desired, event)
    found = survey_names(call, desired, name)
    if found.adoptable is not None:
        # a rollback, a retried delivery, or back to a configuration a kept resource has
        return adopt(call, desired, found.adoptable, "going back to it", new_wait)
    if found.holder is not None:
        if current is not None and found.holder.ref == current.ref:
            raise HandlerError(
                f"cannot replace {call.kind.noun} {name!r}: a property changed that needs a "
                "new one, and its name is fixed; rename it (or omit the name to get a "
                "generated one) and deploy again"
            )
        raise conflict(call, desired, name, found.holder)
    why = "the current one no longer exists"
    if current is not None:
        why = (
            f"it is {current.status}, no longer usable"
            if current.status not in USABLE
            else "a property changed that needs a new one"
        )
    log("replacing", reason=why, physicalResourceId=event.physical_id, **event.fields())
    return create_later(call, desired, name, new_wait)
