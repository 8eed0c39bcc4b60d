"""Test helpers: valid construct props, synthesis, CloudFormation-style events."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from aws_cdk import App, CfnElement, Duration, Environment, Size, Stack
from aws_cdk.assertions import Template
from botocore.stub import ANY, Stubber

import contract
from cdk_cleanrooms_ml import (
    AudienceGenerationJob,
    AudienceModel,
    AudienceSize,
    AudienceSizeConfig,
    AudienceSizeType,
    ConfiguredAudienceModel,
    DataChannel,
    InstanceType,
    MLInputChannel,
    MLInputChannelDataSource,
    SeedAudience,
    SharedAudienceMetrics,
    TrainedModel,
)
from constructs import IConstruct

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

ACCOUNT = "111122223333"
REGION = "us-east-1"
MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
OTHER_MEMBERSHIP = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
PREFIX = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}"
ASSOCIATION_ARN = f"{PREFIX}/configured-model-algorithm-association/assoc-1"
CHANNEL_ARN = f"{PREFIX}/ml-input-channel/channel-1"
CHANNEL_ARN_2 = f"{PREFIX}/ml-input-channel/channel-2"
MODEL_ARN = f"{PREFIX}/trained-model/model-1"
MODEL_ARN_2 = f"{PREFIX}/trained-model/model-2"
BASE_MODEL_ARN = f"{PREFIX}/trained-model/base-model"
VERSION = "11111111-2222-4333-8444-555555555555"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Test/7e4c1b70-0000-11ef-8000-0a1b2c3d4e5f"
)
ACCOUNT_PREFIX = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}"
TRAINING_DATASET_ARN = f"{ACCOUNT_PREFIX}:training-dataset/dataset-1"
AUDIENCE_MODEL_ARN = f"{ACCOUNT_PREFIX}:audience-model/audience-1"
CONFIGURED_AUDIENCE_MODEL_ARN = f"{ACCOUNT_PREFIX}:configured-audience-model/configured-1"
AUDIENCE_GENERATION_JOB_ARN = f"{ACCOUNT_PREFIX}:audience-generation-job/generation-1"
LOGICAL_ID = "Model0301700E"
TIMESTAMP = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def valid_props(**overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``TrainedModel`` props, with overrides."""
    props: dict[str, Any] = {
        "membership_identifier": MEMBERSHIP,
        "configured_model_algorithm_association_arn": ASSOCIATION_ARN,
        "instance_type": InstanceType.ML_M5_XLARGE,
        "volume_size": Size.gibibytes(50),
        "data_channels": [DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
    }
    props.update(overrides)
    return props


def channel_props(**overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``MLInputChannel`` props, with overrides."""
    props: dict[str, Any] = {
        "membership_identifier": MEMBERSHIP,
        "configured_model_algorithm_association": ASSOCIATION_ARN,
        "data_source": MLInputChannelDataSource.sql("SELECT a, b FROM t"),
        "retention": Duration.days(7),
    }
    props.update(overrides)
    return props


def job_props(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``TrainedModelInferenceJob`` props (imported model and
    channel in ``stack``), with overrides."""
    props: dict[str, Any] = {
        "membership_identifier": MEMBERSHIP,
        "trained_model": TrainedModel.from_trained_model_arn(stack, "ImportedModel", MODEL_ARN),
        "data_source": MLInputChannel.from_ml_input_channel_arn(stack, "Imported", CHANNEL_ARN),
        "instance_type": InstanceType.ML_M5_XLARGE,
        "output_account_id": ACCOUNT,
    }
    props.update(overrides)
    return props


def model_export_props(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``TrainedModelExportJob`` props, with overrides."""
    props: dict[str, Any] = {
        "membership_identifier": MEMBERSHIP,
        "trained_model": TrainedModel.from_trained_model_arn(stack, "ExportedModel", MODEL_ARN),
        "output_account_id": ACCOUNT,
    }
    props.update(overrides)
    return props


def audience_model_props(**overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``AudienceModel`` props, with overrides."""
    props: dict[str, Any] = {"training_dataset": TRAINING_DATASET_ARN}
    props.update(overrides)
    return props


def configured_props(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``ConfiguredAudienceModel`` props, with overrides."""
    from aws_cdk import aws_s3 as s3

    props: dict[str, Any] = {
        "audience_model": AudienceModel.from_audience_model_arn(
            stack, "ImportedAudienceModel", AUDIENCE_MODEL_ARN
        ),
        "output_bucket": s3.Bucket.from_bucket_name(stack, "AudienceBucket", "audiences"),
        "shared_audience_metrics": SharedAudienceMetrics.NONE,
        "audience_size_config": AudienceSizeConfig(AudienceSizeType.ABSOLUTE, [10000, 50000]),
    }
    props.update(overrides)
    return props


def generation_props(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``AudienceGenerationJob`` props, with overrides."""
    from aws_cdk import aws_s3 as s3

    props: dict[str, Any] = {
        "configured_audience_model": ConfiguredAudienceModel.from_configured_audience_model_arn(
            stack, "ImportedConfigured", CONFIGURED_AUDIENCE_MODEL_ARN
        ),
        "seed_audience": SeedAudience.from_bucket(
            s3.Bucket.from_bucket_name(stack, "SeedBucket", "seeds"), "seed/users.csv"
        ),
    }
    props.update(overrides)
    return props


def audience_export_props(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """The smallest valid set of ``AudienceExportJob`` props, with overrides."""
    props: dict[str, Any] = {
        "audience_generation_job": AudienceGenerationJob.from_audience_generation_job_arn(
            stack, "ImportedGeneration", AUDIENCE_GENERATION_JOB_ARN
        ),
        "audience_size": AudienceSize(AudienceSizeType.ABSOLUTE, 10000),
    }
    props.update(overrides)
    return props


def new_stack(env: bool = True) -> Stack:
    app = App()
    if env:
        return Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    return Stack(app, "Test")


def model_resources(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources(contract.RESOURCE_TYPE)
    return {key: dict(value) for key, value in found.items()}


def only_model_properties(stack: Stack) -> dict[str, Any]:
    resources = model_resources(Template.from_stack(stack))
    assert len(resources) == 1
    (resource,) = resources.values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def cfn_stringify(value: Any) -> Any:
    """What CloudFormation hands a custom resource: every scalar as a string."""
    if isinstance(value, Mapping):
        return {key: cfn_stringify(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cfn_stringify(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def logical_id(construct: IConstruct | None) -> str:
    """The resolved logical id of a construct's CloudFormation resource."""
    assert construct is not None
    node_child = construct.node.default_child
    resource = cast(CfnElement, node_child if node_child is not None else construct)
    value: str = Stack.of(construct).resolve(resource.logical_id)
    return value


def synthesized_properties(construct: Any) -> dict[str, Any]:
    """A construct's resource properties as CloudFormation delivers them (no ServiceToken)."""
    stack = Stack.of(construct)
    resource = getattr(construct, "custom_resource", None) or construct.resource
    template = Template.from_stack(stack).to_json()
    props = copy.deepcopy(template["Resources"][logical_id(resource)]["Properties"])
    props.pop("ServiceToken")
    stringified: dict[str, Any] = cfn_stringify(props)
    return stringified


def api_accepts(operation: str, request: Mapping[str, Any]) -> None:
    """botocore's validator and the emulator's stricter one (patterns, ranges) accept it."""
    from botocore.validate import ParamValidator

    from cdk_cleanrooms_ml.local.emulator.shapes import service_model, validate

    model = botocore_model()
    shape = model.operation_model(operation).input_shape
    assert shape is not None
    report = ParamValidator().validate(dict(request), shape)
    assert not report.has_errors(), report.generate_report()
    strict = service_model().operation_model(operation).input_shape
    assert strict is not None
    problems = validate(strict, dict(request))
    assert not problems, problems


def botocore_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("cleanroomsml")


def handler_properties(**fields: Any) -> dict[str, Any]:
    """Resource properties as the handler receives them, with defaults."""
    props: dict[str, Any] = {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.NAME_PREFIX: "Test-Model-85D470EB",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION_ARN,
        contract.INSTANCE_TYPE: "ml.m5.xlarge",
        contract.VOLUME_SIZE_IN_GB: "50",
        contract.DATA_CHANNELS: [
            {contract.CHANNEL_ML_INPUT_CHANNEL_ARN: CHANNEL_ARN, contract.CHANNEL_NAME: "train"}
        ],
    }
    for key, value in fields.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def event(
    request_type: str,
    properties: Mapping[str, Any] | None = None,
    *,
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    logical_id: str = LOGICAL_ID,
    stack_id: str = STACK_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A CloudFormation custom resource event as the Provider framework passes it on."""
    raw: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:framework-onEvent",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/SECRET-PRESIGNED",
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": contract.RESOURCE_TYPE,
        "ResourceProperties": dict(properties if properties is not None else handler_properties()),
    }
    if physical_id is not None:
        raw["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        raw["OldResourceProperties"] = dict(old_properties)
    raw.update(extra)
    return raw


def then_poll(on_event_event: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """The is_complete input: the framework merges the on_event result into the event."""
    merged = dict(on_event_event)
    merged.update(result)
    return merged


def model_description(
    *,
    arn: str = MODEL_ARN,
    name: str = "Test-Model-85D470EB-0123456789ab",
    status: str = "CREATE_IN_PROGRESS",
    version: str | None = None,
    tags: Mapping[str, str] | None = None,
    status_details: Mapping[str, str] | None = None,
    update_time: datetime = TIMESTAMP,
) -> dict[str, Any]:
    """A ``get_trained_model`` response."""
    response: dict[str, Any] = {
        "membershipIdentifier": MEMBERSHIP,
        "collaborationIdentifier": OTHER_MEMBERSHIP,
        "trainedModelArn": arn,
        "name": name,
        "status": status,
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "createTime": TIMESTAMP,
        "updateTime": update_time,
        "dataChannels": [{"mlInputChannelArn": CHANNEL_ARN, "channelName": "train"}],
    }
    if version:
        response["versionIdentifier"] = version
    if tags is not None:
        response["tags"] = dict(tags)
    if status_details is not None:
        response["statusDetails"] = dict(status_details)
    return response


def summary(
    *,
    arn: str = MODEL_ARN,
    name: str,
    status: str = "CREATE_IN_PROGRESS",
    version: str | None = None,
) -> dict[str, Any]:
    """One ``list_trained_models`` entry."""
    item: dict[str, Any] = {
        "createTime": TIMESTAMP,
        "updateTime": TIMESTAMP,
        "trainedModelArn": arn,
        "name": name,
        "membershipIdentifier": MEMBERSHIP,
        "collaborationIdentifier": OTHER_MEMBERSHIP,
        "status": status,
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
    }
    if version:
        item["versionIdentifier"] = version
    return item


@dataclass
class StubbedClient:
    """A client plus its Stubber, with one helper per API call."""

    client: CleanRoomsMLClient
    stubber: Stubber

    def list_models(
        self,
        models: list[dict[str, Any]],
        *,
        next_token: str | None = None,
        token: str | None = None,
    ) -> None:
        response: dict[str, Any] = {"trainedModels": models}
        if next_token:
            response["nextToken"] = next_token
        params: dict[str, Any] = {"membershipIdentifier": MEMBERSHIP}
        if token:
            params["nextToken"] = token
        self.stubber.add_response("list_trained_models", response, params)

    def get_model(self, description: dict[str, Any], *, version: str | None = None) -> None:
        params: dict[str, Any] = {
            "membershipIdentifier": MEMBERSHIP,
            "trainedModelArn": description["trainedModelArn"],
        }
        if version:
            params["versionIdentifier"] = version
        self.stubber.add_response("get_trained_model", description, params)

    def create_model(
        self,
        *,
        arn: str = MODEL_ARN,
        version: str | None = None,
        expected: dict[str, Any] | None = None,
    ) -> None:
        response: dict[str, Any] = {"trainedModelArn": arn}
        if version:
            response["versionIdentifier"] = version
        self.stubber.add_response(
            "create_trained_model", response, expected if expected is not None else ANY_CREATE
        )

    def cancel(self, arn: str = MODEL_ARN, version: str | None = None) -> None:
        params: dict[str, Any] = {"membershipIdentifier": MEMBERSHIP, "trainedModelArn": arn}
        if version:
            params["versionIdentifier"] = version
        self.stubber.add_response("cancel_trained_model", {}, params)

    def delete_output(self, arn: str = MODEL_ARN, version: str | None = None) -> None:
        params: dict[str, Any] = {"membershipIdentifier": MEMBERSHIP, "trainedModelArn": arn}
        if version:
            params["versionIdentifier"] = version
        self.stubber.add_response("delete_trained_model_output", {}, params)

    def tag(self, tags: dict[str, str], arn: str = MODEL_ARN) -> None:
        self.stubber.add_response("tag_resource", {}, {"resourceArn": arn, "tags": tags})

    def untag(self, keys: list[str], arn: str = MODEL_ARN) -> None:
        self.stubber.add_response("untag_resource", {}, {"resourceArn": arn, "tagKeys": keys})

    def error(self, operation: str, code: str, status: int, message: str = "injected") -> None:
        self.stubber.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def fail(self, operation: str, fault: str | Exception) -> None:
        """The next ``operation`` fails: a modelled error by code, or botocore's own
        exception (a connection or timeout error), raised where the request would go."""
        if isinstance(fault, str):
            self.error(operation, fault, ERRORS[fault])
            return
        self.stubber.add_client_error(operation)
        self.stubber._queue[-1]["exception"] = fault  # type: ignore[attr-defined]


def raise_queued_exceptions(stubber: Stubber, client: Any) -> None:
    """Let ``StubbedClient.fail`` queue exceptions: raised in place of the response."""

    def before_call(model: Any, **kwargs: Any) -> None:
        queue = stubber._queue  # type: ignore[attr-defined]
        if queue and "exception" in queue[0] and queue[0]["operation_name"] == model.name:
            raise queue.popleft()["exception"]

    client.meta.events.register_first("before-call.*.*", before_call)


ANY_CREATE: dict[str, Any] = {
    "membershipIdentifier": ANY,
    "name": ANY,
    "configuredModelAlgorithmAssociationArn": ANY,
    "resourceConfig": ANY,
    "dataChannels": ANY,
    "tags": ANY,
}

ERRORS: dict[str, int] = {
    "ThrottlingException": 429,
    "InternalServiceException": 500,
    "ConflictException": 409,
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ServiceQuotaExceededException": 402,
    "ResourceNotFoundException": 404,
}
"""Every error the cleanroomsml operations the handler calls can return."""


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
