"""Real-account integration test: deploys the full-pipeline example, checks the
trained model through the real API, checks every assumption about the service that is
still unknown (``cdk_cleanrooms_ml/local/ASSUMPTIONS.md``, the assumptions table), and
destroys the stack.

Opt in explicitly (it costs money: it trains a model, runs an inference job and starts
and cancels a few more):

    CDK_CLEANROOMS_ML_INTEG=1 INTEG_ACCOUNT=111122223333 INTEG_REGION=us-east-1 \\
    INTEG_MEMBERSHIP_ID=<uuid> INTEG_ML_INPUT_CHANNEL_ARN=<arn> INTEG_ECR_REPOSITORY=<repo> \\
    [INTEG_KMS_KEY_ARN=<arn>] .venv/bin/pytest tests/integ -ra -s

with credentials for that account in the environment (or a profile) and the
account/region bootstrapped (``npx cdk bootstrap aws://<account>/<region>``).
The ECR repository must hold a Clean Rooms ML training image tagged ``latest``.
With ``INTEG_KMS_KEY_ARN`` the pipeline is encrypted with that customer managed key
(K1). The stack is deployed with ``removalPolicy=destroy``, so that ``cdk destroy``
deletes what it made.

Each probe fails when the account contradicts what the handler relies on, and records
which reading the account showed where the handler is correct under either; the
readings are printed at the end (``-s``) and written to ``INTEG_READINGS_FILE`` (JSON)
when it is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "INTEG_ACCOUNT",
    "INTEG_REGION",
    "INTEG_MEMBERSHIP_ID",
    "INTEG_ML_INPUT_CHANNEL_ARN",
    "INTEG_ECR_REPOSITORY",
)
STACK = "CleanRoomsMLFullPipeline"
REFUSED = ("ConflictException", "ValidationException")
"""How the service refuses a step a resource's state does not allow."""


def _settings(env: dict[str, str]) -> dict[str, str]:
    if env.get("CDK_CLEANROOMS_ML_INTEG") != "1":
        pytest.skip("real-account test: set CDK_CLEANROOMS_ML_INTEG=1 (and INTEG_*) to run it")
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        pytest.skip(f"real-account test: missing {', '.join(missing)}")
    return {name: env[name] for name in (*REQUIRED, "INTEG_KMS_KEY_ARN") if env.get(name)}


