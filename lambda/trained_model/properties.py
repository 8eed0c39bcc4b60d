"""Parse the custom resource's properties into a ``create_trained_model`` request.

CloudFormation hands every scalar to a custom resource as a string ("50",
"true"); this module converts them back, in one place, and applies the same
defaults as the construct. It is pure: no AWS calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import contract


class PropertyError(ValueError):
    """The resource properties are malformed (not what the construct renders)."""


def _str(props: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = props.get(key)
    if value is None:
        if required:
            raise PropertyError(f"property {key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PropertyError(f"property {key} must be a string, got {type(value).__name__}")
    return str(value)


def _int(props: Mapping[str, Any], key: str) -> int | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise PropertyError(f"property {key} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = float("nan")
            if number.is_integer():
                return int(number)
    raise PropertyError(f"property {key} must be a whole number, got {value!r}")


def _bool(props: Mapping[str, Any], key: str, default: bool) -> bool:
    value = props.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PropertyError(f"property {key} must be true or false, got {value!r}")


def _string_map(props: Mapping[str, Any], key: str) -> dict[str, str]:
    value = props.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PropertyError(f"property {key} must be a map of strings")
    return {str(k): str(v) for k, v in value.items()}


def _list(props: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = props.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise PropertyError(f"property {key} must be a list of objects")
    return value


def canonical_hash(value: Any) -> str:
    """A stable hex digest of a JSON-able value."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DesiredModel:
    """What the resource's properties ask for."""

    membership_identifier: str
    fixed_name: str | None
    name_prefix: str | None
    request: dict[str, Any]
    """``create_trained_model`` arguments without ``name`` and ``tags``."""
    tags: dict[str, str] = field(default_factory=dict)
    removal_policy: str = contract.REMOVAL_POLICY_RETAIN
    wait_for_completion: bool = True
    completion_timeout_seconds: int = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
    wait_handle_url: str | None = None
    """Long path: the WaitCondition handle the waiter signals (never logged)."""

    @property
    def long_wait(self) -> bool:
        """The model's wait is the waiter's (WaitCondition), not the custom resource's."""
        return self.wait_handle_url is not None

    @property
    def config_hash(self) -> str:
        """Identifies the model's immutable configuration (not its name or tags)."""
        return canonical_hash(self.request)

    @property
    def destroy(self) -> bool:
        return self.removal_policy == contract.REMOVAL_POLICY_DESTROY

    def create_request(self, name: str, tags: Mapping[str, str]) -> dict[str, Any]:
        """The full ``create_trained_model`` arguments."""
        request = dict(self.request)
        request["name"] = name
        if tags:
            request["tags"] = dict(tags)
        return request


def parse_properties(props: Mapping[str, Any]) -> DesiredModel:
    """Convert ``ResourceProperties`` (strings and all) into a ``DesiredModel``."""
    membership = _str(props, contract.MEMBERSHIP_IDENTIFIER, required=True)
    assert membership is not None
    fixed_name = _str(props, contract.NAME)
    name_prefix = _str(props, contract.NAME_PREFIX)
    if (fixed_name is None) == (name_prefix is None):
        raise PropertyError(
            f"exactly one of {contract.NAME} and {contract.NAME_PREFIX} is required"
        )

    resource_config: dict[str, Any] = {
        "instanceType": _str(props, contract.INSTANCE_TYPE, required=True),
        "volumeSizeInGB": _int(props, contract.VOLUME_SIZE_IN_GB),
    }
    if resource_config["volumeSizeInGB"] is None:
        raise PropertyError(f"property {contract.VOLUME_SIZE_IN_GB} is required")
    instance_count = _int(props, contract.INSTANCE_COUNT)
    if instance_count is not None:
        resource_config["instanceCount"] = instance_count

    request: dict[str, Any] = {
        "membershipIdentifier": membership,
        "configuredModelAlgorithmAssociationArn": _str(
            props, contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN, required=True
        ),
        "resourceConfig": resource_config,
    }
    hyperparameters = _string_map(props, contract.HYPERPARAMETERS)
    if hyperparameters:
        request["hyperparameters"] = hyperparameters
    environment = _string_map(props, contract.ENVIRONMENT)
    if environment:
        request["environment"] = environment
    max_runtime = _int(props, contract.MAX_RUNTIME_IN_SECONDS)
    if max_runtime is not None:
        request["stoppingCondition"] = {"maxRuntimeInSeconds": max_runtime}

    channels = []
    for item in _list(props, contract.DATA_CHANNELS):
        channel = {
            "mlInputChannelArn": _str(item, contract.CHANNEL_ML_INPUT_CHANNEL_ARN, required=True),
            "channelName": _str(item, contract.CHANNEL_NAME, required=True),
        }
        distribution = _str(item, contract.CHANNEL_S3_DATA_DISTRIBUTION_TYPE)
        if distribution is not None:
            channel["s3DataDistributionType"] = distribution
        channels.append(channel)
    if not channels:
        raise PropertyError(f"property {contract.DATA_CHANNELS} needs at least one channel")
    request["dataChannels"] = channels

    incremental = []
    for item in _list(props, contract.INCREMENTAL_TRAINING_DATA_CHANNELS):
        base = {
            "trainedModelArn": _str(item, contract.CHANNEL_TRAINED_MODEL_ARN, required=True),
            "channelName": _str(item, contract.CHANNEL_NAME, required=True),
        }
        version = _str(item, contract.CHANNEL_VERSION_IDENTIFIER)
        # The base version's attribute is the literal "NULL": no version given.
        if version and version != contract.BASE_VERSION:
            base["versionIdentifier"] = version
        incremental.append(base)
    if incremental:
        request["incrementalTrainingDataChannels"] = incremental

    for key, api_name in (
        (contract.TRAINING_INPUT_MODE, "trainingInputMode"),
        (contract.DESCRIPTION, "description"),
        (contract.KMS_KEY_ARN, "kmsKeyArn"),
        (contract.ML_MODEL_TRAINING_PAYER_ACCOUNT_ID, "mlModelTrainingPayerAccountId"),
    ):
        value = _str(props, key)
        if value is not None:
            request[api_name] = value

    removal_policy = _str(props, contract.REMOVAL_POLICY) or contract.REMOVAL_POLICY_RETAIN
    if removal_policy not in (contract.REMOVAL_POLICY_RETAIN, contract.REMOVAL_POLICY_DESTROY):
        raise PropertyError(f"property {contract.REMOVAL_POLICY} must be retain or destroy")
    timeout = _int(props, contract.COMPLETION_TIMEOUT_SECONDS)
    if timeout is None:
        timeout = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
    if not 1 <= timeout <= contract.MAX_COMPLETION_TIMEOUT_SECONDS:
        raise PropertyError(
            f"property {contract.COMPLETION_TIMEOUT_SECONDS} must be 1-"
            f"{contract.MAX_COMPLETION_TIMEOUT_SECONDS}, got {timeout}"
        )
    return DesiredModel(
        membership_identifier=membership,
        fixed_name=fixed_name,
        name_prefix=name_prefix,
        request=request,
        tags=_string_map(props, contract.TAGS),
        removal_policy=removal_policy,
        wait_for_completion=_bool(props, contract.WAIT_FOR_COMPLETION, True),
        completion_timeout_seconds=timeout,
        wait_handle_url=_str(props, contract.WAIT_HANDLE_URL),
    )
