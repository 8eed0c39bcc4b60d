"""An app whose versions ``cdk-cleanrooms-ml diff`` previews on the local cloud.

    python3 tests/preview_app.py   (context: stackName, and the changes below)

A channel, a base model trained on it, a successor trained incrementally from the
base, an inference job running the successor over the channel, and an extra model,
all under DESTROY. Context switches one change each: ``tag`` (a comma-separated list
of constructs whose tags change: in place), ``epochs`` (the base's hyperparameter:
it and all that uses it are replaced), ``query`` (the channel's query: replaced,
and everything downstream), ``renameJob`` (the job's construct id), ``dropExtra``
(the extra model removed).
"""

from __future__ import annotations

from aws_cdk import App, Duration, RemovalPolicy, Size, Stack

from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    MLInputChannel,
    MLInputChannelDataSource,
    TrainedModel,
    TrainedModelInferenceJob,
)

MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
ASSOCIATION = (
    f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIP}"
    "/configured-model-algorithm-association/local"
)


def build(app: App) -> Stack:
    context = app.node.try_get_context
    stack = Stack(app, str(context("stackName") or "Preview"))
    tagged = set(str(context("tag") or "").split(","))
    destroy = RemovalPolicy.DESTROY

    def tags(name: str) -> dict[str, str] | None:
        return {"owner": "team-b"} if name in tagged else None

    channel = MLInputChannel(
        stack,
        "Rows",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association=ASSOCIATION,
        data_source=MLInputChannelDataSource.sql(str(context("query") or "SELECT * FROM t")),
        retention=Duration.days(7),
        tags=tags("Rows"),
        removal_policy=destroy,
    )
    common = {
        "membership_identifier": MEMBERSHIP,
        "configured_model_algorithm_association_arn": ASSOCIATION,
        "instance_type": InstanceType.ML_M5_XLARGE,
        "volume_size": Size.gibibytes(10),
        "data_channels": [DataChannel.of(channel, "train")],
        "removal_policy": destroy,
    }
    base = TrainedModel(
        stack,
        "Base",
        hyperparameters={"epochs": str(context("epochs") or "10")},
        tags=tags("Base"),
        **common,  # type: ignore[arg-type]
    )
    successor = TrainedModel(
        stack,
        "Successor",
        incremental_training_data_channels=[
            IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
        ],
        **common,  # type: ignore[arg-type]
    )
    TrainedModelInferenceJob(
        stack,
        "Renamed" if context("renameJob") else "Scores",
        membership_identifier=MEMBERSHIP,
        trained_model=successor,
        data_source=channel,
        instance_type=InstanceType.ML_M5_XLARGE,
        output_account_id="000000000000",
        tags=tags("Scores"),
        removal_policy=destroy,
    )
    if not context("dropExtra"):
        TrainedModel(stack, "Extra", hyperparameters={"epochs": "5"}, **common)  # type: ignore[arg-type]
    return stack


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
