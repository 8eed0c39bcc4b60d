"""The retrain guard (``replacement_protection``): what the constructs render, what a
deploy lifts, what the handler says, and that a rollback is never refused.

The guard's behaviour in every event-sequence row is in ``test_event_sequences.py``
(every row with the guard on and lifted; a refused replacement, its rollback, an
in-place update and a lifted deploy with the guard on)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template
from emulated import World, model_props, serve

import contract
import identity
from cdk_cleanrooms_ml import (
    MLInputChannel,
    TrainedModel,
    TrainedModelInferenceJob,
    TrainedModelValidationError,
    ValidationError,
)
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from helpers import ACCOUNT, REGION, channel_props, job_props, valid_props


@pytest.fixture(scope="module")
def server() -> Any:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _rendered(context: dict[str, str] | None = None, **protection: Any) -> dict[str, Any]:
    app = App(context=context or {})
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    TrainedModel(stack, "Model", **valid_props(**protection))
    MLInputChannel(stack, "Rows", **channel_props(**protection))
    TrainedModelInferenceJob(stack, "Scores", **job_props(stack, **protection))
    template = Template.from_stack(stack)
    found: dict[str, Any] = {}
    for kind in (
        contract.RESOURCE_TYPE,
        contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
        contract.INFERENCE_JOB_RESOURCE_TYPE,
    ):
        ((_, resource),) = template.find_resources(kind).items()
        found[kind] = resource["Properties"]
    return found


def test_off_by_default_renders_nothing() -> None:
    for props in _rendered().values():
        assert contract.REPLACEMENT_PROTECTION not in props
        assert contract.REPLACEMENT_ALLOWED not in props


def test_on_renders_the_construct_path_for_the_handler_s_message() -> None:
    paths = {
        kind: props[contract.REPLACEMENT_PROTECTION]
        for kind, props in _rendered(replacement_protection=True).items()
    }
    assert paths == {
        contract.RESOURCE_TYPE: "Test/Model",
        contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "Test/Rows",
        contract.INFERENCE_JOB_RESOURCE_TYPE: "Test/Scores",
    }


@pytest.mark.parametrize(
    ("allowed", "lifted"),
    [
        ("Test/Model", {contract.RESOURCE_TYPE}),
        (
            "Test/Rows, Test/Scores",
            {contract.ML_INPUT_CHANNEL_RESOURCE_TYPE, contract.INFERENCE_JOB_RESOURCE_TYPE},
        ),
        (
            "*",
            {
                contract.RESOURCE_TYPE,
                contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
                contract.INFERENCE_JOB_RESOURCE_TYPE,
            },
        ),
        ("Test/Other", set()),
    ],
)
def test_the_context_key_lifts_it_for_the_constructs_it_names(
    allowed: str, lifted: set[str]
) -> None:
    rendered = _rendered(
        {contract.ALLOW_REPLACEMENT_CONTEXT_KEY: allowed}, replacement_protection=True
    )
    assert {k for k, p in rendered.items() if p.get(contract.REPLACEMENT_ALLOWED)} == lifted


def test_a_non_bool_is_named() -> None:
    app = App()
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(TrainedModelValidationError, match="replacement_protection"):
        TrainedModel(stack, "Model", **valid_props(replacement_protection="yes"))
    with pytest.raises(ValidationError, match="replacement_protection"):
        MLInputChannel(stack, "Rows", **channel_props(replacement_protection=1))


def test_it_is_not_part_of_the_identity() -> None:
    """Turning it on or off, or lifting it, is an update in place (no new training,
    and on the long path no new WaitCondition)."""
    on = model_props("10", **{contract.REPLACEMENT_PROTECTION: "Test/Model"})
    lifted = dict(on, **{contract.REPLACEMENT_ALLOWED: "true"})
    digests = {
        identity.digest(identity.trained_model_document(p)) for p in (model_props("10"), on, lifted)
    }
    assert len(digests) == 1


def test_a_change_of_a_secret_names_its_key_never_its_value() -> None:
    old = identity.trained_model_document(model_props("10"))
    new = identity.trained_model_document(
        model_props("20", **{contract.ENVIRONMENT: {"TOKEN": "s3cr3t"}})
    )
    lines = identity.changes(old, new)
    assert lines == [
        "environment['TOKEN']: unset -> (a value)",
        "hyperparameters['epochs']: changed (values hidden)",
    ]
    assert not any("s3cr3t" in line or "20" in line for line in lines)


def test_a_rollback_whose_original_is_gone_is_never_refused_and_starts_nothing(
    world: World,
) -> None:
    """The original is gone (its output deleted outside CloudFormation) when the
    rollback goes back to it, the guard on: CloudFormation's status says
    UPDATE_ROLLBACK_IN_PROGRESS; the rollback is not refused (UPDATE_ROLLBACK_FAILED)
    and trains nothing: it keeps what the stack has, the replacement."""
    cfn = world.cfn()
    a_props = model_props("10", **{contract.REPLACEMENT_PROTECTION: "Test/Model"})
    b_props = model_props(
        "20",
        **{contract.REPLACEMENT_PROTECTION: "Test/Model", contract.REPLACEMENT_ALLOWED: "true"},
    )
    a = cfn.create(a_props)
    assert a.ok, a.reason
    b = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert b.ok, b.reason
    world.emulator.call(
        "DeleteTrainedModelOutput",
        {"membershipIdentifier": a.physical_id.split("/")[1], "trainedModelArn": a.physical_id},
    )
    world.settle(600)
    back = cfn.update(a_props, old=b_props, physical_id=b.physical_id, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == b.physical_id
    assert len(world.emulator.snapshot()) == 2
