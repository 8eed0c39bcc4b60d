"""What several requests share: finding resources, answering, adopting, tagging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import contract
import faults
import ownership
from engine.types import (
    ACTION_KEY,
    CREATE,
    CREATE_FAILED,
    GONE,
    NEVER_CREATES,
    OPERATION_KEY,
    READY,
    STARTED_AT_KEY,
    TARGET_KEY,
    USABLE,
    WAIT,
    WAITER_KEY,
    WAITER_SELF,
    WAITER_START,
    Call,
    Desired,
    Event,
    Observed,
    Step,
)
from faults import HandlerError, NotYet
from identity import PropertyError
from jsonlog import log
from ownership import Pending, Ref


def name_for(desired: Desired, event: Event) -> str:
    if desired.fixed_name is not None:
        return desired.fixed_name
    assert desired.name_prefix is not None
    return ownership.generated_name(
        desired.name_prefix, event.stack_id, event.logical_id, event.request_id
    )


def describe(call: Call, ref: Ref) -> Observed | None:
    """The resource, or None when it no longer exists."""
    try:
        return call.api(call.kind.describe, call.client, ref)
    except NotYet:
        raise
    except Exception as error:
        if faults.is_not_found(error):
            return None
        raise call.fail(error, f"describing {call.kind.noun}", ref.arn) from error


def named(
    call: Call, membership: str, wanted: Callable[[str], bool], *, gone: bool = False
) -> list[Observed]:
    """Every resource of the membership whose name ``wanted`` accepts, described.

    INACTIVE ones hold no name and are left out, unless ``gone``.
    """
    try:
        summaries = call.api(lambda: list(call.kind.summaries(call.client, membership)))
    except NotYet:
        raise
    except Exception as error:
        raise call.fail(error, f"listing {call.kind.noun}s", place(membership)) from error
    found = []
    for summary in summaries:
        if not wanted(summary.name) or (summary.status in GONE and not gone):
            continue
        observed = describe(call, summary.ref)
        if observed is not None:
            found.append(observed)
    return found


def named_as(observed: Observed, desired: Desired) -> bool:
    """Whether the resource has the name the desired resource would have."""
    if desired.fixed_name is not None:
        return observed.name == desired.fixed_name
    return ownership.is_generated_from(observed.name, desired.name_prefix or "")


def ours(observed: Observed, event: Event) -> bool:
    """Whether this stack resource made it (its ownership tag says so). A resource the
    service cannot tag (an export) is found only by the name this resource gives its own
    (fixed, or generated from its prefix): it is taken as its."""
    if observed.untagged:
        return True
    tag = observed.tag
    return tag is not None and tag.owned_by(event.stack_id, event.logical_id)


def has_identity(observed: Observed, desired: Desired) -> bool:
    if observed.untagged:
        return observed.identity == desired.identity
    tag = observed.tag
    return tag is not None and tag.identity == desired.identity[: ownership.DIGEST_LENGTH]


def place(scope: str) -> str:
    """Where a scope's resources are, in a message: "in membership <id>", "in this
    account and region", "of <exported resource>"."""
    if scope == ownership.ACCOUNT:
        return "in this account and region"
    if ownership.UUID.fullmatch(scope):
        return f"in membership {scope}"
    return f"of {scope}"


@dataclass(frozen=True)
class Survey:
    """What holds the names a create may use: one to adopt, one that blocks."""

    adoptable: Observed | None
    holder: Observed | None


def named_like(call: Call, desired: Desired, name: str | None = None) -> list[Observed]:
    """The live resources named as ``desired`` names its own: the fixed name, or a name
    generated from the same prefix (any request's), or ``name``."""
    if desired.fixed_name is not None:
        fixed = desired.fixed_name
        return named(call, desired.membership, lambda n: n == fixed)
    prefix = desired.name_prefix or ""
    return named(
        call, desired.membership, lambda n: n == name or ownership.is_generated_from(n, prefix)
    )