def _cdk(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [
            str(ROOT / "node_modules/.bin/cdk"),
            *args,
            "--app",
            f"{sys.executable} examples/full_pipeline.py",
            "--no-notices",
            "--no-version-reporting",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _attempt(call: Callable[[], Any]) -> str:
    """``accepted``, or the error code the service answered with."""
    try:
        call()
    except ClientError as error:
        return _code(error)
    return "accepted"


def _until(read: Callable[[], str], done: Callable[[str], bool], seconds: float) -> str:
    """Poll ``read`` every 15 s until ``done`` (or ``seconds``); the last status."""
    deadline = time.monotonic() + seconds
    status = read()
    while not done(status) and time.monotonic() < deadline:
        time.sleep(15)
        status = read()
    return status


class Probes:
    """The assumption probes against one deployed pipeline; ``readings`` by assumption id."""

    def __init__(self, client: Any, membership: str, outputs: dict[str, str]) -> None:
        self.client = client
        self.membership = membership
        self.outputs = outputs
        self.readings: dict[str, str] = {}

    def _model_status(self, arn: str) -> str:
        answer = self.client.get_trained_model(
            membershipIdentifier=self.membership, trainedModelArn=arn
        )
        return str(answer["status"])

    def _job_status(self, arn: str) -> str:
        answer = self.client.get_trained_model_inference_job(
            membershipIdentifier=self.membership, trainedModelInferenceJobArn=arn
        )
        return str(answer["status"])

    def _start_training(self, name: str, **extra: Any) -> str:
        return str(
            self.client.create_trained_model(
                membershipIdentifier=self.membership,
                name=name,
                configuredModelAlgorithmAssociationArn=self.outputs["AssociationArn"],
                resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
                dataChannels=[
                    {
                        "mlInputChannelArn": self.outputs["TrainingChannelArn"],
                        "channelName": "train",
                    }
                ],
                **extra,
            )["trainedModelArn"]
        )

    def _cancel_at_once(
        self, key: str, read: Callable[[], str], cancel: Callable[[], Any], what: str
    ) -> None:
        """Cancel a resource just started (``what``): whether it could be while
        CREATE_PENDING is recorded under ``key`` (A4, A15: either reading is fine, once
        running it must be cancellable), then it must end INACTIVE (A5, A15)."""
        status = read()
        first = _attempt(cancel)
        self.readings[f"{key} cancel {what} while {status}"] = first
        if first != "accepted":
            assert first in REFUSED, f"{key}: cancelling a {status} {what} answered {first}"
            _until(read, lambda s: s != "CREATE_PENDING", 900)
            assert _attempt(cancel) == "accepted", f"{key}: a running {what} was not cancelled"
        end = _until(read, lambda s: s in ("INACTIVE", "CANCEL_FAILED"), 1800)
        assert end == "INACTIVE", f"{key}: a cancelled {what} ended {end}, not INACTIVE"

    def _cancel_training(self, arn: str, key: str) -> None:
        """A4, A5: a training just started, cancelled."""
        self._cancel_at_once(
            key,
            lambda: self._model_status(arn),
            lambda: self.client.cancel_trained_model(
                membershipIdentifier=self.membership, trainedModelArn=arn
            ),
            "a training",
        )

    def names_and_states(self) -> None:
        """A1, A4, A5, A6: a training started under a fixed name and cancelled at once,
        its output deleted once INACTIVE, then the name asked for again."""
        name = f"integ-probe-{uuid.uuid4().hex[:12]}"
        arn = self._start_training(name)
        self._cancel_training(arn, "A4")
        deleted = _attempt(
            lambda: self.client.delete_trained_model_output(
                membershipIdentifier=self.membership, trainedModelArn=arn
            )
        )
        self.readings["A6 delete output of an INACTIVE model"] = deleted
        assert deleted in ("ResourceNotFoundException", *REFUSED), (
            f"A6: deleting the output of an INACTIVE model answered {deleted}"
        )
        again: list[str] = []
        reused = _attempt(lambda: again.append(self._start_training(name)))
        self.readings["A1 name of an INACTIVE model"] = (
            "free (created again)" if reused == "accepted" else f"kept ({reused})"
        )
        assert reused in ("accepted", "ConflictException"), f"A1: {reused}"
        for arn_again in again:
            self._cancel_training(arn_again, "A4 (again)")

    def job_cancel(self) -> None:
        """A15: an inference job cancelled at once (while CREATE_PENDING?) ends INACTIVE."""
        arn = str(
            self.client.start_trained_model_inference_job(
                membershipIdentifier=self.membership,
                name=f"integ-probe-{uuid.uuid4().hex[:12]}",
                trainedModelArn=self.outputs["TrainedModelArn"],
                configuredModelAlgorithmAssociationArn=self.outputs["AssociationArn"],
                resourceConfig={"instanceType": "ml.m5.xlarge"},
                outputConfiguration={"members": [{"accountId": os.environ["INTEG_ACCOUNT"]}]},
                dataSource={"mlInputChannelArn": self.outputs["ScoringChannelArn"]},
            )["trainedModelInferenceJobArn"]
        )
        self._cancel_at_once(
            "A15",
            lambda: self._job_status(arn),
            lambda: self.client.cancel_trained_model_inference_job(
                membershipIdentifier=self.membership, trainedModelInferenceJobArn=arn
            ),
            "a job",
        )

    def finished_job(self, s3: Any, bucket: str) -> None:
        """A14: the pipeline's job, ACTIVE once deployed, stays ACTIVE, has written its
        output, and cannot be cancelled (it is finished, not running)."""
        arn = self.outputs["InferenceJobArn"]
        seen = []
        for _ in range(4):
            seen.append(self._job_status(arn))
            time.sleep(60)
        self.readings["A14 job status over 4 minutes after the deploy"] = ", ".join(seen)
        assert set(seen) == {"ACTIVE"}, f"A14: a finished job's ACTIVE is not terminal: {seen}"
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="cleanrooms-ml/")
        self.readings["A14 objects under the output location"] = str(listed.get("KeyCount", 0))
        assert listed.get("KeyCount", 0) > 0, "A14: the job is ACTIVE but wrote no output"
        cancelled = _attempt(
            lambda: self.client.cancel_trained_model_inference_job(
                membershipIdentifier=self.membership, trainedModelInferenceJobArn=arn
            )
        )
        self.readings["A14 cancel an ACTIVE job"] = cancelled
        assert cancelled in REFUSED, f"A14: an ACTIVE job was cancellable ({cancelled})"

    def incremental(self) -> None:
        """A2, A3: incremental training from the pipeline's model returns a version (a new
        ARN's or the base's: the handler is right under both; the reading is reported);
        the base model's latest version is still its own."""
        base = self.outputs["TrainedModelArn"]
        answer = self.client.create_trained_model(
            membershipIdentifier=self.membership,
            name=f"integ-probe-{uuid.uuid4().hex[:12]}",
            configuredModelAlgorithmAssociationArn=self.outputs["AssociationArn"],
            resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
            dataChannels=[
                {"mlInputChannelArn": self.outputs["TrainingChannelArn"], "channelName": "train"}
            ],
            incrementalTrainingDataChannels=[{"trainedModelArn": base, "channelName": "base"}],
        )
        arn, version = str(answer["trainedModelArn"]), answer.get("versionIdentifier")
        self.readings["A2 incremental training's ARN"] = (
            "a new ARN" if arn != base else "the base model's ARN"
        )
        self.readings["A2 incremental training's version"] = str(version)
        try:
            # A2: either reading is handled (a new ARN, or a version of the base's)
            assert version, "A2: incremental training returned no versionIdentifier"
            latest = self.client.get_trained_model(
                membershipIdentifier=self.membership, trainedModelArn=base
            )
            self.readings["A3 base model's latest version"] = str(latest.get("versionIdentifier"))
            # A3: "latest" is the most recent version of that ARN
            expected = (None, "NULL") if arn != base else (version,)
            assert latest.get("versionIdentifier") in expected, "A3"
        finally:
            kwargs = {"versionIdentifier": version} if arn == base and version else {}
            _attempt(
                lambda: self.client.cancel_trained_model(
                    membershipIdentifier=self.membership, trainedModelArn=arn, **kwargs
                )
            )

    def channels(self) -> None:
        """I1, I2: both channels ran their query as the default query role (its trust
        names the membership; its permissions are the membership's) and are ACTIVE."""
        for output in ("TrainingChannelArn", "ScoringChannelArn"):
            channel = self.client.get_ml_input_channel(
                membershipIdentifier=self.membership, mlInputChannelArn=self.outputs[output]
            )
            self.readings[f"I1/I2 {output}"] = str(channel["status"])
            assert channel["status"] == "ACTIVE", f"I1/I2: {output} is {channel['status']}"

    def configuration(self, bucket: str) -> None:
        """A17: the membership's ML configuration is the stack's."""
        held = self.client.get_ml_configuration(membershipIdentifier=self.membership)
        uri = held["defaultOutputLocation"]["destination"]["s3Destination"]["s3Uri"]
        self.readings["A17 ML configuration"] = uri
        assert uri.startswith(f"s3://{bucket}/"), f"A17: {uri}"

    def after_destroy(self) -> None:
        """A7, A17: after ``cdk destroy`` (DESTROY) the model stays visible INACTIVE and
        the membership has no ML configuration."""
        arn = self.outputs["TrainedModelArn"]
        status = _until(lambda: self._model_status(arn), lambda s: s == "INACTIVE", 1800)
        self.readings["A7 model after its output was deleted"] = status
        assert status == "INACTIVE", f"A7: a deleted model's output left it {status}"
        gone = _attempt(
            lambda: self.client.get_ml_configuration(membershipIdentifier=self.membership)
        )
        self.readings["A17 ML configuration after destroy"] = gone
        assert gone == "ResourceNotFoundException", f"A17: {gone}"


def _kms_calls(session: Any, since: datetime) -> str:
    """K1: the KMS calls CloudTrail shows made with the handler role's credentials by
    Clean Rooms ML (a forward access session). CloudTrail may lag by minutes: reported,
    never asserted."""
    trail = session.client("cloudtrail")
    found: dict[str, int] = {}
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}],
        StartTime=since,
    )
    for page in pages:
        for event in page.get("Events", []):
            record = json.loads(event.get("CloudTrailEvent", "{}"))
            identity = record.get("userIdentity", {})
            if "CleanRoomsMLTrainedModelProviderRole" in str(identity.get("arn", "")) and (
                identity.get("invokedBy") == "cleanrooms-ml.amazonaws.com"
            ):
                name = str(record.get("eventName"))
                found[name] = found.get(name, 0) + 1
    return json.dumps(found, sort_keys=True) or "{}"


