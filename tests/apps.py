"""The apps the compliance checks run over: every example, and a kitchen sink of
every construct and option (two memberships, tokens, a KMS key, the long path,
the whole pipeline), environment-bound and environment-agnostic.

Shared by test_compliance.py and nag2_check.py (cdk-nag 2, run in a subprocess).
"""

from __future__ import annotations

from aws_cdk import (
    App,
    CfnOutput,
    Duration,
    Environment,
    Fn,
    RemovalPolicy,
    Size,
    Stack,
)
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

import app as example_app
import full_pipeline
import imported_base
import incremental
import lookalike
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
    TrainingInputMode,
    WorkerComputeType,
)
from helpers import ACCOUNT, ASSOCIATION_ARN, CHANNEL_ARN, MEMBERSHIP, REGION

OTHER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
OTHER_PREFIX = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{OTHER}"
THIRD = "cccccccc-dddd-4eee-8fff-000000000000"


def kitchen_sink(app: App, env: Environment | None) -> Stack:
    stack = Stack(app, f"KitchenSink{'Env' if env else 'Agnostic'}", env=env)
    stack.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    base = TrainedModel(
        stack,
        "Base",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION_ARN,
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    incremental_model = TrainedModel(
        stack,
        "Incremental",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION_ARN,
        instance_type=InstanceType.ML_G5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
        incremental_training_data_channels=[
            IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
        ],
        training_input_mode=TrainingInputMode.FAST_FILE,
        max_runtime=Duration.hours(3),
        completion_timeout=Duration.hours(6),  # the long path (WaitCondition)
        tags={"team": "ml"},
    )
    TrainedModel(
        stack,
        "OtherMembership",
        membership_identifier=OTHER,
        configured_model_algorithm_association_arn=f"{OTHER_PREFIX}/configured-model-algorithm-association/x",
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[
            DataChannel(
                ml_input_channel_arn=f"{OTHER_PREFIX}/ml-input-channel/y", channel_name="train"
            )
        ],
    )
    TrainedModel(
        stack,
        "FromTokens",
        membership_identifier=Fn.import_value("MembershipId"),
        configured_model_algorithm_association_arn=Fn.import_value("AssociationArn"),
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[
            DataChannel(ml_input_channel_arn=Fn.import_value("ChannelArn"), channel_name="t")
        ],
    )
    CfnOutput(stack, "IncrementalArn", value=incremental_model.trained_model_arn)
    # a membership has one ML configuration in an app: one membership per variant
    _pipeline(stack, key, THIRD if env is None else OTHER)
    _lookalike(stack, key, bucket=stack.node.find_child("Results"))
    return stack


def _pipeline(stack: Stack, key: kms.Key, membership: str) -> None:
    """Every pipeline construct, with its defaults (roles made for it) and a key."""
    prefix = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{membership}"
    association = f"{prefix}/configured-model-algorithm-association/x"
    bucket = s3.Bucket(
        stack,
        "Results",
        enforce_ssl=True,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        server_access_logs_bucket=s3.Bucket(stack, "AccessLogs", enforce_ssl=True),
    )
    configuration = MLConfiguration(
        stack, "Configuration", membership_identifier=membership, output_bucket=bucket
    )
    channel = MLInputChannel(
        stack,
        "Channel",
        membership_identifier=membership,
        configured_model_algorithm_association=association,
        data_source=MLInputChannelDataSource.sql("SELECT 1"),
        retention=Duration.days(3),
        encryption_key=key,
        ml_configuration=configuration,
    )
    model = TrainedModel(
        stack,
        "ChannelModel",
        membership_identifier=membership,
        configured_model_algorithm_association_arn=association,
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel.of(channel, "train")],
        ml_configuration=configuration,
    )
    # a reader's grants (the constructs' grant_* policies are linted too)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    model.grant_read(reader)
    channel.grant_read(reader)
    TrainedModelInferenceJob(
        stack,
        "Job",
        membership_identifier=membership,
        trained_model=model,
        data_source=channel,
        instance_type=InstanceType.ML_M5_XLARGE,
        output_account_id=ACCOUNT,
        encryption_key=key,
        ml_configuration=configuration,
    )


def _lookalike(stack: Stack, key: kms.Key, bucket: object) -> None:
    """Every lookalike construct and option: the L1 training dataset, the long path, a
    resource policy granted to another account, a SQL seed and an S3 one with the roles
    made for them, an export; a trained model exported."""
    assert isinstance(bucket, s3.Bucket)
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
                            database_name="db", table_name="interactions"
                        )
                    ),
                    schema=[
                        cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty(
                            column_name="user_id", column_types=["USER_ID"]
                        ),
                        cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty(
                            column_name="item_id", column_types=["ITEM_ID"]
                        ),
                        cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty(
                            column_name="timestamp", column_types=["TIMESTAMP"]
                        ),
                    ],
                ),
            )
        ],
    )
    audience = AudienceModel(
        stack,
        "Audience",
        training_dataset=dataset,
        encryption_key=key,
        completion_timeout=Duration.hours(8),  # the long path (WaitCondition)
        removal_policy=RemovalPolicy.DESTROY,
    )
    configured = ConfiguredAudienceModel(
        stack,
        "Configured",
        audience_model=audience,
        output_bucket=bucket,
        output_prefix="audiences/",
        shared_audience_metrics=SharedAudienceMetrics.NONE,
        audience_size_config=AudienceSizeConfig(AudienceSizeType.ABSOLUTE, [10000, 50000]),
    )
    configured.grant_start_audience_generation(iam.AccountPrincipal("444455556666"))
    from_sql = AudienceGenerationJob(
        stack,
        "FromSql",
        configured_audience_model=configured,
        seed_audience=SeedAudience.sql("SELECT user_id FROM buyers"),
        collaboration_id="11111111-2222-4333-8444-555555555555",
        worker_type=WorkerComputeType.CR_4X,
        worker_count=4,
    )
    AudienceGenerationJob(
        stack,
        "FromS3",
        configured_audience_model=configured,
        seed_audience=SeedAudience.from_bucket(bucket, "seeds/users.csv"),
    )
    AudienceExportJob(
        stack,
        "AudienceExport",
        audience_generation_job=from_sql,
        audience_size=AudienceSize(AudienceSizeType.ABSOLUTE, 10000),
    )
    model = stack.node.find_child("ChannelModel")
    assert isinstance(model, TrainedModel)
    TrainedModelExportJob(
        stack,
        "ModelExport",
        membership_identifier=model._spec_value.membership_identifier,
        trained_model=model,
        output_account_id="444455556666",
    )


EXAMPLES = {
    "minimal": example_app.build,
    "full-pipeline": full_pipeline.build,
    "incremental": incremental.build,
    "imported-base": imported_base.build,
    "lookalike": lookalike.build,
}
APPS = [*EXAMPLES, "kitchen-sink"]


def build(name: str) -> App:
    app = App()
    if name in EXAMPLES:
        EXAMPLES[name](app)
    else:
        kitchen_sink(app, Environment(account=ACCOUNT, region=REGION))
        kitchen_sink(app, None)
    return app
