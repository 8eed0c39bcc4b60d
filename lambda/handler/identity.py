"""A resource's identity: the digest that decides whether a change replaces it.

The rule (it is what keeps an upgrade from retraining every model):

1. The identity document is built from the CloudFormation properties, as
   CloudFormation delivers them (every scalar a string), by the normalisation in
   this module, and by nothing else: not by the request builder, which may change.
2. identity = SHA-256 of the document as canonical JSON (sorted keys, no spaces,
   ASCII), in hex. The ownership tag keeps its first 16 digits.
3. The normalisation of a key, once released, never changes. A property added later
   enters the document only when it is set, so no existing identity changes.
4. Only properties that define the resource are in it: never the name (compared on
   its own), tags (updated in place), the removal policy or the waiting settings.

``tests/fixtures/identities.json`` holds properties that release 0.1.0 rendered (plain,
incremental, long path, tokens resolved, tags) with the identities that release wrote
into its ownership tags; a change here that would replace one of them fails its test.
Release 0.1.0 computed the same digest from its parsed request (``properties.py``),
which is why the trained model's document uses the API's field names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import contract


class PropertyError(ValueError):
    """The resource properties are malformed (not what the construct renders)."""


def digest(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- scalar normalisation (frozen) ---------------------------------------------------


def text(props: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = props.get(key)
    if value is None:
        if required:
            raise PropertyError(f"property {key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PropertyError(f"property {key} must be a string, got {type(value).__name__}")
    return str(value)


def whole(props: Mapping[str, Any], key: str) -> int | None:
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
        stripped = value.strip()
        try:
            return int(stripped)
        except ValueError:
            try:
                number = float(stripped)
            except ValueError:
                number = float("nan")
            if number.is_integer():
                return int(number)
    raise PropertyError(f"property {key} must be a whole number, got {value!r}")


def string_map(props: Mapping[str, Any], key: str) -> dict[str, str]:
    value = props.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PropertyError(f"property {key} must be a map of strings")
    return {str(k): str(v) for k, v in value.items()}


def objects(props: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = props.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise PropertyError(f"property {key} must be a list of objects")
    return value


# --- trained models (release 0.1.0) ---------------------------------------------------


def trained_model_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLTrainedModel`` (frozen)."""
    resource_config: dict[str, Any] = {
        "instanceType": text(props, contract.INSTANCE_TYPE, required=True),
        "volumeSizeInGB": whole(props, contract.VOLUME_SIZE_IN_GB),
    }
    if resource_config["volumeSizeInGB"] is None:
        raise PropertyError(f"property {contract.VOLUME_SIZE_IN_GB} is required")
    instance_count = whole(props, contract.INSTANCE_COUNT)
    if instance_count is not None:
        resource_config["instanceCount"] = instance_count
    document: dict[str, Any] = {
        "membershipIdentifier": text(props, contract.MEMBERSHIP_IDENTIFIER, required=True),
        "configuredModelAlgorithmAssociationArn": text(
            props, contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN, required=True
        ),
        "resourceConfig": resource_config,
    }
    for key, field in (
        (contract.HYPERPARAMETERS, "hyperparameters"),
        (contract.ENVIRONMENT, "environment"),
    ):
        entries = string_map(props, key)
        if entries:
            document[field] = entries
    max_runtime = whole(props, contract.MAX_RUNTIME_IN_SECONDS)
    if max_runtime is not None:
        document["stoppingCondition"] = {"maxRuntimeInSeconds": max_runtime}
    channels = []
    for item in objects(props, contract.DATA_CHANNELS):
        channel = {
            "mlInputChannelArn": text(item, contract.CHANNEL_ML_INPUT_CHANNEL_ARN, required=True),
            "channelName": text(item, contract.CHANNEL_NAME, required=True),
        }
        distribution = text(item, contract.CHANNEL_S3_DATA_DISTRIBUTION_TYPE)
        if distribution is not None:
            channel["s3DataDistributionType"] = distribution
        channels.append(channel)
    if not channels:
        raise PropertyError(f"property {contract.DATA_CHANNELS} needs at least one channel")
    document["dataChannels"] = channels
    bases = []
    for item in objects(props, contract.INCREMENTAL_TRAINING_DATA_CHANNELS):
        base = {
            "trainedModelArn": text(item, contract.CHANNEL_TRAINED_MODEL_ARN, required=True),
            "channelName": text(item, contract.CHANNEL_NAME, required=True),
        }
        version = text(item, contract.CHANNEL_VERSION_IDENTIFIER)
        # "NULL" (release 0.1.0's base-version attribute) and "" are no version
        if version and version != contract.BASE_VERSION:
            base["versionIdentifier"] = version
        bases.append(base)
    if bases:
        document["incrementalTrainingDataChannels"] = bases
    for key, field in (
        (contract.TRAINING_INPUT_MODE, "trainingInputMode"),
        (contract.DESCRIPTION, "description"),
        (contract.KMS_KEY_ARN, "kmsKeyArn"),
        (contract.ML_MODEL_TRAINING_PAYER_ACCOUNT_ID, "mlModelTrainingPayerAccountId"),
    ):
        value = text(props, key)
        if value is not None:
            document[field] = value
    return document


