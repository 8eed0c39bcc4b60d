"""The constructs of issue 23 (model export, lookalike audiences): every prop rendered,
every wrong value named at once, typed references, imports, grants and the resource
policy, the audience model's long path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from aws_cdk import CfnElement, Duration, Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from iam_sim import Fabricated, pseudo, resolve

import contract
import identity
from cdk_cleanrooms_ml import (
    AudienceExportJob,
    AudienceGenerationJob,
    AudienceModel,
    AudienceSize,
    AudienceSizeConfig,
    AudienceSizeType,
    ConfiguredAudienceModel,
    SeedAudience,
    SharedAudienceMetrics,
    TagOnCreatePolicy,
    TrainedModel,
    TrainedModelExportJob,
    ValidationError,
    WorkerComputeType,
)
from cdk_cleanrooms_ml.configured_audience_model import POLICY_MAX
from helpers import (
    ACCOUNT,
    AUDIENCE_GENERATION_JOB_ARN,
    AUDIENCE_MODEL_ARN,
    CONFIGURED_AUDIENCE_MODEL_ARN,
    MEMBERSHIP,
    MODEL_ARN,
    STACK_ID,
    TRAINING_DATASET_ARN,
    VERSION,
    audience_export_props,
    audience_model_props,
    cfn_stringify,
    configured_props,
    generation_props,
    model_export_props,
    new_stack,
    valid_props,
)

COLLABORATION = "11111111-2222-4333-8444-555555555555"


def _properties(stack: Stack, resource_type: str) -> dict[str, Any]:
    (resource,) = Template.from_stack(stack).find_resources(resource_type).values()
    return dict(resource["Properties"])


def _delivered(stack: Stack, resource_type: str) -> dict[str, Any]:
    """The properties as a deployed stack resolves them (fabricated values for what its
    resources make), every scalar a string as CloudFormation delivers it."""
    resolved = resolve(_properties(stack, resource_type), pseudo(STACK_ID), Fabricated())
    return dict(json.loads(json.dumps(cfn_stringify(resolved))))


def _failures(build: Any) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        build()
    return list(raised.value.failures)


# --- TrainedModelExportJob --------------------------------------------------------------


def test_a_model_export_renders_every_prop_and_exports_the_model_s_version() -> None:
    stack = new_stack()
    model = TrainedModel.from_trained_model_attributes(
        stack, "Model", trained_model_arn=MODEL_ARN, version_identifier=VERSION
    )
    export = TrainedModelExportJob(
        stack,
        "Export",
        membership_identifier=MEMBERSHIP,
        trained_model=model,
        output_account_id="444455556666",
        trained_model_export_job_name="to-the-partner",
        description="the model, for the partner",
        completion_timeout=Duration.minutes(30),
    )
    props = _properties(stack, contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE)
    assert {k: v for k, v in props.items() if k != "ServiceToken"} == {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.TRAINED_MODEL_ARN: MODEL_ARN,
        contract.TRAINED_MODEL_VERSION_IDENTIFIER: VERSION,
        contract.OUTPUT_ACCOUNT_ID: "444455556666",
        contract.NAME: "to-the-partner",
        contract.DESCRIPTION: "the model, for the partner",
        contract.COMPLETION_TIMEOUT_SECONDS: 1800,
    }
    assert stack.resolve(export.trained_model_export_job_name) == {
        "Fn::GetAtt": [stack.resolve(export.resource.logical_id), "Name"]
    }
    # what the handler reads of it
    document = identity.trained_model_export_job_document(
        {k: str(v) for k, v in props.items() if k != "ServiceToken"}
    )
    assert document["outputConfiguration"] == {"members": [{"accountId": "444455556666"}]}


def test_a_model_export_of_a_model_of_this_stack_follows_it_and_is_granted_its_membership() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    TrainedModelExportJob(stack, "Export", **model_export_props(stack, trained_model=model))
    template = Template.from_stack(stack)
    props = _properties(stack, contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE)
    model_id = stack.resolve(model.custom_resource.logical_id)
    assert props[contract.TRAINED_MODEL_ARN] == {"Fn::GetAtt": [model_id, "TrainedModelArn"]}
    statements = json.dumps(template.to_json())
    assert f"membership/{MEMBERSHIP}/trained-model/*" in statements
    assert "cleanrooms:PassCollaboration" in statements


def test_a_model_export_names_every_wrong_value_at_once() -> None:
    stack = new_stack()
    failures = _failures(
        lambda: TrainedModelExportJob(
            stack,
            "Export",
            membership_identifier="not-a-uuid",
            trained_model="arn:aws:s3:::bucket",  # type: ignore[arg-type]
            output_account_id="1234",
            trained_model_version_identifier="NULL",
            trained_model_export_job_name="",
            description="x" * 256,
            completion_timeout=Duration.hours(2),
        )
    )
    assert [f.split(":")[0] for f in failures] == [
        "trained_model",
        "membership_identifier",
        "trained_model_version_identifier",
        "output_account_id",
        "description",
        "trained_model_export_job_name",
        "completion_timeout",
    ]


def test_a_model_export_takes_tokens_unchecked() -> None:
    stack = new_stack()
    TrainedModelExportJob(
        stack,
        "Export",
        membership_identifier=Fn.import_value("Membership"),
        trained_model=TrainedModel.from_trained_model_arn(stack, "M", Fn.import_value("Model")),
        output_account_id=Fn.import_value("Account"),
    )


# --- AudienceModel -----------------------------------------------------------------------


def test_an_audience_model_renders_every_prop() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    model = AudienceModel(
        stack,
        "Audience",
        training_dataset=TRAINING_DATASET_ARN,
        training_data_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        training_data_end_time=datetime(2026, 3, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        audience_model_name="lookalike",
        description="buyers",
        encryption_key=key,
        tags={"team": "ads"},
        removal_policy=RemovalPolicy.DESTROY,
        replacement_protection=True,
    )
    props = _properties(stack, contract.AUDIENCE_MODEL_RESOURCE_TYPE)
    assert props[contract.TRAINING_DATASET_ARN] == TRAINING_DATASET_ARN
    assert props[contract.TRAINING_DATA_START_TIME] == "2026-01-01T00:00:00Z"
    assert props[contract.TRAINING_DATA_END_TIME] == "2026-03-01T00:00:00Z"  # in UTC
    assert props[contract.NAME] == "lookalike"
    assert props[contract.TAGS] == {"team": "ads"}
    assert props[contract.REMOVAL_POLICY] == "destroy"
    assert props[contract.REPLACEMENT_PROTECTION] == "Test/Audience"
    key_id = stack.resolve(cast(CfnElement, key.node.default_child).logical_id)
    assert props[contract.KMS_KEY_ARN] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert model.wait_condition is None
    assert stack.resolve(model.audience_model_arn)["Fn::GetAtt"][1] == "AudienceModelArn"


def test_an_audience_model_takes_the_l1_training_dataset() -> None:
    stack = new_stack()
    dataset = cleanroomsml.CfnTrainingDataset(
        stack,
        "Dataset",
        name="dataset",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/dataset",
        training_data=[
            cleanroomsml.CfnTrainingDataset.DatasetProperty(
                type="INTERACTIONS",
                input_config=cleanroomsml.CfnTrainingDataset.DatasetInputConfigProperty(
                    data_source=cleanroomsml.CfnTrainingDataset.DataSourceProperty(
                        glue_data_source=cleanroomsml.CfnTrainingDataset.GlueDataSourceProperty(
                            database_name="db", table_name="t"
                        )
                    ),
                    schema=[
                        cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty(
                            column_name="user_id", column_types=["USER_ID"]
                        )
                    ],
                ),
            )
        ],
    )
    AudienceModel(stack, "Audience", training_dataset=dataset)
    props = _properties(stack, contract.AUDIENCE_MODEL_RESOURCE_TYPE)
    assert props[contract.TRAINING_DATASET_ARN] == {"Ref": "Dataset"}  # its ARN
    # the create is granted on exactly that dataset
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert '"Resource": {"Ref": "Dataset"}' in policy


def test_an_audience_model_names_every_wrong_value_at_once() -> None:
    stack = new_stack()
    failures = _failures(
        lambda: AudienceModel(
            stack,
            "Audience",
            training_dataset=f"{AUDIENCE_MODEL_ARN}",
            training_data_start_time=datetime(2026, 3, 1),  # no time zone
            training_data_end_time="2026-01-01",  # type: ignore[arg-type]
            description="\U0001f600",
            completion_timeout=Duration.hours(13),
            tags={"aws:x": "y"},
        )
    )
    assert [f.split(":")[0] for f in failures] == [
        "training_data_start_time",
        "training_data_end_time",
        "training_dataset",
        "description",
        "tags",
        "completion_timeout",
    ]
    assert "has no time zone" in failures[0]
    window = _failures(
        lambda: AudienceModel(
            stack,
            "Window",
            **audience_model_props(
                training_data_start_time=datetime(2026, 3, 1, tzinfo=UTC),
                training_data_end_time=datetime(2026, 1, 1, tzinfo=UTC),
            ),
        )
    )
    assert window == [
        "training_data_end_time: datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"
        " is not after training_data_start_time datetime.datetime(2026, 3, 1, 0, 0, "
        "tzinfo=datetime.timezone.utc); allowed: a training window that ends after it starts"
    ]


def test_an_audience_model_over_an_hour_takes_the_long_path() -> None:
    stack = new_stack()
    model = AudienceModel(
        stack, "Audience", **audience_model_props(completion_timeout=Duration.hours(6))
    )
    template = Template.from_stack(stack)
    assert model.wait_condition is not None
    template.resource_properties_count_is(
        "AWS::CloudFormation::WaitCondition", {"Timeout": "21600", "Count": 1}, 1
    )
    attributes = template.find_resources(contract.ATTRIBUTES_RESOURCE_TYPE)
    (echo,) = attributes.values()
    assert set(echo["Properties"]) >= {"AudienceModelArn", "Name", "Status"}
    # what references the model references the attributes resource, after the wait
    assert stack.resolve(model.audience_model_arn)["Fn::GetAtt"][0].startswith("AudienceAttributes")
    waiter_policy = json.dumps(
        {
            k: v
            for k, v in template.find_resources("AWS::IAM::Policy").items()
            if "LongWaitRole" in k
        }
    )
    assert "cleanrooms-ml:GetAudienceModel" in waiter_policy
    assert "cleanrooms-ml:GetTrainedModel" not in waiter_policy


# --- ConfiguredAudienceModel ---------------------------------------------------------------


def test_a_configured_audience_model_renders_every_prop_and_its_default_output_role() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Audiences", enforce_ssl=True)
    ConfiguredAudienceModel(
        stack,
        "Configured",
        audience_model=AudienceModel.from_audience_model_arn(stack, "M", AUDIENCE_MODEL_ARN),
        output_bucket=bucket,
        output_prefix="lookalike/",
        shared_audience_metrics=SharedAudienceMetrics.ALL,
        min_matching_seed_size=500,
        audience_size_config=AudienceSizeConfig(AudienceSizeType.PERCENTAGE, [5, 10, 20]),
        child_resource_tag_on_create_policy=TagOnCreatePolicy.FROM_PARENT_RESOURCE,
        description="for the partner",
        configured_audience_model_name="configured",
    )
    props = _properties(stack, contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE)
    assert props[contract.AUDIENCE_MODEL_ARN] == AUDIENCE_MODEL_ARN
    assert props[contract.SHARED_AUDIENCE_METRICS] == "ALL"
    assert props[contract.MIN_MATCHING_SEED_SIZE] == 500
    assert props[contract.AUDIENCE_SIZE_TYPE] == "PERCENTAGE"
    assert props[contract.AUDIENCE_SIZE_BINS] == [5, 10, 20]
    assert props[contract.CHILD_RESOURCE_TAG_ON_CREATE_POLICY] == "FROM_PARENT_RESOURCE"
    assert contract.RESOURCE_POLICY not in props  # none given: none rendered
    assert contract.WAIT_FOR_COMPLETION not in props
    location = json.dumps(props[contract.OUTPUT_S3_URI])
    assert "lookalike/" in location
    role_policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert "s3:PutObject" in role_policy
    assert "lookalike/*" in role_policy


def test_a_configured_audience_model_names_every_wrong_value_at_once() -> None:
    stack = new_stack()
    failures = _failures(
        lambda: ConfiguredAudienceModel(
            stack,
            "Configured",
            audience_model=AUDIENCE_MODEL_ARN,  # type: ignore[arg-type]
            output_bucket="audiences",  # type: ignore[arg-type]
            shared_audience_metrics="ALL",  # type: ignore[arg-type]
            min_matching_seed_size=10,
            audience_size_config=AudienceSizeConfig(AudienceSizeType.PERCENTAGE, [0, 150]),
            resource_policy={"Statement": []},  # type: ignore[arg-type]
        )
    )
    props = [f.split(":")[0] for f in failures]
    assert props == [
        "audience_model",
        "output_bucket",
        "shared_audience_metrics",
        "resource_policy",
        "min_matching_seed_size",
        "audience_size_config.bins[0]",
        "audience_size_config.bins[1]",
    ]
    assert "(use SharedAudienceMetrics.ALL)" in failures[2]


def test_grants_reach_another_account_through_the_resource_policy_naming_the_model_as_star() -> (
    None
):
    stack = new_stack()
    configured = ConfiguredAudienceModel(stack, "Configured", **configured_props(stack))
    partner = iam.AccountPrincipal("444455556666")
    grant = configured.grant_start_audience_generation(partner)
    assert grant.resource_statement is not None
    configured.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["cleanrooms-ml:GetConfiguredAudienceModel"],
            principals=[iam.AccountPrincipal("777788889999")],
            resources=["*"],
        )
    )
    here = iam.Role(stack, "Here", assumed_by=iam.AccountRootPrincipal())
    configured.grant_read(here)
    props = _delivered(stack, contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE)
    policy = json.loads(props[contract.RESOURCE_POLICY])  # text, once deployed
    assert policy["Statement"] == [
        {
            "Action": "cleanrooms-ml:StartAudienceGenerationJob",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Resource": "*",
        },
        {
            "Action": "cleanrooms-ml:GetConfiguredAudienceModel",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::777788889999:root"},
            "Resource": "*",
        },
    ]
    # the handler reads it as the policy to put
    assert identity.resource_policy(props) == props[contract.RESOURCE_POLICY]
    # this account's principal through its own policy, on the model's ARN
    role_policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert "cleanrooms-ml:GetConfiguredAudienceModel" in role_policy


def test_a_resource_policy_that_names_its_own_model_is_an_error_at_synth() -> None:
    stack = new_stack()
    configured = ConfiguredAudienceModel(stack, "Configured", **configured_props(stack))
    configured.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["cleanrooms-ml:GetConfiguredAudienceModel"],
            principals=[iam.AccountPrincipal("444455556666")],
            resources=[configured.configured_audience_model_arn],
        )
    )
    errors = configured.node.validate()
    assert len(errors) == 1
    assert "names this configured audience model's own ARN" in errors[0]
    assert "Resource '*'" in errors[0]


def test_a_resource_policy_longer_than_the_api_takes_is_an_error_at_synth() -> None:
    """The API takes at most 20,480 characters of policy: counted as the compact JSON the
    handler puts (exactly, when nothing in it is known only at deploy time)."""
    stack = new_stack()
    configured = ConfiguredAudienceModel(stack, "Configured", **configured_props(stack))

    def grant(first: int, count: int) -> None:
        for n in range(first, first + count):
            configured.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Member{n:04d}",
                    actions=["cleanrooms-ml:StartAudienceGenerationJob"],
                    principals=[iam.ArnPrincipal(f"arn:aws:iam::{n:012d}:root")],
                    resources=["*"],
                )
            )

    def text() -> str:  # as the property renders it (_PolicyText), now
        document = configured.resource_policy
        assert document is not None
        policy: str = stack.resolve(stack.to_json_string(document))
        return policy

    grant(0, 100)
    each = len(text()) // 100  # every statement as long as the others
    fits = 100 + (POLICY_MAX - len(text())) // (each + 1)
    grant(100, fits - 100)
    assert configured.node.validate() == []
    assert len(text()) <= POLICY_MAX
    found = Template.from_stack(stack).find_resources(
        contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE
    )
    (resource,) = found.values()
    assert resource["Properties"][contract.RESOURCE_POLICY] == text()  # what is counted
    grant(fits, 1)
    assert len(text()) > POLICY_MAX
    (error,) = configured.node.validate()
    assert f"resource_policy: its text takes at least {len(text()):,} characters" in error
    assert "allowed at most 20,480" in error


def test_a_deploy_time_principal_counts_as_the_fewest_characters_it_can_take() -> None:
    stack = new_stack()
    configured = ConfiguredAudienceModel(stack, "Configured", **configured_props(stack))
    configured.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["cleanrooms-ml:GetConfiguredAudienceModel"],
            principals=[iam.ArnPrincipal(Fn.import_value("PrincipalArn" + "x" * 30_000))],
            resources=["*"],
        )
    )
    assert configured.node.validate() == []  # never refused for what it may take


def test_an_imported_configured_audience_model_has_no_policy_to_add_to() -> None:
    stack = new_stack()
    imported = ConfiguredAudienceModel.from_configured_audience_model_arn(
        stack, "Imported", CONFIGURED_AUDIENCE_MODEL_ARN
    )
    role = iam.Role(stack, "Role", assumed_by=iam.AccountRootPrincipal())
    imported.grant_start_audience_generation(role)
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert CONFIGURED_AUDIENCE_MODEL_ARN in policy


# --- AudienceGenerationJob ------------------------------------------------------------------


def test_a_generation_job_from_sql_renders_its_query_compute_and_collaboration() -> None:
    stack = new_stack()
    AudienceGenerationJob(
        stack,
        "Generation",
        **generation_props(
            stack,
            seed_audience=SeedAudience.sql("SELECT user_id FROM buyers"),
            collaboration_id=COLLABORATION,
            worker_type=WorkerComputeType.CR_4X,
            worker_count=4,
            spark_properties={"spark.executor.memory": "8g"},
            include_seed_in_output=False,
            description="lookalikes of buyers",
        ),
    )
    props = _properties(stack, contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE)
    assert props[contract.QUERY_STRING] == "SELECT user_id FROM buyers"
    assert (props[contract.WORKER_TYPE], props[contract.WORKER_COUNT]) == ("CR.4X", 4)
    assert props[contract.INCLUDE_SEED_IN_OUTPUT] is False
    assert props[contract.COLLABORATION_ID] == COLLABORATION
    document = identity.audience_generation_job_document(
        _delivered(stack, contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE)
    )
    assert document["includeSeedInOutput"] is False
    assert document["seedAudience"]["sqlComputeConfiguration"] == {
        "worker": {
            "type": "CR.4X",
            "number": 4,
            "properties": {"spark": {"spark.executor.memory": "8g"}},
        }
    }
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert f"collaboration/{COLLABORATION}" in policy  # PassCollaboration, scoped
    seed = [
        statement
        for resource in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if str(statement["Action"]).count("cleanrooms:") and "Sid" in statement
    ]
    by_sid = {statement["Sid"]: statement for statement in seed}
    assert set(by_sid) >= {
        "StartTheSeedsQuery",
        "ReadTheQuerysSchemasAndTemplate",
        "FollowTheSeedsQuery",
    }
    for statement in by_sid.values():  # never on '*': memberships, the job's collaboration
        resources = statement["Resource"]
        assert "*" not in (resources if isinstance(resources, list) else [resources])
    assert f"collaboration/{COLLABORATION}" in json.dumps(by_sid["ReadTheQuerysSchemasAndTemplate"])


def test_a_generation_job_from_s3_gets_a_role_that_reads_its_seed() -> None:
    stack = new_stack()
    AudienceGenerationJob(stack, "Generation", **generation_props(stack))
    props = _properties(stack, contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE)
    assert props[contract.SEED_S3_URI] == "s3://seeds/seed/users.csv"
    assert contract.COLLABORATION_ID not in props
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert "s3:GetObject" in policy
    assert "seed/users.csv*" in policy


def test_a_generation_job_names_every_wrong_value_at_once() -> None:
    stack = new_stack()
    failures = _failures(
        lambda: AudienceGenerationJob(
            stack,
            "Generation",
            configured_audience_model=ConfiguredAudienceModel.from_configured_audience_model_arn(
                stack, "C", CONFIGURED_AUDIENCE_MODEL_ARN
            ),
            seed_audience=SeedAudience.sql("SELECT 1"),
            worker_count=1,
            collaboration_id="COLLAB",
            include_seed_in_output="yes",  # type: ignore[arg-type]
        )
    )
    assert [f.split(":")[0] for f in failures] == [
        "include_seed_in_output",
        "worker_count",
        "collaboration_id",
    ]
    other = new_stack()
    in_s3 = _failures(
        lambda: AudienceGenerationJob(
            other,
            "FromS3",
            **generation_props(other, worker_type=WorkerComputeType.CR_1X),
        )
    )
    assert in_s3 == ["worker_type: is for a seed audience from SQL; a seed in S3 takes none"]
    third = new_stack()
    without = _failures(
        lambda: AudienceGenerationJob(
            third,
            "NoCollaboration",
            **generation_props(third, seed_audience=SeedAudience.sql("SELECT 1")),
        )
    )
    assert without[0].startswith("collaboration_id: is required with a seed audience from SQL")


# --- AudienceExportJob ---------------------------------------------------------------------


def test_an_audience_export_renders_its_size_and_waits_as_told() -> None:
    stack = new_stack()
    export = AudienceExportJob(
        stack,
        "AudienceExport",
        **audience_export_props(
            stack,
            audience_size=AudienceSize(AudienceSizeType.PERCENTAGE, 10),
            description="top decile",
            wait_for_completion=False,
        ),
    )
    props = _properties(stack, contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE)
    assert props[contract.AUDIENCE_GENERATION_JOB_ARN] == AUDIENCE_GENERATION_JOB_ARN
    assert (props[contract.AUDIENCE_SIZE_TYPE], props[contract.AUDIENCE_SIZE_VALUE]) == (
        "PERCENTAGE",
        10,
    )
    assert props[contract.WAIT_FOR_COMPLETION] is False
    assert stack.resolve(export.output_location)["Fn::GetAtt"][1] == "OutputLocation"
    other = new_stack()
    bad = _failures(
        lambda: AudienceExportJob(
            other,
            "Bad",
            **audience_export_props(
                other, audience_size=AudienceSize(AudienceSizeType.PERCENTAGE, 150)
            ),
        )
    )
    assert bad == ["audience_size.value: 150 percent is out of range; allowed 1-100 percent"]


def test_the_lookalike_chain_references_each_step_and_is_granted_for_the_account() -> None:
    """AudienceModel -> ConfiguredAudienceModel -> AudienceGenerationJob -> AudienceExportJob,
    each a resource of the stack: each takes the one before's ARN (a deploy-time value),
    so the handler is granted the account's resources of that kind (no dependency cycle)."""
    stack = new_stack()
    model = AudienceModel(stack, "Audience", **audience_model_props())
    configured = ConfiguredAudienceModel(
        stack, "Configured", **configured_props(stack, audience_model=model)
    )
    job = AudienceGenerationJob(
        stack, "Generation", **generation_props(stack, configured_audience_model=configured)
    )
    AudienceExportJob(stack, "Export", **audience_export_props(stack, audience_generation_job=job))
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]

    def refers(resource_type: str, attribute: str) -> bool:
        (found,) = [r for r in resources.values() if r["Type"] == resource_type]
        return f'"{attribute}"]' in json.dumps(found["Properties"])

    assert refers(contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE, "AudienceModelArn")
    assert refers(contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE, "ConfiguredAudienceModelArn")
    assert refers(contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE, "AudienceGenerationJobArn")
    policy = json.dumps(template.find_resources("AWS::IAM::Policy"))
    for segment in ("audience-model/*", "configured-audience-model/*", "audience-generation-job/*"):
        assert segment in policy


