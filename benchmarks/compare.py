"""Side-by-side benchmark: our construct against what users write today.

    .venv/bin/python benchmarks/compare.py            # N = 1, 10, 50, 200

Three ways to get N trained models into one stack, synthesized in one run:

- **ours**: ``TrainedModel``;
- **AwsCustomResource** (the peer most users write today): one
  ``custom_resources.AwsCustomResource`` per model calling
  ``CleanRoomsML:CreateTrainedModel``, ``DeleteTrainedModelOutput`` on delete,
  ``AwsCustomResourcePolicy.from_sdk_calls``;
- **hand-written Provider**: a ``custom_resources.Provider`` with a minimal
  inline Python handler and a ``CustomResource`` per model.

Prints resources, template bytes, bytes per model, the largest N that fits
CloudFormation's 500-resource and 1 MB template limits, and synth time as a
ratio to the AwsCustomResource peer ("peer"; median of repeated runs). Timings are
ratios measured side by side, never thresholds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the project's pinned Node.js LTS (node_modules/.bin, from npm ci) runs jsii
os.environ["PATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent.parent / "node_modules" / ".bin"), os.environ["PATH"]]
)

from aws_cdk import App, CustomResource, Duration, Environment, Size, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel

MEMBERSHIP = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{MEMBERSHIP}"
ASSOCIATION = f"{PREFIX}/configured-model-algorithm-association/assoc"
CHANNEL = f"{PREFIX}/ml-input-channel/channel"
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000
REQUEST: dict[str, Any] = {
    "membershipIdentifier": MEMBERSHIP,
    "configuredModelAlgorithmAssociationArn": ASSOCIATION,
    "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 50},
    "dataChannels": [{"mlInputChannelArn": CHANNEL, "channelName": "train"}],
    "hyperparameters": {"epochs": "10"},
}
MINIMAL_HANDLER = """
import boto3
def on_event(event, context):
    client = boto3.client("cleanroomsml")
    props = event["ResourceProperties"]
    if event["RequestType"] == "Create":
        request = {k: v for k, v in props.items() if k != "ServiceToken"}
        config = request["resourceConfig"]
        config["volumeSizeInGB"] = int(config["volumeSizeInGB"])
        arn = client.create_trained_model(**request)["trainedModelArn"]
        return {"PhysicalResourceId": arn, "Data": {"TrainedModelArn": arn}}
    if event["RequestType"] == "Delete":
        client.delete_trained_model_output(
            trainedModelArn=event["PhysicalResourceId"],
            membershipIdentifier=props["membershipIdentifier"])
    return {"PhysicalResourceId": event["PhysicalResourceId"]}
def is_complete(event, context):
    client = boto3.client("cleanroomsml")
    status = client.get_trained_model(
        trainedModelArn=event["PhysicalResourceId"],
        membershipIdentifier=event["ResourceProperties"]["membershipIdentifier"])["status"]
    return {"IsComplete": status in ("ACTIVE", "INACTIVE")}
