"""The lifecycle engine: what each CloudFormation event does, for every resource kind.

The Provider framework calls ``on_event`` once per event, then ``is_complete``
every 10 seconds until it is done. Here each request type and each poll action is
one small function, found through one table (``REQUESTS``, ``POLLS``), so a reader
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
its time budget lasts and are "not yet" in ``is_complete``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import aws_client
import contract
import faults
import long_wait
import ownership
from faults import HandlerError, NotYet
from identity import PropertyError
from jsonlog import log
from ownership import Pending, Ref

# Keys of the on_event result; the Provider framework passes them to every poll.
ACTION_KEY: Final = "CleanRoomsMLAction"
STARTED_AT_KEY: Final = "CleanRoomsMLStartedAt"
TARGET_KEY: Final = "CleanRoomsMLTarget"
"""Delete of a pending id: the physical id of the resource it resolved to."""
DEFERRED_STEP_KEY: Final = "CleanRoomsMLDeferredStep"
"""Set when the one-time step of a Delete (deleting a failed resource's output,
retrying a failed deletion) could not be taken in on_event: the resource's
``updateTime`` then. The poll takes the step while the resource still shows that
time, so a step that was taken is never repeated (the service's clock only)."""
WAITER_KEY: Final = "CleanRoomsMLWaiter"
WAITER_START: Final = "start"
"""Long path: a new WaitCondition waits; the poll starts the waiter that signals it."""
WAITER_SELF: Final = "self"
"""Long path: replaced, but the WaitCondition was not (the replacement came from a
value known only at deploy time): the custom resource waits itself, within the hour."""

CREATE: Final = "create"
WAIT: Final = "wait-create"
REFRESH: Final = "refresh"
DELETE: Final = "delete"
NONE: Final = "none"

READY: Final = "ACTIVE"
IN_PROGRESS: Final = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})
USABLE: Final = IN_PROGRESS | {READY}
"""A resource in these states can be adopted, kept or waited for."""
CREATE_FAILED: Final = "CREATE_FAILED"
GONE: Final = frozenset({"INACTIVE"})
"""An INACTIVE resource (output deleted, cancelled) holds no name (ASSUMPTION A1)."""


class Step:
    """What one step towards deletion left to do."""

    DONE: Final = "done"
    WAIT: Final = "wait"
    DEFERRED: Final = "deferred"
    """The one-time step met a transient failure: take it at the next poll."""


WaiterStarter = Callable[[str, Mapping[str, Any]], None]
"""Starts the long path's waiter: ``(execution name, input)``."""


@dataclass(frozen=True)
class Desired:
    """What a resource's properties ask for (every kind)."""

    membership: str
    identity: str
    """The identity digest (``identity.py``): a change of it replaces the resource."""
    request: Mapping[str, Any]
    """The create call's arguments, without ``name`` and ``tags``."""
    fixed_name: str | None = None
    name_prefix: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    destroy: bool = False
    wait_for_completion: bool = True
    completion_timeout_seconds: int = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
    wait_handle_url: str | None = None
    """Long path: the WaitCondition handle the waiter signals (never logged)."""
    secrets: tuple[str, ...] = ()
    """Values no log line or reason may show (hyperparameters, environment, ...)."""


@dataclass(frozen=True)
class Summary:
    """One entry of the kind's list call."""

    ref: Ref
    name: str
    status: str
    created: float = 0.0


@dataclass(frozen=True)
class Observed:
    """A resource as the kind's describe call shows it."""

    ref: Ref
    name: str
    status: str
    tags: Mapping[str, str]
    updated: float | None
    details: str
    """The service's status details, redacted (``faults.redact``)."""
    created: float = 0.0
    data: Mapping[str, str] = field(default_factory=dict)
    """The attributes to report (``Fn::GetAtt``)."""

    @property
    def tag(self) -> ownership.Tag | None:
        return ownership.parse_tag(self.tags.get(contract.RESERVED_TAG_KEY))

    def user_tags(self) -> dict[str, str]:
        return {
            k: v
            for k, v in self.tags.items()
            if k != contract.RESERVED_TAG_KEY and not k.lower().startswith("aws:")
        }


