"""Row 11: what a Create CloudFormation cancelled has started must not be left running
(under DESTROY), whenever the cancellation came and whatever the poll's looks met; nor
may a cancelled Update's poll act after its rollback went back.

Row 11 (``cloudformation-event-sequences.md``): a sibling fails while this resource's
Create is in progress; CloudFormation marks it CREATE_FAILED "Resource creation
cancelled" and sends Delete(props=new, PhysicalResourceId=an id it made up); the
framework's waiter is not stopped, keeps polling, and its late answer is ignored.
"Whatever the Create started is still running and nothing else will ever delete it."

The fix (``engine/create.py poll_create``, ``ml_configurations.poll_put``) records the
stack's operation in on_event (``OPERATION_KEY``), looks at the stack (``still_wanted``)
before it creates and again right after, and stops what it made when the second look
says the stack moved on; the Delete with the made-up id finds what exists by its tags.
So when the Delete looked *before* the creation landed (it found nothing), the poll is
the only thing left that can stop it. Two ways it does not:

- the look after creating does not conclude (a throttled DescribeStacks, a model not
  readable yet): for a trained model (a cancellable kind) a later poll never looks at
  the stack again once the creation is resolved; the ML configuration's next poll says
  "nothing was put" and leaves what was;
- on_event itself ran after the cancellation (the framework's onEvent is invoked
  asynchronously): the operation it records is already the rollback, so every look
  agrees with it (a Create's, a replacing Update's, the ML configuration's put).

Through the handler's real entry points, the Provider framework's behaviour
(``cfn.Framework``/``cfn.InFlight``), the in-process CloudFormation (``cfn``: its
``DescribeStacks`` is ``index._stack_operation``) and the Clean Rooms ML emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import ClientError
from cfn import OPERATIONS, CloudFormation, InFlight, Response
from emulated import CONFIG_ROLE, M, World, model_props, serve

import contract
import index
from cdk_cleanrooms_ml.local.emulator import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _run_out(world: World, flight: InFlight) -> Response:
    """The framework's waiter polls on until it answers (CloudFormation ignores it)."""
    while (response := flight.poll()) is None:
        world.emulator.clock.advance(flight.framework.query_interval)
    return response


def _delete_before_the_creation(
    world: World, monkeypatch: pytest.MonkeyPatch, second_look: Callable[[str], str] | None
) -> tuple[CloudFormation, InFlight]:
    """Create(new) answered with a pending id; the stack's operation as on_event saw it;
    then the sibling fails: CloudFormation cancels this Create and sends
    Delete(props=new, made-up id), which finds nothing (nothing is created yet). The
    waiter's first poll then runs with its first look at the stack having been taken
    before the cancellation, and its second look (after creating) answered by
    ``second_look`` (None: as CloudFormation answers now, the cancellation)."""
    cfn = world.cfn()
    props = model_props("10")
    flight = cfn.start(props)
    assert flight.response is None
    before = index._stack_operation(cfn.stack_id)
    made_up = cfn.cancel()  # ROLLBACK_IN_PROGRESS
    gone = cfn.delete(props, physical_id=made_up)
    assert gone.ok, gone.reason
    assert world.emulator.snapshot() == [], "the Delete came before the creation"
    real = index._stack_operation
    looks = iter([lambda stack_id: before, second_look or real])
    monkeypatch.setattr(index, "_stack_operation", lambda s: next(looks, real)(s))
    return cfn, flight


