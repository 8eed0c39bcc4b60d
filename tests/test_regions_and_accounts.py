"""The emulator serves each request in its own region, as AWS's regional endpoints do:
the region comes from the request (its SigV4 credential scope, else its endpoint host,
else the emulator's default), ARNs carry it (in its partition) and the emulator's
account (a setting, the local cloud's by default), a region sees only its own
resources, and a Clean Rooms (ML) ARN of another region is not found (A20). The
handler, its client in eu-west-1, deploys every kind there end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from cfn import CloudFormation, Framework
from emulated import client_for, emulator_client, fresh_emulator, instant, serve

import contract
from cdk_cleanrooms_ml.local import cloud
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from cdk_cleanrooms_ml.local.emulator.server import request_region
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL, JOB, MODEL
from helpers import MEMBERSHIP, handler_properties

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

EU = "eu-west-1"
ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml"  # IAM is global: no region


def prefix(region: str, account: str = cloud.ACCOUNT, partition: str = "aws") -> str:
    return f"arn:{partition}:cleanrooms-ml:{region}:{account}:membership/{MEMBERSHIP}"


def association(region: str) -> str:
    return f"{prefix(region, '111122223333')}/configured-model-algorithm-association/a"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    yield from serve(instant())


def _client(server: EmulatorServer, region: str) -> CleanRoomsMLClient:
    return emulator_client(server, region)


def _model(client: CleanRoomsMLClient, region: str, name: str = "m", **extra: Any) -> str:
    arn: str = client.create_trained_model(
        membershipIdentifier=MEMBERSHIP,
        name=name,
        configuredModelAlgorithmAssociationArn=association(region),
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[
            {"mlInputChannelArn": f"{prefix(region)}/ml-input-channel/c", "channelName": "t"}
        ],
        **extra,
    )["trainedModelArn"]
    return arn


@pytest.mark.parametrize(
    ("authorization", "host", "region"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/cleanrooms-ml/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
            "127.0.0.1:4599",
            "eu-west-1",
        ),
        (  # the signature wins over the host
            "AWS4-HMAC-SHA256 Credential=AKID/20261128/ap-south-2/cleanrooms-ml/aws4_request",
            "cleanrooms-ml.eu-west-1.amazonaws.com",
            "ap-south-2",
        ),
        ("", "cleanrooms-ml.eu-central-1.amazonaws.com", "eu-central-1"),
        ("", "cleanrooms-ml-fips.us-gov-west-1.amazonaws.com:443", "us-gov-west-1"),
        ("", "CLEANROOMS-ML.CN-NORTH-1.AMAZONAWS.COM.CN", "cn-north-1"),
        ("", "127.0.0.1:4599", "us-east-1"),  # neither names one: the default
        (  # a scope for another service is no Clean Rooms ML request's region
            "AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-west-1/s3/aws4_request",
            "127.0.0.1:4599",
            "us-east-1",
        ),
    ],
)
def test_the_region_comes_from_the_signature_then_the_host_then_the_default(
    authorization: str, host: str, region: str
) -> None:
    assert request_region(authorization, host, "us-east-1") == region


def test_a_client_in_another_region_gets_its_regions_arns_and_sees_only_them(
    server: EmulatorServer,
) -> None:
    eu, us = _client(server, EU), _client(server, "us-east-1")
    model = _model(eu, EU, tags={"a": "1"})
    assert model.startswith(f"{prefix(EU)}/trained-model/")
    got = eu.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=model)
    assert got["trainedModelArn"] == model
    listed = eu.list_trained_models(membershipIdentifier=MEMBERSHIP)["trainedModels"]
    assert [m["trainedModelArn"] for m in listed] == [model]
    assert eu.list_tags_for_resource(resourceArn=model)["tags"] == {"a": "1"}
    eu.put_ml_configuration(
        membershipIdentifier=MEMBERSHIP,
        defaultOutputLocation={
            "destination": {"s3Destination": {"s3Uri": "s3://b/"}},
            "roleArn": ROLE,
        },
    )

    assert us.list_trained_models(membershipIdentifier=MEMBERSHIP)["trainedModels"] == []
    for call in (
        lambda: us.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=model),
        lambda: us.list_tags_for_resource(resourceArn=model),
        lambda: us.tag_resource(resourceArn=model, tags={"b": "2"}),
        lambda: us.delete_trained_model_output(
            membershipIdentifier=MEMBERSHIP, trainedModelArn=model
        ),
        lambda: us.get_ml_configuration(membershipIdentifier=MEMBERSHIP),
    ):
        with pytest.raises(us.exceptions.ResourceNotFoundException):
            call()
    us_model = _model(us, "us-east-1")  # a name is held per region (A1)
    assert us_model.startswith(f"{prefix('us-east-1')}/trained-model/")
    assert [m["region"] for m in server.emulator.snapshot(MODEL)] == [EU, "us-east-1"]

    eu.delete_trained_model_output(membershipIdentifier=MEMBERSHIP, trainedModelArn=model)
    status = eu.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=model)
    assert status["status"] == "INACTIVE"
    eu.delete_ml_configuration(membershipIdentifier=MEMBERSHIP)


def test_a_clean_rooms_arn_of_another_region_is_not_found(server: EmulatorServer) -> None:
    """A20: associations, channels, base models, analysis templates and tagged resources
    are found in the request's region only; IAM roles (global) and KMS keys are not
    Clean Rooms resources and pass."""
    eu = _client(server, EU)
    with pytest.raises(eu.exceptions.ResourceNotFoundException) as raised:
        eu.create_trained_model(
            membershipIdentifier=MEMBERSHIP,
            name="m",
            configuredModelAlgorithmAssociationArn=association("us-east-1"),
            resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
            dataChannels=[
                {"mlInputChannelArn": f"{prefix(EU)}/ml-input-channel/c", "channelName": "t"}
            ],
        )
    assert raised.value.response["Error"]["Message"] == (
        f"configuredModelAlgorithmAssociationArn: {association('us-east-1')} not found in "
        "eu-west-1 (it names us-east-1)"
    )
    with pytest.raises(eu.exceptions.ResourceNotFoundException, match=r"dataChannels\[0\]"):
        eu.create_trained_model(
            membershipIdentifier=MEMBERSHIP,
            name="m",
            configuredModelAlgorithmAssociationArn=association(EU),
            resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
            dataChannels=[
                {
                    "mlInputChannelArn": f"{prefix('eu-west-2')}/ml-input-channel/c",
                    "channelName": "t",
                }
            ],
        )
    template = (
        f"arn:aws:cleanrooms:us-east-1:000000000000:membership/{MEMBERSHIP}/analysistemplate/t"
    )
    with pytest.raises(eu.exceptions.ResourceNotFoundException, match="analysisTemplateArn"):
        eu.create_ml_input_channel(
            membershipIdentifier=MEMBERSHIP,
            name="c",
            configuredModelAlgorithmAssociations=[association(EU)],
            inputChannel={
                "dataSource": {
                    "protectedQueryInputParameters": {
                        "sqlParameters": {"analysisTemplateArn": template}
                    }
                },
                "roleArn": ROLE,
            },
            retentionInDays=7,
        )
    key = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-4333-8444-555555555555"
    assert _model(eu, EU, kmsKeyArn=key).startswith(prefix(EU))
    assert server.emulator.snapshot(MODEL)[0]["region"] == EU


def test_the_account_is_a_setting_and_another_accounts_arn_is_not_found() -> None:
    with _emulator(account="123456789012") as server:
        client = _client(server, "us-east-1")
        model = _model(client, "us-east-1")
        assert model.startswith(f"{prefix('us-east-1', '123456789012')}/trained-model/")
        elsewhere = model.replace(":123456789012:", f":{cloud.ACCOUNT}:")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=elsewhere)


def test_an_arn_is_in_its_regions_partition() -> None:
    china_prefix = prefix("cn-north-1", partition="aws-cn")
    with _emulator() as server:
        china = _client(server, "cn-north-1")
        arn = china.create_trained_model(
            membershipIdentifier=MEMBERSHIP,
            name="m",
            configuredModelAlgorithmAssociationArn=association("cn-north-1").replace(
                "arn:aws:", "arn:aws-cn:"
            ),
            resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
            dataChannels=[
                {
                    "mlInputChannelArn": f"{china_prefix}/ml-input-channel/c",
                    "channelName": "t",
                }
            ],
        )["trainedModelArn"]
        assert arn.startswith(f"{china_prefix}/trained-model/")
        with pytest.raises(china.exceptions.ResourceNotFoundException, match="not found in"):
            _model(china, "cn-north-1", name="other")  # arn:aws: is another partition


def test_an_unsigned_request_takes_the_region_its_host_names(server: EmulatorServer) -> None:
    body = {
        "defaultOutputLocation": {
            "destination": {"s3Destination": {"s3Uri": "s3://b/"}},
            "roleArn": ROLE,
        }
    }
    request = urllib.request.Request(
        f"{server.endpoint_url}/memberships/{MEMBERSHIP}/ml-configurations",
        json.dumps(body).encode(),
        headers={"Host": "cleanrooms-ml.ap-southeast-2.amazonaws.com"},
        method="PUT",
    )
    urllib.request.urlopen(request).read()
    assert server.emulator.configurations("ap-southeast-2") == {
        MEMBERSHIP: server.emulator.configurations("ap-southeast-2")[MEMBERSHIP]
    }
    assert server.emulator.configurations() == {}  # not the default region's


def test_the_command_line_sets_the_account_and_the_default_region() -> None:
    """``python -m cdk_cleanrooms_ml.local.emulator --account ... --region ...`` (the
    local cloud passes its own); a request that names no region gets the default."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdk_cleanrooms_ml.local.emulator",
            "--port",
            "0",
            "--training-seconds",
            "0",
            "--account",
            "123456789012",
            "--region",
            "eu-central-1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        body = {
            "name": "m",
            "configuredModelAlgorithmAssociationArn": association("eu-central-1"),
            "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
            "dataChannels": [
                {
                    "mlInputChannelArn": f"{prefix('eu-central-1')}/ml-input-channel/c",
                    "channelName": "t",
                }
            ],
        }
        request = urllib.request.Request(
            f"{url}/memberships/{MEMBERSHIP}/trained-models", json.dumps(body).encode()
        )
        with urllib.request.urlopen(request) as response:
            arn = json.loads(response.read())["trainedModelArn"]
        assert arn.startswith(f"{prefix('eu-central-1', '123456789012')}/trained-model/")
    finally:
        process.terminate()
        process.wait(timeout=10)