def test_tags_of_reach_the_audience_kinds_and_not_the_exports() -> None:
    stack = new_stack()
    AudienceModel(stack, "Audience", **audience_model_props())
    AudienceExportJob(stack, "Export", **audience_export_props(stack))
    Tags.of(stack).add("cost-center", "42")
    assert _properties(stack, contract.AUDIENCE_MODEL_RESOURCE_TYPE)[contract.TAGS] == {
        "cost-center": "42"
    }
    assert contract.TAGS not in _properties(stack, contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE)


@pytest.mark.parametrize(
    ("importer", "arn", "wrong"),
    [
        (AudienceModel.from_audience_model_arn, AUDIENCE_MODEL_ARN, CONFIGURED_AUDIENCE_MODEL_ARN),
        (
            ConfiguredAudienceModel.from_configured_audience_model_arn,
            CONFIGURED_AUDIENCE_MODEL_ARN,
            AUDIENCE_MODEL_ARN,
        ),
        (
            AudienceGenerationJob.from_audience_generation_job_arn,
            AUDIENCE_GENERATION_JOB_ARN,
            AUDIENCE_MODEL_ARN,
        ),
    ],
)
def test_imports_take_their_kind_s_arn_only(importer: Any, arn: str, wrong: str) -> None:
    stack = new_stack()
    imported = importer(stack, "Imported", arn)
    assert arn in json.dumps(stack.resolve(vars(imported).get("_arn")))
    with pytest.raises(ValidationError, match=r"is not an? "):
        importer(stack, "Wrong", wrong)


