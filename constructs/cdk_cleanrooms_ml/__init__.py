"""cdk-cleanrooms-ml: a typed AWS CDK v2 construct for AWS Clean Rooms ML trained models.

``TrainedModel`` renders a ``Custom::CleanRoomsMLTrainedModel`` resource whose
handler calls Clean Rooms ML ``CreateTrainedModel``, waits for training, and
reports ``trained_model_arn`` and ``version_identifier``.
"""

from __future__ import annotations

from ._provider import ENDPOINT_URL_CONTEXT_KEY
from .errors import TrainedModelValidationError
from .instance_type import InstanceType
from .trained_model import ITrainedModel, TrainedModel, TrainedModelBase
from .types import (
    DataChannel,
    IncrementalTrainingDataChannel,
    S3DataDistributionType,
    TrainingInputMode,
)

__all__ = [
    "ENDPOINT_URL_CONTEXT_KEY",
    "DataChannel",
    "ITrainedModel",
    "IncrementalTrainingDataChannel",
    "InstanceType",
    "S3DataDistributionType",
    "TrainedModel",
    "TrainedModelBase",
    "TrainedModelValidationError",
    "TrainingInputMode",
]