def _optional(document: dict[str, Any], field: str, value: Any) -> None:
    if value is not None and value != {}:
        document[field] = value


# --- ML input channels (release 0.2.0) -------------------------------------------------


def ml_input_channel_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLInputChannel`` (frozen)."""
    query = text(props, contract.QUERY_STRING)
    template = text(props, contract.ANALYSIS_TEMPLATE_ARN)
    if (query is None) == (template is None):
        raise PropertyError(
            f"exactly one of {contract.QUERY_STRING} and {contract.ANALYSIS_TEMPLATE_ARN} "
            "is required"
        )
    sql = _sql_parameters(props, query, template)
    worker = _worker(props)
    parameters: dict[str, Any] = {"sqlParameters": sql}
    if worker:
        parameters["computeConfiguration"] = {"worker": worker}
    _optional(parameters, "resultFormat", text(props, contract.RESULT_FORMAT))
    retention = whole(props, contract.RETENTION_IN_DAYS)
    if retention is None:
        raise PropertyError(f"property {contract.RETENTION_IN_DAYS} is required")
    document: dict[str, Any] = {
        "membershipIdentifier": text(props, contract.MEMBERSHIP_IDENTIFIER, required=True),
        "configuredModelAlgorithmAssociations": [
            text(props, contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN, required=True)
        ],
        "inputChannel": {
            "dataSource": {"protectedQueryInputParameters": parameters},
            "roleArn": text(props, contract.ROLE_ARN, required=True),
        },
        "retentionInDays": retention,
    }
    _optional(document, "description", text(props, contract.DESCRIPTION))
    _optional(document, "kmsKeyArn", text(props, contract.KMS_KEY_ARN))
    payer: dict[str, Any] = {}
    _optional(payer, "computePayerAccountId", text(props, contract.COMPUTE_PAYER_ACCOUNT_ID))
    _optional(
        payer, "syntheticDataPayerAccountId", text(props, contract.SYNTHETIC_DATA_PAYER_ACCOUNT_ID)
    )
    _optional(document, "payerConfiguration", payer)
    return document


# --- trained model inference jobs (release 0.2.0) --------------------------------------


def inference_job_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLTrainedModelInferenceJob`` (frozen)."""
    resource_config: dict[str, Any] = {
        "instanceType": text(props, contract.INSTANCE_TYPE, required=True)
    }
    _optional(resource_config, "instanceCount", whole(props, contract.INSTANCE_COUNT))
    output: dict[str, Any] = {
        "members": [{"accountId": text(props, contract.OUTPUT_ACCOUNT_ID, required=True)}]
    }
    _optional(output, "accept", text(props, contract.ACCEPT))
    document: dict[str, Any] = {
        "membershipIdentifier": text(props, contract.MEMBERSHIP_IDENTIFIER, required=True),
        "trainedModelArn": text(props, contract.TRAINED_MODEL_ARN, required=True),
        "resourceConfig": resource_config,
        "outputConfiguration": output,
        "dataSource": {
            "mlInputChannelArn": text(props, contract.ML_INPUT_CHANNEL_ARN, required=True)
        },
    }
    version = text(props, contract.TRAINED_MODEL_VERSION_IDENTIFIER)
    if version and version != contract.BASE_VERSION:
        document["trainedModelVersionIdentifier"] = version
    _optional(
        document,
        "configuredModelAlgorithmAssociationArn",
        text(props, contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN),
    )
    _optional(document, "description", text(props, contract.DESCRIPTION))
    payload = whole(props, contract.MAX_PAYLOAD_IN_MB)
    if payload is not None:
        document["containerExecutionParameters"] = {"maxPayloadInMB": payload}
    _optional(document, "environment", string_map(props, contract.ENVIRONMENT) or None)
    _optional(document, "kmsKeyArn", text(props, contract.KMS_KEY_ARN))
    _optional(
        document,
        "mlModelInferencePayerAccountId",
        text(props, contract.ML_MODEL_INFERENCE_PAYER_ACCOUNT_ID),
    )
    return document


