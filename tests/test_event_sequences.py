"""Every row of ``shared/reference/cloudformation-event-sequences.md`` as a test.

Each row sends the exact events CloudFormation sends, in order, through the
handler's real entry points (``index.on_event`` / ``index.is_complete``, and the
long path's waiter), with the Provider framework's behaviour around them
(``cfn.Framework``), against the Clean Rooms ML emulator over HTTP on a virtual
clock. Every row runs for every combination of name (generated, fixed), removal
policy (RETAIN, DESTROY) and path (short; long: a WaitCondition signalled by the
waiter).

A = the resource before the change, B = its replacement. Under RETAIN,
CloudFormation skips the Deletes marked so in the table; they are sent anyway
here, and the handler must then do nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cfn import CREATE_FAILED_MARKER, CloudFormation, Framework, Response, Waiters, waiters

import contract
import index
from aws_client import make_client
from cleanroomsml_emulator import Emulator, EmulatorServer, Timings, start_server
from helpers import handler_properties

EPOCH = 1_800_000_000.0


@dataclass
class World:
    """One resource's stack, the emulator behind it, and what to assert with."""

    cfn: CloudFormation
    emulator: Emulator
    waiters: Waiters
    name: str
    policy: str
    path: str

    def props(self, config: str = "A", tags: dict[str, str] | None = None) -> dict[str, Any]:
        """Configuration A or B (B replaces A: another hyperparameter, another name)."""
        fields: dict[str, Any] = {
            contract.HYPERPARAMETERS: {"epochs": "10" if config == "A" else "20"},
            contract.REMOVAL_POLICY: self.policy,
            contract.TAGS: tags,
        }
        if self.name == "fixed":
            fields[contract.NAME_PREFIX] = None
            fields[contract.NAME] = f"model-{config.lower()}"
        if self.path == "long":
            fields[contract.COMPLETION_TIMEOUT_SECONDS] = "7200"
            fields[contract.WAIT_HANDLE_URL] = self.waiters.url(config)
        return handler_properties(**fields)

    @property
    def destroy(self) -> bool:
        return self.policy == "destroy"

    def deployed(self, response: Response, config: str) -> bool:
        """Whether the resource deployed: its answer, and on the long path its WaitCondition."""
        if not response.ok or self.path == "short":
            return response.ok
        self.waiters.run()
        signals = self.waiters.signals(self.waiters.url(config))
        return bool(signals) and signals[-1]["Status"] == "SUCCESS"

    def trainings(self) -> int:
        """Trainings started, ever."""
        return len(self.emulator.snapshot())

    def status(self, physical_id: str) -> str:
        arn = physical_id.split("#")[0]
        (model,) = [m for m in self.emulator.snapshot() if m["trainedModelArn"] == arn]
        return str(model["status"])

    def statuses(self) -> list[str]:
        return sorted(m["status"] for m in self.emulator.snapshot())

    def settle(self) -> None:
        """Let deletions and cancellations finish."""
        self.emulator.clock.advance(60)


@pytest.fixture(scope="module")
def cloud() -> Iterator[tuple[EmulatorServer, Any, Waiters]]:
    """One emulator server, client and handle server for the module (fast tests)."""
    server = start_server(Emulator())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_CLEANROOMSML", server.endpoint_url)
        client = make_client()
    with waiters(lambda seconds: None) as handles:
        yield server, client, handles
    server.stop()


@pytest.fixture(
    params=[
        (name, policy, path)
        for path in ("short", "long")
        for name in ("generated", "fixed")
        for policy in ("retain", "destroy")
    ],
    ids=lambda p: "-".join(p),
)
def world(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    cloud: tuple[EmulatorServer, Any, Waiters],
) -> World:
    name, policy, path = request.param
    server, client, handles = cloud
    emulator = Emulator(
        timings=Timings(pending_seconds=5, training_seconds=60, transition_seconds=5)
    )
    server.emulator = emulator  # a fresh cloud for each test

    def advance(seconds: float) -> None:
        emulator.clock.advance(seconds)

    handles.reset(advance)
    monkeypatch.setattr(index, "_client", client)
    monkeypatch.setattr(index, "clock", lambda: EPOCH + emulator.clock.now())
    monkeypatch.setattr(index, "sleep", advance)
    monkeypatch.setattr(index, "_starter", lambda: handles.start)
    cfn = CloudFormation(Framework(advance=advance))
    return World(cfn, emulator, handles, name, policy, path)


