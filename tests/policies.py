"""The handler role's policy, synthesized: what the tests enforce on the handler's calls.

``handler_policy(build, stack_id)`` synthesizes a stack (account and region of the
emulator) that ``build`` fills, and returns the statements of its handler role's
policies with intrinsic functions resolved as that stack (``stack_id``) would have
them deployed. ``KINDS`` builds one construct of each kind with the properties the
event-sequence rows use; ``without(kind)`` a stack whose only construct is of
another kind (what the template in force is after the last one of ``kind`` was
removed: row 12).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from aws_cdk import App, Duration, Environment, Fn, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from iam_sim import ACCOUNT, REGION, Fabricated, Policy, pseudo

from cdk_cleanrooms_ml import (
    AudienceExportJob,
    AudienceGenerationJob,
    AudienceModel,
    AudienceSize,
    AudienceSizeConfig,
    AudienceSizeType,
    ConfiguredAudienceModel,
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    SeedAudience,
    SharedAudienceMetrics,
    TrainedModel,
    TrainedModelExportJob,
    TrainedModelInferenceJob,
)
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from helpers import ASSOCIATION_ARN, CHANNEL_ARN

M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{M}"
ASSOCIATION = f"{PREFIX}/configured-model-algorithm-association/a"
CHANNEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-channel"
CONFIG_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml-config"
DATASET = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:training-dataset/d1"

Build = Callable[[Stack], None]
"""A stack's constructs; what a construct uses (a model to export, an audience model to
configure...) is known only at deploy time (an import), as a resource of the same stack
is: its grants then name every such resource of the account (or membership)."""


def _model(stack: Stack, **extra: Any) -> None:
    TrainedModel(
        stack,
        "Model",
        membership_identifier=M,
        # the association helpers.handler_properties() names (another member's account)
        configured_model_algorithm_association_arn=ASSOCIATION_ARN,
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
        **extra,
    )


def _incremental_model(stack: Stack) -> None:
    """A model trained from a base model made elsewhere (imported)."""
    base = TrainedModel.from_trained_model_arn(stack, "Base", f"{PREFIX}/trained-model/base")
    _model(
        stack,
        incremental_training_data_channels=[
            IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
        ],
    )


def _channel(stack: Stack) -> None:
    MLInputChannel(
        stack,
        "Channel",
        membership_identifier=M,
        configured_model_algorithm_association=ASSOCIATION,
        data_source=MLInputChannelDataSource.sql("SELECT 1"),
        retention=Duration.days(7),
        role=iam.Role.from_role_arn(stack, "ChannelRole", CHANNEL_ROLE, mutable=False),
    )


def _job(stack: Stack) -> None:
    TrainedModelInferenceJob(
        stack,
        "Job",
        membership_identifier=M,
        trained_model=TrainedModel.from_trained_model_arn(
            stack, "InputModel", f"{PREFIX}/trained-model/input"
        ),
        data_source=MLInputChannel.from_ml_input_channel_arn(
            stack, "InputChannel", f"{PREFIX}/ml-input-channel/input"
        ),
        instance_type=InstanceType.ML_M5_XLARGE,
        output_account_id=ACCOUNT,
    )


def _configuration(stack: Stack) -> None:
    MLConfiguration(
        stack,
        "Configuration",
        membership_identifier=M,
        output_bucket=s3.Bucket.from_bucket_name(stack, "Results", "bucket"),
        role=iam.Role.from_role_arn(stack, "ConfigRole", CONFIG_ROLE, mutable=False),
    )


def _model_export(stack: Stack) -> None:
    TrainedModelExportJob(
        stack,
        "Export",
        membership_identifier=M,
        trained_model=TrainedModel.from_trained_model_arn(
            stack, "ExportedModel", Fn.import_value("ExportedModelArn")
        ),
        output_account_id="111122223333",
    )


def _audience_model(stack: Stack) -> None:
    AudienceModel(stack, "Audience", training_dataset=DATASET)


def _configured(stack: Stack) -> None:
    ConfiguredAudienceModel(
        stack,
        "Configured",
        audience_model=AudienceModel.from_audience_model_arn(
            stack, "InputAudience", Fn.import_value("AudienceModelArn")
        ),
        output_bucket=s3.Bucket.from_bucket_name(stack, "Audiences", "audiences"),
        output_role=iam.Role.from_role_arn(stack, "OutputRole", CHANNEL_ROLE, mutable=False),
        shared_audience_metrics=SharedAudienceMetrics.ALL,
        audience_size_config=AudienceSizeConfig(AudienceSizeType.ABSOLUTE, [1000, 5000]),
    )


def _generation(stack: Stack) -> None:
    AudienceGenerationJob(
        stack,
        "Generation",
        configured_audience_model=ConfiguredAudienceModel.from_configured_audience_model_arn(
            stack, "InputConfigured", Fn.import_value("ConfiguredAudienceModelArn")
        ),
        seed_audience=SeedAudience.from_bucket(
            s3.Bucket.from_bucket_name(stack, "Seeds", "seeds"), "a.csv"
        ),
        role=iam.Role.from_role_arn(stack, "SeedRole", CHANNEL_ROLE, mutable=False),
    )


def _audience_export(stack: Stack) -> None:
    AudienceExportJob(
        stack,
        "AudienceExport",
        audience_generation_job=AudienceGenerationJob.from_audience_generation_job_arn(
            stack, "InputGeneration", Fn.import_value("AudienceGenerationJobArn")
        ),
        audience_size=AudienceSize(AudienceSizeType.ABSOLUTE, 1000),
    )


KINDS: dict[str, Build] = {
    "trained-model": _model,
    "incremental-model": _incremental_model,
    "ml-input-channel": _channel,
    "inference-job": _job,
    "ml-configuration": _configuration,
    "trained-model-export": _model_export,
    "audience-model": _audience_model,
    "configured-audience-model": _configured,
    "audience-generation-job": _generation,
    "audience-export": _audience_export,
}


def without(kind: str) -> Build:
    """A stack whose only construct is of another kind than ``kind``."""
    return KINDS["ml-configuration" if kind != "ml-configuration" else "trained-model"]


def synthesize(build: Build) -> dict[str, Any]:
    app = App()
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    build(stack)
    return dict(Template.from_stack(stack).to_json())


def handler_role(template: Mapping[str, Any]) -> str:
    resources = template["Resources"]
    (role,) = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(f"{PROVIDER_ID}Role")
    ]
    return str(role)


@cache
def handler_policy(kind: str, stack_id: str, *, only_other_kinds: bool = False) -> Policy:
    """The handler role's policy of a stack holding a construct of ``kind`` (or, with
    ``only_other_kinds``, one of another kind only), deployed as ``stack_id``."""
    build = without(kind) if only_other_kinds else KINDS[kind]
    template = synthesize(build)
    return Policy.of_role(template, handler_role(template), pseudo(stack_id), Fabricated())