# --- scalars of the kinds of release 0.3.0 (frozen) -----------------------------------


def timestamp(props: Mapping[str, Any], key: str) -> str | None:
    """An ISO 8601 instant with its offset, as UTC text (``2026-01-01T00:00:00Z``; a
    fraction of a second only when there is one): the same instant, the same text."""
    value = text(props, key)
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PropertyError(
            f"property {key} must be an ISO 8601 date-time, got {value!r}"
        ) from None
    if instant.tzinfo is None:
        raise PropertyError(f"property {key} must carry a UTC offset, got {value!r}")
    instant = instant.astimezone(UTC)
    fraction = f".{instant.microsecond:06d}".rstrip("0") if instant.microsecond else ""
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def boolean(props: Mapping[str, Any], key: str) -> bool | None:
    """``true``/``false`` (CloudFormation's strings) or a bool."""
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise PropertyError(f"property {key} must be true or false, got {value!r}")
    return str(value).lower() == "true"


def _protected_query(props: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A protected query's SQL (``QUERY_STRING``) or analysis template with its
    parameters, as the API's ``sqlParameters``; ``field`` names the alternative."""
    query = text(props, contract.QUERY_STRING)
    template = text(props, contract.ANALYSIS_TEMPLATE_ARN)
    if (query is None) == (template is None):
        raise PropertyError(
            f"exactly one of {field}, {contract.QUERY_STRING} and "
            f"{contract.ANALYSIS_TEMPLATE_ARN} is required"
        )
    return _sql_parameters(props, query, template)


def _sql_parameters(
    props: Mapping[str, Any], query: str | None, template: str | None
) -> dict[str, Any]:
    """The API's ``sqlParameters``: the query, or the template with its parameters."""
    sql: dict[str, Any] = {"queryString": query} if query is not None else {}
    if template is not None:
        sql["analysisTemplateArn"] = template
        _optional(sql, "parameters", string_map(props, contract.PARAMETERS) or None)
    return sql


def _worker(props: Mapping[str, Any]) -> dict[str, Any]:
    """A protected query's ``worker`` (type, number, Spark properties), or ``{}``."""
    worker: dict[str, Any] = {}
    _optional(worker, "type", text(props, contract.WORKER_TYPE))
    _optional(worker, "number", whole(props, contract.WORKER_COUNT))
    spark = string_map(props, contract.SPARK_PROPERTIES)
    if spark:
        worker["properties"] = {"spark": spark}
    return worker


# --- trained model export jobs (release 0.3.0) -----------------------------------------


def trained_model_export_job_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLTrainedModelExportJob`` (frozen):
    ``StartTrainedModelExportJob``'s arguments but its name."""
    document: dict[str, Any] = {
        "membershipIdentifier": text(props, contract.MEMBERSHIP_IDENTIFIER, required=True),
        "trainedModelArn": text(props, contract.TRAINED_MODEL_ARN, required=True),
        "outputConfiguration": {
            "members": [{"accountId": text(props, contract.OUTPUT_ACCOUNT_ID, required=True)}]
        },
    }
    version = text(props, contract.TRAINED_MODEL_VERSION_IDENTIFIER)
    if version and version != contract.BASE_VERSION:
        document["trainedModelVersionIdentifier"] = version
    _optional(document, "description", text(props, contract.DESCRIPTION) or None)
    return document


# --- audience models (release 0.3.0) ---------------------------------------------------


def audience_model_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLAudienceModel`` (frozen):
    ``CreateAudienceModel``'s arguments but its name and tags."""
    document: dict[str, Any] = {
        "trainingDatasetArn": text(props, contract.TRAINING_DATASET_ARN, required=True)
    }
    _optional(
        document, "trainingDataStartTime", timestamp(props, contract.TRAINING_DATA_START_TIME)
    )
    _optional(document, "trainingDataEndTime", timestamp(props, contract.TRAINING_DATA_END_TIME))
    _optional(document, "description", text(props, contract.DESCRIPTION) or None)
    _optional(document, "kmsKeyArn", text(props, contract.KMS_KEY_ARN))
    return document


# --- configured audience models (release 0.3.0) ---------------------------------------

CONFIGURED_AUDIENCE_MODEL_UPDATABLE = (
    "audienceModelArn",
    "outputConfig",
    "sharedAudienceMetrics",
    "minMatchingSeedSize",
    "audienceSizeConfig",
    "description",
)
"""What ``UpdateConfiguredAudienceModel`` changes in place: never in the identity."""


def configured_audience_model_request(props: Mapping[str, Any]) -> dict[str, Any]:
    """``CreateConfiguredAudienceModel``'s arguments but its name and tags."""
    location = text(props, contract.OUTPUT_S3_URI, required=True)
    request: dict[str, Any] = {
        "audienceModelArn": text(props, contract.AUDIENCE_MODEL_ARN, required=True),
        "outputConfig": {
            "destination": {"s3Destination": {"s3Uri": location}},
            "roleArn": text(props, contract.ROLE_ARN, required=True),
        },
        "sharedAudienceMetrics": [text(props, contract.SHARED_AUDIENCE_METRICS, required=True)],
    }
    _optional(request, "minMatchingSeedSize", whole(props, contract.MIN_MATCHING_SEED_SIZE))
    size_type = text(props, contract.AUDIENCE_SIZE_TYPE)
    bins = props.get(contract.AUDIENCE_SIZE_BINS)
    if (size_type is None) != (bins is None):
        raise PropertyError(
            f"{contract.AUDIENCE_SIZE_TYPE} and {contract.AUDIENCE_SIZE_BINS} go together"
        )
    if size_type is not None:
        if not isinstance(bins, list) or not bins:
            raise PropertyError(f"property {contract.AUDIENCE_SIZE_BINS} must be a list")
        request["audienceSizeConfig"] = {
            "audienceSizeType": size_type,
            "audienceSizeBins": [whole({"bin": b}, "bin") for b in bins],
        }
    _optional(
        request,
        "childResourceTagOnCreatePolicy",
        text(props, contract.CHILD_RESOURCE_TAG_ON_CREATE_POLICY),
    )
    _optional(request, "description", text(props, contract.DESCRIPTION) or None)
    return request


def configured_audience_model_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLConfiguredAudienceModel``
    (frozen): what ``UpdateConfiguredAudienceModel`` cannot change, its name aside."""
    request = configured_audience_model_request(props)
    return {k: v for k, v in request.items() if k not in CONFIGURED_AUDIENCE_MODEL_UPDATABLE}


def resource_policy(props: Mapping[str, Any]) -> str | None:
    """The resource policy's text, as the construct rendered it (JSON), or None."""
    value = text(props, contract.RESOURCE_POLICY)
    if value is None:
        return None
    try:
        json.loads(value)
    except ValueError:
        raise PropertyError(f"property {contract.RESOURCE_POLICY} must be JSON") from None
    return value


# --- audience generation jobs (release 0.3.0) -----------------------------------------


def audience_generation_job_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLAudienceGenerationJob`` (frozen):
    ``StartAudienceGenerationJob``'s arguments but its name and tags."""
    seed: dict[str, Any] = {"roleArn": text(props, contract.ROLE_ARN, required=True)}
    location = text(props, contract.SEED_S3_URI)
    if location is not None:
        if (
            props.get(contract.QUERY_STRING) is not None
            or props.get(contract.ANALYSIS_TEMPLATE_ARN) is not None
        ):
            raise PropertyError(
                f"exactly one of {contract.SEED_S3_URI}, {contract.QUERY_STRING} and "
                f"{contract.ANALYSIS_TEMPLATE_ARN} is required"
            )
        seed["dataSource"] = {"s3Uri": location}
    else:
        seed["sqlParameters"] = _protected_query(props, contract.SEED_S3_URI)
        worker = _worker(props)
        if worker:
            seed["sqlComputeConfiguration"] = {"worker": worker}
    document: dict[str, Any] = {
        "configuredAudienceModelArn": text(
            props, contract.CONFIGURED_AUDIENCE_MODEL_ARN, required=True
        ),
        "seedAudience": seed,
    }
    _optional(document, "includeSeedInOutput", boolean(props, contract.INCLUDE_SEED_IN_OUTPUT))
    _optional(document, "collaborationId", text(props, contract.COLLABORATION_ID))
    _optional(document, "description", text(props, contract.DESCRIPTION) or None)
    return document


# --- audience export jobs (release 0.3.0) ----------------------------------------------


def audience_export_job_document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of a ``Custom::CleanRoomsMLAudienceExportJob`` (frozen):
    ``StartAudienceExportJob``'s arguments but its name."""
    value = whole(props, contract.AUDIENCE_SIZE_VALUE)
    if value is None:
        raise PropertyError(f"property {contract.AUDIENCE_SIZE_VALUE} is required")
    document: dict[str, Any] = {
        "audienceGenerationJobArn": text(
            props, contract.AUDIENCE_GENERATION_JOB_ARN, required=True
        ),
        "audienceSize": {
            "type": text(props, contract.AUDIENCE_SIZE_TYPE, required=True),
            "value": value,
        },
    }
    _optional(document, "description", text(props, contract.DESCRIPTION) or None)
    return document


# --- what changed, in the words of the construct's props (messages, the diff) ---------

DOCUMENTS = {
    contract.RESOURCE_TYPE: trained_model_document,
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: ml_input_channel_document,
    contract.INFERENCE_JOB_RESOURCE_TYPE: inference_job_document,
    contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: trained_model_export_job_document,
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: audience_model_document,
    contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: configured_audience_model_document,
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: audience_generation_job_document,
    contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: audience_export_job_document,
}
"""The identity document of each kind whose replacement starts something (the ML
configuration's identity is its membership)."""

_QUERY = "inputChannel.dataSource.protectedQueryInputParameters"
_SEED = "seedAudience"
PROPS = {
    "membershipIdentifier": "membership_identifier",
    "configuredModelAlgorithmAssociationArn": "configured_model_algorithm_association",
    "configuredModelAlgorithmAssociations": "configured_model_algorithm_association",
    "resourceConfig.instanceType": "instance_type",
    "resourceConfig.instanceCount": "instance_count",
    "resourceConfig.volumeSizeInGB": "volume_size",
    "hyperparameters": "hyperparameters",
    "environment": "environment",
    "stoppingCondition.maxRuntimeInSeconds": "max_runtime",
    "dataChannels": "data_channels",
    "incrementalTrainingDataChannels": "incremental_training_data_channels",
    "trainingInputMode": "training_input_mode",
    "description": "description",
    "kmsKeyArn": "encryption_key",
    "mlModelTrainingPayerAccountId": "ml_model_training_payer_account_id",
    f"{_QUERY}.sqlParameters.queryString": "data_source (its query)",
    f"{_QUERY}.sqlParameters.analysisTemplateArn": "data_source (its analysis template)",
    f"{_QUERY}.sqlParameters.parameters": "data_source (its parameters)",
    f"{_QUERY}.computeConfiguration.worker.type": "worker_type",
    f"{_QUERY}.computeConfiguration.worker.number": "worker_count",
    f"{_QUERY}.computeConfiguration.worker.properties.spark": "spark_properties",
    f"{_QUERY}.resultFormat": "result_format",
    "inputChannel.roleArn": "role",
    "retentionInDays": "retention",
    "payerConfiguration.computePayerAccountId": "compute_payer_account_id",
    "payerConfiguration.syntheticDataPayerAccountId": "synthetic_data_payer_account_id",
    "trainedModelArn": "trained_model",
    "trainedModelVersionIdentifier": "trained_model_version_identifier",
    "outputConfiguration.members": "output_account_id",
    "outputConfiguration.accept": "accept",
    "dataSource.mlInputChannelArn": "data_source",
    "containerExecutionParameters.maxPayloadInMB": "max_payload",
    "mlModelInferencePayerAccountId": "ml_model_inference_payer_account_id",
    "trainingDatasetArn": "training_dataset",
    "trainingDataStartTime": "training_data_start_time",
    "trainingDataEndTime": "training_data_end_time",
    "audienceModelArn": "audience_model",
    "outputConfig.destination.s3Destination.s3Uri": "output_bucket/output_prefix",
    "outputConfig.roleArn": "output_role",
    "sharedAudienceMetrics": "shared_audience_metrics",
    "minMatchingSeedSize": "min_matching_seed_size",
    "audienceSizeConfig.audienceSizeType": "audience_size_config (its type)",
    "audienceSizeConfig.audienceSizeBins": "audience_size_config (its bins)",
    "childResourceTagOnCreatePolicy": "child_resource_tag_on_create_policy",
    "configuredAudienceModelArn": "configured_audience_model",
    f"{_SEED}.roleArn": "role",
    f"{_SEED}.dataSource.s3Uri": "seed_audience (its S3 location)",
    f"{_SEED}.sqlParameters.queryString": "seed_audience (its query)",
    f"{_SEED}.sqlParameters.analysisTemplateArn": "seed_audience (its analysis template)",
    f"{_SEED}.sqlParameters.parameters": "seed_audience (its parameters)",
    f"{_SEED}.sqlComputeConfiguration.worker.type": "worker_type",
    f"{_SEED}.sqlComputeConfiguration.worker.number": "worker_count",
    f"{_SEED}.sqlComputeConfiguration.worker.properties.spark": "spark_properties",
    "includeSeedInOutput": "include_seed_in_output",
    "collaborationId": "collaboration_id",
    "audienceGenerationJobArn": "audience_generation_job",
    "audienceSize.type": "audience_size (its type)",
    "audienceSize.value": "audience_size (its value)",
}
"""The prop that sets each field of an identity document."""
HIDDEN = frozenset(
    {
        "hyperparameters",
        "environment",
        f"{_QUERY}.sqlParameters.queryString",
        f"{_QUERY}.sqlParameters.parameters",
        f"{_SEED}.sqlParameters.queryString",
        f"{_SEED}.sqlParameters.parameters",
    }
)
"""Fields whose values are secrets: a change says which key, never the value."""
_MAPS = frozenset(
    {
        *HIDDEN,
        f"{_QUERY}.computeConfiguration.worker.properties.spark",
        f"{_SEED}.sqlComputeConfiguration.worker.properties.spark",
    }
    - {f"{_QUERY}.sqlParameters.queryString", f"{_SEED}.sqlParameters.queryString"}
)
"""Fields that are maps of strings: a change names the key."""


def _leaves(document: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in document.items():
        here = f"{path}.{key}" if path else key
        if here in _MAPS and isinstance(value, Mapping):
            for name, item in value.items():
                found[f"{here}[{name!r}]"] = item
        elif isinstance(value, Mapping):
            found.update(_leaves(value, here))
        else:
            found[here] = value
    return found


def _shown(path: str, value: Any) -> str:
    if value is None:
        return "unset"
    if any(path == h or path.startswith(f"{h}[") for h in HIDDEN):
        return "(a value)"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else f"{text[:117]}..."


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two identity documents, one line per field, named by the
    prop that sets it: ``instance_type: 'ml.m5.xlarge' -> 'ml.m5.2xlarge'``; a secret's
    value is never shown (``hyperparameters['epochs']: changed (values hidden)``)."""
    before, after = _leaves(old), _leaves(new)
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path):
            continue
        field, _, key = path.partition("[")
        prop = PROPS.get(field, field) + (f"[{key}" if key else "")
        hidden = any(path == h or path.startswith(f"{h}[") for h in HIDDEN)
        if hidden and path in before and path in after:
            lines.append(f"{prop}: changed (values hidden)")
        else:
            lines.append(
                f"{prop}: {_shown(path, before.get(path))} -> {_shown(path, after.get(path))}"
            )
    return lines
