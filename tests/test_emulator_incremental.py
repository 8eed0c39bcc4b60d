"""Incremental training in the emulator, under both readings of the API (ASSUMPTION A2).

(a) ``new-arn``: ``CreateTrainedModel`` with an incremental training channel makes a new
trained model, a new ARN with a version. (b) ``shared-arn``: it makes a new version of
the base model's ARN; ``ListTrainedModelVersions`` lists the base and its versions,
``GetTrainedModel`` without a version answers for the latest, ``CancelTrainedModel`` and
``DeleteTrainedModelOutput`` without one address the base version, and the ARN's one
tag set is every version's. What deleting the base version's output does to the other
versions is played three ways (``base_output_delete``).

Over real HTTP with a real botocore client, every response checked against the
service model (``emulator.server``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from emulated import emulator_client, instant, serve

from cdk_cleanrooms_ml.local import cloud as clouds
from cdk_cleanrooms_ml.local.emulator import Emulator
from cdk_cleanrooms_ml.local.emulator.state import (
    ALL_VERSIONS,
    BASE_ONLY,
    BASE_OUTPUT_DELETE,
    NEW_ARN,
    REFUSED,
    SHARED_ARN,
)
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

P = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIP}"
ASSOC = f"{P}/configured-model-algorithm-association/a"
CHANNEL = f"{P}/ml-input-channel/c"
M: Any = {"membershipIdentifier": MEMBERSHIP}


@pytest.fixture
def emulator() -> Emulator:
    return instant()


@pytest.fixture
def client(emulator: Emulator) -> Iterator[CleanRoomsMLClient]:
    for server in serve(emulator):
        yield emulator_client(server)


def _create(
    client: CleanRoomsMLClient,
    name: str,
    base: str | None = None,
    version: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    incremental: dict[str, Any] = {}
    if base is not None:
        channel = {"trainedModelArn": base, "channelName": "base"}
        if version is not None:
            channel["versionIdentifier"] = version
        incremental["incrementalTrainingDataChannels"] = [channel]
    response = client.create_trained_model(
        **M,
        name=name,
        configuredModelAlgorithmAssociationArn=ASSOC,
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[{"mlInputChannelArn": CHANNEL, "channelName": "t"}],
        **incremental,
        **extra,
    )
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _versions(client: CleanRoomsMLClient, arn: str) -> dict[str | None, str]:
    """Each version of ``arn`` (None: the base version) with its status."""
    listed = client.list_trained_model_versions(**M, trainedModelArn=arn)["trainedModels"]
    return {m.get("versionIdentifier"): m["status"] for m in listed}


def _get(client: CleanRoomsMLClient, arn: str, version: str | None = None) -> Any:
    key: dict[str, Any] = {"trainedModelArn": arn}
    if version:
        key["versionIdentifier"] = version
    return client.get_trained_model(**M, **key)


def test_new_arn_makes_a_new_trained_model_with_a_version(
    emulator: Emulator, client: CleanRoomsMLClient
) -> None:
    """(a), the default: the base model's ARN keeps its one version."""
    assert emulator.settings() == {
        "incremental_training": NEW_ARN,
        "base_output_delete": BASE_ONLY,
    }
    base = _create(client, "base", tags={"who": "base"})["trainedModelArn"]
    made = _create(client, "next", base, tags={"who": "next"})
    assert made["trainedModelArn"] != base
    assert _versions(client, base) == {None: "ACTIVE"}
    assert _versions(client, made["trainedModelArn"]) == {made["versionIdentifier"]: "ACTIVE"}
    assert _get(client, base)["tags"] == {"who": "base"}
    assert _get(client, made["trainedModelArn"])["tags"] == {"who": "next"}


