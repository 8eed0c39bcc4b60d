"""The whole custom-model pipeline from a membership id, every resource in code.

    cdk synth --app "python3 examples/full_pipeline.py" \\
        -c membershipIdentifier=<uuid> -c repositoryName=<ecr repo>

1. ``CfnConfiguredModelAlgorithm`` (training and inference images from ECR, with
   the role Clean Rooms ML assumes to pull them) and its
   ``CfnConfiguredModelAlgorithmAssociation`` with the membership (CDK L1s);
2. ``MLConfiguration``: where the member's results go (an S3 bucket) and the role
   that writes them, logs and metrics;
3. ``MLInputChannel`` x2: protected queries whose results train and score;
4. ``TrainedModel``: trained on the training channel;
5. ``TrainedModelInferenceJob``: the trained model run over the scoring channel,
   its output to this account;
6. with ``-c exportAccountId=<12 digits>``, ``TrainedModelExportJob``: the trained
   model exported to that member account (the association's privacy configuration
   must allow it).

With ``-c encryptionKeyArn=<arn>`` the channels, the model and the job are encrypted
with that customer managed KMS key. With
``-c configuredModelAlgorithmAssociationArn=<arn>`` the association is one made
elsewhere (no L1s): that is what the local cloud deploys, as MiniStack has no
``AWS::CleanRoomsML::*`` types. ``-c removalPolicy=destroy`` makes every
Clean Rooms ML resource clean up on delete (the default keeps them).
"""

from __future__ import annotations

from aws_cdk import (
    Acknowledgment,
    App,
    Aws,
    CfnOutput,
    CfnResource,
    Duration,
    RemovalPolicy,
    Size,
    Stack,
    Validations,
)
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_cleanrooms_ml import (
    DataChannel,
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    TrainedModel,
    TrainedModelExportJob,
    TrainedModelInferenceJob,
)
from constructs import Construct

PLACEHOLDER_MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"