ROWS: dict[str, Callable[[World], None]] = {}


def row(number: str) -> Callable[[Callable[[World], None]], Callable[[World], None]]:
    def register(test: Callable[[World], None]) -> Callable[[World], None]:
        ROWS[number] = test
        return test

    return register


@row("1 first deploy, succeeds")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))  # Create(new) -> returns A
    assert w.deployed(a, "A"), a.reason
    assert a.physical_id.startswith("arn:aws:cleanrooms-ml:")
    assert a.data["Status"] in ("ACTIVE", "CREATE_IN_PROGRESS", "CREATE_PENDING")
    assert "VersionIdentifier" not in a.data  # a base model has no version
    assert w.trainings() == 1
    assert w.status(a.physical_id) == "ACTIVE"


@row("2a first deploy, on_event itself fails")
def _(w: World) -> None:
    w.emulator.inject_fault("ListTrainedModels", "AccessDeniedException", count=1)
    a = w.cfn.create(w.props("A"))  # Create(new) -> FAILED with the marker id
    assert a.status == "FAILED"
    assert a.physical_id == CREATE_FAILED_MARKER
    assert "AccessDeniedException" in a.reason
    calls = len(w.emulator.calls)
    rollback = w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # answered by the framework
    assert rollback.ok
    assert len(w.emulator.calls) == calls  # never reached the handler
    assert w.trainings() == 0


@row("2b first deploy, the training fails")
def _(w: World) -> None:
    w.emulator.fail_next_training("AlgorithmError: loss is NaN")
    a = w.cfn.create(w.props("A"))  # on_event returned A, then FAILED carrying A
    assert not w.deployed(a, "A")
    reason = a.reason if w.path == "short" else w.waiters.signals(w.waiters.url("A"))[-1]["Reason"]
    assert "AlgorithmError: loss is NaN" in reason
    assert a.physical_id != CREATE_FAILED_MARKER  # the framework answers with A's id
    w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # rollback: Delete(A)
    w.settle()
    (status,) = w.statuses()
    assert status == ("INACTIVE" if w.destroy else "CREATE_FAILED")
    assert w.trainings() == 1


@row("3 first deploy, a later resource fails")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # rollback: Delete(A)
    w.settle()
    assert w.status(a.physical_id) == ("INACTIVE" if w.destroy else "ACTIVE")
    # cdk deploy again: the rolled-back stack is deleted and created under its name
    w.cfn.recreate_stack()
    again = w.cfn.create(w.props("A"))
    assert w.deployed(again, "A"), again.reason
    if not w.destroy:  # the model the first attempt kept is adopted: no second training
        assert again.physical_id == a.physical_id
        assert w.trainings() == 1
    else:
        assert w.trainings() == 2


@row("4 in-place update (tags only)")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    tagged = w.props("A", tags={"team": "ml"})
    updated = w.cfn.update(tagged, old=w.props("A"), physical_id=a.physical_id)
    assert updated.ok, updated.reason
    assert updated.physical_id == a.physical_id  # Update(new, old, A) -> returns A
    (model,) = w.emulator.snapshot()
    assert model["tags"]["team"] == "ml"
    assert w.trainings() == 1


def _replace(w: World) -> tuple[Response, Response]:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert w.deployed(b, "B"), b.reason
    assert b.physical_id != a.physical_id  # Update(new, old, A) -> returns B
    return a, b