def test_shared_arn_makes_a_version_of_the_base_models_arn(
    emulator: Emulator, client: CleanRoomsMLClient
) -> None:
    """(b): the base's ARN with a new version; each version its own name, status and
    output; without a version Get answers for the latest, Cancel and Delete address the
    base version; every version of the ARN is listed by ListTrainedModels too."""
    emulator.configure(incremental_training=SHARED_ARN)
    base = _create(client, "base")["trainedModelArn"]
    first = _create(client, "first", base)
    assert first["trainedModelArn"] == base
    emulator.timings.training_seconds = 60  # the second one trains for a while
    second = _create(client, "second", base, version=first["versionIdentifier"])
    assert second["trainedModelArn"] == base
    v1, v2 = first["versionIdentifier"], second["versionIdentifier"]
    assert _versions(client, base) == {None: "ACTIVE", v1: "ACTIVE", v2: "CREATE_IN_PROGRESS"}
    latest = _get(client, base)
    assert (latest["versionIdentifier"], latest["name"]) == (v2, "second")  # A3
    assert _get(client, base, v1)["name"] == "first"
    trained_from = _get(client, base, v2)["incrementalTrainingDataChannels"]
    assert trained_from == [{"channelName": "base", "versionIdentifier": v1, "modelName": "first"}]
    listed = client.list_trained_models(**M)["trainedModels"]
    assert {(m["trainedModelArn"], m.get("versionIdentifier")) for m in listed} == {
        (base, None),
        (base, v1),
        (base, v2),
    }
    # without a version, cancel addresses the base (ACTIVE: refused, A4), not the latest
    with pytest.raises(ClientError, match="ConflictException"):
        client.cancel_trained_model(**M, trainedModelArn=base)
    client.cancel_trained_model(**M, trainedModelArn=base, versionIdentifier=v2)
    emulator.clock.advance(60)
    assert _versions(client, base) == {None: "ACTIVE", v1: "ACTIVE", v2: "INACTIVE"}
    client.delete_trained_model_output(**M, trainedModelArn=base, versionIdentifier=v1)
    emulator.clock.advance(60)
    assert _versions(client, base) == {None: "ACTIVE", v1: "INACTIVE", v2: "INACTIVE"}
    client.delete_trained_model_output(**M, trainedModelArn=base)  # the base version
    emulator.clock.advance(60)
    assert _versions(client, base) == {None: "INACTIVE", v1: "INACTIVE", v2: "INACTIVE"}


def test_shared_arn_versions_share_the_arns_tags(
    emulator: Emulator, client: CleanRoomsMLClient
) -> None:
    """(b): tags are per ARN (A9): a version's create merges its tags into the ARN's,
    every version's Get shows the one set, and the 50-tag limit is the ARN's."""
    emulator.configure(incremental_training=SHARED_ARN)
    base = _create(client, "base", tags={"who": "base", "team": "a"})["trainedModelArn"]
    version = _create(client, "next", base, tags={"who": "next", "v": "1"})["versionIdentifier"]
    shared = {"who": "next", "team": "a", "v": "1"}
    assert _get(client, base, version)["tags"] == shared
    assert client.list_tags_for_resource(resourceArn=base)["tags"] == shared
    client.untag_resource(resourceArn=base, tagKeys=["team"])
    assert "team" not in _get(client, base, version)["tags"]
    many = {f"k{i}": "x" for i in range(49)}
    with pytest.raises(ClientError, match="ValidationException"):
        _create(client, "crowded", base, tags=many)  # 49 + the ARN's 2 ("who", "v") > 50


@pytest.mark.parametrize("deleting", BASE_OUTPUT_DELETE)
def test_shared_arn_deleting_the_base_versions_output_with_other_versions_live(
    emulator: Emulator, client: CleanRoomsMLClient, deleting: str
) -> None:
    """(b): what DeleteTrainedModelOutput without a version does to the other versions
    is not documented ("If not specified, the operation will delete the base version
    ... When specified, only the particular version will be deleted"): base-only leaves
    them, all-versions deletes them too, refused answers ConflictException."""
    emulator.configure(incremental_training=SHARED_ARN, base_output_delete=deleting)
    base = _create(client, "base")["trainedModelArn"]
    version = _create(client, "next", base)["versionIdentifier"]
    if deleting == REFUSED:
        with pytest.raises(ClientError, match="ConflictException"):
            client.delete_trained_model_output(**M, trainedModelArn=base)
        assert _versions(client, base) == {None: "ACTIVE", version: "ACTIVE"}
        return
    client.delete_trained_model_output(**M, trainedModelArn=base)
    emulator.clock.advance(60)
    left = "INACTIVE" if deleting == ALL_VERSIONS else "ACTIVE"
    assert _versions(client, base) == {None: "INACTIVE", version: left}


