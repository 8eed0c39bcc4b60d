"""Enums and the data-channel types of the ``TrainedModel`` construct."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ml_input_channel import IMLInputChannel
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

    Give the channel as ``ml_input_channel`` (an ``MLInputChannel`` of this app, or
    ``MLInputChannel.from_ml_input_channel_arn(...)``) or by its ARN as
    ``ml_input_channel_arn``; ``DataChannel.of(channel, "train")`` is the short form.

    :param channel_name: name the training container sees the data under;
        1-64 characters of ``A-Z a-z 0-9 . - _``, unique within the model.
    :param ml_input_channel: the ML input channel (an ``IMLInputChannel``).
    :param ml_input_channel_arn: or its ARN
        (``arn:aws:cleanrooms-ml:<region>:<account>:membership/<id>/ml-input-channel/<id>``).
    :param s3_data_distribution_type: how the data is spread over instances;
        default: not sent, the service uses ``FullyReplicated``.
    """

    channel_name: str
    ml_input_channel: IMLInputChannel | None = None
    ml_input_channel_arn: str | None = None
    s3_data_distribution_type: S3DataDistributionType | None = None

    @classmethod
    def of(
        cls,
        channel: IMLInputChannel,
        channel_name: str,
        s3_data_distribution_type: S3DataDistributionType | None = None,
    ) -> DataChannel:
        """``channel``'s data, seen by the training container as ``channel_name``."""
        return cls(
            ml_input_channel=channel,
            channel_name=channel_name,
            s3_data_distribution_type=s3_data_distribution_type,
        )


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
