"""The engine's vocabulary: events, kinds, what is desired and what is observed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import aws_client
import contract
import faults
import ownership
from faults import HandlerError, NotYet
from jsonlog import log
from ownership import Pending, Ref

# Keys of the on_event result; the Provider framework passes them to every poll.
ACTION_KEY: Final = "CleanRoomsMLAction"
STARTED_AT_KEY: Final = "CleanRoomsMLStartedAt"
TARGET_KEY: Final = "CleanRoomsMLTarget"
"""The resource the polls look at (its own physical id), when on_event resolved it: the
event's physical id may be a pending one, which the polls need not resolve again."""
DEFERRED_STEP_KEY: Final = "CleanRoomsMLDeferredStep"
"""Set when the one-time step of a Delete (deleting a failed resource's output,
retrying a failed deletion) could not be taken in on_event: the resource's
``updateTime`` then. The poll takes the step while the resource still shows that
time, so a step that was taken is never repeated (the service's clock only)."""
OPERATION_KEY: Final = "CleanRoomsMLOperation"
"""Set when on_event hands a creation to the poll: the stack operation that sent the
event (``Call.stack_operation``). The poll creates only while the stack is still in
that operation: CloudFormation may have cancelled the request meanwhile (a sibling
failed, row 11; the stack is being deleted), and the framework's waiter polls on."""
ROLLBACK_KEY: Final = "CleanRoomsMLRollback"
"""An update rollback that keeps the resource the stack has (in place, even failed: a
rollback never starts anything): its poll reports it without waiting."""
STOPPING_KEY: Final = "CleanRoomsMLStopping"
"""A Delete's: the physical ids its polls stop (a cancelled Create's, found by tags)."""
ABANDONED_KEY: Final = "CleanRoomsMLAbandoned"
"""An update rollback's: the physical ids of failed replacements it is stopping (no
Delete comes for them); its polls finish stopping them (``shared.stop_step``)."""
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
    """Where the kind finds its resources by name (``Kind.summaries``) and a pending id's
    scope: the membership's id, ``ownership.ACCOUNT`` for a kind of the account, or the
    physical id of the resource an export exports."""
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
    replacement_protection: str | None = None
    """The construct's path when an update that would replace it must fail before
    anything starts..."""
    replacement_allowed: bool = False
    """... unless this deploy allows it."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """What an update applies in place by a service call, for a kind that has such
    properties (``Kind.in_place``): outside the identity, so a change keeps the resource."""

    base_arns: tuple[str, ...] = ()
    """The trained models it is trained from (incremental training): a model version,
    which under the "shared ARN" reading (ASSUMPTION A2) lives on one of these ARNs."""

    @property
    def versioned(self) -> bool:
        """Whether creating it makes a model version (incremental training)."""
        return bool(self.base_arns)


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
    document: Mapping[str, Any] = field(default_factory=dict)
    """What the service holds, for a kind that knows its own by its content (it has no
    tags): the ML configuration; or that updates in place (``Kind.in_place``)."""
    untagged: bool = False
    """The service cannot tag it (an export): found by the name this resource gives its
    own, it is taken as this resource's (``engine.shared.ours``), and its identity is
    read from what the service holds (``identity``), not from an ownership tag."""
    identity: str | None = None
    """An untagged resource's identity digest, computed from what the service holds."""
    shares_arn: bool = False
    """Whether the describe call saw other versions on its ARN (a base model whose
    ``GetTrainedModel`` answered for a later version: ASSUMPTION A2, "shared ARN")."""

    @property
    def tag_key(self) -> str | None:
        """The key of its ownership tag among its ARN's tags (``ownership.own_tag_key``)."""
        return ownership.own_tag_key(self.tags, self.name, self.ref.version is not None)

    @property
    def tag(self) -> ownership.Tag | None:
        key = self.tag_key
        return None if key is None else ownership.parse_tag(self.tags.get(key))

    @property
    def shared(self) -> bool:
        """Whether its ARN is shared with other model versions (ASSUMPTION A2): the
        describe call said so, or the ARN holds another resource's ownership tag."""
        own = self.tag_key
        return self.shares_arn or any(
            contract.is_reserved_tag_key(k) and k != own for k in self.tags
        )

    def user_tags(self) -> dict[str, str]:
        return {
            k: v
            for k, v in self.tags.items()
            if not contract.is_reserved_tag_key(k) and not k.lower().startswith("aws:")
        }


class Kind(Protocol):
    """The narrow interface between the engine and one resource type's API calls."""

    resource_type: str
    noun: str
    """How messages name it: "trained model"."""
    cancellable: bool
    """Whether ``delete_step`` stops one still being created (a channel's query cannot
    be stopped: its deletion waits for the query to end)."""
    starts: str
    """What creating one starts, for messages: "a new training"."""
    removable: bool
    """Whether a Delete can undo anything: an export cannot be undone (its Delete and a
    rollback touch nothing, and a creation that CloudFormation cancelled stays done)."""

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

    def in_place(self, observed: Observed, desired: Desired) -> Mapping[str, Any] | None:
        """What an update must change in place to make ``observed`` what ``desired`` asks
        (``Desired.settings``; empty: nothing), or None when that cannot be done in place
        (a setting the service cannot unset): the engine then replaces the resource."""
        ...

    def update(self, client: Any, observed: Observed, changes: Mapping[str, Any]) -> None:
        """Apply ``in_place``'s changes (service calls)."""
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

STACK_GONE: Final = "GONE"
"""``Call.stack_operation`` of a stack that no longer exists."""
NEVER_CREATES: Final = ("ROLLBACK_", "DELETE_", "UPDATE_ROLLBACK_", STACK_GONE)
"""Stack statuses (prefixes) in which CloudFormation sends no Create: a Create that
finds its stack in one was cancelled before the handler saw it."""
YOUNG_SECONDS: Final = 120.0
"""How long after on_event the creation's polls look at the stack again (a look right
after the creation that did not conclude, a resource not readable at once)."""

WORST_CALL_SECONDS: Final = aws_client.worst_call_seconds()
"""The longest one API call with all botocore's retries can take: on_event tries a
transient failure again only while that much time is left."""


@dataclass(frozen=True)
class StackResource:
    """One row of CloudFormation's ``ListStackResources``."""

    logical_id: str
    physical_id: str
    status: str


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
    stack_resources: Callable[[str], list[StackResource]] | None = None
    """The resources of a stack (by its id), as CloudFormation lists them now; None:
    not asked (a kind that needs them then acts as if no other resource held its own)."""
    stack_operation: Callable[[str], str] | None = None
    """The operation a stack (by its id) is in now (``StackStatus@LastUpdatedTime``;
    ``GONE`` for a stack that no longer exists); None: not asked (every creation then
    goes ahead)."""

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
