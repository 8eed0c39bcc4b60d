"""Render a ``ModelSpec`` into the custom resource's properties (pure).

Keys come from the contract module shared with the handler. Values the API
defaults (instance count, distribution type, ...) and the construct's own
defaults (retain, wait, one hour) are left out, which keeps the template small;
the handler applies the same defaults.
"""

from __future__ import annotations

from typing import Any

from . import _contract as contract
from ._spec import ModelSpec


def _number(value: float) -> Any:
    """Whole numbers as ``int`` (tokens pass through untouched)."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def render_properties(spec: ModelSpec, *, name_prefix: str | None) -> dict[str, Any]:
    """The ``Properties`` of the ``Custom::CleanRoomsMLTrainedModel`` resource.

    ``name_prefix`` is the generated prefix used when the user gave no name.
    Tags are rendered separately (lazily), because ``Tags.of`` adds them later.
    """
    props: dict[str, Any] = {
        contract.MEMBERSHIP_IDENTIFIER: spec.membership_identifier,
    }
    if spec.trained_model_name is not None:
        props[contract.NAME] = spec.trained_model_name
    else:
        props[contract.NAME_PREFIX] = name_prefix
    props[contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN] = (
        spec.configured_model_algorithm_association_arn
    )
    if spec.hyperparameters:
        props[contract.HYPERPARAMETERS] = dict(spec.hyperparameters)
    if spec.environment:
        props[contract.ENVIRONMENT] = dict(spec.environment)
    props[contract.INSTANCE_TYPE] = spec.instance_type
    if spec.instance_count is not None:
        props[contract.INSTANCE_COUNT] = _number(spec.instance_count)
    props[contract.VOLUME_SIZE_IN_GB] = _number(spec.volume_size_in_gb)
    if spec.max_runtime_in_seconds is not None:
        props[contract.MAX_RUNTIME_IN_SECONDS] = _number(spec.max_runtime_in_seconds)
    channels = []
    for channel in spec.data_channels:
        item = {
            contract.CHANNEL_ML_INPUT_CHANNEL_ARN: channel.ml_input_channel_arn,
            contract.CHANNEL_NAME: channel.channel_name,
        }
        if channel.s3_data_distribution_type is not None:
            item[contract.CHANNEL_S3_DATA_DISTRIBUTION_TYPE] = channel.s3_data_distribution_type
        channels.append(item)
    props[contract.DATA_CHANNELS] = channels
    if spec.incremental_training_data_channels:
        incremental = []
        for base in spec.incremental_training_data_channels:
            entry = {
                contract.CHANNEL_TRAINED_MODEL_ARN: base.trained_model_arn,
                contract.CHANNEL_NAME: base.channel_name,
            }
            if base.version_identifier is not None:
                entry[contract.CHANNEL_VERSION_IDENTIFIER] = base.version_identifier
            incremental.append(entry)
        props[contract.INCREMENTAL_TRAINING_DATA_CHANNELS] = incremental
    if spec.training_input_mode is not None:
        props[contract.TRAINING_INPUT_MODE] = spec.training_input_mode
    if spec.description is not None:
        props[contract.DESCRIPTION] = spec.description
    if spec.kms_key_arn is not None:
        props[contract.KMS_KEY_ARN] = spec.kms_key_arn
    if spec.ml_model_training_payer_account_id is not None:
        props[contract.ML_MODEL_TRAINING_PAYER_ACCOUNT_ID] = spec.ml_model_training_payer_account_id
    if spec.removal_policy != contract.REMOVAL_POLICY_RETAIN:
        props[contract.REMOVAL_POLICY] = spec.removal_policy
    if not spec.wait_for_completion:
        props[contract.WAIT_FOR_COMPLETION] = False
    if spec.completion_timeout_in_seconds != contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS:
        props[contract.COMPLETION_TIMEOUT_SECONDS] = _number(spec.completion_timeout_in_seconds)
    return props