def test_full_pipeline_deploys_trains_checks_the_unknowns_and_destroys(
    real_environment: dict[str, str], tmp_path: Path
) -> None:
    settings = _settings(real_environment)
    env = dict(
        real_environment,
        CDK_DEFAULT_ACCOUNT=settings["INTEG_ACCOUNT"],
        CDK_DEFAULT_REGION=settings["INTEG_REGION"],
        AWS_REGION=settings["INTEG_REGION"],
        CDK_DISABLE_VERSION_CHECK="1",
    )
    os.environ.setdefault("INTEG_ACCOUNT", settings["INTEG_ACCOUNT"])
    membership = settings["INTEG_MEMBERSHIP_ID"]
    context = [
        "-c",
        f"membershipIdentifier={membership}",
        "-c",
        f"mlInputChannelArn={settings['INTEG_ML_INPUT_CHANNEL_ARN']}",
        "-c",
        f"repositoryName={settings['INTEG_ECR_REPOSITORY']}",
        "-c",
        "removalPolicy=destroy",
    ]
    if "INTEG_KMS_KEY_ARN" in settings:
        context += ["-c", f"encryptionKeyArn={settings['INTEG_KMS_KEY_ARN']}"]
    outputs_file = tmp_path / "outputs.json"
    session = boto3.Session(region_name=settings["INTEG_REGION"])
    client = session.client("cleanroomsml")
    started = datetime.now(UTC)
    probes: Probes | None = None
    try:
        _cdk(
            env,
            "deploy",
            STACK,
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_file),
            *context,
        )
        outputs = json.loads(outputs_file.read_text())[STACK]
        model = client.get_trained_model(
            membershipIdentifier=membership, trainedModelArn=outputs["TrainedModelArn"]
        )
        assert model["status"] == "ACTIVE"
        probes = Probes(client, membership, outputs)
        probes.channels()
        probes.configuration(outputs["ResultsBucket"])
        probes.finished_job(session.client("s3"), outputs["ResultsBucket"])
        probes.names_and_states()
        probes.job_cancel()
        probes.incremental()
        if "INTEG_KMS_KEY_ARN" in settings:
            probes.readings["K1 deployed with a customer managed key"] = "yes"
            probes.readings["K1 KMS calls via cleanrooms-ml as the handler role"] = _kms_calls(
                session, started
            )
    finally:
        _cdk(env, "destroy", STACK, "--force", *context)
        if probes is not None:
            try:
                probes.after_destroy()
            finally:
                report = json.dumps(probes.readings, indent=2, sort_keys=True)
                print(f"\nreal-account readings:\n{report}")
                target = real_environment.get("INTEG_READINGS_FILE")
                if target:
                    Path(target).write_text(report + "\n")
