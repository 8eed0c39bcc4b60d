"""The full pipeline: algorithm -> association -> trained model, wired by tokens.

    npx cdk synth --app "python3 examples/full_pipeline.py" \\
        -c membershipIdentifier=<uuid> -c mlInputChannelArn=<arn> -c repositoryName=<ecr repo>

Creates a ``CfnConfiguredModelAlgorithm`` (with the IAM role Clean Rooms ML
assumes to pull the training image from ECR), associates it with the
membership (``CfnConfiguredModelAlgorithmAssociation``), and trains a
``TrainedModel`` with the association's ARN, a token. The ML input channel is
made outside this app (it needs a collaboration's data), so its ARN comes in as
context.
"""

from __future__ import annotations

from aws_cdk import (
    Acknowledgment,
    App,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Size,
    Stack,
    Validations,
)
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel
from constructs import Construct

PLACEHOLDER_MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PLACEHOLDER_CHANNEL_ARN = (
    "arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/"
    f"{PLACEHOLDER_MEMBERSHIP}/ml-input-channel/example-channel"
)


class FullPipelineStack(Stack):
    """A configured model algorithm, its association and a model trained with it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        channel_arn: str,
        repository_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        repository = ecr.Repository.from_repository_name(self, "Repository", repository_name)
        role = iam.Role(
            self,
            "AlgorithmRole",
            assumed_by=iam.ServicePrincipal("cleanrooms-ml.amazonaws.com"),
            description="Lets Clean Rooms ML pull the training image",
        )
        repository.grant_pull(role)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken supports no resource-level permissions; "
                "the pull actions themselves are scoped to the one repository",
            )
        )
        algorithm = cleanroomsml.CfnConfiguredModelAlgorithm(
            self,
            "Algorithm",
            name="example-algorithm",
            role_arn=role.role_arn,
            training_container_config=cleanroomsml.CfnConfiguredModelAlgorithm.ContainerConfigProperty(
                image_uri=repository.repository_uri_for_tag("latest"),
            ),
        )
        association = cleanroomsml.CfnConfiguredModelAlgorithmAssociation(
            self,
            "Association",
            configured_model_algorithm_arn=algorithm.attr_configured_model_algorithm_arn,
            membership_identifier=membership_identifier,
            name="example-association",
        )
        model = TrainedModel(
            self,
            "Model",
            membership_identifier=membership_identifier,
            configured_model_algorithm_association_arn=(
                association.attr_configured_model_algorithm_association_arn
            ),
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            max_runtime=Duration.hours(2),
            data_channels=[DataChannel(ml_input_channel_arn=channel_arn, channel_name="train")],
            hyperparameters={"epochs": "10"},
            removal_policy=RemovalPolicy.DESTROY,
        )
        CfnOutput(
            self,
            "AssociationArn",
            value=association.attr_configured_model_algorithm_association_arn,
        )
        CfnOutput(self, "TrainedModelArn", value=model.trained_model_arn)


def build(app: App) -> FullPipelineStack:
    def context(key: str, default: str) -> str:
        value = app.node.try_get_context(key)
        return str(value) if value else default

    return FullPipelineStack(
        app,
        "CleanRoomsMLFullPipeline",
        membership_identifier=context("membershipIdentifier", PLACEHOLDER_MEMBERSHIP),
        channel_arn=context("mlInputChannelArn", PLACEHOLDER_CHANNEL_ARN),
        repository_name=context("repositoryName", "cleanrooms-ml-training"),
    )


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
