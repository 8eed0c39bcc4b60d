"""The contract between construct and handler.

Synthesized properties, stringified the way CloudFormation hands them to a
custom resource, go through the handler's parser and come out as the exact
``create_trained_model`` request, which botocore's validator accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_kms as kms
from botocore.validate import ParamValidator

import contract
import trained_models
from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    S3DataDistributionType,
    TrainedModel,
    TrainingInputMode,
)
from cdk_cleanrooms_ml import _contract as construct_contract
from helpers import (
    ASSOCIATION_ARN,
    BASE_MODEL_ARN,
    CHANNEL_ARN,
    CHANNEL_ARN_2,
    KMS_KEY_ARN,
    MEMBERSHIP,
    VERSION,
    new_stack,
    synthesized_properties,
    valid_props,
)
from identity import PropertyError
from refresh_service_model import shipped_models

SERVICE_MODEL = (
    Path(__file__).parent.parent / "lambda/handler/data/cleanroomsml/2023-09-06/service-2.json"
)


def _validate(request: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    model = session.get_service_model("cleanroomsml")
    shape = model.operation_model("CreateTrainedModel").input_shape
    assert shape is not None
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_construct_and_handler_share_one_contract_module() -> None:
    assert Path(construct_contract.__file__).resolve() == Path(contract.__file__).resolve()


def test_shipped_service_model_is_botocores_without_documentation() -> None:
    shipped = SERVICE_MODEL.parent
    for name, model in shipped_models().items():
        assert json.loads((shipped / name).read_text()) == model, name


def test_minimal_model_round_trips_to_the_exact_request() -> None:
    model = TrainedModel(new_stack(), "Model", **valid_props(trained_model_name="m"))
    desired = trained_models.parse(synthesized_properties(model))
    request = trained_models.create_request(desired, "m", {})
    assert request == {
        "membershipIdentifier": MEMBERSHIP,
        "name": "m",
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 50},
        "dataChannels": [{"mlInputChannelArn": CHANNEL_ARN, "channelName": "train"}],
    }
    _validate(request)
    assert desired.destroy is False
    assert desired.wait_for_completion is True
    assert desired.completion_timeout_seconds == 3600


def test_full_model_round_trips_to_the_exact_request() -> None:
    stack = new_stack()
    model = TrainedModel(
        stack,
        "Model",
        **valid_props(
            trained_model_name="full",
            hyperparameters={"epochs": "10", "flag": "true", "n": "5"},
            environment={"MODE": "fast"},
            instance_type=InstanceType.ML_G5_2XLARGE,
            instance_count=3,
            volume_size=Size.gibibytes(100),
            max_runtime=Duration.hours(4),
            data_channels=[
                DataChannel(
                    ml_input_channel_arn=CHANNEL_ARN,
                    channel_name="train",
                    s3_data_distribution_type=S3DataDistributionType.SHARDED_BY_S3_KEY,
                ),
                DataChannel(ml_input_channel_arn=CHANNEL_ARN_2, channel_name="test"),
            ],
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(
                    trained_model=TrainedModel.from_trained_model_attributes(
                        stack, "Base", trained_model_arn=BASE_MODEL_ARN, version_identifier=VERSION
                    ),
                    channel_name="base",
                )
            ],
            training_input_mode=TrainingInputMode.PIPE,
            description="full model",
            encryption_key=kms.Key.from_key_arn(stack, "Key", KMS_KEY_ARN),
            ml_model_training_payer_account_id="444455556666",
            tags={"team": "ml"},
            removal_policy=RemovalPolicy.DESTROY,
            wait_for_completion=False,
            completion_timeout=Duration.minutes(20),
        ),
    )
    properties = synthesized_properties(model)
    # CloudFormation's stringification: every scalar arrives as a string.
    assert properties[contract.INSTANCE_COUNT] == "3"
    assert properties[contract.WAIT_FOR_COMPLETION] == "false"
    desired = trained_models.parse(properties)
    request = trained_models.create_request(desired, "full", desired.tags)
    assert request == {
        "membershipIdentifier": MEMBERSHIP,
        "name": "full",
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "hyperparameters": {"epochs": "10", "flag": "true", "n": "5"},
        "environment": {"MODE": "fast"},
        "resourceConfig": {
            "instanceType": "ml.g5.2xlarge",
            "instanceCount": 3,
            "volumeSizeInGB": 100,
        },
        "stoppingCondition": {"maxRuntimeInSeconds": 14400},
        "dataChannels": [
            {
                "mlInputChannelArn": CHANNEL_ARN,
                "channelName": "train",
                "s3DataDistributionType": "ShardedByS3Key",
            },
            {"mlInputChannelArn": CHANNEL_ARN_2, "channelName": "test"},
        ],
        "incrementalTrainingDataChannels": [
            {"trainedModelArn": BASE_MODEL_ARN, "channelName": "base", "versionIdentifier": VERSION}
        ],
        "trainingInputMode": "Pipe",
        "description": "full model",
        "kmsKeyArn": KMS_KEY_ARN,
        "mlModelTrainingPayerAccountId": "444455556666",
        "tags": {"team": "ml"},
    }
    _validate(request)
    assert desired.destroy is True
    assert desired.wait_for_completion is False
    assert desired.completion_timeout_seconds == 1200


@pytest.mark.parametrize("version", ["NULL", ""])
def test_base_version_attribute_means_no_version(version: str) -> None:
    props = synthesized_properties(TrainedModel(new_stack(), "Model", **valid_props()))
    props[contract.INCREMENTAL_TRAINING_DATA_CHANNELS] = [
        {
            contract.CHANNEL_TRAINED_MODEL_ARN: BASE_MODEL_ARN,
            contract.CHANNEL_NAME: "b",
            contract.CHANNEL_VERSION_IDENTIFIER: version,
        }
    ]
    request = trained_models.parse(props).request
    assert request["incrementalTrainingDataChannels"] == [
        {"trainedModelArn": BASE_MODEL_ARN, "channelName": "b"}
    ]


def test_numbers_and_booleans_are_accepted_as_json_or_as_strings() -> None:
    props = synthesized_properties(TrainedModel(new_stack(), "Model", **valid_props()))
    as_json = dict(props, **{contract.VOLUME_SIZE_IN_GB: 50, contract.WAIT_FOR_COMPLETION: True})
    as_text = dict(
        props, **{contract.VOLUME_SIZE_IN_GB: "50", contract.WAIT_FOR_COMPLETION: "true"}
    )
    as_float_text = dict(props, **{contract.VOLUME_SIZE_IN_GB: "50.0"})
    assert (
        trained_models.parse(as_json)
        == trained_models.parse(as_text)
        == trained_models.parse(as_float_text)
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (contract.VOLUME_SIZE_IN_GB, "fifty"),
        (contract.VOLUME_SIZE_IN_GB, "1.5"),
        (contract.WAIT_FOR_COMPLETION, "yes"),
        (contract.REMOVAL_POLICY, "snapshot"),
        (contract.COMPLETION_TIMEOUT_SECONDS, "43201"),
        (contract.DATA_CHANNELS, "not-a-list"),
        (contract.MEMBERSHIP_IDENTIFIER, None),
        (contract.HYPERPARAMETERS, ["a"]),
    ],
)
def test_malformed_properties_are_rejected(key: str, value: Any) -> None:
    props = synthesized_properties(TrainedModel(new_stack(), "Model", **valid_props()))
    if value is None:
        del props[key]
    else:
        props[key] = value
    with pytest.raises(PropertyError, match=key):
        trained_models.parse(props)


def test_name_and_prefix_are_mutually_exclusive() -> None:
    props = synthesized_properties(TrainedModel(new_stack(), "Model", **valid_props()))
    props[contract.NAME] = "also-fixed"
    with pytest.raises(PropertyError, match="exactly one"):
        trained_models.parse(props)
