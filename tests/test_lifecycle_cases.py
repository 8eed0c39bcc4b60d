"""Event sequences beyond the table's rows: renames between fixed and generated names,
failed and timed-out models, cold containers and two resources racing for one name.

Same stand-ins as ``test_event_sequences.py``: the handler's real entry points, the
Provider framework's behaviour (``cfn.Framework``), the emulator on a virtual clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cfn import CloudFormation, Context, Framework, Response
from emulated import client_for, fresh_emulator, serve

import contract
import engine
import index
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer
from helpers import handler_properties

SHORT = {contract.COMPLETION_TIMEOUT_SECONDS: "30"}


@dataclass
class World:
    cfn: CloudFormation
    emulator: Emulator

    def props(self, epochs: str = "10", *, name: str | None = None, **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            contract.HYPERPARAMETERS: {"epochs": epochs},
            contract.REMOVAL_POLICY: "destroy",
        }
        if name is not None:
            fields[contract.NAME_PREFIX] = None
            fields[contract.NAME] = name
        fields.update(extra)
        return handler_properties(**fields)

    def trainings(self) -> int:
        return len(self.emulator.snapshot())

    def status(self, physical_id: str) -> str:
        arn = physical_id.split("#")[0]
        (model,) = [m for m in self.emulator.snapshot() if m["trainedModelArn"] == arn]
        return str(model["status"])

    def settle(self, seconds: float = 60) -> None:
        self.emulator.clock.advance(seconds)


@pytest.fixture(scope="module")
def cloud() -> Iterator[tuple[EmulatorServer, Any]]:
    for server in serve():
        yield server, client_for(server)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, cloud: tuple[EmulatorServer, Any]) -> World:
    emulator = fresh_emulator(monkeypatch, *cloud)
    return World(CloudFormation(Framework(advance=emulator.clock.advance)), emulator)


def test_a_rename_from_a_generated_to_a_fixed_name_rolls_back_to_the_generated_model(
    world: World,
) -> None:
    """Row 6 where only the name changed: the rollback returns A, the cleanup deletes B."""
    a_props, b_props = world.props(), world.props(name="fixed")
    a = world.cfn.create(a_props)
    b = world.cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert b.ok, b.reason
    assert b.physical_id != a.physical_id  # a name is a create parameter: a new model
    back = world.cfn.update(a_props, old=b_props, physical_id=b.physical_id)
    assert back.physical_id == a.physical_id
    assert world.cfn.delete(b_props, physical_id=b.physical_id).ok
    world.settle()
    assert (world.status(a.physical_id), world.status(b.physical_id)) == ("ACTIVE", "INACTIVE")


def test_a_fixed_name_dropped_for_a_generated_one_replaces_and_rolls_back_by_name(
    world: World,
) -> None:
    """Fixed "m" -> generated (a new model) -> new config -> rollback: no extra training."""
    fixed, generated, changed = world.props(name="m"), world.props(), world.props("20")
    a = world.cfn.create(fixed)
    g = world.cfn.update(generated, old=fixed, physical_id=a.physical_id)
    assert g.ok, g.reason
    assert g.physical_id != a.physical_id
    b = world.cfn.update(changed, old=generated, physical_id=g.physical_id)
    back = world.cfn.update(generated, old=changed, physical_id=b.physical_id)
    assert back.physical_id == g.physical_id
    assert world.trainings() == 3


def test_a_failed_fixed_name_model_blocks_updates_with_its_own_reason(world: World) -> None:
    props = world.props(name="m", **{contract.WAIT_FOR_COMPLETION: "false"})
    world.emulator.fail_next_training("AlgorithmError: loss is NaN")
    a = world.cfn.create(props)
    assert a.ok, a.reason  # created, not waited for
    world.settle(120)
    tagged = dict(props, **{contract.TAGS: {"team": "ml"}})
    up = world.cfn.update(tagged, old=props, physical_id=a.physical_id)
    assert not up.ok
    assert "is CREATE_FAILED: AlgorithmError: loss is NaN" in up.reason
    assert "property changed" not in up.reason


def _answers_keep_the_model(world: World, returned: Response, cleanup: str, props: Any) -> None:
    """After CloudFormation's cleanup of ``cleanup``, the model the stack names lives."""
    assert world.cfn.delete(props, physical_id=cleanup).ok
    world.settle()
    if returned.physical_id.startswith("pending:"):
        (live,) = [m for m in world.emulator.snapshot() if m["status"] != "INACTIVE"]
        assert live["status"] in ("ACTIVE", "CREATE_IN_PROGRESS")
    else:
        assert world.status(returned.physical_id) in ("ACTIVE", "CREATE_IN_PROGRESS")


