"""The minimal example: one trained model from existing Clean Rooms ML resources.

Pass your own ids as context (``cdk synth -c membershipIdentifier=...``); the
defaults are placeholders that synthesize but do not exist in any account.

    cdk synth -c membershipIdentifier=<uuid> \\
        -c configuredModelAlgorithmAssociationArn=<arn> -c mlInputChannelArn=<arn>

Other context keys: ``epochs`` (a hyperparameter, default 10),
``removalPolicy`` (``retain``, the default, or ``destroy``),
``completionTimeoutMinutes`` (default 60; over 60 takes the long path) and
``stackName`` (default ``CleanRoomsMLExample``).
"""

from __future__ import annotations

from aws_cdk import App, CfnOutput, Duration, RemovalPolicy, Size, Stack

from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel
from constructs import Construct

PLACEHOLDER_MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PLACEHOLDER_PREFIX = (
    f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{PLACEHOLDER_MEMBERSHIP}"
)
PLACEHOLDER_ASSOCIATION_ARN = (
    f"{PLACEHOLDER_PREFIX}/configured-model-algorithm-association/example-association"
)
PLACEHOLDER_CHANNEL_ARN = f"{PLACEHOLDER_PREFIX}/ml-input-channel/example-channel"


class TrainedModelExampleStack(Stack):
    """A stack with one ``TrainedModel`` and its ARN as an output (a base model has no version)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        association_arn: str,
        channel_arn: str,
        hyperparameters: dict[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        completion_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        model = TrainedModel(
            self,
            "Model",
            membership_identifier=membership_identifier,
            configured_model_algorithm_association_arn=association_arn,
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            data_channels=[DataChannel(ml_input_channel_arn=channel_arn, channel_name="train")],
            hyperparameters=hyperparameters or {"epochs": "10"},
            removal_policy=removal_policy,
            completion_timeout=completion_timeout,
        )
        CfnOutput(self, "TrainedModelArn", value=model.trained_model_arn)


def build(app: App) -> TrainedModelExampleStack:
    """Add the example stack to ``app``, reading ids from context."""

    def context(key: str, default: str) -> str:
        value = app.node.try_get_context(key)
        return str(value) if value else default

    epochs = context("epochs", "10")
    return TrainedModelExampleStack(
        app,
        context("stackName", "CleanRoomsMLExample"),
        membership_identifier=context("membershipIdentifier", PLACEHOLDER_MEMBERSHIP),
        association_arn=context(
            "configuredModelAlgorithmAssociationArn", PLACEHOLDER_ASSOCIATION_ARN
        ),
        channel_arn=context("mlInputChannelArn", PLACEHOLDER_CHANNEL_ARN),
        hyperparameters={"epochs": epochs},
        removal_policy=(
            RemovalPolicy.DESTROY
            if context("removalPolicy", "retain").lower() == "destroy"
            else RemovalPolicy.RETAIN
        ),
        completion_timeout=Duration.minutes(int(context("completionTimeoutMinutes", "60"))),
    )


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
