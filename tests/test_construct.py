"""Construct tests: what ``TrainedModel`` renders, prop by prop (aws_cdk.assertions)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Duration, Fn, RemovalPolicy, Size, Stack, Tags, Token
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

import contract
from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    ITrainedModel,
    S3DataDistributionType,
    TrainedModel,
    TrainingInputMode,
)
from cdk_cleanrooms_ml._context import ENDPOINT_URL_CONTEXT_KEY, QUERY_INTERVAL_SECONDS_CONTEXT_KEY
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from helpers import (
    ASSOCIATION_ARN,
    BASE_MODEL_ARN,
    CHANNEL_ARN,
    CHANNEL_ARN_2,
    MEMBERSHIP,
    REGION,
    VERSION,
    logical_id,
    model_resources,
    new_stack,
    only_model_properties,
    valid_props,
)


def test_minimal_model_renders_required_props_only() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    props = only_model_properties(stack)
    assert props["ServiceToken"]["Fn::GetAtt"][0].startswith(PROVIDER_ID)
    del props["ServiceToken"]
    assert props == {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.NAME_PREFIX: props[contract.NAME_PREFIX],
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION_ARN,
        contract.INSTANCE_TYPE: "ml.m5.xlarge",
        contract.VOLUME_SIZE_IN_GB: 50,
        contract.DATA_CHANNELS: [
            {contract.CHANNEL_ML_INPUT_CHANNEL_ARN: CHANNEL_ARN, contract.CHANNEL_NAME: "train"}
        ],
    }


def test_resource_type_construct_id_and_default_retain() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    assert model.custom_resource.node.id == "Resource"
    assert model.node.find_child("Resource") is model.custom_resource
    template = Template.from_stack(stack)
    template.has_resource(
        contract.RESOURCE_TYPE,
        {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
    )


def test_every_optional_prop_renders() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    TrainedModel(
        stack,
        "Model",
        **valid_props(
            trained_model_name="my-model",
            hyperparameters={"epochs": "10", "lr": "0.1"},
            environment={"LOG_LEVEL": "debug"},
            instance_type=InstanceType.ML_P3_2XLARGE,
            instance_count=2,
            volume_size=Size.tebibytes(1),
            max_runtime=Duration.hours(2),
            data_channels=[
                DataChannel(
                    ml_input_channel_arn=CHANNEL_ARN,
                    channel_name="train",
                    s3_data_distribution_type=S3DataDistributionType.SHARDED_BY_S3_KEY,
                ),
                DataChannel(
                    ml_input_channel_arn=CHANNEL_ARN_2,
                    channel_name="validation",
                    s3_data_distribution_type=S3DataDistributionType.FULLY_REPLICATED,
                ),
            ],
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(
                    trained_model=TrainedModel.from_trained_model_arn(
                        stack, "Base", BASE_MODEL_ARN
                    ),
                    channel_name="base",
                    version_identifier=VERSION,
                )
            ],
            training_input_mode=TrainingInputMode.FAST_FILE,
            description="A model",
            encryption_key=key,
            ml_model_training_payer_account_id="444455556666",
            tags={"team": "ml"},
            removal_policy=RemovalPolicy.DESTROY,
            wait_for_completion=False,
            completion_timeout=Duration.minutes(30),
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource(
        contract.RESOURCE_TYPE,
        {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"},
    )
    props = only_model_properties(stack)
    assert contract.NAME_PREFIX not in props
    expected = {
        contract.NAME: "my-model",
        contract.HYPERPARAMETERS: {"epochs": "10", "lr": "0.1"},
        contract.ENVIRONMENT: {"LOG_LEVEL": "debug"},
        contract.INSTANCE_TYPE: "ml.p3.2xlarge",
        contract.INSTANCE_COUNT: 2,
        contract.VOLUME_SIZE_IN_GB: 1024,
        contract.MAX_RUNTIME_IN_SECONDS: 7200,
        contract.DATA_CHANNELS: [
            {
                contract.CHANNEL_ML_INPUT_CHANNEL_ARN: CHANNEL_ARN,
                contract.CHANNEL_NAME: "train",
                contract.CHANNEL_S3_DATA_DISTRIBUTION_TYPE: "ShardedByS3Key",
            },
            {
                contract.CHANNEL_ML_INPUT_CHANNEL_ARN: CHANNEL_ARN_2,
                contract.CHANNEL_NAME: "validation",
                contract.CHANNEL_S3_DATA_DISTRIBUTION_TYPE: "FullyReplicated",
            },
        ],
        contract.INCREMENTAL_TRAINING_DATA_CHANNELS: [
            {
                contract.CHANNEL_TRAINED_MODEL_ARN: BASE_MODEL_ARN,
                contract.CHANNEL_NAME: "base",
                contract.CHANNEL_VERSION_IDENTIFIER: VERSION,
            }
        ],
        contract.TRAINING_INPUT_MODE: "FastFile",
        contract.DESCRIPTION: "A model",
        contract.KMS_KEY_ARN: {"Fn::GetAtt": [logical_id(key), "Arn"]},
        contract.ML_MODEL_TRAINING_PAYER_ACCOUNT_ID: "444455556666",
        contract.TAGS: {"team": "ml"},
        contract.REMOVAL_POLICY: contract.REMOVAL_POLICY_DESTROY,
        contract.WAIT_FOR_COMPLETION: False,
        contract.COMPLETION_TIMEOUT_SECONDS: 1800,
    }
    for key_name, value in expected.items():
        assert props[key_name] == value, key_name


@pytest.mark.parametrize(
    "instance_type", [InstanceType.ML_G5_XLARGE, InstanceType.of("ml.z9.mega")]
)
def test_instance_type_renders_its_api_name(instance_type: InstanceType) -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(instance_type=instance_type))
    assert only_model_properties(stack)[contract.INSTANCE_TYPE] == instance_type.name


def test_sizes_are_converted_to_whole_gib() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(volume_size=Size.mebibytes(2048)))
    assert only_model_properties(stack)[contract.VOLUME_SIZE_IN_GB] == 2


def test_attributes_are_get_atts_of_the_custom_resource() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    resource_id = logical_id(model.custom_resource)
    assert stack.resolve(model.trained_model_arn) == {
        "Fn::GetAtt": [resource_id, "TrainedModelArn"]
    }
    assert model.version_identifier is None  # a base model has no version
    assert stack.resolve(model.trained_model_name) == {
        "Fn::GetAtt": [resource_id, "TrainedModelName"]
    }
    assert stack.resolve(model.status) == {"Fn::GetAtt": [resource_id, "Status"]}
    assert isinstance(model, ITrainedModel)


def test_generated_name_prefix_is_stable_unique_and_short() -> None:
    prefixes = []
    for _ in range(2):
        stack = new_stack()
        TrainedModel(stack, "Model", **valid_props())
        TrainedModel(stack, "A" * 300, **valid_props())
        resources = model_resources(Template.from_stack(stack))
        prefixes.append(sorted(r["Properties"][contract.NAME_PREFIX] for r in resources.values()))
    assert prefixes[0] == prefixes[1]
    assert len(set(prefixes[0])) == 2
    for prefix in prefixes[0]:
        assert len(prefix) <= contract.GENERATED_NAME_PREFIX_MAX_LENGTH
        assert len(prefix) + contract.GENERATED_NAME_SUFFIX_LENGTH <= 63


def test_incremental_channel_defaults_to_the_base_models_version() -> None:
    stack = new_stack()
    base = TrainedModel(stack, "Base", **valid_props())
    incremental = valid_props(
        incremental_training_data_channels=[
            IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
        ]
    )
    successor = TrainedModel(stack, "Next", **incremental)
    third = TrainedModel(
        stack,
        "Third",
        **valid_props(
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=successor, channel_name="base")
            ]
        ),
    )
    base_id, next_id = logical_id(base.custom_resource), logical_id(successor.custom_resource)
    resources = model_resources(Template.from_stack(stack))

    def channel(model: TrainedModel) -> Any:
        properties = resources[logical_id(model.custom_resource)]["Properties"]
        (found,) = properties[contract.INCREMENTAL_TRAINING_DATA_CHANNELS]
        return found

    # a base model has no version: none is sent, the service uses its latest
    assert channel(successor) == {
        contract.CHANNEL_TRAINED_MODEL_ARN: {"Fn::GetAtt": [base_id, "TrainedModelArn"]},
        contract.CHANNEL_NAME: "base",
    }
    # a model trained incrementally is a version: its successor trains from that one
    assert stack.resolve(successor.version_identifier) == {
        "Fn::GetAtt": [next_id, "VersionIdentifier"]
    }
    assert channel(third)[contract.CHANNEL_VERSION_IDENTIFIER] == {
        "Fn::GetAtt": [next_id, "VersionIdentifier"]
    }


def test_imported_models() -> None:
    stack = new_stack()
    by_arn = TrainedModel.from_trained_model_arn(stack, "ByArn", BASE_MODEL_ARN)
    by_attrs = TrainedModel.from_trained_model_attributes(
        stack, "ByAttrs", trained_model_arn=BASE_MODEL_ARN, version_identifier=VERSION
    )
    assert by_arn.trained_model_arn == BASE_MODEL_ARN
    assert by_arn.version_identifier is None
    assert by_attrs.version_identifier == VERSION
    assert isinstance(by_arn, ITrainedModel)
    TrainedModel(
        stack,
        "Next",
        **valid_props(
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=by_arn, channel_name="base")
            ]
        ),
    )
    (channel,) = only_model_properties(stack)[contract.INCREMENTAL_TRAINING_DATA_CHANNELS]
    assert channel == {
        contract.CHANNEL_TRAINED_MODEL_ARN: BASE_MODEL_ARN,
        contract.CHANNEL_NAME: "base",
    }
    assert Template.from_stack(stack).to_json()["Resources"]  # imports add no resources
    assert len(Template.from_stack(stack).find_resources(contract.RESOURCE_TYPE)) == 1


def test_tags_prop_and_tags_of_reach_the_api_tags() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props(tags={"team": "ml", "cost": "a"}))
    Tags.of(model).add("cost", "b")
    Tags.of(stack).add("stage", "dev")
    assert only_model_properties(stack)[contract.TAGS] == {
        "team": "ml",
        "cost": "b",
        "stage": "dev",
    }


def test_no_tags_renders_no_tags_property() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    assert contract.TAGS not in only_model_properties(stack)


def test_one_provider_per_stack_however_many_models() -> None:
    counts = {}
    for n in (1, 5):
        stack = new_stack()
        for i in range(n):
            TrainedModel(stack, f"Model{i}", **valid_props())
        template = Template.from_stack(stack)
        counts[n] = len(template.to_json()["Resources"])
        template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
        template.resource_count_is("AWS::Lambda::Function", 5)
        assert [c.node.id for c in stack.node.children].count(PROVIDER_ID) == 1
    assert counts[5] - counts[1] == 4  # exactly one resource per extra model


def test_handler_policy_creates_with_the_association_and_manages_the_accounts_models() -> None:
    """Creating is scoped to the association; reading, stopping and deleting to this
    account and region's trained models (row 12: a cleanup Delete runs under the policy
    of the template in force, which may have no model, or not this membership, left)."""
    stack = new_stack()
    TrainedModel(stack, "A", **valid_props())
    TrainedModel(stack, "B", **valid_props())  # same membership: no duplicate resources
    statements = _handler_statements(stack)
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    assert len(by_sid) == len([s for s in statements if "Sid" in s])
    assert by_sid["CreateTrainedModel"]["Action"] == "cleanrooms-ml:CreateTrainedModel"
    assert by_sid["CreateTrainedModel"]["Resource"] == ASSOCIATION_ARN
    assert by_sid["ManageWhatItMade"]["Resource"][0] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cleanrooms-ml:us-east-1:111122223333:membership/*/trained-model/*",
            ],
        ]
    }
    assert {
        "cleanrooms-ml:CancelTrainedModel",
        "cleanrooms-ml:DeleteTrainedModelOutput",
        "cleanrooms-ml:GetTrainedModel",
        "cleanrooms-ml:TagResource",
        "cleanrooms-ml:UntagResource",
    } <= set(by_sid["ManageWhatItMade"]["Action"])
    starred = by_sid["FindAndDeleteWithoutResourceLevelPermissions"]
    assert starred["Resource"] == "*"
    for statement in statements:
        if statement.get("Resource") == "*":
            assert statement is starred


def test_the_kms_key_is_usable_only_through_clean_rooms_ml() -> None:
    """The handler never calls KMS: only Clean Rooms ML may use the key on its behalf
    (kms:ViaService), and grant it only to an AWS resource (kms:GrantIsForAWSResource)."""
    stack = new_stack()
    key = kms.Key(stack, "Key")
    TrainedModel(stack, "Model", **valid_props(encryption_key=key))
    statements = [s for s in _handler_statements(stack) if "kms:" in json.dumps(s.get("Action"))]
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"UseKeyThroughCleanRoomsML", "GrantKeyToCleanRoomsMLResources"}
    # cleanrooms-ml.us-east-1.amazonaws.com (amazonaws.com.cn in China)
    via = {
        "kms:ViaService": {
            "Fn::Join": ["", [f"cleanrooms-ml.{REGION}.", {"Ref": "AWS::URLSuffix"}]]
        }
    }
    use = by_sid["UseKeyThroughCleanRoomsML"]
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert use["Condition"] == {"StringEquals": via}
    grant = by_sid["GrantKeyToCleanRoomsMLResources"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {
        "StringEquals": via,
        "Bool": {"kms:GrantIsForAWSResource": "true"},
    }
    for statement in statements:
        assert statement["Resource"] == {"Fn::GetAtt": [logical_id(key), "Arn"]}


def test_tokens_are_accepted_and_rendered_as_references() -> None:
    stack = new_stack(env=False)
    membership = Token.as_string(Fn.import_value("MembershipId"))
    TrainedModel(
        stack,
        "Model",
        **valid_props(
            membership_identifier=membership,
            configured_model_algorithm_association_arn=Fn.import_value("AssocArn"),
            volume_size=Size.gibibytes(Token.as_number(Fn.import_value("Gib"))),
        ),
    )
    props = only_model_properties(stack)
    assert props[contract.MEMBERSHIP_IDENTIFIER] == {"Fn::ImportValue": "MembershipId"}
    assert props[contract.VOLUME_SIZE_IN_GB] == {"Fn::ImportValue": "Gib"}


def test_local_endpoint_switch_is_off_by_default_and_reaches_both_handlers() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    for function in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values():
        assert "AWS_ENDPOINT_URL_CLEANROOMSML" not in str(function)

    stack = new_stack()
    stack.node.set_context(ENDPOINT_URL_CONTEXT_KEY, "http://127.0.0.1:4599")
    TrainedModel(stack, "Model", **valid_props())
    template = Template.from_stack(stack)
    template.resource_properties_count_is(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": {"AWS_ENDPOINT_URL_CLEANROOMSML": "http://127.0.0.1:4599"}}},
        2,
    )


def _is_complete_retry_intervals(stack: Stack) -> list[Any]:
    (machine,) = (
        Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine").values()
    )
    definition = json.dumps(stack.resolve(machine["Properties"]["DefinitionString"]))
    return re.findall(r'\\"IntervalSeconds\\":(\d+)', definition)


@pytest.mark.parametrize(("context", "seconds"), [(None, "10"), ("2", "2"), (3, "3")])
def test_the_providers_poll_interval_is_ten_seconds_unless_local_mode_sets_it(
    context: Any, seconds: str
) -> None:
    stack = new_stack()
    if context is not None:
        stack.node.set_context(QUERY_INTERVAL_SECONDS_CONTEXT_KEY, context)
    TrainedModel(stack, "Model", **valid_props())
    assert _is_complete_retry_intervals(stack) == [seconds]


@pytest.mark.parametrize("bad", ["0", "1.5", "fast", "601"])
def test_a_bad_local_poll_interval_is_refused_by_name(bad: str) -> None:
    stack = new_stack()
    stack.node.set_context(QUERY_INTERVAL_SECONDS_CONTEXT_KEY, bad)
    with pytest.raises(ValueError, match=f"queryIntervalSeconds must be whole seconds.*{bad!r}"):
        TrainedModel(stack, "Model", **valid_props())


def test_handler_functions_use_the_asset_and_entry_points() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    template = Template.from_stack(stack)
    for handler in ("index.on_event", "index.is_complete"):
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {"Handler": handler, "Runtime": Match.string_like_regexp("python3")},
        )


def _handler_statements(stack: Stack) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    for resource_id, policy in policies.items():
        if resource_id.startswith(f"{PROVIDER_ID}Role"):
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError("handler policy not found")