def delete_step(call: Call, observed: Observed, first: bool) -> str:
    """The kind's step towards deletion (a ``Step``): gone is done; a changing state or
    a throttled call is looked at again at the next poll; anything else fails."""
    try:
        return call.kind.delete_step(call.client, observed, first)
    except HandlerError:
        raise
    except Exception as error:
        if faults.is_not_found(error):
            return Step.DONE
        if faults.is_transient(error) or faults.is_conflict(error):
            return Step.WAIT  # changing state or throttled: look again at the next poll
        raise call.fail(error, f"deleting {call.kind.noun}", observed.ref.arn) from error


def stop_step(call: Call, observed: Observed, first: bool) -> bool:
    """One step to stop a failed replacement no Delete will come for (see
    ``update.on_update``): True once nothing is left to do. Best effort: an error never
    fails the rollback that found it (a refused or raced cancel is looked at again)."""
    fields = {"physicalResourceId": observed.ref.physical_id, **call.event.fields()}
    if observed.status in GONE or not call.kind.removable:
        return True
    try:
        step = delete_step(call, observed, first)
    except HandlerError as error:
        log("stop-failed", reason=str(error), status=observed.status, **fields)
        return True
    log("stopping", status=observed.status, **fields)
    return step == Step.DONE


def survey_names(call: Call, desired: Desired, name: str) -> Survey:
    """Find a live resource of ours with the desired identity, and what holds ``name``.

    Candidates are named as this resource names its own: the fixed name, or a name
    generated from the same prefix (any request's). Among several, a ready one wins,
    then the newest.
    """
    candidates = named_like(call, desired, name)
    adoptable = [
        c
        for c in candidates
        if c.status in USABLE
        and ours(c, call.event)
        and has_identity(c, desired)
        and call.kind.in_place(c, desired) is not None
    ]
    adoptable.sort(key=lambda c: (c.status == READY, c.created), reverse=True)
    holder = next((c for c in candidates if c.name == name and c not in adoptable), None)
    return Survey(adoptable[0] if adoptable else None, holder)


def conflict(call: Call, desired: Desired, name: str, holder: Observed) -> HandlerError:
    tag = holder.tag
    noun = call.kind.noun
    if holder.untagged:
        whose = "which cdk-cleanrooms-ml cannot tell (the service keeps no tags on it)"
    elif tag is not None and tag.who is not None:
        whose = f"created by stack resource {tag.who}"
        if ours(holder, call.event):
            whose += " (this resource, an earlier deployment)"
    elif tag is not None:
        whose = "created by an earlier release of cdk-cleanrooms-ml"
    else:
        whose = "not created by cdk-cleanrooms-ml"
    state = holder.status
    if state == CREATE_FAILED:
        state += f": {holder.details}"
    return HandlerError(
        f"a {noun} named {name!r} already exists {place(desired.membership)} "
        f"({holder.ref.arn}, {state}), {whose}; choose another name for this resource "
        "(or omit it to get a generated one), or remove that one from the membership "
        "and deploy again"
    )


def kept_name(call: Call, desired: Desired, name: str, deleted: Observed) -> HandlerError:
    """The service refused ``name`` and only a deleted (INACTIVE) namesake has it: the
    service keeps the names of deleted resources (ASSUMPTION A1/A12, either reading)."""
    noun = call.kind.noun
    return HandlerError(
        f"the name {name!r} is still held by a deleted {noun} in membership "
        f"{desired.membership} ({deleted.ref.arn}, {deleted.status}): the service does not "
        f"free the name of a deleted {noun}; choose another name for this resource (or omit "
        "it to get a generated one) and deploy again"
    )