def test_row_7_with_a_rename_and_a_timeout_returns_the_original_model(world: World) -> None:
    a_props, b_props = world.props(), world.props(name="m", **SHORT)
    a = world.cfn.create(a_props)
    b = world.cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    assert b.physical_id.startswith("pending:")
    back = world.cfn.update(a_props, old=b_props, physical_id=b.physical_id)
    assert back.physical_id == a.physical_id
    _answers_keep_the_model(world, back, b.physical_id, b_props)


def test_a_timed_out_create_kept_by_cloudformation_is_updated_in_place_under_its_id(
    world: World,
) -> None:
    """(A stack deployed with --no-rollback keeps the pending id of a timed-out create.)"""
    slow = world.props(**SHORT)
    a = world.cfn.create(slow)
    assert not a.ok
    up = world.cfn.update(world.props(), old=slow, physical_id=a.physical_id)
    assert up.ok, up.reason
    assert up.physical_id == a.physical_id  # the same id: no replacement, no cleanup
    assert world.trainings() == 1


def test_row_7_after_a_failed_model_keeps_the_replacement_it_goes_back_to(world: World) -> None:
    """A failed after a deploy without waiting; a tags-only update replaces it (A is not
    usable) and B's wait times out; the rollback (naming B) keeps B under B's id."""
    a_props = world.props(**{contract.WAIT_FOR_COMPLETION: "false"})
    world.emulator.fail_next_training("AlgorithmError: boom")
    a = world.cfn.create(a_props)
    world.settle(120)
    b_props = dict(world.props(**SHORT), **{contract.TAGS: {"team": "ml"}})
    b = world.cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    back = world.cfn.update(a_props, old=b_props, physical_id=b.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == b.physical_id  # B in place, not a third id
    # no cleanup: the physical id did not change; B lives on
    world.settle()
    (live,) = [m for m in world.emulator.snapshot() if m["status"] != "CREATE_FAILED"]
    assert live["status"] == "ACTIVE"


def test_a_cold_container_never_creates_a_pending_ids_model_twice(world: World) -> None:
    """The creation was cancelled outside CloudFormation (INACTIVE): fail, train nothing."""
    raw = world.cfn.event("Create", world.props(), request_id="create-1")
    poll = {**raw, **index.on_event(dict(raw), Context())}
    assert index.is_complete(dict(poll), Context()) == {"IsComplete": False}
    (model,) = world.emulator.snapshot()
    world.emulator.call(
        "CancelTrainedModel",
        {
            "membershipIdentifier": model["membershipIdentifier"],
            "trainedModelArn": model["trainedModelArn"],
        },
    )
    world.settle(30)
    engine.RESOLVED.clear()  # the next poll in another container
    with pytest.raises(Exception, match="reached INACTIVE while it was being created"):
        index.is_complete(dict(poll), Context())
    assert world.trainings() == 1


def test_two_resources_taking_one_fixed_name_at_once_get_the_conflict_explained(
    world: World,
) -> None:
    props = world.props(name="shared")
    first = CloudFormation(world.cfn.framework, logical_id="ModelOne")
    second = CloudFormation(world.cfn.framework, logical_id="ModelTwo")
    e1, e2 = first.event("Create", props), second.event("Create", props)
    r1 = index.on_event(dict(e1), Context())
    r2 = index.on_event(dict(e2), Context())  # in parallel: the name is still free
    assert index.is_complete({**e1, **r1}, Context()) == {"IsComplete": False}
    with pytest.raises(Exception, match=r"named 'shared' already exists.*Test/ModelOne"):
        index.is_complete({**e2, **r2}, Context())
    assert world.trainings() == 1
