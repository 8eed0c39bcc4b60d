"""The contract between the constructs and their handler.

This is the one module that names the custom resources' types and property keys. The
handler asset ships it as ``contract.py``; the construct package imports the very
same file (``cdk_cleanrooms_ml/_contract.py`` is a link to it), so the two sides
cannot drift apart.

CloudFormation hands every scalar property to a custom resource as a string:
numbers arrive as ``"50"`` and booleans as ``"true"``. The handler converts them
back in one place (``identity``, read by each kind's ``parse``).

Units are converted at the edge, in the construct: sizes are whole GiB and
durations whole seconds.
"""

from __future__ import annotations

import hashlib
from typing import Final

RESOURCE_TYPE: Final = "Custom::CleanRoomsMLTrainedModel"
"""The CloudFormation type of the custom resource."""

# --- resource properties (construct -> handler) --------------------------------
MEMBERSHIP_IDENTIFIER: Final = "MembershipIdentifier"
NAME: Final = "Name"
"""A name the user fixed. Exactly one of ``NAME`` and ``NAME_PREFIX`` is set."""
NAME_PREFIX: Final = "NamePrefix"
"""A generated prefix; the handler appends a suffix unique to the create request."""
CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: Final = "ConfiguredModelAlgorithmAssociationArn"
HYPERPARAMETERS: Final = "Hyperparameters"
ENVIRONMENT: Final = "Environment"
INSTANCE_TYPE: Final = "InstanceType"
INSTANCE_COUNT: Final = "InstanceCount"
VOLUME_SIZE_IN_GB: Final = "VolumeSizeInGB"
MAX_RUNTIME_IN_SECONDS: Final = "MaxRuntimeInSeconds"
DATA_CHANNELS: Final = "DataChannels"
INCREMENTAL_TRAINING_DATA_CHANNELS: Final = "IncrementalTrainingDataChannels"
TRAINING_INPUT_MODE: Final = "TrainingInputMode"
DESCRIPTION: Final = "Description"
KMS_KEY_ARN: Final = "KmsKeyArn"
ML_MODEL_TRAINING_PAYER_ACCOUNT_ID: Final = "MlModelTrainingPayerAccountId"
TAGS: Final = "Tags"
REMOVAL_POLICY: Final = "RemovalPolicy"
WAIT_FOR_COMPLETION: Final = "WaitForCompletion"
COMPLETION_TIMEOUT_SECONDS: Final = "CompletionTimeoutSeconds"
REPLACEMENT_PROTECTION: Final = "ReplacementProtection"
"""``true``: an update that would replace the resource (start a new training, query or
job) fails before anything starts, unless ``REPLACEMENT_ALLOWED`` is ``true`` too."""
REPLACEMENT_ALLOWED: Final = "ReplacementAllowed"
"""``true`` for the deploy the context key ``ALLOW_REPLACEMENT_CONTEXT_KEY`` names the
construct in: that deploy may replace it."""
ALLOW_REPLACEMENT_CONTEXT_KEY: Final = "cdk-cleanrooms-ml:allowReplacement"
"""Context key: the construct paths (comma-separated, or ``*`` for all) whose
``replacement_protection`` a deploy lifts (``cdk deploy -c ...``)."""
WAIT_HANDLE_URL: Final = "WaitHandleUrl"
"""Long path only: the ``AWS::CloudFormation::WaitCondition`` handle to signal.

A pre-signed URL, a credential: the handler never logs it."""

# keys inside each item of DATA_CHANNELS / INCREMENTAL_TRAINING_DATA_CHANNELS
CHANNEL_ML_INPUT_CHANNEL_ARN: Final = "MlInputChannelArn"
CHANNEL_NAME: Final = "ChannelName"
CHANNEL_S3_DATA_DISTRIBUTION_TYPE: Final = "S3DataDistributionType"
CHANNEL_TRAINED_MODEL_ARN: Final = "TrainedModelArn"
CHANNEL_VERSION_IDENTIFIER: Final = "VersionIdentifier"

# values of REMOVAL_POLICY
REMOVAL_POLICY_RETAIN: Final = "retain"
REMOVAL_POLICY_DESTROY: Final = "destroy"

# --- attributes (handler -> construct, Fn::GetAtt) --------------------------
ATTR_TRAINED_MODEL_ARN: Final = "TrainedModelArn"
ATTR_VERSION_IDENTIFIER: Final = "VersionIdentifier"
ATTR_TRAINED_MODEL_NAME: Final = "TrainedModelName"
ATTR_STATUS: Final = "Status"

BASE_VERSION: Final = "NULL"
"""What release 0.1.0 reported as a base model's ``VersionIdentifier``.

The API documents the base version's identifier as "NULL"; no API accepts it as a
version. The handler reads it (or an empty string) wherever a version may appear
as "no version": the service then uses the latest version.
"""

