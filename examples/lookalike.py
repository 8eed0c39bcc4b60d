"""Lookalike audiences as code: a training dataset, an audience model trained on it, a
configured audience model shared with a collaboration member, an audience generated
from a SQL seed, and its export.

    cdk synth --app "python3 examples/lookalike.py" \\
        -c collaborationId=<uuid> -c memberAccountId=<12 digits> \\
        -c databaseName=<glue database> -c tableName=<glue table> -c dataBucket=<its bucket>

1. ``CfnTrainingDataset`` (CDK L1): the user-item interactions in a Glue table (its
   objects in ``dataBucket``), with the role Clean Rooms ML assumes to read them;
2. ``AudienceModel``: the lookalike model trained on the dataset's window (hours on
   AWS: the long path, a ``WaitCondition`` the stack's waiter signals; replacing it,
   a new training, is refused unless allowed for one deploy);
3. ``ConfiguredAudienceModel``: the model's output (an S3 bucket) and the sizes a
   collaboration may ask for, its resource policy letting the member account start
   generation jobs with it;
4. ``AudienceGenerationJob``: an audience generated from a seed that a protected query
   selects in the collaboration;
5. ``AudienceExportJob``: the audience, at one of its sizes, exported to the bucket.

With ``-c trainingDatasetArn=<arn>`` the dataset is one made elsewhere (no L1): that
is what the local cloud deploys, as MiniStack has no ``AWS::CleanRoomsML::*`` types.
``-c description=<text>`` is the configured audience model's description (updated
in place); ``-c trainingDataStartTime=<ISO 8601>`` the start of the training window
(a change trains a new model: with ``-c cdk-cleanrooms-ml:allowReplacement=
CleanRoomsMLLookalike/AudienceModel`` for that deploy). ``-c removalPolicy=destroy``
makes every Clean Rooms ML resource clean up on delete (the default keeps them).
"""

from __future__ import annotations

from datetime import datetime

from aws_cdk import (
    Acknowledgment,
    App,
    Aws,
    CfnOutput,
    CfnResource,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

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
)
from constructs import Construct

PLACEHOLDER_COLLABORATION = "7c6b5a4f-3e2d-4c1b-8a09-f8e7d6c5b4a3"
PLACEHOLDER_MEMBER_ACCOUNT = "111122223333"
TRAINING_DATA_START = "2026-01-01T00:00:00+00:00"
TRAINING_DATA_END = "2026-07-01T00:00:00+00:00"
SIZES = (10_000, 50_000, 100_000)


