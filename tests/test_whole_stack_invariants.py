"""The whole-stack tier's invariants (``test_whole_stacks.World.check``) must be able to
fail: each one is what lets the scripted and hypothesis-generated histories claim that
nothing of ours is left running unseen after any history.

``nothing_orphaned`` skips every inference job that is ACTIVE or CREATE_FAILED ("a job
that ended (jobs have no delete)"), and ``check`` settles first (every orphaned waiter
runs out, then five more minutes): a job a cancelled Create started and nothing
stopped runs to its end in that time and is ACTIVE when the invariant looks. So no
history can ever show a job orphaned by row 11 (the hole issue 20 fixes), and
``test_a_sibling_failing_during_the_first_deploy_leaves_nothing_running`` accepts ACTIVE
for jobs too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from emulated import serve
from stack_apps import Piece
from test_whole_stacks import World

import contract
import ownership
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import JOB


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made = World(server, monkeypatch)
    yield made
    made.close()


def test_an_inference_job_no_stack_holds_is_an_orphan_even_once_it_has_run_to_its_end(
    world: World,
) -> None:
    """A stack with one inference job (DESTROY) deploys; then a job of the same resource
    that CloudFormation never held runs: one a cancelled Create (row 11) of this
    resource started, with this stack's ownership tag and another request (made here
    directly in the service, as the handler would have). CloudFormation holds the
    first job only, and did not let the second go under RETAIN.

    Required of the invariant: the second job is reported (it was billed and nothing
    held it), as a model or a channel in its place is.

    What happens: once it has run to its end it is ACTIVE, and ``nothing_orphaned``
    skips every ACTIVE job: the check passes.
    """
    assert world.deploy(world.spec(Piece("job", "Scores"))).status == "CREATE_COMPLETE"
    (held,) = [r for r in world.sim.resources.values() if r.ours and r.type.endswith("Job")]
    started = [p for op, p in world.emulator.history if op == "StartTrainedModelInferenceJob"]
    params = copy.deepcopy(started[-1])
    tag = ownership.parse_tag(params["tags"][contract.RESERVED_TAG_KEY])
    assert tag is not None
    params["name"] = f"{params['name'][:40]}-cancelled"
    params["tags"][contract.RESERVED_TAG_KEY] = ownership.make_tag(
        world.sim.stack_id, held.logical_id, "a-cancelled-create", tag.identity
    )
    world.emulator.call("StartTrainedModelInferenceJob", params)
    world.sim.settle()
    jobs = sorted(j["status"] for j in world.emulator.snapshot(JOB))
    assert jobs == ["ACTIVE", "ACTIVE"], jobs
    with pytest.raises(AssertionError, match="neither held by the stack nor kept"):
        world.nothing_orphaned()
