"""``cdk-cleanrooms-ml local status``: each kind of resource with its own fields, in text
and in the JSON shape the README documents."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
from hypothesis import given
from hypothesis import strategies as st

import ownership
from cdk_cleanrooms_ml._contract import RESERVED_TAG_KEY
from cdk_cleanrooms_ml.local import resources
from cdk_cleanrooms_ml.local.resources import KINDS
from local_cli import LOCAL_ASSOCIATION, LOCAL_PREFIX, MEMBERSHIP, recorded_cloud, run

OWNER = "cdk-cleanrooms-ml:owner"
ROLE = "arn:aws:iam::000000000000:role/results"
QUERY = {"sqlParameters": {"queryString": "SELECT 1"}}
TRAINING_DATASET = "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/seeds"


_NAMED = {"name", "status"}
_OWNED = {"arn", *_NAMED, "owner"}
FIELDS: dict[str, set[str]] = {
    "trained-model": {*_OWNED, "version", "membership", "hyperparameters"},
    "ml-input-channel": {*_OWNED, "membership"},
    "trained-model-inference-job": {*_OWNED, "membership"},
    "ml-configuration": {"membership", "output_location", "role"},
    "trained-model-export-job": {"exported", "version", *_NAMED},
    "audience-model": _OWNED,
    "configured-audience-model": _OWNED,
    "audience-generation-job": _OWNED,
    "audience-export-job": {"exported", *_NAMED, "audience_size"},
}
"""Each kind's fields in ``status --json`` (the README shows them)."""