class LookalikeStack(Stack):
    """Training dataset, audience model, configured audience model, audience, export."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collaboration_id: str,
        member_account_id: str,
        database_name: str,
        table_name: str,
        data_bucket: str,
        training_dataset_arn: str | None = None,
        description: str = "Lookalikes of last season's buyers",
        training_data_start_time: datetime | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        # what `cdk init` projects set: access logs granted by bucket policy, not an ACL
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        dataset: str | cleanroomsml.CfnTrainingDataset = (
            training_dataset_arn or self._training_dataset(database_name, table_name, data_bucket)
        )

        model = AudienceModel(
            self,
            "AudienceModel",
            training_dataset=dataset,
            training_data_start_time=training_data_start_time
            or datetime.fromisoformat(TRAINING_DATA_START),
            training_data_end_time=datetime.fromisoformat(TRAINING_DATA_END),
            description="Interactions of the first half of the year",
            completion_timeout=Duration.hours(8),  # the long path: training takes hours
            replacement_protection=True,  # a new training costs money: only when allowed
            removal_policy=removal_policy,
        )
        audiences = s3.Bucket(
            self,
            "Audiences",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                removal_policy=removal_policy,
            ),
            removal_policy=removal_policy,
        )
        configured = ConfiguredAudienceModel(
            self,
            "Configured",
            audience_model=model,
            output_bucket=audiences,
            output_prefix="audiences/",
            shared_audience_metrics=SharedAudienceMetrics.ALL,
            audience_size_config=AudienceSizeConfig(AudienceSizeType.ABSOLUTE, list(SIZES)),
            min_matching_seed_size=500,
            description=description,
            removal_policy=removal_policy,
        )
        # the member account's generation jobs: a statement of the resource policy
        configured.grant_start_audience_generation(iam.AccountPrincipal(member_account_id))
        audience = AudienceGenerationJob(
            self,
            "Audience",
            configured_audience_model=configured,
            seed_audience=SeedAudience.sql(
                "SELECT user_id FROM purchases WHERE purchased_at >= DATE '2026-01-01'"
            ),
            collaboration_id=collaboration_id,
            include_seed_in_output=False,
            removal_policy=removal_policy,
        )
        export = AudienceExportJob(
            self,
            "Export",
            audience_generation_job=audience,
            audience_size=AudienceSize(AudienceSizeType.ABSOLUTE, SIZES[0]),
            description="The closest 10,000",
        )
        CfnOutput(self, "AudienceModelArn", value=model.audience_model_arn)
        CfnOutput(
            self, "ConfiguredAudienceModelArn", value=configured.configured_audience_model_arn
        )
        CfnOutput(self, "AudienceGenerationJobArn", value=audience.audience_generation_job_arn)
        CfnOutput(self, "AudienceGenerationJobStatus", value=audience.status)
        CfnOutput(self, "AudienceExportJobName", value=export.audience_export_job_name)
        CfnOutput(self, "AudienceExportJobStatus", value=export.status)
        CfnOutput(self, "AudiencesBucket", value=audiences.bucket_name)

    def _training_dataset(
        self, database_name: str, table_name: str, data_bucket: str
    ) -> cleanroomsml.CfnTrainingDataset:
        role = iam.Role(
            self,
            "DatasetRole",
            assumed_by=iam.ServicePrincipal("cleanrooms-ml.amazonaws.com"),
            description="Lets Clean Rooms ML read the training dataset's Glue table",
        )
        glue = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                resources=[
                    f"{glue}:catalog",
                    f"{glue}:database/{database_name}",
                    f"{glue}:table/{database_name}/{table_name}",
                ],
            )
        )
        bucket = s3.Bucket.from_bucket_name(self, "Data", data_bucket)
        # the table's objects and their bucket, with the actions named (grant_read's
        # s3:List* would reach account-wide listings)
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("*")])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket.bucket_arn]
            )
        )
        reason = "the table's objects: every key of the one bucket that holds them"
        # cdk-nag 3 (Validations.of(app).add_plugins(AwsSolutionsChecks(app))) reads this:
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{data_bucket}/*]",
                reason=reason,
            ),
        )
        # cdk-nag 2 (Aspects.of(app).add(AwsSolutionsChecks())) reads this, on the policy:
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, CfnResource)
        policy.add_metadata(
            "cdk_nag",
            {
                "rules_to_suppress": [
                    {
                        "id": "AwsSolutions-IAM5",
                        "reason": reason,
                        "applies_to": [
                            f"Resource::arn:<AWS::Partition>:s3:::{data_bucket}/*",
                        ],
                    }
                ]
            },
        )

        def column(name: str, kind: str) -> cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty:
            return cleanroomsml.CfnTrainingDataset.ColumnSchemaProperty(
                column_name=name, column_types=[kind]
            )

        dataset = cleanroomsml.CfnTrainingDataset(
            self,
            "Dataset",
            name="purchases",
            role_arn=role.role_arn,
            training_data=[
                cleanroomsml.CfnTrainingDataset.DatasetProperty(
                    type="INTERACTIONS",
                    input_config=cleanroomsml.CfnTrainingDataset.DatasetInputConfigProperty(
                        data_source=cleanroomsml.CfnTrainingDataset.DataSourceProperty(
                            glue_data_source=cleanroomsml.CfnTrainingDataset.GlueDataSourceProperty(
                                database_name=database_name, table_name=table_name
                            )
                        ),
                        schema=[
                            column("user_id", "USER_ID"),
                            column("item_id", "ITEM_ID"),
                            column("purchased_at", "TIMESTAMP"),
                        ],
                    ),
                )
            ],
        )
        return dataset


def build(app: App) -> LookalikeStack:
    """Add the lookalike stack to ``app``, reading ids from context."""

    def context(key: str, default: str = "") -> str:
        value = app.node.try_get_context(key)
        return str(value) if value else default

    start = context("trainingDataStartTime")
    return LookalikeStack(
        app,
        "CleanRoomsMLLookalike",
        collaboration_id=context("collaborationId", PLACEHOLDER_COLLABORATION),
        member_account_id=context("memberAccountId", PLACEHOLDER_MEMBER_ACCOUNT),
        database_name=context("databaseName", "sales"),
        table_name=context("tableName", "purchases"),
        data_bucket=context("dataBucket", "sales-data"),
        training_dataset_arn=context("trainingDatasetArn") or None,
        description=context("description", "Lookalikes of last season's buyers"),
        training_data_start_time=datetime.fromisoformat(start) if start else None,
        removal_policy=(
            RemovalPolicy.DESTROY
            if context("removalPolicy", "retain") == "destroy"
            else RemovalPolicy.RETAIN
        ),
    )


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
