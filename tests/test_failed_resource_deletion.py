"""A resource whose creation fails while (or before) its Delete waits is deleted under
DESTROY, freeing its name; a deletion that fails is reported; a service that keeps
a failed resource CREATE_FAILED, or throttles the ask, never hangs or loops the
Delete.

Through the handler's real entry points (``index.on_event`` / ``index.is_complete``), the
Provider framework's behaviour around them (``cfn.Framework``), the in-process
CloudFormation and the Clean Rooms ML emulator over HTTP on a virtual clock
(``emulated``). Each docstring gives the event sequence and what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulated import (
    ASSOCIATION,
    CHANNEL_ROLE,
    M,
    World,
    channel_props,
    client_for,
    model_props,
    serve,
)

import contract
import index
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _channel_props() -> dict[str, Any]:
    return {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME: "fixed-channel",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION,
        contract.QUERY_STRING: "SELECT * FROM t",
        contract.ROLE_ARN: CHANNEL_ROLE,
        contract.RETENTION_IN_DAYS: "7",
        contract.REMOVAL_POLICY: "destroy",
        contract.WAIT_FOR_COMPLETION: "false",
    }


def test_destroy_deletes_a_channel_whose_query_fails_while_the_delete_waits(world: World) -> None:
    """Row 3 (first deploy, a later resource fails) for an ML input channel, DESTROY,
    fixed name, wait_for_completion=False; then ``cdk deploy`` again.

    Events: Create(new) -> returns A while its protected query still runs; stack
    rollback: Delete(A) arrives while A is CREATE_IN_PROGRESS (no cancel exists for a
    channel: the poll waits); the query then fails (CREATE_FAILED). The stack is deleted
    and created again under its name: Create(same props).

    Expected (row 2b's rule for a channel under DESTROY, which test_event_sequences
    asserts: a CREATE_FAILED channel ends INACTIVE): DESTROY deletes A, so it frees its
    fixed name and the second deploy succeeds.
    """
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    a = cfn.create(_channel_props())
    assert a.ok, a.reason
    rollback = cfn.delete(_channel_props(), physical_id=a.physical_id)
    assert rollback.ok, rollback.reason
    world.settle(600)
    cfn.recreate_stack()
    again = cfn.create(_channel_props())
    (first, *_) = world.emulator.snapshot(CHANNEL)
    assert again.ok, f"{again.reason} (the first channel is {first['status']})"


def test_destroy_of_a_failed_training_the_service_keeps_create_failed_does_not_hang(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 2b (first deploy, the training fails), DESTROY: the rollback's Delete(A) of a
    CREATE_FAILED model, with a service that answers DeleteTrainedModelOutput 200 for a
    failed training that stored nothing and leaves it CREATE_FAILED (an idempotent
    no-op delete; the guard test 72ded8b removed — "a service that keeps CREATE_FAILED
    cannot loop" — covered exactly this).

    Expected: the Delete completes (no stack left waiting; before 72ded8b a
    CREATE_FAILED model after the first step was ``Step.DONE``).
    """
    original = Emulator._op_DeleteTrainedModelOutput

    def no_op_for_failed(self: Emulator, params: dict[str, Any]) -> dict[str, Any]:
        _model, _now, status = self._target(params)
        if status == "CREATE_FAILED":
            return {}  # nothing stored: accepted, nothing changes
        return original(self, params)

    monkeypatch.setattr(Emulator, "_op_DeleteTrainedModelOutput", no_op_for_failed)
    cfn = world.cfn()
    world.emulator.fail_next_training("AlgorithmError: training failed")
    props = model_props("10")
    a = cfn.create(props)
    assert a.status == "FAILED"
    gone = cfn.delete(props, physical_id=a.physical_id)
    deletes = world.emulator.calls.count("DeleteTrainedModelOutput")
    assert gone.ok, f"{gone.reason} after {gone.polls} polls and {deletes} output deletes"


def _statuses(world: World, kind: str) -> dict[str, str]:
    return {m["arn"]: m["status"] for m in world.emulator.snapshot(kind)}


def _others(world: World, kind: str, keep: str) -> dict[str, str]:
    found = {m["arn"]: m["status"] for m in world.emulator.snapshot(kind)}
    assert found.pop(keep) == "ACTIVE"
    return found


def test_delete_of_a_channel_whose_query_fails_while_it_waits_reports_a_failed_deletion(
    world: World,
) -> None:
    """Row 2b for an ML input channel, DESTROY: the Create times out (30 s) while the
    query runs, so the rollback's Delete(A) waits for the query; the query then fails
    (CREATE_FAILED) and the deletion of its data, accepted, ends DELETE_FAILED.

    Events: Create(A) -> A -> FAILED "timed out ..."; Delete(A) -> waits (the query
    cannot be stopped) -> A CREATE_FAILED -> DeleteMlInputChannelData accepted -> A
    DELETE_PENDING -> DELETE_FAILED.

    Expected: as for every other deletion the handler starts (a READY one, or a
    CREATE_FAILED one seen by the Delete's first step, and as here before 486c856): the
    Delete follows it to INACTIVE and fails with the service's reason when it ends
    DELETE_FAILED, so the stack event says the channel (and its data, holding its name,
    ASSUMPTION A1) was left behind and a retried delete tries again.
    """
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    props = channel_props("SELECT a FROM t", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    world.emulator.fail_next_delete("the channel's data could not be deleted")
    a = cfn.create(props)
    assert not a.ok
    assert "timed out" in a.reason, a.reason
    gone = cfn.delete(props, physical_id=a.physical_id)
    world.settle(600)
    status = next(c["status"] for c in world.emulator.snapshot(CHANNEL))
    assert status == "DELETE_FAILED"  # the service's side of the story
    assert not gone.ok, (
        "the Delete reported SUCCESS although the channel's deletion ended DELETE_FAILED: "
        "the channel and its data are left, and CloudFormation no longer knows them"
    )


def test_delete_of_a_channel_whose_query_fails_survives_a_throttled_ask(
    world: World, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    """Row 2b for an ML input channel, DESTROY: the Create times out (30 s) while the
    query runs; the rollback's Delete(A) waits for the query, which then fails
    (CREATE_FAILED); the poll's DeleteMlInputChannelData is throttled (past the client's
    retries: one attempt here), which the Delete's poll takes as "look again at the next
    poll" (engine/delete.py ``_delete_step``).

    Events: Create(A) -> FAILED "timed out"; Delete(A) -> waits -> A CREATE_FAILED ->
    DeleteMlInputChannelData: ThrottlingException -> next poll.

    Expected: the throttled call is made again at a later poll (nothing was asked yet),
    and the Delete follows the deletion: A ends INACTIVE, its data and name freed.
    """
    monkeypatch.setattr(index, "_client", client_for(server, 1))
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    props = channel_props("SELECT a FROM t", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    world.emulator.inject_fault("DeleteMLInputChannelData", "ThrottlingException", count=1)
    a = cfn.create(props)
    assert not a.ok
    assert "timed out" in a.reason, a.reason
    gone = cfn.delete(props, physical_id=a.physical_id)
    assert world.emulator.calls.count("DeleteMLInputChannelData") >= 1
    world.settle(600)
    [status] = _statuses(world, CHANNEL).values()
    assert gone.ok, gone.reason
    assert status == "INACTIVE", (
        f"the Delete reported SUCCESS after {gone.polls} polls with the channel {status}: "
        "its one (throttled) deletion never happened and nothing asks again"
    )
