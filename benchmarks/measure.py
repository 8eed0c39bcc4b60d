"""Measure what matters about the construct and its handler; prints a report.

    .venv/bin/python benchmarks/measure.py

- template bytes and resource count for 1, 10, 50 (and 200) models in one stack,
  and the bytes each extra model adds;
- the example app's synth time through the real aws-cdk CLI (median of 3);
- the handler asset's zipped size and its cold import time (import + client);
- ``get_trained_model`` calls and detection latency for simulated trainings of
  1 minute, 1 hour and 12 hours, under the Provider's 10 s polling.

Timing numbers are noisy here: read them as orders of magnitude and ratios.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda" / "handler"), str(ROOT / "tests")]
# the project's pinned Node.js LTS (node_modules/.bin, from npm ci) runs jsii
os.environ["PATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent.parent / "node_modules" / ".bin"), os.environ["PATH"]]
)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from aws_cdk import App, Duration, Environment, Size, Stack  # noqa: E402
from botocore.stub import Stubber  # noqa: E402

import contract  # noqa: E402
import engine  # noqa: E402
import faults  # noqa: E402
import long_wait  # noqa: E402
import trained_models  # noqa: E402
from aws_client import make_client  # noqa: E402
from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel  # noqa: E402
from cdk_cleanrooms_ml._asset import handler_asset_path  # noqa: E402
from cdk_cleanrooms_ml._provider import QUERY_INTERVAL_SECONDS  # noqa: E402
from helpers import (  # noqa: E402
    ASSOCIATION_ARN,
    CHANNEL_ARN,
    MEMBERSHIP,
    MODEL_ARN,
    event,
    model_description,
    then_poll,
)


def template_for(models: int, completion_timeout: Duration | None = None) -> dict[str, Any]:
    app = App(context={"aws:cdk:enable-path-metadata": True})
    stack = Stack(app, "Bench", env=Environment(account="111122223333", region="us-east-1"))
    for i in range(models):
        TrainedModel(
            stack,
            f"Model{i}",
            membership_identifier=MEMBERSHIP,
            configured_model_algorithm_association_arn=ASSOCIATION_ARN,
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
            hyperparameters={"epochs": "10"},
            completion_timeout=completion_timeout,
        )
    template: dict[str, Any] = app.synth().get_stack_by_name("Bench").template
    return template


def size_report() -> list[str]:
    lines = [
        "| models | resources | template bytes | bytes per extra model |",
        "|---:|---:|---:|---:|",
    ]
    one = None
    for n in (1, 10, 50, 200):
        template = template_for(n)
        size = len(json.dumps(template, separators=(",", ":")))
        if one is None:
            one = size
        per = "" if n == 1 else f"{(size - one) / (n - 1):.0f}"
        lines.append(f"| {n} | {len(template['Resources'])} | {size} | {per} |")
    return lines


def long_path_report() -> list[str]:
    """What the long path (completion_timeout over an hour) adds, per stack and per model."""

    def measure(models: int, timeout: Duration | None) -> tuple[int, int]:
        template = template_for(models, timeout)
        return len(template["Resources"]), len(json.dumps(template, separators=(",", ":")))

    short1, long1, long2 = (
        measure(1, None),
        measure(1, Duration.hours(3)),
        measure(2, Duration.hours(3)),
    )
    per_model = (long2[0] - long1[0], long2[1] - long1[1])
    short_model = measure(2, None)
    extra_model = (
        per_model[0] - (short_model[0] - short1[0]),
        per_model[1] - (short_model[1] - short1[1]),
    )
    per_stack = (long1[0] - short1[0] - extra_model[0], long1[1] - short1[1] - extra_model[1])
    return [
        f"long path per stack: +{per_stack[0]} resources, +{per_stack[1]} bytes",
        f"long path per model: +{extra_model[0]} resources, +{extra_model[1]} bytes "
        f"(a long-path model in all: {per_model[0]} resources, {per_model[1]} bytes)",
    ]


def long_wait_polls(training_seconds: float) -> tuple[int, float]:
    """The waiter's get_trained_model calls and detection latency for one training."""
    elapsed, calls = 0.0, 0
    while True:
        calls += 1
        if elapsed >= training_seconds:
            return calls, elapsed - training_seconds
        elapsed += long_wait.poll_interval(elapsed)