def test_all_versions_is_refused_while_a_version_is_still_training(
    emulator: Emulator, client: CleanRoomsMLClient
) -> None:
    emulator.configure(incremental_training=SHARED_ARN, base_output_delete=ALL_VERSIONS)
    base = _create(client, "base")["trainedModelArn"]
    emulator.timings.training_seconds = 60
    _create(client, "next", base)
    with pytest.raises(ClientError, match="ConflictException"):
        client.delete_trained_model_output(**M, trainedModelArn=base)


@pytest.mark.parametrize("reading", [NEW_ARN, SHARED_ARN])
def test_an_inference_job_runs_on_the_version_it_names(
    emulator: Emulator, client: CleanRoomsMLClient, reading: str
) -> None:
    """A16: the job runs on the model version it names; without one, on the ARN's
    latest ACTIVE version (A3): under (b) a later version of the base, not the base
    (the API cannot name a base version: its identifier "NULL" is not a UUID), under
    (a) the base itself. The job reports the version it ran on."""
    emulator.configure(incremental_training=reading)
    base = _create(client, "base")["trainedModelArn"]
    made = _create(client, "next", base)
    channel = client.create_ml_input_channel(
        **M,
        name="scores",
        configuredModelAlgorithmAssociations=[ASSOC],
        inputChannel={
            "dataSource": {
                "protectedQueryInputParameters": {"sqlParameters": {"queryString": "q"}}
            },
            "roleArn": "arn:aws:iam::000000000000:role/r",
        },
        retentionInDays=1,
    )["mlInputChannelArn"]
    common: dict[str, Any] = {
        **M,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1},
        "outputConfiguration": {"members": [{"accountId": "000000000000"}]},
        "dataSource": {"mlInputChannelArn": channel},
    }
    named = client.start_trained_model_inference_job(
        name="named",
        trainedModelArn=made["trainedModelArn"],
        trainedModelVersionIdentifier=made["versionIdentifier"],
        **common,
    )["trainedModelInferenceJobArn"]
    job = client.get_trained_model_inference_job(**M, trainedModelInferenceJobArn=named)
    assert job["trainedModelArn"] == made["trainedModelArn"]
    assert job["trainedModelVersionIdentifier"] == made["versionIdentifier"]
    # without a version: the ARN's latest ACTIVE version (A3), the one it reports
    emulator.timings.training_seconds = 60
    _create(client, "later", base)  # under (b) the ARN's latest version, still training
    unnamed = client.start_trained_model_inference_job(
        name="unnamed", trainedModelArn=base, **common
    )["trainedModelInferenceJobArn"]
    ran = client.get_trained_model_inference_job(**M, trainedModelInferenceJobArn=unnamed)
    if reading == SHARED_ARN:  # under (b) not the base: its ARN's latest ACTIVE version
        assert ran["trainedModelVersionIdentifier"] == made["versionIdentifier"]
    else:
        assert "trainedModelVersionIdentifier" not in ran


def test_the_settings_are_a_control_route_and_refuse_what_they_do_not_know(
    emulator: Emulator,
) -> None:
    for server in serve(emulator):
        url = f"{server.endpoint_url}/_emulator/settings"
        body = json.dumps({"incremental_training": SHARED_ARN}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, body), timeout=10) as answer:
            assert json.loads(answer.read()) == {
                "incremental_training": SHARED_ARN,
                "base_output_delete": BASE_ONLY,
            }
        assert emulator.incremental_training == SHARED_ARN
        wrong = json.dumps({"incremental_training": "both"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, wrong), timeout=10)
        assert refused.value.code == 400
        assert emulator.incremental_training == SHARED_ARN
    with pytest.raises(ValueError, match="allowed: new-arn, shared-arn"):
        Emulator(incremental_training="both")


