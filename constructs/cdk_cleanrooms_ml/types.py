"""Enums and the data-channel types of the ``TrainedModel`` construct."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trained_model import ITrainedModel


class S3DataDistributionType(enum.Enum):
    """How the data of an ML input channel is spread over the training instances."""

    FULLY_REPLICATED = "FullyReplicated"
    """Every instance gets a full copy of the channel's data (the service default)."""
    SHARDED_BY_S3_KEY = "ShardedByS3Key"
    """Each instance gets a part of the channel's data, split by S3 object key."""


class TrainingInputMode(enum.Enum):
    """How the training container reads its input data."""

    FILE = "File"
    """Data is copied to the instance volume before training starts."""
    FAST_FILE = "FastFile"
    """Data is streamed from S3 on demand, presented as files."""
    PIPE = "Pipe"
    """Data is streamed to the container through a Unix pipe."""


@dataclass(frozen=True, kw_only=True)
class DataChannel:
    """An ML input channel that provides training data.

    :param ml_input_channel_arn: ARN of the ML input channel
        (``arn:aws:cleanrooms-ml:<region>:<account>:membership/<id>/ml-input-channel/<id>``).
    :param channel_name: name the training container sees the data under;
        1-64 characters of ``A-Z a-z 0-9 . - _``, unique within the model.
    :param s3_data_distribution_type: how the data is spread over instances;
        default: not sent, the service uses ``FullyReplicated``.
    """

    ml_input_channel_arn: str
    channel_name: str
    s3_data_distribution_type: S3DataDistributionType | None = None


@dataclass(frozen=True, kw_only=True)
class IncrementalTrainingDataChannel:
    """A trained model whose artifacts are the starting point of incremental training.

    :param trained_model: the base model, a ``TrainedModel`` of this app or one
        imported with ``TrainedModel.from_trained_model_arn`` /
        ``from_trained_model_attributes``.
    :param channel_name: name the training container sees the base model under;
        1-64 characters of ``A-Z a-z 0-9 . - _``, unique within the model.
    :param version_identifier: the base model's version to train from (a UUID);
        default: the base model's ``version_identifier`` (for a ``TrainedModel``
        of this app trained incrementally, the version it created); for a base
        model, or an import without a version, none: the service uses the
        latest version.
    """

    trained_model: ITrainedModel
    channel_name: str
    version_identifier: str | None = None