def sync_tags(call: Call, observed: Observed, desired: Desired) -> bool:
    """Make the user tags equal the desired ones; True if anything changed.

    The reserved tags are left as they are: a v1 tag stays v1, so that release 0.1.0's
    handler (back after an upgrade's rollback) still knows the model as its own.

    On an ARN shared by several model versions (ASSUMPTION A2, "shared ARN": a version
    on its base model's ARN, or a base model with versions) the tag set is the ARN's,
    and the other versions' tags are in it: only the keys this resource's previous
    properties asked for and its new ones do not are removed, never a key it did not
    put (``_shared_removals``).
    """
    if observed.untagged:
        return False  # nothing to tag: the construct takes no tags
    current = observed.user_tags()
    if observed.shared or observed.ref.arn in desired.base_arns:
        remove = _shared_removals(call, current, desired)
    else:
        remove = sorted(set(current) - set(desired.tags))
    put = {k: v for k, v in desired.tags.items() if current.get(k) != v}
    arn = observed.ref.arn
    try:
        if remove:
            call.api(call.client.untag_resource, resourceArn=arn, tagKeys=remove)
        if put:
            call.api(call.client.tag_resource, resourceArn=arn, tags=put)
    except NotYet:
        raise
    except Exception as error:
        raise call.fail(error, "updating the tags of", arn) from error
    return bool(remove or put)


def _shared_removals(call: Call, current: dict[str, str], desired: Desired) -> list[str]:
    """The user tag keys to remove from a shared ARN: those the event's old properties
    (an Update's) asked for that the new ones do not; none for a Create (a retried
    delivery asks for what it asked for)."""
    try:
        previous = call.kind.parse(call.event.old_properties or {}).tags
    except PropertyError:
        return []
    return sorted((set(previous) - set(desired.tags)) & set(current))


def sync_settings(call: Call, observed: Observed, desired: Desired) -> bool:
    """Apply in place what ``desired`` asks of the settings an update changes by a
    service call (``Kind.in_place``); True if anything changed. The caller checked that
    it can be done in place."""
    changes = call.kind.in_place(observed, desired)
    if not changes:
        return False
    try:
        call.api(call.kind.update, call.client, observed, changes)
    except NotYet:
        raise
    except Exception as error:
        raise call.fail(error, f"updating {call.kind.noun}", observed.ref.arn) from error
    log(
        "updated-in-place",
        physicalResourceId=observed.ref.physical_id,
        changed=sorted(changes),
        **call.event.fields(),
    )
    return True


def sync(call: Call, observed: Observed, desired: Desired) -> bool:
    """Make ``observed``'s tags and in-place settings what ``desired`` asks."""
    tagged = sync_tags(call, observed, desired)
    return sync_settings(call, observed, desired) or tagged


def answer(physical_id: str, action: str, now: float, **extra: Any) -> dict[str, Any]:
    found = {"PhysicalResourceId": physical_id, ACTION_KEY: action, STARTED_AT_KEY: now}
    found.update({k: v for k, v in extra.items() if v is not None})
    return found


def waiter_mode(desired: Desired, new_wait_condition: bool) -> str | None:
    if desired.wait_handle_url is None:
        return None
    return WAITER_START if new_wait_condition else WAITER_SELF


def require_waiter(call: Call, desired: Desired) -> None:
    """Long path: fail before anything is done when the stack's waiter is not set up."""
    if desired.wait_handle_url is not None and call.start_waiter is None:
        raise HandlerError(
            "completion_timeout over an hour needs the stack's waiter, which is not set up "
            f"(no {contract.LONG_WAITER_ARN_ENV} in the handler's environment)"
        )


def adopt(
    call: Call,
    desired: Desired,
    observed: Observed,
    why: str,
    new_wait: bool,
    *,
    physical_id: str | None = None,
) -> dict[str, Any]:
    """Take ``observed`` as this resource's, under its own physical id unless the event's
    ``physical_id`` already names it (then keeping that id avoids a replacement), with
    the tags and in-place settings ``desired`` asks."""
    sync(call, observed, desired)
    log(
        "adopted",
        reason=why,
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        **call.event.fields(),
    )
    return answer(
        physical_id or observed.ref.physical_id,
        WAIT,
        call.now,
        **{WAITER_KEY: waiter_mode(desired, new_wait), TARGET_KEY: observed.ref.physical_id},
    )