# --- Custom::CleanRoomsMLInputChannel --------------------------------------------------
ML_INPUT_CHANNEL_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLInputChannel"
QUERY_STRING: Final = "QueryString"
"""The SQL of the protected query that fills the channel (or ANALYSIS_TEMPLATE_ARN)."""
ANALYSIS_TEMPLATE_ARN: Final = "AnalysisTemplateArn"
PARAMETERS: Final = "Parameters"
"""The analysis template's parameters (a map)."""
WORKER_TYPE: Final = "WorkerType"
WORKER_COUNT: Final = "WorkerCount"
SPARK_PROPERTIES: Final = "SparkProperties"
RESULT_FORMAT: Final = "ResultFormat"
RETENTION_IN_DAYS: Final = "RetentionInDays"
ROLE_ARN: Final = "RoleArn"
COMPUTE_PAYER_ACCOUNT_ID: Final = "ComputePayerAccountId"
SYNTHETIC_DATA_PAYER_ACCOUNT_ID: Final = "SyntheticDataPayerAccountId"
ATTR_ML_INPUT_CHANNEL_ARN: Final = "MlInputChannelArn"
ATTR_NAME: Final = "Name"

# --- Custom::CleanRoomsMLTrainedModelInferenceJob -------------------------------------
INFERENCE_JOB_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLTrainedModelInferenceJob"
TRAINED_MODEL_ARN: Final = "TrainedModelArn"
TRAINED_MODEL_VERSION_IDENTIFIER: Final = "TrainedModelVersionIdentifier"
ML_INPUT_CHANNEL_ARN: Final = "MlInputChannelArn"
OUTPUT_ACCOUNT_ID: Final = "OutputAccountId"
ACCEPT: Final = "Accept"
MAX_PAYLOAD_IN_MB: Final = "MaxPayloadInMB"
ML_MODEL_INFERENCE_PAYER_ACCOUNT_ID: Final = "MlModelInferencePayerAccountId"
ATTR_TRAINED_MODEL_INFERENCE_JOB_ARN: Final = "TrainedModelInferenceJobArn"

# --- Custom::CleanRoomsMLConfiguration --------------------------------------------------
ML_CONFIGURATION_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLConfiguration"
OUTPUT_S3_URI: Final = "OutputS3Uri"
"""``defaultOutputLocation.destination.s3Destination.s3Uri``; with ROLE_ARN its role."""
ATTR_MEMBERSHIP_IDENTIFIER: Final = "MembershipIdentifier"

# --- Custom::CleanRoomsMLTrainedModelExportJob -----------------------------------------
TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLTrainedModelExportJob"
"""Properties: MEMBERSHIP_IDENTIFIER, TRAINED_MODEL_ARN, TRAINED_MODEL_VERSION_IDENTIFIER,
OUTPUT_ACCOUNT_ID, DESCRIPTION; attributes ATTR_NAME, ATTR_STATUS."""

# --- Custom::CleanRoomsMLAudienceModel (an account's, not a membership's) -------------
AUDIENCE_MODEL_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLAudienceModel"
TRAINING_DATASET_ARN: Final = "TrainingDatasetArn"
TRAINING_DATA_START_TIME: Final = "TrainingDataStartTime"
"""ISO 8601 with a UTC offset (``2026-01-01T00:00:00Z``); with TRAINING_DATA_END_TIME."""
TRAINING_DATA_END_TIME: Final = "TrainingDataEndTime"
ATTR_AUDIENCE_MODEL_ARN: Final = "AudienceModelArn"

# --- Custom::CleanRoomsMLConfiguredAudienceModel ---------------------------------------
CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLConfiguredAudienceModel"
AUDIENCE_MODEL_ARN: Final = "AudienceModelArn"
SHARED_AUDIENCE_METRICS: Final = "SharedAudienceMetrics"
"""``ALL`` or ``NONE`` (the API's one-item list)."""
MIN_MATCHING_SEED_SIZE: Final = "MinMatchingSeedSize"
AUDIENCE_SIZE_TYPE: Final = "AudienceSizeType"
AUDIENCE_SIZE_BINS: Final = "AudienceSizeBins"
CHILD_RESOURCE_TAG_ON_CREATE_POLICY: Final = "ChildResourceTagOnCreatePolicy"
RESOURCE_POLICY: Final = "ResourcePolicy"
"""The configured audience model's resource policy (a JSON document, as text)."""
ATTR_CONFIGURED_AUDIENCE_MODEL_ARN: Final = "ConfiguredAudienceModelArn"
"""With OUTPUT_S3_URI and ROLE_ARN (``outputConfig``) and DESCRIPTION."""