# --- the contract: what each synthesizes is a request the service model accepts -----------


def _full(kind: str, stack: Stack) -> str:
    """Every prop of ``kind`` set; the resource type it renders."""
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "lookalike")
    if kind == "export":
        TrainedModelExportJob(
            stack,
            "X",
            **model_export_props(
                stack,
                trained_model_version_identifier=VERSION,
                trained_model_export_job_name="x",
                description="d",
            ),
        )
        return contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE
    if kind == "audience":
        AudienceModel(
            stack,
            "X",
            **audience_model_props(
                training_data_start_time=datetime(2026, 1, 1, 12, 30, 15, 500000, tzinfo=UTC),
                training_data_end_time=datetime(2026, 2, 1, tzinfo=UTC),
                description="d",
                encryption_key=kms.Key.from_key_arn(
                    stack, "K", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
                ),
                tags={"t": "v"},
            ),
        )
        return contract.AUDIENCE_MODEL_RESOURCE_TYPE
    if kind == "configured":
        configured = ConfiguredAudienceModel(
            stack,
            "X",
            **configured_props(
                stack,
                output_bucket=bucket,
                output_prefix="out/",
                min_matching_seed_size=100,
                child_resource_tag_on_create_policy=TagOnCreatePolicy.NONE,
                description="d",
            ),
        )
        configured.grant_start_audience_generation(iam.AccountPrincipal("444455556666"))
        return contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE
    if kind == "generation":
        AudienceGenerationJob(
            stack,
            "X",
            **generation_props(
                stack,
                seed_audience=SeedAudience.analysis_template(
                    f"arn:aws:cleanrooms:us-east-1:{ACCOUNT}:membership/{MEMBERSHIP}"
                    "/analysistemplate/seeds",
                    parameters={"since": "2026-01-01"},
                ),
                collaboration_id=COLLABORATION,
                worker_type=WorkerComputeType.CR_8X,
                worker_count=8,
                spark_properties={"k": "v"},
                include_seed_in_output=True,
                description="d",
                tags={"t": "v"},
            ),
        )
        return contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE
    AudienceExportJob(stack, "X", **audience_export_props(stack, description="d"))
    return contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE


