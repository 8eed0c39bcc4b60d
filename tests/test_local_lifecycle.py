"""The in-process lifecycle tier: the example app's synthesized resource, driven
through the real handler against the emulator over HTTP.

Create -> poll -> Update (tags in place, replacement, rollback re-send) -> Delete,
a failed create and its rollback Delete, and injected faults.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from cfn import CREATE_FAILED_MARKER, CloudFormation, Framework, Response

import app as example_app
import contract
import engine
import index
from aws_client import make_client
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server

EPOCH = 1_800_000_000.0


def _example_properties(**context: str) -> dict[str, Any]:
    cdk_app = App(context=context)
    stack = example_app.build(cdk_app)
    resources = Template.from_stack(stack).find_resources(contract.RESOURCE_TYPE)
    ((_, resource),) = resources.items()
    props = dict(resource["Properties"])
    props.pop("ServiceToken")
    return props


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, EmulatorServer]]:
    emu = Emulator(timings=Timings(pending_seconds=5, training_seconds=60, transition_seconds=5))
    server = start_server(emu)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLEANROOMSML", server.endpoint_url)
    monkeypatch.setattr(index, "_client", make_client())
    monkeypatch.setattr(index, "clock", lambda: EPOCH + emu.clock.now())
    monkeypatch.setattr(index, "sleep", emu.clock.advance)
    engine.RESOLVED.clear()
    yield emu, server
    server.stop()


class LocalProvider:
    """The example's resource through the Provider framework, on the emulator's clock."""

    def __init__(self, emulator: Emulator) -> None:
        self.framework = Framework(advance=emulator.clock.advance)

    def send(
        self,
        request_type: str,
        props: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        request_id: str | None = None,
        logical_id: str = "Model0301700E",
    ) -> Response:
        cfn = CloudFormation(self.framework, logical_id=logical_id)
        return cfn.send(
            cfn.event(
                request_type,
                props,
                physical_id=physical_id,
                old=old_properties,
                request_id=request_id,
            )
        )


@pytest.fixture
def provider(emulator: tuple[Emulator, EmulatorServer]) -> LocalProvider:
    return LocalProvider(emulator[0])


def _models(emulator: tuple[Emulator, EmulatorServer]) -> list[dict[str, Any]]:
    return emulator[0].snapshot()


def test_create_update_replace_rollback_and_delete(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    props = _example_properties()
    created = provider.send("Create", props)
    assert created.status == "SUCCESS", created.reason
    assert created.data["Status"] == "ACTIVE"
    assert "VersionIdentifier" not in created.data  # a base model has no version
    assert created.physical_id == created.data["TrainedModelArn"]
    assert created.polls >= 2  # it really waited for training

    # tags only: in place, same physical id
    tagged = dict(props, Tags={"team": "ml"})
    updated = provider.send("Update", tagged, physical_id=created.physical_id, old_properties=props)
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id
    (model,) = _models(emulator)
    assert model["tags"]["team"] == "ml"

    # update rollback re-sends the old properties: tags revert, nothing trains
    rolled = provider.send("Update", props, physical_id=created.physical_id, old_properties=tagged)
    assert rolled.status == "SUCCESS"
    (model,) = _models(emulator)
    assert "team" not in model["tags"]

    # a hyperparameter change trains a new model under a new generated name
    replaced_props = _example_properties(epochs="20")
    replaced = provider.send(
        "Update", replaced_props, physical_id=created.physical_id, old_properties=props
    )
    assert replaced.status == "SUCCESS", replaced.reason
    assert replaced.physical_id != created.physical_id
    assert replaced.data["TrainedModelName"] != created.data["TrainedModelName"]
    # CloudFormation then deletes the old one: RETAIN (the default) keeps it
    cleanup = provider.send("Delete", props, physical_id=created.physical_id)
    assert cleanup.status == "SUCCESS"
    statuses = {m["trainedModelArn"]: m["status"] for m in _models(emulator)}
    assert statuses == {created.physical_id: "ACTIVE", replaced.physical_id: "ACTIVE"}

    # stack delete under DESTROY deletes the output of the model it created
    destroy = dict(replaced_props, RemovalPolicy="destroy")
    deleted = provider.send("Delete", destroy, physical_id=replaced.physical_id)
    assert deleted.status == "SUCCESS", deleted.reason
    statuses = {m["trainedModelArn"]: m["status"] for m in _models(emulator)}
    assert statuses == {created.physical_id: "ACTIVE", replaced.physical_id: "INACTIVE"}


def test_a_failed_training_fails_create_and_the_rollback_delete_cleans_up(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    emulator[0].fail_next_training("AlgorithmError: loss is NaN")
    props = dict(_example_properties(), RemovalPolicy="destroy")
    created = provider.send("Create", props)
    assert created.status == "FAILED"
    assert "AlgorithmError: loss is NaN" in created.reason
    rollback = provider.send("Delete", props, physical_id=created.physical_id)
    assert rollback.status == "SUCCESS"
    (model,) = _models(emulator)
    assert model["status"] == "INACTIVE"  # output deleted: the name is free (A1, A6)


def test_duplicate_delivery_of_create_trains_once(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    props = _example_properties()
    first = provider.send("Create", props, request_id="same-request")
    second = provider.send("Create", props, request_id="same-request")
    assert first.status == second.status == "SUCCESS"
    assert first.physical_id == second.physical_id
    assert len(_models(emulator)) == 1
    assert emulator[0].calls.count("CreateTrainedModel") == 1


def test_throttling_bursts_are_ridden_out(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    emulator[0].inject_fault("ListTrainedModels", "ThrottlingException", count=2)
    emulator[0].inject_fault("GetTrainedModel", "ThrottlingException", count=3)
    created = provider.send("Create", _example_properties())
    assert created.status == "SUCCESS", created.reason


def test_conflict_on_create_fails_with_a_clear_reason(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    emulator[0].inject_fault("CreateTrainedModel", "ConflictException", count=1)
    created = provider.send("Create", _example_properties())
    assert created.status == "FAILED"
    assert "ConflictException" in created.reason
    assert created.physical_id.startswith("pending:")  # the framework answers with it
    assert provider.send(
        "Delete", _example_properties(), physical_id=created.physical_id
    ).ok  # nothing was created: nothing to do
    assert _models(emulator) == []


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_a_framework_waiter_that_cannot_start_leaves_no_training_behind(
    emulator: tuple[Emulator, EmulatorServer], request_type: str
) -> None:
    """Decision (a): on_event creates nothing; the creation is the first poll's, so when
    the Provider framework cannot start its waiter after on_event, nothing trains
    unowned (under DESTROY or any other policy)."""
    props = dict(_example_properties(), RemovalPolicy="destroy")
    provider = LocalProvider(emulator[0])
    physical_id, old = None, None
    if request_type == "Update":
        created = provider.send("Create", props)
        assert created.ok, created.reason
        physical_id, old = created.physical_id, props
        props = dict(_example_properties(epochs="20"), RemovalPolicy="destroy")
    provider.framework.waiter_starts = False
    failed = provider.send(request_type, props, physical_id=physical_id, old_properties=old)
    assert failed.status == "FAILED"
    expected = CREATE_FAILED_MARKER if request_type == "Create" else physical_id
    assert failed.physical_id == expected
    assert emulator[0].calls.count("CreateTrainedModel") == (1 if request_type == "Update" else 0)


def test_not_found_on_delete_is_success(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    props = dict(_example_properties(), RemovalPolicy="destroy")
    created = provider.send("Create", props)
    emulator[0].inject_fault("GetTrainedModel", "ResourceNotFoundException", count=1)
    assert provider.send("Delete", props, physical_id=created.physical_id).status == "SUCCESS"


def test_a_fixed_name_taken_by_someone_else_fails_and_is_not_touched(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    props = _example_properties()
    other = provider.send("Create", dict(props, Name="taken", NamePrefix=None), logical_id="Other")
    assert other.status == "SUCCESS"
    mine = dict(props, Name="taken", RemovalPolicy="destroy")
    mine.pop("NamePrefix")
    created = provider.send("Create", mine)
    assert created.status == "FAILED"
    assert "already exists" in created.reason
    provider.send("Delete", mine, physical_id=created.physical_id)
    (model,) = _models(emulator)
    assert model["status"] == "ACTIVE"


def _fixed(name: str) -> dict[str, Any]:
    props = dict(_example_properties(), Name=name, RemovalPolicy="destroy")
    props.pop("NamePrefix")
    return props


def _destroy(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider, physical_id: str
) -> None:
    """Delete a ``_fixed("model-a")`` model under DESTROY and let it turn INACTIVE."""
    assert provider.send("Delete", _fixed("model-a"), physical_id=physical_id).status == ("SUCCESS")
    emulator[0].clock.advance(1.0)


def test_a_fixed_name_can_be_reused_once_its_model_is_destroyed(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    a = provider.send("Create", _fixed("model-a"))
    b = provider.send(
        "Update", _fixed("model-b"), physical_id=a.physical_id, old_properties=_fixed("model-a")
    )
    assert b.status == "SUCCESS", b.reason
    # CloudFormation's cleanup deletes the old model (DESTROY): model-a is INACTIVE
    _destroy(emulator, provider, a.physical_id)
    back = provider.send(
        "Update", _fixed("model-a"), physical_id=b.physical_id, old_properties=_fixed("model-b")
    )
    assert back.status == "SUCCESS", back.reason
    # and in another resource, after a stack delete
    _destroy(emulator, provider, back.physical_id)
    again = provider.send("Create", _fixed("model-a"), logical_id="OtherModel")
    assert again.status == "SUCCESS", again.reason
    names = sorted((m["name"], m["status"]) for m in _models(emulator))
    assert names == [
        ("model-a", "ACTIVE"),
        ("model-a", "INACTIVE"),
        ("model-a", "INACTIVE"),
        ("model-b", "ACTIVE"),
    ]


def test_a_failed_training_under_destroy_frees_its_fixed_name(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    emulator[0].fail_next_training("AlgorithmError")
    created = provider.send("Create", _fixed("model-a"))
    assert created.status == "FAILED"
    _destroy(emulator, provider, created.physical_id)
    again = provider.send("Create", _fixed("model-a"))
    assert again.status == "SUCCESS", again.reason


def test_retrying_a_failed_stack_delete_retries_the_output_delete(
    emulator: tuple[Emulator, EmulatorServer], provider: LocalProvider
) -> None:
    props = dict(_example_properties(), RemovalPolicy="destroy")
    created = provider.send("Create", props)
    emulator[0].fail_next_delete("artifacts locked")
    first = provider.send("Delete", props, physical_id=created.physical_id)
    assert first.status == "FAILED"
    assert "DELETE_FAILED" in first.reason
    assert "artifacts locked" in first.reason
    second = provider.send("Delete", props, physical_id=created.physical_id)
    assert second.status == "SUCCESS", second.reason
    (model,) = _models(emulator)
    assert model["status"] == "INACTIVE"
