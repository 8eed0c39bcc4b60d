"""Upgrade stability: no release replaces a model that an earlier one deployed.

``fixtures/identities.json`` holds the properties release 0.1.0 rendered for ten
models (plain, every prop, incremental three ways, long path, tokens, tags...),
delivered as CloudFormation delivers them, and the identity that release wrote
into each model's ownership tag. Two ways a later change could replace them:

- the handler computes another identity from the same properties;
- the construct renders the same props into properties of another identity.

Both fail here. (The rule is written down in ``lambda/handler/identity.py``.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Fn, RemovalPolicy, Size, Stack, Tags
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

import identity
import ownership
import trained_models
from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    S3DataDistributionType,
    TrainedModel,
    TrainingInputMode,
)
from helpers import cfn_stringify, logical_id

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "identities.json").read_text())
CASES: dict[str, Any] = FIXTURE["cases"]

M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
P = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{M}"
ASSOC = f"{P}/configured-model-algorithm-association/assoc-1"
CH = f"{P}/ml-input-channel/channel-1"
CH2 = f"{P}/ml-input-channel/channel-2"
BASE_ARN = f"{P}/trained-model/4b1c2d3e-aaaa-4bbb-8ccc-0123456789ab"
VERSION = "11111111-2222-4333-8444-555555555555"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMPORTS = {"MembershipId": M, "AssociationArn": ASSOC, "ChannelArn": CH}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_handler_computes_the_identity_release_0_1_0_tagged(case: str) -> None:
    properties = CASES[case]["properties"]
    assert trained_models.parse(properties).identity == CASES[case]["identity"]


def _props(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "membership_identifier": M,
        "configured_model_algorithm_association_arn": ASSOC,
        "instance_type": InstanceType.ML_M5_XLARGE,
        "volume_size": Size.gibibytes(50),
        "data_channels": [DataChannel(ml_input_channel_arn=CH, channel_name="train")],
    }
    props.update(overrides)
    return props


def _every_prop(stack: Stack) -> TrainedModel:
    return TrainedModel(
        stack,
        "Model",
        **_props(
            trained_model_name="my model",
            hyperparameters={"epochs": "10", "lr": "0.1"},
            environment={"MODE": "fast", "TOKEN": "s3cr3t"},
            instance_count=2,
            max_runtime=Duration.hours(3),
            training_input_mode=TrainingInputMode.FAST_FILE,
            description="a description\nwith lines",
            encryption_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
            ml_model_training_payer_account_id="444455556666",
            data_channels=[
                DataChannel(
                    ml_input_channel_arn=CH,
                    channel_name="train",
                    s3_data_distribution_type=S3DataDistributionType.SHARDED_BY_S3_KEY,
                ),
                DataChannel(ml_input_channel_arn=CH2, channel_name="validation"),
            ],
            removal_policy=RemovalPolicy.DESTROY,
            wait_for_completion=False,
        ),
    )


def _incremental(stack: Stack, timeout: Duration | None = None) -> TrainedModel:
    base = TrainedModel(stack, "Base", **_props())
    channel = IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
    extra = {"completion_timeout": timeout} if timeout else {}
    return TrainedModel(
        stack, "Next", **_props(incremental_training_data_channels=[channel], **extra)
    )


def _imported(stack: Stack, version: str | None) -> TrainedModel:
    base = TrainedModel.from_trained_model_attributes(
        stack, "Imported", trained_model_arn=BASE_ARN, version_identifier=version
    )
    channel = IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
    return TrainedModel(stack, "Next", **_props(incremental_training_data_channels=[channel]))


def _tagged(stack: Stack) -> TrainedModel:
    model = TrainedModel(stack, "Model", **_props(tags={"team": "ml", "cost-center": "42"}))
    Tags.of(model).add("project", "clean-rooms")
    return model


BUILDERS: dict[str, Callable[[Stack], TrainedModel]] = {
    "plain": lambda s: TrainedModel(s, "Model", **_props()),
    "fixed-name-and-every-prop": _every_prop,
    "incremental-from-a-base-in-the-app": _incremental,
    "incremental-from-an-imported-model": lambda s: _imported(s, None),
    "incremental-pinned-version": lambda s: _imported(s, VERSION),
    "long-path": lambda s: TrainedModel(
        s, "Model", **_props(completion_timeout=Duration.hours(6), hyperparameters={"epochs": "5"})
    ),
    "long-path-incremental": lambda s: _incremental(s, Duration.hours(12)),
    "tokens": lambda s: TrainedModel(
        s,
        "Model",
        **_props(
            membership_identifier=Fn.import_value("MembershipId"),
            configured_model_algorithm_association_arn=Fn.import_value("AssociationArn"),
            data_channels=[
                DataChannel(ml_input_channel_arn=Fn.import_value("ChannelArn"), channel_name="t")
            ],
        ),
    ),
    "tags": _tagged,
    "short-timeout-no-wait": lambda s: TrainedModel(
        s, "Model", **_props(completion_timeout=Duration.minutes(20), wait_for_completion=True)
    ),
}


def _resolve(value: Any, template: Mapping[str, Any]) -> Any:
    """Intrinsics as CloudFormation resolves them at deploy time."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::ImportValue":
            return IMPORTS[argument]
        if function == "Ref":
            return f"https://cloudformation-waitcondition.s3.amazonaws.com/{argument}"
        if function == "Fn::GetAtt":
            return {"Arn": KEY_ARN, "TrainedModelArn": BASE_ARN}[argument[1]]
    if isinstance(value, dict):
        return {k: _resolve(v, template) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, template) for v in value]
    return value


def test_every_case_of_the_fixture_is_rebuilt_here() -> None:
    assert set(BUILDERS) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_construct_renders_the_same_identity_today(case: str) -> None:
    stack = Stack(App(), "Fixture", env=Environment(account="111122223333", region="us-east-1"))
    model = BUILDERS[case](stack)
    template = Template.from_stack(stack).to_json()
    props = copy.deepcopy(template["Resources"][logical_id(model.custom_resource)]["Properties"])
    props.pop("ServiceToken")
    delivered = cfn_stringify(_resolve(props, template))
    assert trained_models.parse(delivered).identity == CASES[case]["identity"]


def test_an_added_property_left_unset_changes_no_identity() -> None:
    """Rule 3: a key enters the document only when it is set."""
    properties = dict(CASES["plain"]["properties"])
    document = identity.trained_model_document(properties)
    assert identity.digest(document) == CASES["plain"]["identity"]
    assert "description" not in document
    assert identity.digest(dict(document, description="x")) != CASES["plain"]["identity"]


def test_the_ownership_tag_keeps_the_identitys_first_digits() -> None:
    tag = ownership.parse_tag(
        ownership.make_tag("arn:aws:cloudformation:r:1:stack/S/x", "L", "q", "ab" * 32)
    )
    assert tag is not None
    assert tag.identity == ("ab" * 32)[: ownership.DIGEST_LENGTH]
    assert tag.who == "S/L"