class Kind(Protocol):
    """The narrow interface between the engine and one resource type's API calls."""

    resource_type: str
    noun: str
    """How messages name it: "trained model"."""

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None: ...

    def parse(self, props: Mapping[str, Any]) -> Desired:
        """The properties, as CloudFormation delivers them; ``PropertyError`` if malformed."""
        ...

    def create(self, client: Any, desired: Desired, name: str, tags: Mapping[str, str]) -> Ref: ...

    def describe(self, client: Any, ref: Ref) -> Observed:
        """The resource now; a ``ClientError`` (ResourceNotFoundException ...) if not."""
        ...

    def summaries(self, client: Any, membership: str) -> Iterator[Summary]: ...

    def delete_step(self, client: Any, observed: Observed, first: bool) -> str:
        """One step towards deletion (a ``Step``); ``first`` is the Delete event's own."""
        ...


@dataclass(frozen=True)
class Event:
    """The parts of a CloudFormation custom resource event the engine uses."""

    request_type: str
    request_id: str
    stack_id: str
    logical_id: str
    physical_id: str | None
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any] | None
    extra: Mapping[str, Any]

    @classmethod
    def from_dict(cls, event: Mapping[str, Any]) -> Event:
        try:
            return cls(
                request_type=str(event["RequestType"]),
                request_id=str(event["RequestId"]),
                stack_id=str(event["StackId"]),
                logical_id=str(event["LogicalResourceId"]),
                physical_id=event.get("PhysicalResourceId"),
                properties=event.get("ResourceProperties") or {},
                old_properties=event.get("OldResourceProperties"),
                extra=event,
            )
        except KeyError as missing:
            raise HandlerError(f"malformed custom resource event: no {missing}") from None

    def fields(self) -> dict[str, Any]:
        return {"requestType": self.request_type, "logicalResourceId": self.logical_id}


T = TypeVar("T")

WORST_CALL_SECONDS: Final = aws_client.worst_call_seconds()
"""The longest one API call with all botocore's retries can take: on_event tries a
transient failure again only while that much time is left."""