# --- Custom::CleanRoomsMLAudienceGenerationJob -----------------------------------------
AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLAudienceGenerationJob"
CONFIGURED_AUDIENCE_MODEL_ARN: Final = "ConfiguredAudienceModelArn"
SEED_S3_URI: Final = "SeedS3Uri"
"""A seed audience in S3; or a SQL one (QUERY_STRING or ANALYSIS_TEMPLATE_ARN with
PARAMETERS, and WORKER_TYPE, WORKER_COUNT, SPARK_PROPERTIES), with ROLE_ARN either way."""
INCLUDE_SEED_IN_OUTPUT: Final = "IncludeSeedInOutput"
COLLABORATION_ID: Final = "CollaborationId"
ATTR_AUDIENCE_GENERATION_JOB_ARN: Final = "AudienceGenerationJobArn"

# --- Custom::CleanRoomsMLAudienceExportJob ---------------------------------------------
AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLAudienceExportJob"
AUDIENCE_GENERATION_JOB_ARN: Final = "AudienceGenerationJobArn"
AUDIENCE_SIZE_VALUE: Final = "AudienceSizeValue"
"""With AUDIENCE_SIZE_TYPE: the size of the audience to export."""
ATTR_OUTPUT_LOCATION: Final = "OutputLocation"

# --- limits shared by both sides ----------------------------------------------
SHORT_PATH_MAX_SECONDS: Final = 3600
"""CloudFormation's cap on one custom-resource operation (ServiceTimeout): up to
this, the custom resource itself waits (the short path)."""
SHORT_PATH_DEADLINE_SECONDS: Final = SHORT_PATH_MAX_SECONDS - 120
"""The longest the custom resource itself waits, counted from ``on_event``: two
minutes inside CloudFormation's cap, so that the handler's own timeout message
(model, last status, elapsed time) reaches the stack events rather than
CloudFormation's generic "did not receive a response"."""
MAX_COMPLETION_TIMEOUT_SECONDS: Final = 43200
"""``AWS::CloudFormation::WaitCondition``'s cap (12 hours): the long path."""
DEFAULT_COMPLETION_TIMEOUT_SECONDS: Final = 3600

# --- the long path's waiter (Step Functions state machine, one per stack) ------
LONG_WAITER_ARN_ENV: Final = "CLEANROOMS_ML_LONG_WAITER_ARN"
"""Environment variable of the on_event function: the waiter state machine's ARN."""
LONG_WAIT_POLL_SECONDS_ENV: Final = "CLEANROOMS_ML_LONG_WAIT_POLL_SECONDS"
"""Optional environment variable of the waiter function: a fixed poll interval
(local mode sets it; by default the interval grows from 30 s to 120 s)."""
WAIT_SIGNAL_ID: Final = "model"
"""The UniqueId of the waiter's signal."""
ATTRIBUTES_RESOURCE_TYPE: Final = "Custom::CleanRoomsMLTrainedModelAttributes"
"""Long path: a resource after the WaitCondition that echoes the model's attributes
(its properties are the ``ATTR_*`` keys), so whatever references them waits too."""

RESERVED_TAG_KEY: Final = "cdk-cleanrooms-ml:owner"
"""Tag the handler adds to every model it creates; it marks ownership.

Its value identifies the stack and logical resource, the create request and the
model's configuration, so that a retried create adopts its own model and a delete
never touches a model another resource created. It takes one of the API's 50
tags, so users get 49.
"""
MAX_USER_TAGS: Final = 49
VERSION_TAG_KEY_PREFIX: Final = f"{RESERVED_TAG_KEY}/"
"""A model trained incrementally carries its ownership tag under a key of its own,
``version_tag_key(name)``, in place of ``RESERVED_TAG_KEY`` (ASSUMPTION A2).

Tags are per ARN. If an incremental model is a new version of its base model's ARN
(the "shared ARN" reading of the API), every version of that ARN shares one tag set:
a version's create must not overwrite the base's ``RESERVED_TAG_KEY``, and each
version's ownership must be readable on its own. The key is derived from the
version's name, which the handler chooses before the create call (a create whose
answer was lost is found by it) and which every describe of the version returns.
No user tag key may start with this prefix.
"""


def version_tag_key(name: str) -> str:
    """The reserved tag key of the model version named ``name`` (see
    ``VERSION_TAG_KEY_PREFIX``): 16 hex digits of the name's SHA-256."""
    return VERSION_TAG_KEY_PREFIX + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def is_reserved_tag_key(key: str) -> bool:
    """Whether ``key`` is one of the handler's own ownership tag keys."""
    return key == RESERVED_TAG_KEY or key.startswith(VERSION_TAG_KEY_PREFIX)


GENERATED_NAME_PREFIX_MAX_LENGTH: Final = 49
"""The construct generates a prefix of at most this many characters; the handler
adds ``-`` and a 13-character suffix, which keeps names within the API's 63."""
GENERATED_NAME_SUFFIX_LENGTH: Final = 13
