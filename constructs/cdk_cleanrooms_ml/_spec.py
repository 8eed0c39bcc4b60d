"""The resolved, unit-converted form of ``TrainedModel`` props.

The construct copies its keyword arguments into one frozen ``ModelSpec`` at the
edge (``Size`` to GiB, ``Duration`` to seconds, enums to API strings, constructs
to ARNs); validation (``_validation``) and rendering (``_render``) are pure
functions of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    ml_input_channel_arn: str
    channel_name: str
    s3_data_distribution_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class IncrementalChannelSpec:
    trained_model_arn: str
    channel_name: str
    version_identifier: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    membership_identifier: str
    configured_model_algorithm_association_arn: str
    instance_type: str
    volume_size_in_gb: float
    data_channels: tuple[ChannelSpec, ...]
    trained_model_name: str | None = None
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    instance_count: float | None = None
    max_runtime_in_seconds: float | None = None
    incremental_training_data_channels: tuple[IncrementalChannelSpec, ...] = ()
    training_input_mode: str | None = None
    description: str | None = None
    kms_key_arn: str | None = None
    ml_model_training_payer_account_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    removal_policy: str = "retain"
    wait_for_completion: bool = True
    completion_timeout_in_seconds: float = 3600
    replacement_protection: bool = False
    association_prop: str = "configured_model_algorithm_association_arn"
    """The prop the association was given as (for messages)."""