class FullPipelineStack(Stack):
    """Algorithm, association, ML configuration, channels, trained model, inference job."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        repository_name: str,
        association_arn: str | None = None,
        export_account_id: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        encryption_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # what `cdk init` projects set: access logs granted by bucket policy, not an ACL
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        association = association_arn or self._association(membership_identifier, repository_name)
        key = (
            kms.Key.from_key_arn(self, "EncryptionKey", encryption_key_arn)
            if encryption_key_arn
            else None
        )

        results = s3.Bucket(
            self,
            "Results",
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
        configuration = MLConfiguration(
            self,
            "Configuration",
            membership_identifier=membership_identifier,
            output_bucket=results,
            output_prefix="cleanrooms-ml/",
            removal_policy=removal_policy,
        )
        training_data = MLInputChannel(
            self,
            "TrainingData",
            membership_identifier=membership_identifier,
            configured_model_algorithm_association=association,
            data_source=MLInputChannelDataSource.sql(
                "SELECT user_id, feature_a, feature_b, label FROM training_data"
            ),
            retention=Duration.days(7),
            encryption_key=key,
            ml_configuration=configuration,
            removal_policy=removal_policy,
        )
        scoring_data = MLInputChannel(
            self,
            "ScoringData",
            membership_identifier=membership_identifier,
            configured_model_algorithm_association=association,
            data_source=MLInputChannelDataSource.sql(
                "SELECT user_id, feature_a, feature_b FROM scoring_data"
            ),
            retention=Duration.days(7),
            encryption_key=key,
            ml_configuration=configuration,
            removal_policy=removal_policy,
        )
        model = TrainedModel(
            self,
            "Model",
            membership_identifier=membership_identifier,
            configured_model_algorithm_association=association,
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            max_runtime=Duration.hours(1),
            data_channels=[DataChannel.of(training_data, "train")],
            hyperparameters={"epochs": "10"},
            encryption_key=key,
            ml_configuration=configuration,
            removal_policy=removal_policy,
        )
        job = TrainedModelInferenceJob(
            self,
            "Scores",
            membership_identifier=membership_identifier,
            trained_model=model,
            data_source=scoring_data,
            instance_type=InstanceType.ML_M5_XLARGE,
            output_account_id=Aws.ACCOUNT_ID,
            accept="text/csv",
            configured_model_algorithm_association=association,
            encryption_key=key,
            ml_configuration=configuration,
            removal_policy=removal_policy,
        )
        CfnOutput(
            self,
            "AssociationArn",
            value=association
            if isinstance(association, str)
            else association.attr_configured_model_algorithm_association_arn,
        )
        if export_account_id:
            export = TrainedModelExportJob(
                self,
                "Export",
                membership_identifier=membership_identifier,
                trained_model=model,
                output_account_id=export_account_id,
                description="The trained model, for the member that runs it",
            )
            CfnOutput(self, "ExportJobName", value=export.trained_model_export_job_name)
            CfnOutput(self, "ExportJobStatus", value=export.status)
        CfnOutput(self, "TrainingChannelArn", value=training_data.ml_input_channel_arn)
        CfnOutput(self, "ScoringChannelArn", value=scoring_data.ml_input_channel_arn)
        CfnOutput(self, "TrainedModelArn", value=model.trained_model_arn)
        CfnOutput(self, "InferenceJobArn", value=job.trained_model_inference_job_arn)
        CfnOutput(self, "InferenceJobStatus", value=job.status)
        CfnOutput(self, "ResultsBucket", value=results.bucket_name)

    def _association(
        self, membership_identifier: str, repository_name: str
    ) -> cleanroomsml.CfnConfiguredModelAlgorithmAssociation:
        repository = ecr.Repository.from_repository_name(self, "Repository", repository_name)
        role = iam.Role(
            self,
            "AlgorithmRole",
            assumed_by=iam.ServicePrincipal("cleanrooms-ml.amazonaws.com"),
            description="Lets Clean Rooms ML pull the training and inference images",
        )
        repository.grant_pull(role)
        reason = (
            "ecr:GetAuthorizationToken supports no resource-level permissions; "
            "the pull actions themselves are scoped to the one repository"
        )
        # cdk-nag 3 (Validations.of(app).add_plugins(AwsSolutionsChecks(app))) reads this:
        Validations.of(role).acknowledge(
            Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5[Resource::*]", reason=reason)
        )
        # cdk-nag 2 (Aspects.of(app).add(AwsSolutionsChecks())) reads this, on the policy:
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, CfnResource)
        policy.add_metadata(
            "cdk_nag",
            {
                "rules_to_suppress": [
                    {"id": "AwsSolutions-IAM5", "reason": reason, "applies_to": ["Resource::*"]}
                ]
            },
        )
        algorithm = cleanroomsml.CfnConfiguredModelAlgorithm(
            self,
            "Algorithm",
            name="example-algorithm",
            role_arn=role.role_arn,
            training_container_config=cleanroomsml.CfnConfiguredModelAlgorithm.ContainerConfigProperty(
                image_uri=repository.repository_uri_for_tag("train"),
            ),
            inference_container_config=cleanroomsml.CfnConfiguredModelAlgorithm.InferenceContainerConfigProperty(
                image_uri=repository.repository_uri_for_tag("inference"),
            ),
        )
        return cleanroomsml.CfnConfiguredModelAlgorithmAssociation(
            self,
            "Association",
            configured_model_algorithm_arn=algorithm.attr_configured_model_algorithm_arn,
            membership_identifier=membership_identifier,
            name="example-association",
        )


def build(app: App) -> FullPipelineStack:
    """Add the pipeline stack to ``app``, reading ids from context."""

    def context(key: str, default: str = "") -> str:
        value = app.node.try_get_context(key)
        return str(value) if value else default

    return FullPipelineStack(
        app,
        "CleanRoomsMLFullPipeline",
        membership_identifier=context("membershipIdentifier", PLACEHOLDER_MEMBERSHIP),
        repository_name=context("repositoryName", "cleanrooms-ml-algorithm"),
        association_arn=context("configuredModelAlgorithmAssociationArn") or None,
        export_account_id=context("exportAccountId") or None,
        removal_policy=(
            RemovalPolicy.DESTROY
            if context("removalPolicy", "retain") == "destroy"
            else RemovalPolicy.RETAIN
        ),
        encryption_key_arn=context("encryptionKeyArn") or None,
    )


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