def _throttled(stack_id: str) -> str:
    raise ClientError(
        {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"
    )


def test_cancelled_model_is_stopped_when_the_look_after_creating_is_throttled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events (DESTROY, short path): Create(new) -> pending id; the sibling fails:
    Delete(new, made-up id) finds nothing; the waiter's first poll looks at the stack
    (still in the operation: the look came before the cancellation), creates the model,
    and looks again: DescribeStacks answers Throttling (a transient error, so the poll
    is "not yet"). The waiter polls on (row 11).

    Required (row 11, DESTROY): the model the cancelled Create started is stopped;
    nothing else ever will be (the Delete has come and gone).

    What happens: the next poll resolves the pending id to the model, and for a
    trained model (``kind.cancellable``) ``poll_create`` never asks ``still_wanted``
    on that path: it waits for the training, which runs to ACTIVE, billed, held by
    no stack.
    """
    _, flight = _delete_before_the_creation(world, monkeypatch, _throttled)
    _run_out(world, flight)
    world.settle(600)
    (model,) = world.emulator.snapshot()
    assert model["status"] == "INACTIVE", (
        f"the cancelled Create's model ended {model['status']}: nothing stopped it"
    )


def test_cancelled_model_is_stopped_when_it_is_not_readable_right_after_creating(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events (DESTROY, short path): Create(new) -> pending id; the sibling fails:
    Delete(new, made-up id) finds nothing; the waiter's first poll looks at the stack
    (the look came before the cancellation), creates the model, looks again and *sees
    the cancellation*, then reads the model: GetTrainedModel answers
    ResourceNotFoundException once (the case ``poll_create`` itself names: "not
    readable yet right after its creation").

    Required (row 11, DESTROY): the poll has seen that CloudFormation no longer waits
    for this Create; the model it just made is stopped.

    What happens: ``describe`` returns None, so the cancellation branch is skipped;
    the very next line reads the model again (found now) and hands it to ``wait_for``
    as if CloudFormation still waited: the training runs to ACTIVE, and later polls
    never look at the stack again (cancellable kind, resolved pending id).
    """
    _, flight = _delete_before_the_creation(world, monkeypatch, None)
    world.emulator.inject_fault("GetTrainedModel", "ResourceNotFoundException")
    _run_out(world, flight)
    world.settle(600)
    (model,) = world.emulator.snapshot()
    assert model["status"] == "INACTIVE", (
        f"the cancelled Create's model ended {model['status']}: the poll saw the "
        "cancellation and went on waiting for it"
    )


def test_cancelled_ml_configuration_is_taken_back_when_the_look_after_putting_is_throttled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ML configuration's put follows the same rule (``ml_configurations.poll_put``).

    Events (DESTROY): Create(new) of an ML configuration -> on_event finds none held and
    hands the put to the poll; the sibling fails: Delete(new, made-up id) finds no
    configuration and deletes nothing; the waiter's first poll looks at the stack (the
    look came before the cancellation), puts the configuration, and looks again:
    DescribeStacks answers Throttling ("not yet"). The waiter polls on.

    Required (row 11, DESTROY; the CHANGELOG: "one cancelled while the put was under way
    is taken back under DESTROY, as its Delete would"): the membership is left without
    the configuration the cancelled Create put.

    What happens: the next poll's first look sees the cancellation and fails with
    "nothing was put", without taking back what the previous poll did put: the
    membership keeps a configuration no stack holds.
    """
    cfn = world.cfn(resource_type=contract.ML_CONFIGURATION_RESOURCE_TYPE)
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.OUTPUT_S3_URI: "s3://bucket/a/",
        contract.ROLE_ARN: CONFIG_ROLE,
        contract.REMOVAL_POLICY: "destroy",
    }
    flight = cfn.start(props)
    assert flight.response is None
    before = index._stack_operation(cfn.stack_id)
    made_up = cfn.cancel()
    gone = cfn.delete(props, physical_id=made_up)
    assert gone.ok, gone.reason
    assert world.emulator.configurations() == {}, "the Delete came before the put"
    real = index._stack_operation
    looks = iter([lambda stack_id: before, _throttled])
    monkeypatch.setattr(index, "_stack_operation", lambda s: next(looks, real)(s))
    answer = _run_out(world, flight)
    assert world.emulator.calls.count("PutMLConfiguration") == 1
    assert world.emulator.configurations() == {}, (
        f"the cancelled Create's configuration is left ({answer.status}: {answer.reason})"
    )


def test_model_of_a_create_cancelled_before_its_on_event_ran_is_not_left_training(
    world: World,
) -> None:
    """Events (DESTROY, short path): CloudFormation sends Create(new) (the framework's
    onEvent is invoked asynchronously: a cold start, seconds); before the handler's
    on_event runs, a sibling fails (a resource that fails at once, a validation error:
    siblings start together): the stack is ROLLBACK_IN_PROGRESS, this resource
    CREATE_FAILED "Resource creation cancelled". on_event then answers a pending id and
    records the operation it sees, ROLLBACK_IN_PROGRESS. The rollback's
    Delete(new, made-up id) arrives before the waiter's first poll and finds nothing;
    the waiter polls on (row 11).

    Required (row 11, DESTROY): nothing the cancelled Create started is left running.
    A Create is never sent by a rollback or a stack delete, so a Create that finds its
    stack rolling back (or being deleted) is one CloudFormation has already given up on.

    What happens: ``still_wanted`` compares the stack's operation with the one on_event
    recorded, which was already the rollback: the same, so the poll creates the model,
    and nothing ever stops it (the Delete has come and gone).
    """
    cfn = world.cfn()
    props = model_props("10")
    create = cfn.event("Create", props)  # sent while the stack was CREATE_IN_PROGRESS
    made_up = cfn.cancel()  # ROLLBACK_IN_PROGRESS, before the handler's on_event ran
    flight = cfn.framework.start(create)  # it may answer at once: CloudFormation ignores it
    gone = cfn.delete(props, physical_id=made_up)
    assert gone.ok, gone.reason
    _run_out(world, flight)
    world.settle(600)
    statuses = [m["status"] for m in world.emulator.snapshot()]
    assert all(status == "INACTIVE" for status in statuses), (
        f"the cancelled Create left {statuses}: a training no stack holds"
    )


def test_configuration_of_a_create_cancelled_before_its_on_event_ran_is_not_left(
    world: World,
) -> None:
    """The same for the ML configuration (DESTROY): Create(new) sent; a sibling fails
    before on_event runs; on_event hands the put to the poll, recording
    ROLLBACK_IN_PROGRESS; Delete(new, made-up id) finds no configuration; the waiter's
    poll sees the same operation and puts it.

    Required (row 11, DESTROY): the membership is left without the configuration the
    cancelled Create was for. What happens: it is put after the Delete, and stays.
    """
    cfn = world.cfn(resource_type=contract.ML_CONFIGURATION_RESOURCE_TYPE)
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.OUTPUT_S3_URI: "s3://bucket/a/",
        contract.ROLE_ARN: CONFIG_ROLE,
        contract.REMOVAL_POLICY: "destroy",
    }
    create = cfn.event("Create", props)
    made_up = cfn.cancel()
    flight = cfn.framework.start(create)  # it may answer at once: CloudFormation ignores it
    gone = cfn.delete(props, physical_id=made_up)
    assert gone.ok, gone.reason
    answer = _run_out(world, flight)
    assert world.emulator.configurations() == {}, (
        f"the cancelled Create's configuration was put and left ({answer.status})"
    )


def test_replacement_of_an_update_cancelled_before_its_on_event_ran_is_not_left_training(
    world: World,
) -> None:
    """The same for a replacing update (a cancelled UPDATE rather than a Create).

    Events (DESTROY, short path): Create(A) -> A. A deploy changes a property that
    replaces it: CloudFormation sends Update(B props, old=A props, A); before the
    handler's on_event runs, a sibling fails: UPDATE_ROLLBACK_IN_PROGRESS, this
    resource's update cancelled. on_event then plans the replacement (a pending id)
    and records the operation it sees, the rollback. The rollback's
    Update(props=A, old=B, A) arrives and goes back to A (nothing to stop yet); no
    Delete ever comes for B (CloudFormation never held its id). The forward waiter
    polls on.

    Required: the rollback returns A (it does) and nothing B's cancelled update
    would have started is left training (row 7's rule: a rollback trains nothing; row
    11: the waiter's late answer is ignored, so what it makes nothing else deletes).

    What happens: the forward poll's looks at the stack agree with the operation on_event
    recorded (the rollback), so it creates B after the rollback has gone back to A: B
    trains to ACTIVE, billed, held by no stack.
    """
    cfn = world.cfn()
    a_props, b_props = model_props("10"), model_props("20")
    a = cfn.create(a_props)
    assert a.ok, a.reason
    forward = cfn.event("Update", b_props, physical_id=a.physical_id, old=a_props)
    OPERATIONS[cfn.stack_id] = "UPDATE_ROLLBACK_IN_PROGRESS@2026-01-01T00:10:00+00:00"
    flight = cfn.framework.start(forward)  # on_event ran after the cancellation
    assert flight.response is None, flight.response
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    _run_out(world, flight)
    world.settle(600)
    others = [m["status"] for m in world.emulator.snapshot() if m["arn"] not in a.physical_id]
    assert all(status == "INACTIVE" for status in others), (
        f"the cancelled update's replacement was left {others}"
    )


def test_configuration_update_cancelled_before_its_on_event_ran_does_not_undo_the_rollback(
    world: World,
) -> None:
    """The ML configuration's in-place update (a new output location or role).

    Events: Create(A) -> ``ml-configuration:M`` (the membership holds A). A deploy
    changes its location: CloudFormation sends Update(B, old=A); before the handler's
    on_event runs, a sibling fails: UPDATE_ROLLBACK_IN_PROGRESS. on_event hands the put
    of B to the poll, recording the rollback as its operation. The rollback's
    Update(props=A, old=B) puts A back and completes. The forward waiter polls on.

    Required: after the rollback the membership holds A, the configuration
    CloudFormation's resource has (row 8: a rollback goes back; the forward update's
    late answer is ignored).

    What happens: the forward poll's look agrees with the operation on_event recorded,
    so it puts B over the rolled-back A: the membership's output goes to the failed
    deploy's location (and role, which that rollback's cleanup may delete), while the
    stack says A; no later deploy sends an event to put A back.
    """
    cfn = world.cfn(resource_type=contract.ML_CONFIGURATION_RESOURCE_TYPE)

    def props(where: str) -> dict[str, str]:
        return {
            contract.MEMBERSHIP_IDENTIFIER: M,
            contract.OUTPUT_S3_URI: f"s3://bucket/{where}/",
            contract.ROLE_ARN: CONFIG_ROLE,
            contract.REMOVAL_POLICY: "destroy",
        }

    a = cfn.create(props("a"))
    assert a.ok, a.reason
    forward = cfn.event("Update", props("b"), physical_id=a.physical_id, old=props("a"))
    OPERATIONS[cfn.stack_id] = "UPDATE_ROLLBACK_IN_PROGRESS@2026-01-01T00:10:00+00:00"
    flight = cfn.framework.start(forward)  # on_event ran after the cancellation
    assert flight.response is None, flight.response
    back = cfn.update(props("a"), old=props("b"), physical_id=a.physical_id)
    assert back.ok, back.reason
    _run_out(world, flight)
    held = world.emulator.configurations()[M]["defaultOutputLocation"]
    assert held["destination"]["s3Destination"]["s3Uri"] == "s3://bucket/a/", (
        f"after the rollback the membership holds {held}, not A"
    )