def create_later(
    call: Call, desired: Desired, name: str, new_wait: bool, operation: str | None = None
) -> dict[str, Any]:
    """Hand the creation to the poll (a pending id), recording the stack's operation
    (``operation`` if the caller looked already)."""
    pending = Pending(
        membership=desired.membership,
        request=ownership.request_digest(call.event.request_id),
        name=name,
    )
    log("create-requested", physicalResourceId=pending.physical_id, **call.event.fields())
    return answer(
        pending.physical_id,
        CREATE,
        call.now,
        **{
            WAITER_KEY: waiter_mode(desired, new_wait),
            OPERATION_KEY: operation if operation is not None else stack_operation(call),
        },
    )


def cancelled_before(operation: str | None) -> bool:
    """Whether a Create that finds its stack in ``operation`` was cancelled before the
    handler saw it (CloudFormation sends no Create in a rollback or a delete)."""
    return operation is not None and operation.startswith(NEVER_CREATES)


def rolling_back(call: Call) -> bool:
    """Whether the event's stack is in an update rollback (an Update is the rollback's
    own, or a forward one that arrived after its cancellation)."""
    operation = stack_operation(call)
    return operation is not None and operation.startswith("UPDATE_ROLLBACK")


def stack_operation(call: Call) -> str | None:
    """The operation the event's stack is in now, or None when it cannot be told (not
    asked, or CloudFormation refused: then every creation goes ahead, as before)."""
    if call.stack_operation is None:
        return None
    try:
        return call.api(call.stack_operation, call.event.stack_id)
    except NotYet:
        raise
    except Exception as error:
        log(
            "operation-unknown",
            reason=faults.explain(error, "describing stack", call.event.stack_id, call.secrets),
            **call.event.fields(),
        )
        return None


def still_wanted(call: Call) -> bool:
    """Whether CloudFormation still waits for this request's creation: its stack is in the
    operation on_event saw (``OPERATION_KEY``). After a cancellation (a sibling failed,
    row 11), a rollback or a stack delete, it is not, and nothing may be created for it:
    the framework's waiter polls on, and nothing would ever delete what it made."""
    recorded = call.event.extra.get(OPERATION_KEY)
    if not recorded:
        return True
    now = stack_operation(call)
    if now is None or now == recorded:
        return True
    log("cancelled", reason=f"the stack is now {now}, was {recorded}", **call.event.fields())
    return False


RESOLVED: dict[tuple[str, str, str], Ref] = {}
"""Pending ids resolved in this container: saves the list call on later polls.
A pending id names one creation for good (INACTIVE or not), so an entry never goes
stale; a container without it finds the creation by name and ownership tag."""


def resolve_pending(call: Call, pending: Pending) -> Observed | None:
    """The resource a pending id's request created, if it did."""
    key = (pending.membership, pending.request, pending.name)
    ref = RESOLVED.get(key)
    if ref is not None:
        return describe(call, ref)
    # INACTIVE ones too: a creation cancelled outside CloudFormation is still this one.
    # The newest first: an INACTIVE namesake on a shared ARN shows the newer version's
    # tag (a version's tag key comes from its name: ownership)
    found = named(call, pending.membership, lambda n: n == pending.name, gone=True)
    for observed in sorted(found, key=lambda o: o.created, reverse=True):
        tag = observed.tag
        # an untagged one (an export) is known by its name: a generated one's is the
        # request's own, and a fixed one nothing held when on_event looked
        if observed.untagged or (
            tag is not None and ours(observed, call.event) and tag.request == pending.request
        ):
            RESOLVED[key] = observed.ref
            return observed
    return None


def resolve(call: Call, target: Ref | Pending) -> Observed | None:
    if isinstance(target, Pending):
        return resolve_pending(call, target)
    return describe(call, target)


def current_ref(call: Call) -> Ref:
    target = call.kind.parse_physical_id(
        str(call.event.extra.get(TARGET_KEY) or call.event.physical_id)
    )
    if not isinstance(target, Ref):
        raise HandlerError(f"lost track of the {call.kind.noun}: {call.event.physical_id!r}")
    return target
