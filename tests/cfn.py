"""An in-process stand-in for CloudFormation and the CDK Provider framework.

``Framework`` does with the handler's answers what the framework's own code does
(``test_provider_framework.py`` runs that code under node and checks each point):

- a failing ``on_event`` answers FAILED with the event's physical id, or the marker
  ``AWSCDK::CustomResourceProviderFramework::CREATE_FAILED`` for a Create, and a
  Delete of the marker is answered by the framework itself;
- the polls get ``{...event, ...onEventResult}``; a SUCCESS answer is
  ``{...pollInput, ...isCompleteResult}``, so a poll's ``PhysicalResourceId`` wins;
- a failing poll answers FAILED with the poll input's physical id (on_event's);
- a waiter that cannot start answers FAILED as a failing ``on_event`` does, and so
  does one whose input (``{...event, ...onEventResult}``, the whole event as JSON)
  is over Step Functions' 262,144 bytes;
- an answer whose body is over CloudFormation's 4,096 bytes is refused ("Response
  object is too long"): the resource fails.

``CloudFormation`` sends the events of one logical resource, every scalar property
stringified as CloudFormation does, and keeps what ``ListStackResources`` lists.
``Waiters`` stands in for the long path's Step Functions waiter and the
WaitCondition handles it signals (real HTTP).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import contract
import engine
import index
from helpers import LOGICAL_ID, STACK_ID, cfn_stringify

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
WAITER_INPUT_MAX_BYTES = 262_144
"""Step Functions' largest execution input: the framework's waiter gets the event."""
RESPONSE_MAX_BYTES = 4096
"""CloudFormation's largest custom resource response body."""