@row("5 replacing update, all succeeds")
def _(w: World) -> None:
    a, b = _replace(w)
    cleanup = w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # Delete(A, props=old)
    assert cleanup.ok, cleanup.reason
    w.settle()
    assert w.status(a.physical_id) == ("INACTIVE" if w.destroy else "ACTIVE")
    assert w.status(b.physical_id) == "ACTIVE"
    assert w.trainings() == 2


@row("6 replacing update succeeds, a later resource fails")
def _(w: World) -> None:
    a, b = _replace(w)
    # UPDATE_ROLLBACK: Update(props=old, OldResourceProperties=new, PhysicalResourceId=B)
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=b.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id  # A still exists and is returned
    assert w.trainings() == 2  # no third training
    # UPDATE_ROLLBACK_COMPLETE_CLEANUP: Delete(B, props=new)
    assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    w.settle()
    assert w.status(a.physical_id) == "ACTIVE"  # never touched
    assert w.status(b.physical_id) == ("INACTIVE" if w.destroy else "ACTIVE")


def _row_7(w: World, rollback_id: str) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    w.emulator.fail_next_training("AlgorithmError: out of memory")
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert not w.deployed(b, "B")  # this resource fails: the framework's FAILED carries B
    assert b.physical_id != a.physical_id
    # UPDATE_ROLLBACK: Update(props=old, old=new) with B or A as PhysicalResourceId
    current = b.physical_id if rollback_id == "B" else a.physical_id
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=current)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    assert w.trainings() == 2
    if rollback_id == "B":  # cleanup of the replacement CloudFormation knows
        assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    w.settle()
    failed = [m for m in w.emulator.snapshot() if m["status"] != "ACTIVE"]
    (model,) = failed  # B: deleted under DESTROY (when CloudFormation asked), else kept
    expected = "INACTIVE" if w.destroy and rollback_id == "B" else "CREATE_FAILED"
    assert model["status"] == expected
    assert w.status(a.physical_id) == "ACTIVE"


@row("7 replacing update, this resource fails; rollback names B")
def _(w: World) -> None:
    _row_7(w, "B")


@row("7 replacing update, this resource fails; rollback names A")
def _(w: World) -> None:
    _row_7(w, "A")


@row("8 rollback of an in-place update")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    tagged = w.props("A", tags={"team": "ml"})
    assert w.cfn.update(tagged, old=w.props("A"), physical_id=a.physical_id).ok
    back = w.cfn.update(w.props("A"), old=tagged, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id  # Update(props=old, old=new, A) -> returns A
    (model,) = w.emulator.snapshot()
    assert "team" not in model["tags"]
    assert w.trainings() == 1


@row("9 stack delete")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # Delete(A)
    w.settle()
    assert w.status(a.physical_id) == ("INACTIVE" if w.destroy else "ACTIVE")


@row("10 any event delivered twice")
def _(w: World) -> None:
    first = w.cfn.create(w.props("A"), request_id="create-1")
    second = w.cfn.create(w.props("A"), request_id="create-1")
    assert w.deployed(first, "A"), first.reason
    assert second.ok, second.reason
    assert first.physical_id == second.physical_id
    assert w.trainings() == 1
    b1 = w.cfn.update(
        w.props("B"), old=w.props("A"), physical_id=first.physical_id, request_id="update-1"
    )
    b2 = w.cfn.update(
        w.props("B"), old=w.props("A"), physical_id=first.physical_id, request_id="update-1"
    )
    assert w.deployed(b1, "B"), b1.reason
    assert b2.ok, b2.reason
    assert b1.physical_id == b2.physical_id
    assert w.trainings() == 2
    for _ in range(2):
        assert w.cfn.delete(w.props("B"), physical_id=b1.physical_id, request_id="delete-1").ok
    w.settle()
    assert w.status(b1.physical_id) == ("INACTIVE" if w.destroy else "ACTIVE")


@pytest.mark.parametrize("number", list(ROWS))
def test_row(number: str, world: World) -> None:
    ROWS[number](world)