class _emulator:  # noqa: N801 (used as a context manager, like a function)
    """An emulator with these settings on its own server."""

    def __init__(self, **settings: Any) -> None:
        self.server = start_server(Emulator(timings=Timings(0.0, 0.0, 0.0), **settings))

    def __enter__(self) -> EmulatorServer:
        return self.server

    def __exit__(self, *_: object) -> None:
        self.server.stop()


# --- the handler, its client in eu-west-1 --------------------------------------------


@pytest.fixture(scope="module")
def shared_server() -> Iterator[EmulatorServer]:
    yield from serve()


def test_the_handler_deploys_every_kind_in_another_region_end_to_end(
    monkeypatch: pytest.MonkeyPatch, shared_server: EmulatorServer
) -> None:
    """The handler's client configured for eu-west-1 (as Lambda's AWS_REGION sets it)
    against the emulator: create, get, list and delete of an ML configuration, an ML
    input channel, a trained model on it and an inference job, all with eu-west-1
    ARNs; us-east-1 sees none of them."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", EU)
    emulator = fresh_emulator(monkeypatch, shared_server, client_for(shared_server))
    framework = Framework(advance=emulator.clock.advance)

    def stack(resource_type: str, logical_id: str) -> CloudFormation:
        return CloudFormation(framework, resource_type=resource_type, logical_id=logical_id)

    destroy = {contract.REMOVAL_POLICY: "destroy"}
    configuration = {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.OUTPUT_S3_URI: "s3://results/ml/",
        contract.ROLE_ARN: ROLE,
        **destroy,
    }
    channel = {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.NAME_PREFIX: "Eu-Channel",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: association(EU),
        contract.QUERY_STRING: "SELECT a FROM t",
        contract.ROLE_ARN: ROLE,
        contract.RETENTION_IN_DAYS: "7",
        **destroy,
    }
    deployed: dict[str, tuple[CloudFormation, dict[str, Any], str]] = {}

    def deploy(kind: str, cfn: CloudFormation, props: dict[str, Any]) -> str:
        done = cfn.create(props)
        assert done.ok, done.reason
        deployed[kind] = (cfn, props, done.physical_id)
        return done.physical_id

    deploy("configuration", stack(contract.ML_CONFIGURATION_RESOURCE_TYPE, "Config"), configuration)
    channel_arn = deploy(
        CHANNEL, stack(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE, "Channel"), channel
    )
    model_props = handler_properties(
        **{
            contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: association(EU),
            contract.DATA_CHANNELS: [
                {contract.CHANNEL_ML_INPUT_CHANNEL_ARN: channel_arn, contract.CHANNEL_NAME: "t"}
            ],
            **destroy,
        }
    )
    model_arn = deploy(MODEL, stack(contract.RESOURCE_TYPE, "Model"), model_props)
    job = {
        contract.MEMBERSHIP_IDENTIFIER: MEMBERSHIP,
        contract.NAME_PREFIX: "Eu-Inference",
        contract.TRAINED_MODEL_ARN: model_arn,
        contract.ML_INPUT_CHANNEL_ARN: channel_arn,
        contract.INSTANCE_TYPE: "ml.m5.xlarge",
        contract.OUTPUT_ACCOUNT_ID: cloud.ACCOUNT,
        **destroy,
    }
    job_arn = deploy(JOB, stack(contract.INFERENCE_JOB_RESOURCE_TYPE, "Job"), job)

    for arn, noun in ((channel_arn, CHANNEL), (model_arn, MODEL), (job_arn, JOB)):
        assert arn.startswith(f"{prefix(EU)}/{noun}/"), arn
        (found,) = emulator.snapshot(noun)
        assert (found["arn"], found["region"]) == (arn, EU)
    eu, us = _client(shared_server, EU), _client(shared_server, "us-east-1")
    mine: dict[str, Any] = {"membershipIdentifier": MEMBERSHIP}
    assert eu.get_trained_model(**mine, trainedModelArn=model_arn)["status"] == "ACTIVE"
    assert eu.get_ml_input_channel(**mine, mlInputChannelArn=channel_arn)["status"] == "ACTIVE"
    got = eu.get_trained_model_inference_job(**mine, trainedModelInferenceJobArn=job_arn)
    assert got["trainedModelArn"] == model_arn
    listed = eu.list_trained_models(**mine)["trainedModels"]
    assert [m["trainedModelArn"] for m in listed] == [model_arn]
    assert eu.get_ml_configuration(**mine)["defaultOutputLocation"]["roleArn"] == ROLE
    assert list(emulator.configurations(EU)) == [MEMBERSHIP]
    assert emulator.configurations("us-east-1") == {}
    assert us.list_trained_models(**mine)["trainedModels"] == []
    assert us.list_ml_input_channels(**mine)["mlInputChannelsList"] == []
    assert us.list_trained_model_inference_jobs(**mine)["trainedModelInferenceJobs"] == []

    for kind in (JOB, MODEL, CHANNEL, "configuration"):
        cfn, props, physical_id = deployed[kind]
        done = cfn.delete(props, physical_id=physical_id)
        assert done.ok, done.reason
    emulator.clock.advance(60)
    assert eu.get_trained_model(**mine, trainedModelArn=model_arn)["status"] == "INACTIVE"
    assert eu.get_ml_input_channel(**mine, mlInputChannelArn=channel_arn)["status"] == "INACTIVE"
    with pytest.raises(eu.exceptions.ResourceNotFoundException):
        eu.get_ml_configuration(**mine)
    assert {operation for operation, _ in emulator.history} >= {
        "PutMLConfiguration",
        "CreateMLInputChannel",
        "CreateTrainedModel",
        "StartTrainedModelInferenceJob",
        "GetTrainedModel",
        "ListTrainedModels",
        "DeleteTrainedModelOutput",
        "DeleteMLInputChannelData",
        "DeleteMLConfiguration",
    }