def one_of_each(emulator_url: str, stack: str) -> dict[str, str]:
    """A model, a channel, a job, the ML configuration, an export of the model, and the
    lookalike chain (audience model, configured audience model, generation job, audience
    export), as the stack's handler makes them (each that takes tags tagged as owned by
    ``<stack>/<logical id>``); their ARNs by kind."""
    client: Any = boto3.client(
        "cleanroomsml",
        endpoint_url=emulator_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    request = urllib_control(emulator_url)
    request("timings", {"pending_seconds": 0, "training_seconds": 0, "transition_seconds": 0})

    def tags(logical: str) -> dict[str, str]:
        return {OWNER: f"v2.0123456789abcdef.0123456789abcdef.0123456789abcdef.{stack}/{logical}"}

    common = {"membershipIdentifier": MEMBERSHIP}
    channel = client.create_ml_input_channel(
        **common,
        configuredModelAlgorithmAssociations=[LOCAL_ASSOCIATION],
        inputChannel={"dataSource": {"protectedQueryInputParameters": QUERY}, "roleArn": ROLE},
        name=f"{stack}-Rows",
        retentionInDays=1,
        tags=tags("Rows"),
    )["mlInputChannelArn"]
    model = client.create_trained_model(
        **common,
        name=f"{stack}-Model",
        configuredModelAlgorithmAssociationArn=LOCAL_ASSOCIATION,
        hyperparameters={"epochs": "10"},
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
        dataChannels=[{"mlInputChannelArn": channel, "channelName": "train"}],
        tags=tags("Model"),
    )["trainedModelArn"]
    job = client.start_trained_model_inference_job(
        **common,
        name=f"{stack}-Scores",
        trainedModelArn=model,
        resourceConfig={"instanceType": "ml.m5.xlarge"},
        outputConfiguration={"members": [{"accountId": "000000000000"}]},
        dataSource={"mlInputChannelArn": channel},
        tags=tags("Scores"),
    )["trainedModelInferenceJobArn"]
    client.put_ml_configuration(
        **common,
        defaultOutputLocation={
            "destination": {"s3Destination": {"s3Uri": "s3://results/"}},
            "roleArn": ROLE,
        },
    )
    client.start_trained_model_export_job(
        **common,
        name=f"{stack}-Export",
        trainedModelArn=model,
        outputConfiguration={"members": [{"accountId": "111122223333"}]},
    )
    audience_model = client.create_audience_model(
        name=f"{stack}-Audience",
        trainingDatasetArn=TRAINING_DATASET,
        tags=tags("Audience"),
    )["audienceModelArn"]
    configured = client.create_configured_audience_model(
        name=f"{stack}-Lookalike",
        audienceModelArn=audience_model,
        outputConfig={
            "destination": {"s3Destination": {"s3Uri": "s3://audiences/"}},
            "roleArn": ROLE,
        },
        sharedAudienceMetrics=["ALL"],
        audienceSizeConfig={"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000]},
        tags=tags("Lookalike"),
    )["configuredAudienceModelArn"]
    generation = client.start_audience_generation_job(
        name=f"{stack}-Generation",
        configuredAudienceModelArn=configured,
        seedAudience={
            "dataSource": {"s3Uri": "s3://seeds/seed.csv"},
            "roleArn": ROLE,
        },
        tags=tags("Generation"),
    )["audienceGenerationJobArn"]
    client.start_audience_export_job(
        name=f"{stack}-Audience-Export",
        audienceGenerationJobArn=generation,
        audienceSize={"type": "ABSOLUTE", "value": 1000},
    )
    return {
        "model": model,
        "channel": channel,
        "job": job,
        "audience_model": audience_model,
        "configured": configured,
        "generation": generation,
    }


def urllib_control(emulator_url: str) -> Any:
    import urllib.request

    def control(route: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(f"{emulator_url}/_emulator/{route}", data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    return control


def test_status_gives_each_kind_its_own_fields(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with recorded_cloud(state) as cloud:
        arns = one_of_each(cloud.emulator_url, "MyModels")
        shown = json.loads(run("status", "--json", "--state-dir", str(state)).stdout)
        text = run("status", "--state-dir", str(state)).stdout
    assert (shown["running"], shown["state"]) == (True, "running")
    assert shown["emulator_url"] == cloud.emulator_url
    assert {p["name"]: p["state"] for p in shown["processes"]} == {
        "emulator": "running",
        "ministack": "running",
    }
    resources = shown["resources"]
    common = {"membership": MEMBERSHIP, "status": "ACTIVE"}
    assert resources == {
        "trained-model": [
            {
                "arn": arns["model"],
                "version": None,
                "name": "MyModels-Model",
                "owner": "MyModels/Model",
                "hyperparameters": {"epochs": "10"},
                **common,
            }
        ],
        "ml-input-channel": [
            {"arn": arns["channel"], "name": "MyModels-Rows", "owner": "MyModels/Rows", **common}
        ],
        "trained-model-inference-job": [
            {"arn": arns["job"], "name": "MyModels-Scores", "owner": "MyModels/Scores", **common}
        ],
        "ml-configuration": [
            {"membership": MEMBERSHIP, "output_location": "s3://results/", "role": ROLE}
        ],
        "trained-model-export-job": [
            {
                "exported": arns["model"],
                "version": None,
                "name": "MyModels-Export",
                "status": "ACTIVE",
            }
        ],
        "audience-model": [
            {
                "arn": arns["audience_model"],
                "name": "MyModels-Audience",
                "status": "ACTIVE",
                "owner": "MyModels/Audience",
            }
        ],
        "configured-audience-model": [
            {
                "arn": arns["configured"],
                "name": "MyModels-Lookalike",
                "status": "ACTIVE",
                "owner": "MyModels/Lookalike",
            }
        ],
        "audience-generation-job": [
            {
                "arn": arns["generation"],
                "name": "MyModels-Generation",
                "status": "ACTIVE",
                "owner": "MyModels/Generation",
            }
        ],
        "audience-export-job": [
            {
                "exported": arns["generation"],
                "name": "MyModels-Audience-Export",
                "status": "ACTIVE",
                "audience_size": {"type": "ABSOLUTE", "value": 1000},
            }
        ],
    }
    assert arns["model"].startswith(LOCAL_PREFIX)
    assert {kind: [set(record) for record in held] for kind, held in resources.items()} == {
        kind: [fields] for kind, fields in FIELDS.items()
    }
    lines = text.splitlines()[1:]
    assert lines == [
        f"  trained-model  MyModels-Model  ACTIVE  {arns['model']}",
        f"  ml-input-channel  MyModels-Rows  ACTIVE  {arns['channel']}",
        f"  trained-model-inference-job  MyModels-Scores  ACTIVE  {arns['job']}",
        f"  ml-configuration  {MEMBERSHIP}  s3://results/",
        f"  trained-model-export-job  MyModels-Export  ACTIVE  of {arns['model']}",
        f"  audience-model  MyModels-Audience  ACTIVE  {arns['audience_model']}",
        f"  configured-audience-model  MyModels-Lookalike  ACTIVE  {arns['configured']}",
        f"  audience-generation-job  MyModels-Generation  ACTIVE  {arns['generation']}",
        f"  audience-export-job  MyModels-Audience-Export  ACTIVE  of {arns['generation']}",
    ]


def test_the_readme_documents_the_json_shape() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Your app on the local cloud") :]
    shape = re.search(r"`status --json`.*?```json\n(.*?)```", section, flags=re.S)
    assert shape, "the local-cloud section shows status --json's shape"
    documented = json.loads(shape[1])
    assert list(documented["resources"]) == list(KINDS)
    for kind, records in documented["resources"].items():
        assert records, f"the README shows a {kind} record"
        assert [set(record) for record in records] == [FIELDS[kind]] * len(records), kind


@given(
    stack=st.from_regex(r"[A-Za-z][-A-Za-z0-9]{0,40}", fullmatch=True),
    logical=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,30}", fullmatch=True),
    operation=st.one_of(st.none(), st.just("UPDATE_IN_PROGRESS@2026-12-07T10:00:00.000Z")),
)
def test_status_reads_the_owner_of_every_tag_the_handler_writes(
    stack: str, logical: str, operation: str | None
) -> None:
    stack_id = f"arn:aws:cloudformation:us-east-1:000000000000:stack/{stack}/{uuid.uuid4()}"
    tag = ownership.make_tag(stack_id, logical, str(uuid.uuid4()), "0" * 64, operation)
    assert resources.owner({RESERVED_TAG_KEY: tag}) == f"{stack}/{logical}"
