"""The handler is right under either reading of what AWS does not document.

Each unknown of ``cdk_cleanrooms_ml/local/ASSUMPTIONS.md`` the handler is made right
under (the assumptions table says which) is played both ways by the emulator
(``Readings``), and each test runs under both:

- A1/A12, names: is a name free again once its resource is deleted (INACTIVE)?
  Under "free" a fixed name is used again; under "kept" the deploy fails at once with a
  reason that says the service keeps it, nothing else made. Generated names never meet
  the question (each create request makes a new one).
- A4/A6/A13/A15, states: may a resource be cancelled while CREATE_PENDING; does a failed
  creation store anything to delete; may a CANCEL_FAILED model's output be deleted, or
  must it be cancelled again? Under DESTROY every one ends deleted (INACTIVE) with one
  creation, under either reading.

Through the handler's real entry points, the Provider framework around them and the
emulator over HTTP on a virtual clock (``emulated``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulated import ASSOCIATION, CHANNEL_ROLE, M, World, active_inputs, model_props, serve

import contract
from cdk_cleanrooms_ml.local.emulator import EmulatorServer, Readings
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL, JOB, MODEL

NAMES = {"free": Readings(), "kept": Readings(inactive_holds_name=True)}
STATES = {"as-assumed": Readings(), "strict": Readings(strict_states=True)}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _channel(name: str | None = None, **extra: str) -> dict[str, Any]:
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION,
        contract.QUERY_STRING: "SELECT * FROM t",
        contract.ROLE_ARN: CHANNEL_ROLE,
        contract.RETENTION_IN_DAYS: "7",
        contract.REMOVAL_POLICY: "destroy",
    }
    if name is None:
        props[contract.NAME_PREFIX] = "Test-Channel"
    else:
        props[contract.NAME] = name
    props.update(extra)
    return props


def _model(name: str | None = None, **extra: str) -> dict[str, Any]:
    props = model_props("10", **extra)
    if name is not None:
        props.pop(contract.NAME_PREFIX)
        props[contract.NAME] = name
    return props


KINDS = {
    "trained-model": (contract.RESOURCE_TYPE, MODEL, _model),
    "ml-input-channel": (contract.ML_INPUT_CHANNEL_RESOURCE_TYPE, CHANNEL, _channel),
}


def _statuses(world: World, kind: str) -> list[tuple[str, str]]:
    return sorted((r["name"], r["status"]) for r in world.emulator.snapshot(kind))


@pytest.mark.parametrize("reading", list(NAMES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_fixed_name_after_its_resource_was_destroyed(
    world: World, kind: str, reading: str
) -> None:
    """A1/A12. Events: stack 1 Create(fixed name) -> ACTIVE; stack deleted, DESTROY:
    Delete -> INACTIVE; stack 2 (same name) Create(same props).

    "free": the second Create makes a new resource under the name. "kept": it fails at
    once, its reason naming the deleted holder and saying the service keeps the name
    (not "remove that one", which cannot be done); nothing is made, nothing retried."""
    world.emulator.readings = NAMES[reading]
    resource_type, emulated, props = KINDS[kind]
    cfn = world.cfn(resource_type)
    first = cfn.create(props("fixed-name"))
    assert first.ok, first.reason
    deleted = cfn.delete(props("fixed-name"), physical_id=first.physical_id)
    assert deleted.ok, deleted.reason
    world.settle()
    cfn.recreate_stack()
    again = cfn.create(props("fixed-name"))
    if reading == "free":
        assert again.ok, again.reason
        assert _statuses(world, emulated) == [("fixed-name", "ACTIVE"), ("fixed-name", "INACTIVE")]
    else:
        assert not again.ok
        assert "still held by a deleted" in again.reason
        assert "does not free the name" in again.reason
        assert _statuses(world, emulated) == [("fixed-name", "INACTIVE")]
        # CloudFormation's rollback deletes what the failed Create answered: nothing
        assert cfn.delete(props("fixed-name"), physical_id=again.physical_id).ok


@pytest.mark.parametrize("reading", list(NAMES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_generated_names_never_depend_on_the_reading(world: World, kind: str, reading: str) -> None:
    """A1/A12: a stack deleted (DESTROY) and deployed again under its name makes a new
    resource under a new generated name, whichever the service does with the old one."""
    world.emulator.readings = NAMES[reading]
    resource_type, emulated, props = KINDS[kind]
    cfn = world.cfn(resource_type)
    first = cfn.create(props())
    assert first.ok, first.reason
    assert cfn.delete(props(), physical_id=first.physical_id).ok
    world.settle()
    cfn.recreate_stack()
    again = cfn.create(props())
    assert again.ok, again.reason
    assert sorted(s for _, s in _statuses(world, emulated)) == ["ACTIVE", "INACTIVE"]


def _gone(world: World, kind: str) -> list[str]:
    world.settle()
    return [str(r["status"]) for r in world.emulator.snapshot(kind)]


@pytest.mark.parametrize("reading", list(STATES))
@pytest.mark.parametrize("kind", ["trained-model", "inference-job"])
def test_destroy_stops_a_resource_still_pending(world: World, kind: str, reading: str) -> None:
    """A4/A15. Events: Create(wait_for_completion=false) -> the resource exists,
    CREATE_PENDING; Delete(DESTROY) at once.

    "as-assumed": the cancellation is taken at once. "strict" (cancellable only once
    CREATE_IN_PROGRESS): the service's Conflict is "look again", and the next poll cancels
    it. Either way the Delete succeeds, the resource ends INACTIVE, one creation."""
    world.emulator.readings = STATES[reading]
    if kind == "trained-model":
        cfn, props, emulated = world.cfn(), _model(WaitForCompletion="false"), MODEL
    else:
        cfn, emulated = world.cfn(contract.INFERENCE_JOB_RESOURCE_TYPE), JOB
        props = _job(world)
    created = cfn.create(props)
    assert created.ok, created.reason
    assert [r["status"] for r in world.emulator.snapshot(emulated)] == ["CREATE_PENDING"]
    deleted = cfn.delete(props, physical_id=created.physical_id)
    assert deleted.ok, deleted.reason
    assert _gone(world, emulated) == ["INACTIVE"]
    cancel = "CancelTrainedModel" if emulated == MODEL else "CancelTrainedModelInferenceJob"
    # refused while pending under "strict", taken at a later look
    calls = world.emulator.calls.count(cancel)
    assert calls > 1 if reading == "strict" else calls == 1


@pytest.mark.parametrize("reading", list(STATES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_destroy_deletes_a_failed_creation(world: World, kind: str, reading: str) -> None:
    """A6/A13. Events: Create -> the training (query) fails, CREATE_FAILED; the rollback's
    Delete(DESTROY). "as-assumed": what it stored is deleted (INACTIVE). "strict": the
    service stores nothing for it (Conflict): the delete is done. Never a failed Delete."""
    world.emulator.readings = STATES[reading]
    resource_type, emulated, props = KINDS[kind]
    cfn = world.cfn(resource_type)
    world.emulator.fail_next_creation(emulated, "Failed: it failed")
    created = cfn.create(props())
    assert not created.ok
    deleted = cfn.delete(props(), physical_id=created.physical_id)
    assert deleted.ok, deleted.reason
    expected = "CREATE_FAILED" if reading == "strict" else "INACTIVE"
    assert _gone(world, emulated) == [expected]
    assert (
        world.emulator.calls.count(
            "DeleteTrainedModelOutput" if emulated == MODEL else "DeleteMLInputChannelData"
        )
        == 1
    )


@pytest.mark.parametrize("reading", list(STATES))
def test_a_model_whose_cancellation_failed_is_deleted_by_the_next_stack_delete(
    world: World, reading: str
) -> None:
    """A4/A6. Events: Create(wait_for_completion=false); Delete(DESTROY) -> the
    cancellation fails (CANCEL_FAILED): the Delete fails with the service's reason; the
    stack delete is retried: Delete again.

    "as-assumed": the retry deletes the output. "strict" (a CANCEL_FAILED model's output
    cannot be deleted): the refusal is followed by a second cancellation. Either way the
    retried Delete succeeds and the model ends INACTIVE."""
    world.emulator.readings = STATES[reading]
    cfn = world.cfn()
    props = _model(WaitForCompletion="false")
    created = cfn.create(props)
    assert created.ok, created.reason
    world.emulator.clock.advance(10)  # training: cancellable under either reading
    world.emulator.fail_next_cancel("the training could not be stopped")
    first = cfn.delete(props, physical_id=created.physical_id)
    assert not first.ok
    assert "CANCEL_FAILED" in first.reason
    assert "could not be stopped" in first.reason
    retried = cfn.delete(props, physical_id=created.physical_id)
    assert retried.ok, retried.reason
    assert _gone(world, MODEL) == ["INACTIVE"]
    # the second cancellation only where the output could not be deleted
    assert world.emulator.calls.count("CancelTrainedModel") == (2 if reading == "strict" else 1)


def _job(world: World) -> dict[str, Any]:
    """An inference job's properties (wait_for_completion=false, DESTROY), on an ACTIVE
    model and channel made in the emulator (A16)."""
    model, channel, _ = active_inputs(world.emulator)
    return {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME_PREFIX: "Test-Inference",
        contract.TRAINED_MODEL_ARN: model,
        contract.ML_INPUT_CHANNEL_ARN: channel,
        contract.INSTANCE_TYPE: "ml.m5.xlarge",
        contract.OUTPUT_ACCOUNT_ID: "000000000000",
        contract.REMOVAL_POLICY: "destroy",
        contract.WAIT_FOR_COMPLETION: "false",
    }