@dataclass
class Call:
    """One invocation: the kind, its client, the event and the clocks."""

    kind: Kind
    client: Any
    event: Event
    now: float
    polling: bool
    """is_complete (a transient failure is "not yet") or on_event (try again)."""
    deadline: float | None = None
    """on_event: when its budget ends (epoch seconds); None: no retries."""
    start_waiter: WaiterStarter | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    secrets: tuple[str, ...] = ()

    def api(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the kind or the client under the transient-failure rule."""
        pause = 2.0
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as error:
                if not faults.is_transient(error):
                    raise
                if self.polling:
                    raise NotYet(error) from error
                left = (self.deadline or 0.0) - self.clock()
                if left < WORST_CALL_SECONDS + pause:
                    raise
                log("retry", errorCode=faults.error_code(error), **self.event.fields())
                self.sleep(pause)
                pause = min(pause * 2, 30.0)

    def fail(self, error: BaseException, operation: str, subject: str) -> HandlerError:
        return HandlerError(faults.explain(error, operation, subject, self.secrets))


# --- shared steps ------------------------------------------------------------------


def _name_for(desired: Desired, event: Event) -> str:
    if desired.fixed_name is not None:
        return desired.fixed_name
    assert desired.name_prefix is not None
    return ownership.generated_name(
        desired.name_prefix, event.stack_id, event.logical_id, event.request_id
    )


def _describe(call: Call, ref: Ref) -> Observed | None:
    """The resource, or None when it no longer exists."""
    try:
        return call.api(call.kind.describe, call.client, ref)
    except NotYet:
        raise
    except Exception as error:
        if faults.is_not_found(error):
            return None
        raise call.fail(error, f"describing {call.kind.noun}", ref.arn) from error


def _named(call: Call, membership: str, wanted: Callable[[str], bool]) -> list[Observed]:
    """Every resource of the membership whose name ``wanted`` accepts, described."""
    try:
        summaries = call.api(lambda: list(call.kind.summaries(call.client, membership)))
    except NotYet:
        raise
    except Exception as error:
        raise call.fail(error, f"listing {call.kind.noun}s", f"in membership {membership}") from (
            error
        )
    found = []
    for summary in summaries:
        if not wanted(summary.name) or summary.status in GONE:
            continue
        observed = _describe(call, summary.ref)
        if observed is not None:
            found.append(observed)
    return found


def _ours(observed: Observed, event: Event) -> bool:
    tag = observed.tag
    return tag is not None and tag.owned_by(event.stack_id, event.logical_id)


def _has_identity(observed: Observed, desired: Desired) -> bool:
    tag = observed.tag
    return tag is not None and tag.identity == desired.identity[: ownership.DIGEST_LENGTH]


@dataclass(frozen=True)
class Survey:
    """What holds the names a create may use: one to adopt, one that blocks."""

    adoptable: Observed | None
    holder: Observed | None


def _survey(call: Call, desired: Desired, name: str) -> Survey:
    """Find a live resource of ours with the desired identity, and what holds ``name``.

    Candidates are named as this resource names its own: the fixed name, or a name
    generated from the same prefix (any request's). Among several, a ready one wins,
    then the newest.
    """
    if desired.fixed_name is not None:
        fixed = desired.fixed_name
        candidates = _named(call, desired.membership, lambda n: n == fixed)
    else:
        prefix = desired.name_prefix or ""
        candidates = _named(
            call, desired.membership, lambda n: n == name or ownership.is_generated_from(n, prefix)
        )
    adoptable = [
        c
        for c in candidates
        if c.status in USABLE and _ours(c, call.event) and _has_identity(c, desired)
    ]
    adoptable.sort(key=lambda c: (c.status == READY, c.created), reverse=True)
    holder = next((c for c in candidates if c.name == name and c not in adoptable), None)
    return Survey(adoptable[0] if adoptable else None, holder)


def _conflict(call: Call, desired: Desired, name: str, holder: Observed) -> HandlerError:
    tag = holder.tag
    noun = call.kind.noun
    if tag is not None and tag.who is not None:
        whose = f"created by stack resource {tag.who}"
        if _ours(holder, call.event):
            whose += " (this resource, an earlier deployment)"
    elif tag is not None:
        whose = "created by an earlier release of cdk-cleanrooms-ml"
    else:
        whose = "not created by cdk-cleanrooms-ml"
    state = holder.status
    if state == CREATE_FAILED:
        state += f": {holder.details}"
    return HandlerError(
        f"a {noun} named {name!r} already exists in membership {desired.membership} "
        f"({holder.ref.arn}, {state}), {whose}; choose another name for this resource "
        "(or omit it to get a generated one), or remove that one from the membership "
        "and deploy again"
    )


def _sync_tags(call: Call, observed: Observed, desired: Desired) -> bool:
    """Make the user tags equal the desired ones (and the reserved tag v2); True if changed."""
    current = observed.user_tags()
    remove = sorted(set(current) - set(desired.tags))
    put = {k: v for k, v in desired.tags.items() if current.get(k) != v}
    tag = observed.tag
    if tag is not None and tag.version == ownership.TAG_V1:
        put[contract.RESERVED_TAG_KEY] = ownership.retag(
            tag, call.event.stack_id, call.event.logical_id
        )
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


def _result(physical_id: str, action: str, now: float, **extra: Any) -> dict[str, Any]:
    result = {"PhysicalResourceId": physical_id, ACTION_KEY: action, STARTED_AT_KEY: now}
    result.update({k: v for k, v in extra.items() if v is not None})
    return result


def _waiter(desired: Desired, new_wait_condition: bool) -> str | None:
    if desired.wait_handle_url is None:
        return None
    return WAITER_START if new_wait_condition else WAITER_SELF


def _require_waiter(call: Call, desired: Desired) -> None:
    """Long path: fail before anything is done when the stack's waiter is not set up."""
    if desired.wait_handle_url is not None and call.start_waiter is None:
        raise HandlerError(
            "completion_timeout over an hour needs the stack's waiter, which is not set up "
            f"(no {contract.LONG_WAITER_ARN_ENV} in the handler's environment)"
        )


def _adopt(
    call: Call, desired: Desired, observed: Observed, why: str, new_wait: bool
) -> dict[str, Any]:
    _sync_tags(call, observed, desired)
    log(
        "adopted",
        reason=why,
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        **call.event.fields(),
    )
    return _result(
        observed.ref.physical_id, WAIT, call.now, **{WAITER_KEY: _waiter(desired, new_wait)}
    )


def _create_later(call: Call, desired: Desired, name: str, new_wait: bool) -> dict[str, Any]:
    pending = Pending(
        membership=desired.membership,
        request=ownership.request_digest(call.event.request_id),
        name=name,
    )
    log("create-requested", physicalResourceId=pending.physical_id, **call.event.fields())
    return _result(
        pending.physical_id, CREATE, call.now, **{WAITER_KEY: _waiter(desired, new_wait)}
    )


_RESOLVED: dict[tuple[str, str, str], Ref] = {}
"""Pending ids resolved in this container: saves the list call on later polls.
A pending id names one creation for good, so the entry never goes stale."""


def _resolve_pending(call: Call, pending: Pending) -> Observed | None:
    """The resource a pending id's request created, if it did."""
    key = (pending.membership, pending.request, pending.name)
    ref = _RESOLVED.get(key)
    if ref is not None:
        return _describe(call, ref)
    for observed in _named(call, pending.membership, lambda n: n == pending.name):
        tag = observed.tag
        if tag is not None and _ours(observed, call.event) and tag.request == pending.request:
            _RESOLVED[key] = observed.ref
            return observed
    return None


def _resolve(call: Call, target: Ref | Pending) -> Observed | None:
    if isinstance(target, Pending):
        return _resolve_pending(call, target)
    return _describe(call, target)


# --- requests (on_event) -------------------------------------------------------------


def on_create(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    _require_waiter(call, desired)
    name = _name_for(desired, call.event)
    survey = _survey(call, desired, name)
    if survey.adoptable is not None:
        return _adopt(
            call, desired, survey.adoptable, "a live resource of ours, same identity", True
        )
    if survey.holder is not None:
        raise _conflict(call, desired, name, survey.holder)
    return _create_later(call, desired, name, True)


def _fits(observed: Observed, desired: Desired, event: Event) -> bool:
    """Whether the current resource can stay: ours, usable, the desired identity and name."""
    return (
        observed.status in USABLE
        and _ours(observed, event)
        and _has_identity(observed, desired)
        and (desired.fixed_name is None or observed.name == desired.fixed_name)
    )


def on_update(call: Call) -> dict[str, Any]:
    event = call.event
    desired = call.kind.parse(event.properties)
    _require_waiter(call, desired)
    target = call.kind.parse_physical_id(event.physical_id)
    if target is None:
        raise HandlerError(
            f"cannot update {event.physical_id!r}: it is not a {call.kind.noun} "
            "this handler created"
        )
    old_url = (event.old_properties or {}).get(contract.WAIT_HANDLE_URL)
    new_wait = desired.wait_handle_url != old_url
    current = _resolve(call, target)
    if current is not None and _fits(current, desired, event):
        changed = _sync_tags(call, current, desired)
        log(
            "updated" if changed else "unchanged",
            physicalResourceId=current.ref.physical_id,
            status=current.status,
            **event.fields(),
        )
        return _result(
            current.ref.physical_id,
            REFRESH,
            call.now,
            **{WAITER_KEY: WAITER_START if desired.wait_handle_url and new_wait else None},
        )
    name = _name_for(desired, event)
    survey = _survey(call, desired, name)
    if survey.adoptable is not None:
        # a rollback, a retried delivery, or back to a configuration a kept resource has
        return _adopt(call, desired, survey.adoptable, "going back to it", new_wait)
    if survey.holder is not None:
        if current is not None and survey.holder.ref == current.ref:
            raise HandlerError(
                f"cannot replace {call.kind.noun} {name!r}: a property changed that needs a "
                "new one, and its name is fixed; rename it (or omit the name to get a "
                "generated one) and deploy again"
            )
        raise _conflict(call, desired, name, survey.holder)
    why = "the current one no longer exists"
    if current is not None:
        why = (
            f"it is {current.status}, no longer usable"
            if current.status not in USABLE
            else "a property changed that needs a new one"
        )
    log("replacing", reason=why, physicalResourceId=event.physical_id, **event.fields())
    return _create_later(call, desired, name, new_wait)


def on_delete(call: Call) -> dict[str, Any]:
    event = call.event
    result = _result(str(event.physical_id), NONE, call.now)
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
    observed = _resolve(call, target)
    if observed is None:
        log("deleted", reason="already gone", physicalResourceId=event.physical_id, **fields)
        return result
    if not _ours(observed, event):
        log("delete-skipped", reason="not created by this resource", **fields)
        return result
    step = _delete_step(call, observed, first=True)
    log("deleting" if step != Step.DONE else "deleted", status=observed.status, **fields)
    if step == Step.DONE:
        return result
    result[ACTION_KEY] = DELETE
    result[TARGET_KEY] = observed.ref.physical_id
    if step == Step.DEFERRED:
        result[DEFERRED_STEP_KEY] = observed.updated
    return result


def _delete_step(call: Call, observed: Observed, first: bool) -> str:
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


REQUESTS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
}


# --- polls (is_complete) ---------------------------------------------------------------


def _deadline(desired: Desired) -> int:
    """How long the custom resource itself may wait (seconds from ``on_event``)."""
    return min(desired.completion_timeout_seconds, contract.SHORT_PATH_DEADLINE_SECONDS)


def _done(observed: Observed) -> dict[str, Any]:
    return {
        "IsComplete": True,
        "PhysicalResourceId": observed.ref.physical_id,
        "Data": dict(observed.data),
    }


def _wait_for(call: Call, desired: Desired, observed: Observed) -> dict[str, Any]:
    """Evaluate one look at a resource being created."""
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
        return _done(observed)
    if status == READY or not desired.wait_for_completion:
        return _done(observed)
    return _not_yet(call, desired, observed, elapsed)


def _not_yet(call: Call, desired: Desired, observed: Observed, elapsed: float) -> dict[str, Any]:
    if elapsed < _deadline(desired):
        return {"IsComplete": False}
    policy = (
        "it will be cancelled (removal policy destroy)"
        if desired.destroy
        else "it is left as it is (removal policy retain)"
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
    _require_waiter(call, desired)
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


def poll_create(call: Call) -> dict[str, Any]:
    event = call.event
    desired = call.kind.parse(event.properties)
    pending = call.kind.parse_physical_id(event.physical_id)
    if not isinstance(pending, Pending):
        raise HandlerError(f"lost track of the {call.kind.noun}: {event.physical_id!r}")
    observed = _resolve_pending(call, pending)
    if observed is None:
        ref = _create(call, desired, pending)
        observed = _describe(call, ref)
        if observed is None:
            raise HandlerError(f"the new {call.kind.noun} {ref.arn} cannot be found")
    return _wait_for(call, desired, observed)


def _create(call: Call, desired: Desired, pending: Pending) -> Ref:
    event = call.event
    tags = dict(desired.tags)
    tags[contract.RESERVED_TAG_KEY] = ownership.make_tag(
        event.stack_id, event.logical_id, event.request_id, desired.identity
    )
    try:
        ref = call.kind.create(call.client, desired, pending.name, tags)
    except Exception as error:
        if faults.is_conflict(error):
            # a concurrent poll of this very request may have created it
            _RESOLVED.pop((pending.membership, pending.request, pending.name), None)
            found = _resolve_pending(call, pending)
            if found is not None:
                return found.ref
        if faults.is_transient(error):
            raise NotYet(error) from error
        raise call.fail(error, f"creating {call.kind.noun}", repr(pending.name)) from error
    _RESOLVED[(pending.membership, pending.request, pending.name)] = ref
    log("created", physicalResourceId=ref.physical_id, **event.fields())
    return ref


def _current(call: Call) -> Ref:
    target = call.kind.parse_physical_id(
        str(call.event.extra.get(TARGET_KEY) or call.event.physical_id)
    )
    if not isinstance(target, Ref):
        raise HandlerError(f"lost track of the {call.kind.noun}: {call.event.physical_id!r}")
    return target


def poll_wait(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    observed = _describe(call, _current(call))
    if observed is None:
        raise HandlerError(
            f"waiting for {call.kind.noun} {call.event.physical_id} failed "
            "(ResourceNotFoundException): it does not exist any more (deleted outside "
            "CloudFormation?) - deploy again to create it anew"
        )
    return _wait_for(call, desired, observed)


def poll_refresh(call: Call) -> dict[str, Any]:
    desired = call.kind.parse(call.event.properties)
    observed = _describe(call, _current(call))
    if observed is None:
        raise HandlerError(f"{call.kind.noun} {call.event.physical_id} no longer exists")
    if call.event.extra.get(WAITER_KEY) == WAITER_START:
        started = float(call.event.extra.get(STARTED_AT_KEY, call.now))
        if not _start_long_wait(call, desired, observed, started):
            return {"IsComplete": False}
    return _done(observed)


def poll_delete(call: Call) -> dict[str, Any]:
    observed = _describe(call, _current(call))
    if observed is None:
        log("deleted", physicalResourceId=call.event.physical_id, **call.event.fields())
        return {"IsComplete": True}
    # the one-time step, if on_event could not take it and nothing has happened since
    deferred = call.event.extra.get(DEFERRED_STEP_KEY)
    first = deferred is not None and observed.updated == float(deferred)
    step = _delete_step(call, observed, first)
    log(
        "poll",
        physicalResourceId=observed.ref.physical_id,
        status=observed.status,
        **call.event.fields(),
    )
    return {"IsComplete": step == Step.DONE}


POLLS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    CREATE: poll_create,
    WAIT: poll_wait,
    REFRESH: poll_refresh,
    DELETE: poll_delete,
    NONE: lambda call: {"IsComplete": True},
}


# --- entry points ------------------------------------------------------------------------


def on_event(call: Call) -> dict[str, Any]:
    """The Provider framework's ``onEvent``: decide, and say what the polls do."""
    event = call.event
    log(
        "on-event",
        physicalResourceId=event.physical_id if event.request_type != "Create" else None,
        **event.fields(),
    )
    handler = REQUESTS.get(event.request_type)
    if handler is None:
        raise HandlerError(f"unknown request type {event.request_type!r}")
    return handler(call)


def is_complete(call: Call) -> dict[str, Any]:
    """The Provider framework's ``isComplete``: one look (and the step it allows)."""
    action = str(call.event.extra.get(ACTION_KEY, NONE))
    poll = POLLS.get(action)
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
        deadline = _deadline(call.kind.parse(event.properties))
    except PropertyError:
        deadline = contract.SHORT_PATH_DEADLINE_SECONDS
    if elapsed >= deadline:
        raise HandlerError(
            f"timed out after {elapsed:.0f} s waiting for {call.kind.noun} "
            f"{event.physical_id}; the last look failed ({faults.describe(pause.cause)})"
        )
    return {"IsComplete": False}
