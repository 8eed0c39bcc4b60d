"""Incremental training: a base model, and a second one trained from it.

    npx cdk synth --app "python3 examples/incremental.py"

The second model's incremental channel names the base ``TrainedModel``; its
version defaults to the base model's ``version_identifier``, which a base model
does not have (``None``: the service trains from its latest version). The
successor is a new version: its ``version_identifier`` is the version's UUID. A
replacement of the base retrains the successor from the new base.
"""

from __future__ import annotations

from aws_cdk import App, CfnOutput, Size, Stack

from app import PLACEHOLDER_ASSOCIATION_ARN, PLACEHOLDER_CHANNEL_ARN, PLACEHOLDER_MEMBERSHIP
from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    TrainedModel,
)
from constructs import Construct


class IncrementalTrainingStack(Stack):
    """A base model and an incrementally trained successor."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        common = {
            "membership_identifier": PLACEHOLDER_MEMBERSHIP,
            "configured_model_algorithm_association_arn": PLACEHOLDER_ASSOCIATION_ARN,
            "instance_type": InstanceType.ML_M5_XLARGE,
            "volume_size": Size.gibibytes(50),
            "data_channels": [
                DataChannel(ml_input_channel_arn=PLACEHOLDER_CHANNEL_ARN, channel_name="train")
            ],
        }
        base = TrainedModel(self, "Base", **common)  # type: ignore[arg-type]
        successor = TrainedModel(
            self,
            "Successor",
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
            ],
            **common,  # type: ignore[arg-type]
        )
        CfnOutput(self, "BaseArn", value=base.trained_model_arn)
        CfnOutput(self, "SuccessorArn", value=successor.trained_model_arn)
        assert successor.version_identifier is not None  # trained incrementally
        CfnOutput(self, "SuccessorVersion", value=successor.version_identifier)


def build(app: App) -> IncrementalTrainingStack:
    return IncrementalTrainingStack(app, "CleanRoomsMLIncremental")


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
