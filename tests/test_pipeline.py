"""MLConfiguration, MLInputChannel and TrainedModelInferenceJob: rendering, typed
references, validation, IAM, and the contract with the handler (synthesized properties,
stringified as CloudFormation delivers them, parse to requests the API accepts)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Size, Stack
from aws_cdk import aws_cleanrooms as cleanrooms
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from iam_sim import Fabricated, Need, Policy, pseudo

import contract
import inference_jobs
import ml_configurations
import ml_input_channels
import trained_models
from cdk_cleanrooms_ml import (
    DataChannel,
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    ResultFormat,
    TrainedModel,
    TrainedModelInferenceJob,
    ValidationError,
    WorkerComputeType,
)
from cdk_cleanrooms_ml.ml_configuration import logical_id_of
from helpers import (
    ACCOUNT,
    ASSOCIATION_ARN,
    CHANNEL_ARN,
    KMS_KEY_ARN,
    MEMBERSHIP,
    MODEL_ARN,
    PREFIX,
    REGION,
    STACK_ID,
    VERSION,
    api_accepts,
    channel_props,
    job_props,
    logical_id,
    new_stack,
    synthesized_properties,
    valid_props,
)

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-query"
TEMPLATE_ARN = f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}/analysistemplate/t1"


# --- MLInputChannel ---------------------------------------------------------------------


def test_a_sql_channel_renders_every_prop_and_round_trips_to_the_api() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(stack, "Key", KMS_KEY_ARN)
    channel = MLInputChannel(
        stack,
        "Channel",
        **channel_props(
            role=iam.Role.from_role_arn(stack, "Role", ROLE_ARN),
            worker_type=WorkerComputeType.CR_4X,
            worker_count=4,
            spark_properties={"spark.executor.memory": "4g"},
            result_format=ResultFormat.PARQUET,
            ml_input_channel_name="training-data",
            description="rows for training",
            encryption_key=key,
            compute_payer_account_id=ACCOUNT,
            tags={"team": "ml"},
            removal_policy=RemovalPolicy.DESTROY,
        ),
    )
    props = synthesized_properties(channel)
    assert props == {
        "MembershipIdentifier": MEMBERSHIP,
        "ConfiguredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "RoleArn": ROLE_ARN,
        "RetentionInDays": "7",
        "Name": "training-data",
        "QueryString": "SELECT a, b FROM t",
        "WorkerType": "CR.4X",
        "WorkerCount": "4",
        "SparkProperties": {"spark.executor.memory": "4g"},
        "ResultFormat": "PARQUET",
        "Description": "rows for training",
        "KmsKeyArn": KMS_KEY_ARN,
        "ComputePayerAccountId": ACCOUNT,
        "Tags": {"team": "ml"},
        "RemovalPolicy": "destroy",
    }
    desired = ml_input_channels.parse(props)
    request = ml_input_channels.create_request(desired, "training-data", {"team": "ml"})
    api_accepts("CreateMLInputChannel", request)
    assert request["inputChannel"]["dataSource"]["protectedQueryInputParameters"] == {
        "sqlParameters": {"queryString": "SELECT a, b FROM t"},
        "computeConfiguration": {
            "worker": {
                "type": "CR.4X",
                "number": 4,
                "properties": {"spark": {"spark.executor.memory": "4g"}},
            }
        },
        "resultFormat": "PARQUET",
    }
    assert desired.destroy is True


def test_an_analysis_template_channel_takes_the_l1_template_and_an_l1_association() -> None:
    stack = new_stack()
    template = cleanrooms.CfnAnalysisTemplate(
        stack,
        "Template",
        membership_identifier=MEMBERSHIP,
        name="t",
        format="SQL",
        source=cleanrooms.CfnAnalysisTemplate.AnalysisSourceProperty(text="SELECT 1"),
    )
    association = cleanroomsml.CfnConfiguredModelAlgorithmAssociation(
        stack,
        "Association",
        configured_model_algorithm_arn="arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-model-algorithm/x",
        membership_identifier=MEMBERSHIP,
        name="assoc",
    )
    channel = MLInputChannel(
        stack,
        "Channel",
        **channel_props(
            configured_model_algorithm_association=association,
            data_source=MLInputChannelDataSource.analysis_template(
                template, parameters={"since": "2026-01-01"}
            ),
        ),
    )
    properties = Template.from_stack(stack).to_json()["Resources"][logical_id(channel.resource)][
        "Properties"
    ]
    assert properties["AnalysisTemplateArn"] == {"Fn::GetAtt": [logical_id(template), "Arn"]}
    # the L1's reference: its Ref is the association's ARN
    assert properties["ConfiguredModelAlgorithmAssociationArn"] == {"Ref": logical_id(association)}
    assert properties["Parameters"] == {"since": "2026-01-01"}


def test_the_default_query_role_has_the_documented_permissions_only() -> None:
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    template = Template.from_stack(stack)
    role_id = logical_id(channel.role)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "cleanrooms-ml.amazonaws.com"},
                    }
                ]
            }
        },
    )
    policies = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    (policy,) = policies
    actions = sorted(
        a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _list(s["Action"])
    )
    assert actions == [
        "cleanrooms:GetCollaborationAnalysisTemplate",
        "cleanrooms:GetProtectedQuery",
        "cleanrooms:GetSchema",
        "cleanrooms:StartProtectedQuery",
        "cleanrooms:UpdateProtectedQuery",
    ]


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_a_channel_as_a_data_channel_of_a_model() -> None:
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    model = TrainedModel(
        stack, "Model", **valid_props(data_channels=[DataChannel.of(channel, "train")])
    )
    (data,) = Template.from_stack(stack).to_json()["Resources"][logical_id(model.custom_resource)][
        "Properties"
    ]["DataChannels"]
    assert data == {
        "MlInputChannelArn": {"Fn::GetAtt": [logical_id(channel.resource), "MlInputChannelArn"]},
        "ChannelName": "train",
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"retention": Duration.days(31)}, "retention: 31 days is out of range; allowed 1-30 days"),
        ({"retention": Duration.hours(36)}, "retention: 1.5 days is not a whole number of days"),
        ({"retention": "7"}, "retention: '7' (a string) is not a Duration"),
        ({"worker_count": 1}, "worker_count: 1 workers is out of range; allowed 2-1024"),
        (
            {"worker_type": "CR.1X"},
            "worker_type: 'CR.1X' (a string) is not a WorkerComputeType "
            "(use WorkerComputeType.CR_1X)",
        ),
        (
            {"data_source": MLInputChannelDataSource.sql("x" * 500_001)},
            "the query has 500001 characters",
        ),
        (
            {"data_source": "SELECT 1"},
            "data_source: 'SELECT 1' (a string) is not an MLInputChannelDataSource",
        ),
        (
            {
                "data_source": MLInputChannelDataSource.analysis_template(
                    "arn:aws:s3:::x", {"a-b": "1"}
                )
            },
            "is not an analysis template ARN",
        ),
        (
            {"data_source": MLInputChannelDataSource.analysis_template(TEMPLATE_ARN, {"a-b": "1"})},
            "data_source.parameters: key 'a-b' does not match",
        ),
        (
            {"configured_model_algorithm_association": 5},
            "configured_model_algorithm_association: 5 (an int) is not an association",
        ),
        ({"role": ROLE_ARN}, "role: '" + ROLE_ARN + "' (a string) is not an IRole"),
        ({"membership_identifier": None}, "membership_identifier: is required"),
        ({"ml_input_channel_name": ""}, "ml_input_channel_name: '' has 0 characters"),
        (
            {"completion_timeout": Duration.hours(2)},
            "completion_timeout: 7200 seconds is out of range; allowed 1-3600",
        ),
        (
            {"compute_payer_account_id": "123"},
            "compute_payer_account_id: '123' is not an account id",
        ),
    ],
)
def test_every_wrong_channel_prop_is_named(overrides: dict[str, Any], expected: str) -> None:
    stack = new_stack()
    with pytest.raises(ValidationError) as raised:
        MLInputChannel(stack, "Channel", **channel_props(**overrides))
    assert any(expected in failure for failure in raised.value.failures), raised.value.failures


def test_channel_imports_and_grants() -> None:
    stack = new_stack()
    channel = MLInputChannel.from_ml_input_channel_arn(stack, "Imported", CHANNEL_ARN)
    assert channel.ml_input_channel_arn == CHANNEL_ARN
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    channel.grant_read(role)
    channel.grant_start_inference(role)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "cleanrooms-ml:GetMLInputChannel", "Resource": CHANNEL_ARN}
                        ),
                        Match.object_like(
                            {
                                "Action": "cleanrooms-ml:StartTrainedModelInferenceJob",
                                "Resource": CHANNEL_ARN,
                            }
                        ),
                    ]
                )
            }
        },
    )
    with pytest.raises(
        ValidationError, match="ml_input_channel_arn: 'nope' is not an ML input channel ARN"
    ):
        MLInputChannel.from_ml_input_channel_arn(stack, "Bad", "nope")


# --- TrainedModelInferenceJob -----------------------------------------------------------


def test_a_job_renders_every_prop_and_round_trips_to_the_api() -> None:
    stack = new_stack()
    job = TrainedModelInferenceJob(
        stack,
        "Job",
        **job_props(
            stack,
            trained_model_version_identifier=VERSION,
            instance_count=2,
            accept="text/csv",
            max_payload=Size.mebibytes(6),
            environment={"MODE": "batch"},
            configured_model_algorithm_association=ASSOCIATION_ARN,
            trained_model_inference_job_name="scores",
            description="nightly scores",
            encryption_key=kms.Key.from_key_arn(stack, "Key", KMS_KEY_ARN),
            ml_model_inference_payer_account_id=ACCOUNT,
            tags={"team": "ml"},
        ),
    )
    props = synthesized_properties(job)
    assert props == {
        "MembershipIdentifier": MEMBERSHIP,
        "TrainedModelArn": MODEL_ARN,
        "MlInputChannelArn": CHANNEL_ARN,
        "InstanceType": "ml.m5.xlarge",
        "OutputAccountId": ACCOUNT,
        "Name": "scores",
        "TrainedModelVersionIdentifier": VERSION,
        "ConfiguredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "InstanceCount": "2",
        "Accept": "text/csv",
        "MaxPayloadInMB": "6",
        "Environment": {"MODE": "batch"},
        "Description": "nightly scores",
        "KmsKeyArn": KMS_KEY_ARN,
        "MlModelInferencePayerAccountId": ACCOUNT,
        "Tags": {"team": "ml"},
    }
    desired = inference_jobs.parse(props)
    api_accepts(
        "StartTrainedModelInferenceJob", inference_jobs.create_request(desired, "scores", {})
    )


def test_a_job_runs_the_version_a_model_of_the_app_trained_and_waits_for_its_configuration() -> (
    None
):
    stack = new_stack()
    base = TrainedModel(stack, "Base", **valid_props())
    configuration = MLConfiguration(
        stack, "Config", membership_identifier=MEMBERSHIP, output_bucket=s3.Bucket(stack, "Out")
    )
    job = TrainedModelInferenceJob(
        stack, "Job", **job_props(stack, trained_model=base, ml_configuration=configuration)
    )
    resource = Template.from_stack(stack).to_json()["Resources"][logical_id(job.resource)]
    assert resource["Properties"]["TrainedModelArn"] == {
        "Fn::GetAtt": [logical_id(base.custom_resource), "TrainedModelArn"]
    }
    assert "TrainedModelVersionIdentifier" not in resource["Properties"]  # a base model
    assert logical_id(configuration.resource) in resource["DependsOn"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"instance_count": 11}, "instance_count: 11 instances is out of range; allowed 1-10"),
        ({"instance_count": "2"}, "instance_count: '2' (a string) is not a number"),
        ({"max_payload": Size.mebibytes(101)}, "max_payload: 101 MiB is out of range"),
        ({"max_payload": 6}, "max_payload: 6 (an int) is not a Size"),
        (
            {"environment": {f"K{i}": "v" for i in range(17)}},
            "environment: 17 entries; allowed at most 16",
        ),
        ({"output_account_id": "x"}, "output_account_id: 'x' is not an account id"),
        (
            {"trained_model": MODEL_ARN},
            "(a string) is not an ITrainedModel",
        ),
        (
            {"data_source": CHANNEL_ARN},
            "(a string) is not an IMLInputChannel",
        ),
        ({"trained_model_version_identifier": "NULL"}, "is not a version identifier"),
        (
            {"ml_configuration": "config"},
            "ml_configuration: 'config' (a string) is not an IMLConfiguration",
        ),
    ],
)
def test_every_wrong_job_prop_is_named(overrides: dict[str, Any], expected: str) -> None:
    stack = new_stack()
    with pytest.raises(ValidationError) as raised:
        TrainedModelInferenceJob(stack, "Job", **job_props(stack, **overrides))
    assert any(expected in failure for failure in raised.value.failures), raised.value.failures


def test_an_unknown_inference_instance_type_is_a_warning_with_the_closest_ones() -> None:
    stack = new_stack()
    TrainedModelInferenceJob(
        stack, "Job", **job_props(stack, instance_type=InstanceType.of("ml.m5.xlarg"))
    )
    Annotations.from_stack(stack).has_warning(
        "/Test/Job", Match.string_like_regexp("closest known: ml.m5.xlarge")
    )


def test_job_import() -> None:
    stack = new_stack()
    arn = f"{PREFIX}/trained-model-inference-job/j1"
    job = TrainedModelInferenceJob.from_trained_model_inference_job_arn(stack, "Job", arn)
    assert job.trained_model_inference_job_arn == arn
    with pytest.raises(ValidationError, match="trained_model_inference_job_arn"):
        TrainedModelInferenceJob.from_trained_model_inference_job_arn(stack, "Bad", MODEL_ARN)


# --- MLConfiguration ----------------------------------------------------------------------


def test_a_configuration_with_its_default_role_renders_and_round_trips() -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Out", "results")
    configuration = MLConfiguration(
        stack,
        "Config",
        membership_identifier=MEMBERSHIP,
        output_bucket=bucket,
        output_prefix="clean-rooms/",
        removal_policy=RemovalPolicy.DESTROY,
    )
    props = synthesized_properties(configuration)
    role_arn = {"Fn::GetAtt": [logical_id(configuration.role), "Arn"]}
    assert props == {
        "MembershipIdentifier": MEMBERSHIP,
        "RoleArn": role_arn,
        "OutputS3Uri": "s3://results/clean-rooms/",
        "RemovalPolicy": "destroy",
    }
    desired = ml_configurations.parse(dict(props, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r"))
    api_accepts("PutMLConfiguration", dict(desired.request))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": ACCOUNT},
                            "ArnLike": {
                                "aws:SourceArn": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            f":cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}",
                                        ],
                                    ]
                                }
                            },
                        },
                        "Effect": "Allow",
                        "Principal": {"Service": "cleanrooms-ml.amazonaws.com"},
                    }
                ]
            }
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["s3:PutObject", "s3:GetObject"],
                                "Condition": {"StringEquals": {"s3:ResourceAccount": ACCOUNT}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": "cloudwatch:PutMetricData",
                                "Condition": {
                                    "StringLike": {"cloudwatch:namespace": "/aws/cleanroomsml/*"}
                                },
                                "Resource": "*",
                            }
                        ),
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("action", "resource", "context", "allowed"),
    [
        ("s3:PutObject", "arn:aws:s3:::results/cleanrooms-ml/job/part-0", {}, True),
        ("s3:GetObject", "arn:aws:s3:::results/cleanrooms-ml/job/part-0", {}, True),
        ("s3:GetObject", "arn:aws:s3:::results/elsewhere/part-0", {}, False),
        ("s3:GetObject", "arn:aws:s3:::other/cleanrooms-ml/part-0", {}, False),
        ("s3:GetBucketLocation", "arn:aws:s3:::results", {}, True),
        ("s3:ListBucket", "arn:aws:s3:::results", {"s3:prefix": "cleanrooms-ml/job/"}, True),
        ("s3:ListBucket", "arn:aws:s3:::results", {"s3:prefix": "elsewhere/"}, False),
        ("s3:ListBucket", "arn:aws:s3:::other", {"s3:prefix": "cleanrooms-ml/"}, False),
        ("s3:DeleteObject", "arn:aws:s3:::results/cleanrooms-ml/job/part-0", {}, False),
    ],
)
def test_the_configuration_role_reads_and_writes_the_output_location_only(
    action: str, resource: str, context: dict[str, str], allowed: bool
) -> None:
    """AWS documents s3:PutObject under the output location; AWS's own sample also
    grants s3:GetObject, s3:ListBucket and s3:GetBucketLocation: all on the output
    location (its prefix) of a bucket of this account, nothing else."""
    stack = new_stack()
    configuration = MLConfiguration(
        stack,
        "Config",
        membership_identifier=MEMBERSHIP,
        output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results"),
        output_prefix="cleanrooms-ml/",
    )
    template = Template.from_stack(stack).to_json()
    policy = Policy.of_role(
        template,
        logical_id(configuration.role),
        pseudo(STACK_ID, REGION, ACCOUNT),
        Fabricated(),
    )
    need = Need(action, resource, {"s3:ResourceAccount": ACCOUNT, **context})
    assert policy.allows(need) is allowed
    elsewhere = Need(action, resource, {"s3:ResourceAccount": "444455556666", **context})
    assert not policy.allows(elsewhere)


def test_a_kms_encrypted_output_bucket_gets_named_key_actions_only() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Out", encryption=s3.BucketEncryption.KMS, encryption_key=key)
    configuration = MLConfiguration(
        stack, "Config", membership_identifier=MEMBERSHIP, output_bucket=bucket
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    role_id = logical_id(configuration.role)
    (policy,) = [p for p in policies.values() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    kms_actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _list(statement["Action"])
        if action.startswith("kms:")
    }
    assert kms_actions == {"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"}
    (statement,) = [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "kms:Encrypt" in _list(st["Action"])
    ]
    assert list(statement["Condition"]["StringLike"]) == ["kms:EncryptionContext:aws:s3:arn"]


def test_a_membership_has_one_configuration_in_an_app() -> None:
    app = App()
    first = Stack(app, "One", env=Environment(account=ACCOUNT, region=REGION))
    second = Stack(app, "Two", env=Environment(account=ACCOUNT, region=REGION))
    MLConfiguration(first, "Config", membership_identifier=MEMBERSHIP)
    with pytest.raises(ValidationError, match="already configured by One/Config"):
        MLConfiguration(second, "Config", membership_identifier=MEMBERSHIP)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"membership_identifier": "ABC"}, "membership_identifier: 'ABC' is not a membership id"),
        ({"output_bucket": "results"}, "output_bucket: 'results' (a string) is not an IBucket"),
        ({"output_prefix": "x/"}, "output_prefix: needs output_bucket"),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, "removal_policy"),
    ],
)
def test_every_wrong_configuration_prop_is_named(overrides: dict[str, Any], expected: str) -> None:
    props = {"membership_identifier": MEMBERSHIP, **overrides}
    with pytest.raises(ValidationError) as raised:
        MLConfiguration(new_stack(), "Config", **props)
    assert any(expected in failure for failure in raised.value.failures), raised.value.failures


# --- the one provider, and its IAM ---------------------------------------------------------


def test_one_provider_serves_every_kind_with_one_resource_per_instance() -> None:
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    model = TrainedModel(
        stack, "Model", **valid_props(data_channels=[DataChannel.of(channel, "train")])
    )
    TrainedModelInferenceJob(
        stack, "Job", **job_props(stack, trained_model=model, data_source=channel)
    )
    MLConfiguration(stack, "Config", membership_identifier=MEMBERSHIP)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)  # the one provider
    for resource_type in (
        contract.RESOURCE_TYPE,
        contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
        contract.INFERENCE_JOB_RESOURCE_TYPE,
        contract.ML_CONFIGURATION_RESOURCE_TYPE,
    ):
        template.resource_count_is(resource_type, 1)
    tokens = {
        str(r["Properties"]["ServiceToken"])
        for r in template.to_json()["Resources"].values()
        if str(r["Type"]).startswith("Custom::CleanRoomsML")
    }
    assert len(tokens) == 1
    assert trained_models.KIND.resource_type == contract.RESOURCE_TYPE


def test_renaming_an_ml_configuration_keeps_its_resource_and_updates_it_in_place() -> None:
    """A membership has one configuration: its resource's logical id is the
    membership's, so a renamed construct (with its default role, a new one then, and a
    new output location) is an update in place of the same resource, which a rollback
    puts back, not a second resource taking the configuration over."""

    def configuration(construct_id: str, prefix: str) -> tuple[str, dict[str, Any]]:
        stack = new_stack()
        MLConfiguration(
            stack,
            construct_id,
            membership_identifier=MEMBERSHIP,
            output_bucket=s3.Bucket.from_bucket_name(stack, "Results", "results"),
            output_prefix=prefix,
        )
        found = Template.from_stack(stack).find_resources(contract.ML_CONFIGURATION_RESOURCE_TYPE)
        ((logical_id, resource),) = found.items()
        return logical_id, resource["Properties"]

    before, old = configuration("Configuration", "a/")
    after, new = configuration("Renamed", "b/")
    assert before == after == logical_id_of(MEMBERSHIP)
    assert old[contract.ROLE_ARN] != new[contract.ROLE_ARN]  # a new default role
    assert old[contract.OUTPUT_S3_URI] != new[contract.OUTPUT_S3_URI]
