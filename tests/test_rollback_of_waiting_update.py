"""Row 8 after an in-place update that turned ``wait_for_completion`` on (issue 20,
hole 4): the update now waits for the training, so a training that fails while it
waits fails the update, and CloudFormation rolls it back with
Update(props=old, OldResourceProperties=new, PhysicalResourceId=A).

The spec's row 8: "rollback of an in-place update | Update(props=old, old=new, A) →
returns A", and its first rule: "An Update whose OldResourceProperties describe a
model that still exists and is ours is how a rollback looks: go back to that model;
never start a training to 'restore' a configuration that a model of ours already has."

Through the handler's real entry points, the Provider framework's behaviour
(``cfn.Framework``) and the Clean Rooms ML emulator on a virtual clock (``emulated``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulated import World, model_props, serve

import contract
from cdk_cleanrooms_ml.local.emulator import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _props(wait: str, name: str) -> dict[str, object]:
    extra: dict[str, object] = {contract.WAIT_FOR_COMPLETION: wait}
    if name == "fixed":
        extra[contract.NAME_PREFIX] = None
        extra[contract.NAME] = "fixed-model"
    return model_props("10", **extra)


@pytest.mark.parametrize("name", ["generated", "fixed"])
def test_rollback_of_an_update_that_turned_waiting_on_returns_the_model_and_trains_nothing(
    world: World, name: str
) -> None:
    """Events (DESTROY, short path):

    1. Create(props: WaitForCompletion=false) -> A, answered at once while A trains;
    2. Update(props: WaitForCompletion=true, old: false, A): in place (same identity);
       since issue 20 the poll waits for A (``engine/wait.py poll_refresh``), and A's
       training fails -> FAILED "creating trained model ... failed";
    3. UPDATE_ROLLBACK: Update(props: false, OldResourceProperties: true, A).

    Required (row 8 and the rollback rule): the rollback returns A and starts no
    training: A exists and is ours, and its configuration is exactly the one the
    rollback asks for (only WaitForCompletion differs, which is not part of identity).

    What happens: A is CREATE_FAILED, so ``on_update`` takes it for unusable and
    replaces it. With a generated name the *rollback* starts a second training and
    returns its id (CloudFormation's resource now names a model the user never
    deployed, and the rollback bills a training); with a fixed name the rollback
    fails ("still holds its fixed name"), so the stack is stuck in
    UPDATE_ROLLBACK_FAILED. Before issue 20 the update completed at once and no
    rollback came: the new wait is what turns a failed training into this rollback.
    """
    cfn = world.cfn()
    old = _props("false", name)
    new = _props("true", name)
    world.emulator.fail_next_training("AlgorithmError: injected")
    a = cfn.create(old)
    assert a.ok, a.reason
    assert len(world.emulator.snapshot()) == 1

    forward = cfn.update(new, old=old, physical_id=a.physical_id)
    assert not forward.ok, "the update waits for the training, which failed"
    assert "failed" in forward.reason, forward.reason

    back = cfn.update(old, old=new, physical_id=a.physical_id, rollback=True)
    trainings = len(world.emulator.snapshot())
    assert back.ok, f"the rollback failed (UPDATE_ROLLBACK_FAILED): {back.reason}"
    assert back.physical_id == a.physical_id, (
        f"the rollback returned {back.physical_id}, not A ({a.physical_id})"
    )
    assert trainings == 1, f"the rollback started {trainings - 1} training(s)"