def json_bytes(value: Any) -> int:
    """The bytes of ``value`` as the framework's JSON.stringify writes it (UTF-8)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", errors="surrogatepass"))


STACKS: dict[str, dict[str, tuple[str, str]]] = {}
"""What ``ListStackResources`` lists: stack id -> logical id -> (physical id, status),
kept by every ``CloudFormation`` as its events are answered (conftest serves it to the
handler in place of the real call and empties it for each test)."""

OPERATIONS: dict[str, str] = {}
"""What ``DescribeStacks`` tells of a stack: its operation (``STATUS@since``), set by
a test that plays CloudFormation moving on (cancelling, rolling back, deleting); a
stack not here is in one operation for good (conftest serves it to the handler)."""


def stack_operation(stack_id: str) -> str:
    """``index._stack_operation`` for the in-process CloudFormation."""
    return OPERATIONS.get(stack_id, "UPDATE_IN_PROGRESS@2026-01-01T00:00:00+00:00")


def stack_resources(stack_id: str) -> list[engine.StackResource]:
    """``index._stack_resources`` for the in-process CloudFormation."""
    return [
        engine.StackResource(logical_id, physical_id, status)
        for logical_id, (physical_id, status) in STACKS.get(stack_id, {}).items()
    ]


@dataclass
class Response:
    """What CloudFormation receives."""

    status: str
    physical_id: str
    data: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    polls: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"

    def as_received(self, event: Mapping[str, Any]) -> Response:
        """What CloudFormation makes of it: a body over ``RESPONSE_MAX_BYTES`` is refused."""
        body = {
            "Status": self.status,
            "Reason": self.reason,
            "PhysicalResourceId": self.physical_id,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
            "NoEcho": False,
            "Data": self.data,
        }
        if json_bytes(body) <= RESPONSE_MAX_BYTES:
            return self
        return Response("FAILED", self.physical_id, reason="Response object is too long.")


class Context:
    """A Lambda context with five minutes to go."""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class InFlight:
    """One event in the framework: on_event has answered, the waiter polls.

    ``poll()`` is one ``isComplete`` invocation (the waiter's next step); ``response``
    is set once the framework answered CloudFormation. A waiter CloudFormation stopped
    waiting for (row 11) polls on all the same: its answer is then just ignored.
    """

    framework: Framework
    event: dict[str, Any]
    merged: dict[str, Any] = field(default_factory=dict)
    response: Response | None = None
    polls: int = 0

    def poll(self) -> Response | None:
        if self.response is not None:
            return self.response
        self.polls += 1
        merged = self.merged
        try:
            done = self.framework.is_complete(dict(merged), Context())
        except Exception as error:
            self.response = Response(
                "FAILED", str(merged["PhysicalResourceId"]), reason=str(error), polls=self.polls
            ).as_received(self.event)
            return self.response
        if done.get("IsComplete"):
            answer = {**merged, **done}
            data = {**(merged.get("Data") or {}), **(done.get("Data") or {})}
            self.response = Response(
                "SUCCESS", str(answer["PhysicalResourceId"]), data, polls=self.polls
            ).as_received(self.event)
            return self.response
        assert not done.get("Data"), "Data is not allowed when IsComplete is False"
        if self.polls >= self.framework.max_polls:
            self.response = Response(
                "FAILED",
                str(merged["PhysicalResourceId"]),
                reason="Operation timed out",
                polls=self.polls,
            )
        return self.response


@dataclass
class Framework:
    """The Provider framework around the handler's entry points."""

    advance: Callable[[float], None] = lambda seconds: None
    """Moves the clock between polls (the emulator's: no real sleeping)."""
    query_interval: float = 10.0
    max_polls: int = 360
    waiter_starts: bool = True
    on_event: Callable[[dict[str, Any], object], dict[str, Any]] = index.on_event
    is_complete: Callable[[dict[str, Any], object], dict[str, Any]] = index.is_complete

    def start(self, event: dict[str, Any]) -> InFlight:
        """The framework's onEvent: the handler's on_event, then the waiter started
        (not yet polled); a failure answers at once (``InFlight.response``)."""
        physical_id = event.get("PhysicalResourceId")
        flight = InFlight(self, event)
        if event["RequestType"] == "Delete" and physical_id == CREATE_FAILED_MARKER:
            # never reaches the handler
            flight.response = Response("SUCCESS", CREATE_FAILED_MARKER)
            return flight
        failed_id = physical_id or CREATE_FAILED_MARKER
        try:
            result = self.on_event(dict(event), Context())
        except Exception as error:
            flight.response = Response("FAILED", str(failed_id), reason=str(error)).as_received(
                event
            )
            return flight
        merged = {**event, **result}
        merged["PhysicalResourceId"] = result.get("PhysicalResourceId") or (
            event["RequestId"] if event["RequestType"] == "Create" else physical_id
        )
        flight.merged = merged
        if not self.waiter_starts:
            flight.response = Response(
                "FAILED", str(failed_id), reason="States.ExecutionLimitExceeded"
            )
        elif json_bytes(merged) > WAITER_INPUT_MAX_BYTES:
            # StartExecution refuses it; the framework answers FAILED with its message
            flight.response = Response(
                "FAILED",
                str(failed_id),
                reason=(
                    "1 validation error detected: Value at 'input' failed to satisfy "
                    f"constraint: Member must have length less than or equal to "
                    f"{WAITER_INPUT_MAX_BYTES}"
                ),
            )
        return flight

    def handle(self, event: dict[str, Any]) -> Response:
        flight = self.start(event)
        while True:
            response = flight.poll()
            if response is not None:
                return response
            self.advance(self.query_interval)


@dataclass
class CloudFormation:
    """The events CloudFormation sends one logical resource of one stack."""

    framework: Framework
    resource_type: str = contract.RESOURCE_TYPE
    logical_id: str = LOGICAL_ID
    stack_id: str = STACK_ID
    sent: list[dict[str, Any]] = field(default_factory=list)

    def event(
        self,
        request_type: str,
        props: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:framework-onEvent",
            "ResponseURL": "https://cloudformation-custom-resource-response.s3/SECRET-PRESIGNED",
            "StackId": self.stack_id,
            "RequestId": request_id or str(uuid.uuid4()),
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": cfn_stringify(dict(props)),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = cfn_stringify(dict(old))
        return event

    def send(self, event: dict[str, Any]) -> Response:
        self.sent.append(event)
        response = self.framework.handle(event)
        self._record(event, response)
        return response

    def _record(self, event: Mapping[str, Any], response: Response) -> None:
        """The logical resource as CloudFormation lists it after this event."""
        resources = STACKS.setdefault(self.stack_id, {})
        request = str(event["RequestType"]).upper()
        held = resources.get(self.logical_id)
        if request == "DELETE":
            # a cleanup deletes a replaced physical id: the logical resource stays
            if response.ok and held is not None and held[0] == event.get("PhysicalResourceId"):
                del resources[self.logical_id]
            return
        if response.ok:
            resources[self.logical_id] = (response.physical_id, f"{request}_COMPLETE")
        elif held is not None:
            resources[self.logical_id] = (held[0], f"{request}_FAILED")
        else:
            resources[self.logical_id] = (response.physical_id, f"{request}_FAILED")

    def create(self, props: Mapping[str, Any], *, request_id: str | None = None) -> Response:
        return self.send(self.event("Create", props, request_id=request_id))

    def update(
        self,
        props: Mapping[str, Any],
        *,
        old: Mapping[str, Any],
        physical_id: str,
        request_id: str | None = None,
        rollback: bool = False,
    ) -> Response:
        """Update(props, old, physical id); ``rollback``: the stack is rolling back then
        (UPDATE_ROLLBACK_IN_PROGRESS, what ``DescribeStacks`` tells the handler)."""
        if rollback:
            OPERATIONS[self.stack_id] = f"UPDATE_ROLLBACK_IN_PROGRESS@{uuid.uuid4()}"
        try:
            return self.send(
                self.event("Update", props, physical_id=physical_id, old=old, request_id=request_id)
            )
        finally:
            if rollback:
                OPERATIONS.pop(self.stack_id, None)

    def delete(
        self, props: Mapping[str, Any], *, physical_id: str, request_id: str | None = None
    ) -> Response:
        return self.send(
            self.event("Delete", props, physical_id=physical_id, request_id=request_id)
        )

    def recreate_stack(self) -> None:
        """The stack deleted and created again under its name (a new stack id)."""
        STACKS.pop(self.stack_id, None)
        OPERATIONS.pop(self.stack_id, None)
        head = self.stack_id.rsplit("/", 1)[0]
        self.stack_id = f"{head}/{uuid.uuid4()}"

    def start(self, props: Mapping[str, Any], *, request_id: str | None = None) -> InFlight:
        """A Create sent, on_event answered, the framework's waiter started (not polled):
        for a test that plays what happens while it waits."""
        event = self.event("Create", props, request_id=request_id)
        self.sent.append(event)
        return self.framework.start(event)

    def cancel(self, status: str = "ROLLBACK_IN_PROGRESS") -> str:
        """CloudFormation gives up on this resource's Create (a sibling failed: row 11,
        or the stack is being deleted): the stack moves on to ``status`` and the
        resource is CREATE_FAILED under a physical id CloudFormation makes up
        (``Stack-LogicalId-1XKQ2Z7ZJ4M5N``), which it returns."""
        OPERATIONS[self.stack_id] = f"{status}@{uuid.uuid4()}"
        stack_name = self.stack_id.split("/")[1]
        made_up = f"{stack_name}-{self.logical_id}-{uuid.uuid4().hex[:13].upper()}"
        STACKS.setdefault(self.stack_id, {})[self.logical_id] = (made_up, "CREATE_FAILED")
        return made_up


class _Handle(BaseHTTPRequestHandler):
    server: _HandleServer

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.signals.setdefault(self.path, []).append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _HandleServer(HTTPServer):
    signals: dict[str, list[dict[str, Any]]]


@dataclass
class Waiters:
    """The long path: WaitCondition handles (real HTTP) and the waiter's executions."""

    server: _HandleServer
    advance: Callable[[float], None]
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset(self, advance: Callable[[float], None]) -> None:
        """Forget every execution and signal; move ``advance``'s clock from now on."""
        self.advance = advance
        self.executions.clear()
        self.server.signals.clear()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/handle/{name}"

    def start(self, name: str, payload: Mapping[str, Any]) -> None:
        """What ``states:StartExecution`` does: one execution per name."""
        self.executions.setdefault(name, dict(payload))

    def run(self, step: float = 120.0, limit: int = 1000) -> None:
        """Run every started execution until it has signalled (or given up)."""
        for name, state in list(self.executions.items()):
            for _ in range(limit):
                if state["done"]:
                    break
                self.advance(step)
                state = index.long_wait_poll(state, Context())
            self.executions[name] = state

    def signals(self, url: str) -> list[dict[str, Any]]:
        path = url.split(str(self.server.server_address[1]), 1)[1]
        return self.server.signals.get(path, [])


@contextmanager
def waiters(advance: Callable[[float], None]) -> Iterator[Waiters]:
    server = _HandleServer(("127.0.0.1", 0), _Handle)
    server.signals = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Waiters(server, advance)
    finally:
        server.shutdown()
        server.server_close()
