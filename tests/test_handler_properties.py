"""Property-based lifecycle tests: random interleavings of CloudFormation events
and injected faults, against the emulator over HTTP, hold three invariants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cfn import CREATE_FAILED_MARKER, CloudFormation, Framework, Response
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import contract
import engine
import index
import ownership
from aws_client import make_client
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from helpers import STACK_ID, handler_properties

LOGICAL_IDS = ("ModelA", "ModelB")
DESTRUCTIVE = ("CancelTrainedModel", "DeleteTrainedModelOutput")
FAULTS = [
    ("CreateTrainedModel", "ConflictException"),
    ("CreateTrainedModel", "InternalServiceException"),
    ("ListTrainedModels", "ThrottlingException"),
    ("GetTrainedModel", "ThrottlingException"),
    ("GetTrainedModel", "ResourceNotFoundException"),
    ("DeleteTrainedModelOutput", "ConflictException"),
    ("CancelTrainedModel", "ConflictException"),
    ("TagResource", "AccessDeniedException"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    running = start_server(Emulator())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_CLEANROOMSML", running.endpoint_url)
        client = make_client()
        patch.setattr(index, "_client", client)
        patch.setattr(index, "clock", lambda: 1_800_000_000.0 + running.emulator.clock.now())
        patch.setattr(index, "sleep", lambda seconds: running.emulator.clock.advance(seconds))
        yield running
    running.stop()


@dataclass
class Resource:
    """What CloudFormation knows about one logical resource."""

    logical_id: str
    physical_id: str | None = None
    props: dict[str, Any] = field(default_factory=dict)


step = st.tuples(
    st.sampled_from(
        ["create", "create-again", "update-tags", "update-config", "rollback", "delete"]
    ),
    st.sampled_from(LOGICAL_IDS),
    st.sampled_from(["retain", "destroy"]),
    st.one_of(st.none(), st.sampled_from(FAULTS)),
    st.integers(0, 5).map(lambda pick: pick == 0),  # training fails, one time in 6
)


def _props(logical_id: str, policy: str, epochs: int, tags: dict[str, str]) -> dict[str, Any]:
    return handler_properties(
        **{
            contract.NAME_PREFIX: f"Test-{logical_id}",
            contract.REMOVAL_POLICY: policy,
            contract.HYPERPARAMETERS: {"epochs": str(epochs)},
            contract.TAGS: tags or None,
        }
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8))
@example(
    steps=[
        ("create", "ModelA", "destroy", None, False),
        ("create-again", "ModelB", "retain", ("CreateTrainedModel", "ConflictException"), False),
        ("delete-foreign", "ModelB", "destroy", None, False),
        ("update-config", "ModelA", "retain", None, False),
        ("delete", "ModelA", "retain", None, False),
    ]
)
def test_invariants_one_training_per_request_never_delete_others_never_delete_retained(
    server: EmulatorServer, steps: list[tuple[str, str, str, Any, bool]]
) -> None:
    emulator = Emulator(timings=Timings(5.0, 30.0, 5.0))
    server.emulator = emulator  # a fresh cloud for each example
    engine.RESOLVED.clear()
    framework = Framework(advance=emulator.clock.advance)
    resources = {logical_id: Resource(logical_id) for logical_id in LOGICAL_IDS}
    owner_of: dict[str, str] = {}  # model ARN -> logical id whose create made it

    def learn_owners() -> None:
        for model in emulator.snapshot():
            tag = ownership.parse_tag(model["tags"].get(contract.RESERVED_TAG_KEY))
            if tag is not None:
                owner_of[model["trainedModelArn"]] = next(
                    lid for lid in LOGICAL_IDS if tag.owned_by(STACK_ID, lid)
                )

    def send(
        request_type: str,
        props: dict[str, Any],
        logical_id: str,
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Response:
        start = len(emulator.history)
        cfn = CloudFormation(framework, logical_id=logical_id)
        response = cfn.send(
            cfn.event(
                request_type,
                props,
                physical_id=physical_id,
                old=old_properties,
                request_id=request_id,
            )
        )
        for operation, params in emulator.history[start:]:
            if operation not in DESTRUCTIVE:
                continue
            # only a Delete ever deletes, only under DESTROY, only its own model
            assert request_type == "Delete", (request_type, operation)
            assert props.get(contract.REMOVAL_POLICY) == "destroy", "deleted under RETAIN"
            assert owner_of.get(params["trainedModelArn"]) == logical_id, "deleted another's model"
        learn_owners()
        return response

    for number, (action, logical_id, policy, fault, fails) in enumerate(steps):
        resource = resources[logical_id]
        if fault:
            emulator.inject_fault(fault[0], fault[1], count=1)
        if fails:
            emulator.fail_next_training("AlgorithmError: injected")
        request_id = f"req-{number}"
        if action == "delete-foreign":
            # a Delete naming the other resource's model (as after a botched import)
            other = resources[LOGICAL_IDS[1 - LOGICAL_IDS.index(logical_id)]]
            if other.physical_id:
                send(
                    "Delete",
                    dict(other.props, **{contract.REMOVAL_POLICY: "destroy"}),
                    logical_id,
                    physical_id=other.physical_id,
                )
        elif action in ("create", "create-again") or resource.physical_id is None:
            props = _props(logical_id, policy, number + 1, {})
            response = send("Create", props, logical_id, request_id=request_id)
            if action == "create-again":  # the same request delivered twice
                response = send("Create", props, logical_id, request_id=request_id)
            if response.status == "SUCCESS":
                resource.physical_id, resource.props = response.physical_id, props
            else:  # CloudFormation rolls the failed create back with a Delete
                send("Delete", props, logical_id, physical_id=response.physical_id)
        elif action in ("update-tags", "update-config", "rollback"):
            old = resource.props
            if action == "update-tags":
                new = dict(old, **{contract.TAGS: {"step": str(number)}})
            elif action == "update-config":
                new = _props(logical_id, policy, number + 1, {})
            else:
                new = old  # an update rollback re-sends the current properties
            response = send(
                "Update",
                new,
                logical_id,
                physical_id=resource.physical_id,
                old_properties=old,
                request_id=request_id,
            )
            if response.status == "SUCCESS":
                if response.physical_id != resource.physical_id:  # replaced: delete the old one
                    send("Delete", old, logical_id, physical_id=resource.physical_id)
                resource.physical_id, resource.props = response.physical_id, new
        else:
            send("Delete", resource.props, logical_id, physical_id=resource.physical_id)
            resource.physical_id, resource.props = None, {}

    # one training job per (resource, request), however often it was delivered
    seen: set[tuple[str, str]] = set()
    for model in emulator.snapshot():
        tag = ownership.parse_tag(model["tags"].get(contract.RESERVED_TAG_KEY))
        assert tag is not None
        key = (tag.owner, tag.request)
        assert key not in seen, f"a second training job for {key}"
        seen.add(key)
    assert CREATE_FAILED_MARKER not in {r.physical_id for r in resources.values()}