def test_the_command_line_flags_and_the_local_clouds_environment_set_them(
    tmp_path: Any,
) -> None:
    """``python -m cdk_cleanrooms_ml.local.emulator --incremental-training shared-arn``;
    ``up`` passes ``CDK_CLEANROOMS_ML_INCREMENTAL_TRAINING`` (and
    ``CDK_CLEANROOMS_ML_BASE_OUTPUT_DELETE``) on as those flags."""
    environ = {
        "CDK_CLEANROOMS_ML_INCREMENTAL_TRAINING": SHARED_ARN,
        "CDK_CLEANROOMS_ML_BASE_OUTPUT_DELETE": REFUSED,
    }
    flags = clouds.emulator_settings(environ)
    assert flags == ["--incremental-training", SHARED_ARN, "--base-output-delete", REFUSED]
    assert clouds.emulator_settings({}) == []
    port = str(clouds.free_port())
    command = [sys.executable, "-m", "cdk_cleanrooms_ml.local.emulator", "--port", port, *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert "listening" in process.stdout.readline()
        url = f"http://127.0.0.1:{port}/_emulator/settings"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert json.loads(answer.read()) == {
                "incremental_training": SHARED_ARN,
                "base_output_delete": REFUSED,
            }
    finally:
        process.terminate()
        process.wait(timeout=10)
    refused = subprocess.run(
        [*command[:-4], "--incremental-training", "both"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "invalid choice: 'both'" in refused.stderr


def test_a_get_of_the_settings(emulator: Emulator) -> None:
    for server in serve(emulator):
        with urllib.request.urlopen(
            f"{server.endpoint_url}/_emulator/settings", timeout=10
        ) as answer:
            assert json.loads(answer.read())["incremental_training"] == NEW_ARN


def _timed_model(emulator: Emulator, name: str, base: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "membershipIdentifier": MEMBERSHIP,
        "name": name,
        "configuredModelAlgorithmAssociationArn": ASSOC,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
        "dataChannels": [{"mlInputChannelArn": f"{P}/ml-input-channel/x", "channelName": "t"}],
    }
    if base is not None:
        params["incrementalTrainingDataChannels"] = [
            {"trainedModelArn": base, "channelName": "base"}
        ]
    return emulator.call("CreateTrainedModel", params)


def _base_and_a_training_version() -> tuple[Emulator, str, str]:
    emulator = Emulator(incremental_training=SHARED_ARN)
    channel = emulator.call(
        "CreateMLInputChannel",
        {
            "membershipIdentifier": MEMBERSHIP,
            "name": "scores",
            "configuredModelAlgorithmAssociations": [ASSOC],
            "inputChannel": {
                "dataSource": {
                    "protectedQueryInputParameters": {"sqlParameters": {"queryString": "q"}}
                },
                "roleArn": "arn:aws:iam::000000000000:role/r",
            },
            "retentionInDays": 1,
        },
    )["mlInputChannelArn"]
    base = _timed_model(emulator, "base")["trainedModelArn"]
    emulator.clock.advance(3600)  # the base (and the channel) ACTIVE
    successor = _timed_model(emulator, "successor", base)  # a version of base's ARN, training
    assert successor["trainedModelArn"] == base
    return emulator, base, channel


def test_an_inference_job_on_the_active_base_is_taken_while_a_version_trains() -> None:
    """A3 under (b): without a version, the latest ACTIVE version is used."""
    emulator, base, channel = _base_and_a_training_version()
    emulator.call(
        "StartTrainedModelInferenceJob",
        {
            "membershipIdentifier": MEMBERSHIP,
            "name": "job",
            "trainedModelArn": base,
            "dataSource": {"mlInputChannelArn": channel},
            "resourceConfig": {"instanceType": "ml.m5.xlarge"},
            "outputConfiguration": {"members": [{"accountId": "111122223333"}]},
        },
    )


def test_an_export_of_the_active_base_is_taken_while_a_version_trains() -> None:
    """A26 with A3 under (b): the model (the version, if named) must be ACTIVE; without a
    version, that is the latest ACTIVE one, the base, while its successor trains."""
    emulator, base, _ = _base_and_a_training_version()
    emulator.call(
        "StartTrainedModelExportJob",
        {
            "membershipIdentifier": MEMBERSHIP,
            "name": "export",
            "trainedModelArn": base,
            "outputConfiguration": {"members": [{"accountId": "111122223333"}]},
        },
    )
    (export,) = emulator.snapshot("trained-model-export-job")
    assert export["parent"] == base
