"""cdk-cleanrooms-ml: typed AWS CDK v2 constructs for the AWS Clean Rooms ML pipeline.

- ``MLConfiguration``: a membership's default output location and role;
- ``MLInputChannel``: a protected query's result, the data of training and inference;
- ``TrainedModel``: a model trained with ``CreateTrainedModel`` (waits for training);
- ``TrainedModelInferenceJob``: a trained model run over an ML input channel.

Each renders a ``Custom::CleanRoomsML*`` resource; one handler per stack serves them
all, with the same lifecycle (rollback-safe replacement, adoption, waits, cleanup).
"""

from __future__ import annotations

from ._provider import ENDPOINT_URL_CONTEXT_KEY
from .errors import RemovalPolicyError, TrainedModelValidationError, ValidationError
from .handler_logs import HandlerLogs
from .inference_job import TrainedModelInferenceJob, TrainedModelInferenceJobBase
from .instance_type import InstanceType
from .ml_configuration import IMLConfiguration, MLConfiguration
from .ml_input_channel import (
    IMLInputChannel,
    MLInputChannel,
    MLInputChannelBase,
    MLInputChannelDataSource,
    ResultFormat,
    WorkerComputeType,
)
from .trained_model import ITrainedModel, TrainedModel, TrainedModelBase
from .types import (
    DataChannel,
    IncrementalTrainingDataChannel,
    S3DataDistributionType,
    TrainingInputMode,
)

__version__ = "0.2.0"
"""The package's version: the one place it is written (pyproject.toml reads it)."""

__all__ = [
    "ENDPOINT_URL_CONTEXT_KEY",
    "DataChannel",
    "HandlerLogs",
    "IMLConfiguration",
    "IMLInputChannel",
    "ITrainedModel",
    "IncrementalTrainingDataChannel",
    "InstanceType",
    "MLConfiguration",
    "MLInputChannel",
    "MLInputChannelBase",
    "MLInputChannelDataSource",
    "RemovalPolicyError",
    "ResultFormat",
    "S3DataDistributionType",
    "TrainedModel",
    "TrainedModelBase",
    "TrainedModelInferenceJob",
    "TrainedModelInferenceJobBase",
    "TrainedModelValidationError",
    "TrainingInputMode",
    "ValidationError",
    "WorkerComputeType",
    "__version__",
]