def synth_time() -> float:
    env = dict(
        os.environ,
        CDK_DISABLE_VERSION_CHECK="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run(
                [
                    str(ROOT / "node_modules/.bin/cdk"),
                    "synth",
                    "--no-notices",
                    "--no-version-reporting",
                    "-q",
                    "-o",
                    out,
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def asset_report() -> tuple[int, int, float]:
    buffer = io.BytesIO()
    raw = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(handler_asset_path().rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                raw += path.stat().st_size
                archive.write(path, path.relative_to(handler_asset_path()))
    code = (
        "import time; s = time.perf_counter(); import index; index._get_client(); "
        "print(time.perf_counter() - s)"
    )
    samples = []
    for _ in range(5):
        run = subprocess.run(
            [sys.executable, "-B", "-c", code],
            cwd=handler_asset_path(),
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        )
        samples.append(float(run.stdout.strip()))
    return raw, len(buffer.getvalue()), statistics.median(samples)


def polling(training_seconds: float) -> tuple[int, int, float]:
    """Calls for one create whose training takes ``training_seconds``."""
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log lines
        return _polling(training_seconds)


def _polling(training_seconds: float) -> tuple[int, int, float]:
    """on_event (list), the first poll (list, create, get), then one get per poll."""
    client = make_client()
    stubber = Stubber(client)
    interval = float(QUERY_INTERVAL_SECONDS)
    create = event("Create", request_id="bench")
    listed: tuple[dict[str, Any], dict[str, Any]] = (
        {"trainedModels": []},
        {"membershipIdentifier": MEMBERSHIP},
    )
    stubber.add_response("list_trained_models", *listed)
    stubber.add_response("list_trained_models", *listed)
    stubber.add_response("create_trained_model", {"trainedModelArn": MODEL_ARN})
    calls = {"get": 0}

    def call(raw: dict[str, Any], polling: bool, now: float) -> engine.Call:
        return engine.Call(trained_models.KIND, client, engine.Event.from_dict(raw), now, polling)

    with stubber:
        engine.RESOLVED.clear()
        result = engine.on_event(call(create, False, 0.0))
        t = 0.0  # the framework calls is_complete at once, then every interval
        while True:
            status = "ACTIVE" if t >= training_seconds else "CREATE_IN_PROGRESS"
            stubber.add_response("get_trained_model", model_description(status=status))
            calls["get"] += 1
            try:
                done = engine.is_complete(call(then_poll(create, result), True, t))["IsComplete"]
            except faults.HandlerError:
                return 3, calls["get"], -1.0  # timed out (the short path's deadline)
            if done:
                return 3, calls["get"], t - training_seconds
            t += interval


def main() -> None:
    print("## Template size (one stack, path metadata on, as `cdk synth` writes it)")
    print("\n".join(size_report()))
    print(f"\n## Example synth time (npx cdk synth, median of 3): {synth_time():.1f} s")
    raw, zipped, cold = asset_report()
    print(f"\n## Handler asset: {raw / 1024:.0f} KB on disk, {zipped / 1024:.0f} KB zipped")
    print(f"Cold import (import index + make the client, median of 5): {cold * 1000:.0f} ms")
    print("\n## Polling (Provider query interval 10 s)")
    print("| training | list/create calls | get_trained_model calls | detection latency |")
    print("|---|---:|---:|---:|")
    # Training ends 0.1 s after a poll: the worst case for detection latency.
    for label, seconds in (("1 min", 60), ("55 min", 3300), ("1 h", 3600), ("12 h", 43200)):
        setup, gets, latency = polling(seconds + 0.1)
        shown = (
            f"{latency:.0f} s"
            if latency >= 0
            else f"timed out at {contract.SHORT_PATH_DEADLINE_SECONDS} s, inside the 1 h cap"
        )
        print(f"| {label} | {setup} (list, list + create) | {gets} | {shown} |")
    print("\n## The long path (completion_timeout over an hour)")
    print("\n".join(long_path_report()))
    print("| training | waiter get_trained_model calls | worst-case detection latency |")
    print("|---|---:|---:|")
    for label, seconds in (("1 h", 3600), ("3 h", 3 * 3600), ("12 h", 12 * 3600 - 120)):
        calls, latency = long_wait_polls(seconds + 0.1)
        print(f"| {label} | {calls} | {latency:.0f} s |")


if __name__ == "__main__":
    main()
