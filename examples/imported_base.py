"""Train incrementally from a model made elsewhere, imported by its ARN.

    npx cdk synth --app "python3 examples/imported_base.py" \\
        -c baseModelArn=<trained model ARN> [-c baseVersion=<version UUID>]

``TrainedModel.from_trained_model_arn`` makes an ``ITrainedModel`` from an ARN
without creating anything; it is usable wherever a model is expected, and the
service trains from the base's latest version. To pin a version, import with
``TrainedModel.from_trained_model_attributes(..., version_identifier=...)``.
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

PLACEHOLDER_BASE_ARN = (
    "arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/"
    f"{PLACEHOLDER_MEMBERSHIP}/trained-model/existing-model"
)


class ImportedBaseStack(Stack):
    """A model trained incrementally from an imported one."""

    def __init__(
        self, scope: Construct, construct_id: str, *, base_arn: str, base_version: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        base = (
            TrainedModel.from_trained_model_attributes(
                self, "Base", trained_model_arn=base_arn, version_identifier=base_version
            )
            if base_version
            else TrainedModel.from_trained_model_arn(self, "Base", base_arn)
        )
        model = TrainedModel(
            self,
            "Model",
            membership_identifier=PLACEHOLDER_MEMBERSHIP,
            configured_model_algorithm_association_arn=PLACEHOLDER_ASSOCIATION_ARN,
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            data_channels=[
                DataChannel(ml_input_channel_arn=PLACEHOLDER_CHANNEL_ARN, channel_name="train")
            ],
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
            ],
        )
        CfnOutput(self, "TrainedModelArn", value=model.trained_model_arn)
        assert model.version_identifier is not None  # trained incrementally: a new version
        CfnOutput(self, "VersionIdentifier", value=model.version_identifier)


def build(app: App) -> ImportedBaseStack:
    version = app.node.try_get_context("baseVersion")
    return ImportedBaseStack(
        app,
        "CleanRoomsMLImportedBase",
        base_arn=str(app.node.try_get_context("baseModelArn") or PLACEHOLDER_BASE_ARN),
        base_version=str(version) if version else None,
    )


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
