"""N trained models with ``TrainedModel`` (``python ours.py N``)."""

from __future__ import annotations

from aws_cdk import App, Environment, Size, Stack

from app_common import ACCOUNT, ASSOCIATION, CHANNEL, MEMBERSHIP, REGION, STACK, models
from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel

app = App()
stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
for i in range(models()):
    TrainedModel(
        stack,
        f"Model{i}",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION,
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(50),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL, channel_name="train")],
        hyperparameters={"epochs": "10"},
    )
app.synth()
