"""The handler's real entry points against the Clean Rooms ML emulator over HTTP, on the
emulator's virtual clock: what the in-process lifecycle tests share.

``fresh_emulator`` points the handler (``index``) at a new emulator behind a running
server, with the handler's clock and sleep on the emulator's clock; ``World`` drives
logical resources of a stack through ``cfn.CloudFormation`` around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from cfn import CloudFormation, Framework

import aws_client
import contract
import engine
import index
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from cdk_cleanrooms_ml.local.emulator.state import BASE_ONLY, NEW_ARN, SHARED_ARN
from helpers import LOGICAL_ID, STACK_ID, handler_properties

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

EPOCH = 1_800_000_000.0
"""The handler's clock at the emulator's time zero."""
M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{M}"
ASSOCIATION = f"{PREFIX}/configured-model-algorithm-association/a"
CHANNEL_ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml-channel"
CONFIG_ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml-config"


def serve(emulator: Emulator | None = None) -> Iterator[EmulatorServer]:
    """An emulator server for a fixture (a module's may replace its emulator for each
    test)."""
    running = start_server(emulator or Emulator())
    yield running
    running.stop()


def instant() -> Emulator:
    """An emulator whose every phase takes no time."""
    return Emulator(timings=Timings(0.0, 0.0, 0.0))


def emulator_client(
    server: EmulatorServer, region: str = "us-east-1", *, attempts: int = 1, validate: bool = True
) -> CleanRoomsMLClient:
    """A plain boto3 client of ``server`` in ``region`` (``attempts`` per call)."""
    return boto3.client(
        "cleanroomsml",
        endpoint_url=server.endpoint_url,
        region_name=region,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(
            parameter_validation=validate,
            retries={"mode": "standard", "total_max_attempts": attempts},
        ),
    )


def client_for(server: EmulatorServer, attempts: int = aws_client.TOTAL_ATTEMPTS) -> Any:
    """The handler's cleanroomsml client, pointed at ``server`` (``attempts`` per call)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_CLEANROOMSML", server.endpoint_url)
        patch.setattr(aws_client, "TOTAL_ATTEMPTS", attempts)
        return aws_client.make_client()


BEHAVIOURS = (NEW_ARN, SHARED_ARN)
"""The readings of incremental training (ASSUMPTION A2) a test runs under."""


def fresh_emulator(
    monkeypatch: pytest.MonkeyPatch,
    server: EmulatorServer,
    client: Any,
    incremental_training: str = NEW_ARN,
    base_output_delete: str = BASE_ONLY,
) -> Emulator:
    """A new emulator behind ``server`` (playing ``incremental_training`` and
    ``base_output_delete``, ASSUMPTION A2), and the handler on it and on its clock."""
    emulator = Emulator(
        timings=Timings(pending_seconds=5, training_seconds=60, transition_seconds=5),
        incremental_training=incremental_training,
        base_output_delete=base_output_delete,
    )
    server.emulator = emulator
    monkeypatch.setattr(index, "_client", client)
    monkeypatch.setattr(index, "clock", lambda: EPOCH + emulator.clock.now())
    monkeypatch.setattr(index, "sleep", emulator.clock.advance)
    engine.RESOLVED.clear()
    return emulator


@dataclass
class World:
    """The emulator and the Provider framework around the handler."""

    emulator: Emulator
    framework: Framework

    @classmethod
    def on(cls, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, **settings: str) -> World:
        """A fresh emulator (``settings``: ``fresh_emulator``'s) behind ``server``."""
        emulator = fresh_emulator(monkeypatch, server, client_for(server), **settings)
        return cls(emulator, Framework(advance=emulator.clock.advance))

    def cfn(
        self,
        resource_type: str = contract.RESOURCE_TYPE,
        logical_id: str = LOGICAL_ID,
        stack_id: str = STACK_ID,
    ) -> CloudFormation:
        """The events CloudFormation sends one logical resource of a stack."""
        return CloudFormation(
            self.framework, resource_type=resource_type, logical_id=logical_id, stack_id=stack_id
        )

    def settle(self, seconds: float = 60) -> None:
        self.emulator.clock.advance(seconds)


def input_model(emulator: Emulator, base: str | None = None) -> dict[str, Any]:
    """A trained model the test makes (trained incrementally from ``base``: a version
    of it, or a new model, by the emulator's reading of A2), ACTIVE: the create's answer."""
    request: dict[str, Any] = {
        "membershipIdentifier": M,
        "name": "input-model" if base is None else "input-version",
        "configuredModelAlgorithmAssociationArn": ASSOCIATION,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
        "dataChannels": [{"mlInputChannelArn": f"{PREFIX}/ml-input-channel/x", "channelName": "t"}],
    }
    if base is not None:
        request["incrementalTrainingDataChannels"] = [
            {"trainedModelArn": base, "channelName": "base"}
        ]
    made: dict[str, Any] = emulator.call("CreateTrainedModel", request)
    emulator.clock.advance(3600)
    return made


def active_inputs(emulator: Emulator, version: bool = False) -> tuple[str, str, str | None]:
    """An ACTIVE trained model (a version trained from a base, if ``version``) and ML
    input channel made in ``emulator``, for inference jobs (A16): their ARNs, and the
    model's version."""
    model = input_model(emulator)
    if version:
        model = input_model(emulator, model["trainedModelArn"])
    channel = emulator.call(
        "CreateMLInputChannel",
        {
            "membershipIdentifier": M,
            "name": "input-channel",
            "configuredModelAlgorithmAssociations": [ASSOCIATION],
            "inputChannel": {
                "dataSource": {
                    "protectedQueryInputParameters": {"sqlParameters": {"queryString": "q"}}
                },
                "roleArn": CHANNEL_ROLE,
            },
            "retentionInDays": 1,
        },
    )["mlInputChannelArn"]
    emulator.clock.advance(3600)
    return str(model["trainedModelArn"]), str(channel), model.get("versionIdentifier")


def model_props(epochs: str, **extra: Any) -> dict[str, Any]:
    """A trained model's properties under DESTROY, ``epochs`` telling configurations apart."""
    fields: dict[str, Any] = {
        contract.HYPERPARAMETERS: {"epochs": epochs},
        contract.REMOVAL_POLICY: "destroy",
    }
    fields.update(extra)
    return handler_properties(**fields)


def channel_props(query: str, **extra: Any) -> dict[str, Any]:
    """An ML input channel's properties under DESTROY, ``query`` telling them apart."""
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME_PREFIX: "Test-Channel",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION,
        contract.QUERY_STRING: query,
        contract.ROLE_ARN: CHANNEL_ROLE,
        contract.RETENTION_IN_DAYS: "7",
        contract.REMOVAL_POLICY: "destroy",
    }
    props.update(extra)
    return props