"""


def _stack() -> tuple[App, Stack]:
    app = App(context={"aws:cdk:enable-path-metadata": True})
    return app, Stack(app, "Bench", env=Environment(account="111122223333", region="us-east-1"))


def ours(n: int) -> App:
    app, stack = _stack()
    for i in range(n):
        TrainedModel(
            stack,
            f"Model{i}",
            membership_identifier=MEMBERSHIP,
            configured_model_algorithm_association_arn=ASSOCIATION,
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            data_channels=[DataChannel(ml_input_channel_arn=CHANNEL, channel_name="train")],
            hyperparameters={"epochs": "10"},
        )
    return app


def aws_custom_resource(n: int) -> App:
    app, stack = _stack()
    for i in range(n):
        create = cr.AwsSdkCall(
            service="CleanRoomsML",
            action="CreateTrainedModel",
            parameters={**REQUEST, "name": f"model-{i}"},
            physical_resource_id=cr.PhysicalResourceId.from_response("trainedModelArn"),
        )
        delete = cr.AwsSdkCall(
            service="CleanRoomsML",
            action="DeleteTrainedModelOutput",
            parameters={
                "trainedModelArn": cr.PhysicalResourceIdReference(),
                "membershipIdentifier": MEMBERSHIP,
            },
        )
        cr.AwsCustomResource(
            stack,
            f"Model{i}",
            on_create=create,
            on_delete=delete,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
    return app


def hand_written_provider(n: int) -> App:
    app, stack = _stack()
    code = lambda_.Code.from_inline(MINIMAL_HANDLER)
    on_event = lambda_.Function(
        stack, "OnEvent", code=code, handler="index.on_event", runtime=lambda_.Runtime.PYTHON_3_14
    )
    is_complete = lambda_.Function(
        stack,
        "IsComplete",
        code=code,
        handler="index.is_complete",
        runtime=lambda_.Runtime.PYTHON_3_14,
    )
    provider = cr.Provider(
        stack,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        query_interval=Duration.seconds(10),
        total_timeout=Duration.hours(1),
    )
    for i in range(n):
        CustomResource(
            stack,
            f"Model{i}",
            service_token=provider.service_token,
            properties={**REQUEST, "name": f"model-{i}"},
        )
    return app


WAYS: dict[str, Callable[[int], App]] = {
    "ours": ours,
    "AwsCustomResource": aws_custom_resource,
    "hand-written Provider": hand_written_provider,
}


def synthesize(build: Callable[[int], App], n: int) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    template: dict[str, Any] = build(n).synth().get_stack_by_name("Bench").template
    return template, time.perf_counter() - start


def main(sizes: tuple[int, ...] = (1, 10, 50, 200), repeats: int = 3) -> None:
    validation = os.environ.get("CDK_VALIDATION", "unset (aws-cdk-lib's check on)")
    print(f"CDK_VALIDATION={validation}; synth time = median of {repeats} runs, in one process\n")
    rows = []
    fits: dict[str, tuple[float, float, float]] = {}
    peer_times: dict[int, float] = {}
    results: dict[tuple[str, int], tuple[int, int, float]] = {}
    for n in sizes:
        for way, build in WAYS.items():
            times = []
            template: dict[str, Any] = {}
            for _ in range(repeats):
                template, seconds = synthesize(build, n)
                times.append(seconds)
            size = len(json.dumps(template, separators=(",", ":")))
            results[(way, n)] = (len(template["Resources"]), size, statistics.median(times))
        peer_times[n] = results[("AwsCustomResource", n)][2]
    low, high = min(sizes), max(sizes)
    for way in WAYS:
        r_low, b_low, _ = results[(way, low)]
        r_high, b_high, _ = results[(way, high)]
        per_resource = (r_high - r_low) / (high - low)
        per_byte = (b_high - b_low) / (high - low)
        fixed_r, fixed_b = r_low - per_resource * low, b_low - per_byte * low
        fits[way] = (
            per_resource,
            per_byte,
            min(
                (MAX_RESOURCES - fixed_r) / per_resource, (MAX_TEMPLATE_BYTES - fixed_b) / per_byte
            ),
        )
    print("| way | N | resources | template bytes | bytes per model | synth time vs peer |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        for way in WAYS:
            resources, size, seconds = results[(way, n)]
            rows.append((way, n))
            ratio = seconds / peer_times[n]
            print(f"| {way} | {n} | {resources} | {size} | {size / n:.0f} | {ratio:.2f}x |")
    print("\n| way | resources per model | marginal bytes per model | largest N (500 res., 1 MB) |")
    print("|---|---:|---:|---:|")
    for way, (per_resource, per_byte, largest) in fits.items():
        print(f"| {way} | {per_resource:.2f} | {per_byte:.0f} | {int(largest)} |")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (1, 10, 50, 200))