CREATES = {
    contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: "StartTrainedModelExportJob",
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: "CreateAudienceModel",
    contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: "CreateConfiguredAudienceModel",
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: "StartAudienceGenerationJob",
    contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: "StartAudienceExportJob",
}


@pytest.mark.parametrize(
    "kind", ["export", "audience", "configured", "generation", "audience-export"]
)
def test_every_prop_makes_a_request_the_service_model_accepts(kind: str) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    import index
    import kinds

    stack = new_stack()
    resource_type = _full(kind, stack)
    props = _delivered(stack, resource_type)
    handler_kind = index.kind_of(resource_type)
    assert handler_kind is not None
    desired = handler_kind.parse(props)
    request = kinds.request(desired, "name", {**desired.tags, contract.RESERVED_TAG_KEY: "v2.x"})
    if kind in ("export", "audience-export"):
        request.pop("tags")  # an export takes no tags: the kind leaves them out
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    operation = model.operation_model(CREATES[resource_type])
    assert operation.input_shape is not None
    report = ParamValidator().validate(request, operation.input_shape)
    assert not report.has_errors(), report.generate_report()
    # every member the construct set reached the request
    flat = json.dumps(request)
    for value in ("d", VERSION, COLLABORATION, "2026-01-01T12:30:15.5Z", "CR.8X", "out/"):
        if json.dumps(value) in json.dumps(props) or value in json.dumps(props):
            assert value in flat, (value, request)
    if kind == "configured":
        assert json.loads(str(desired.settings["policy"]))["Statement"][0]["Resource"] == "*"
