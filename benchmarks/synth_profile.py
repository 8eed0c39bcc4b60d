"""Where a synth's time goes, by what our constructs do: a profile of fresh processes.

    .venv/bin/python benchmarks/synth_profile.py [--runs N]

Each run is a fresh ``python`` process (as ``compare.py``'s whole-process metric: the
first stack of a process pays the cold Node.js paths) that builds one stack with one
``TrainedModel`` and synthesizes it (validation off); the phases are timed apart
(importing aws-cdk-lib, importing what the app uses, construction with the synth).
Inside it every jsii kernel round trip is timed and charged to the function of this
package that made it (the nearest frame in ``cdk_cleanrooms_ml``; ``app`` for the
app's own calls: ``App``, ``Stack``, the synth).
The same is done for the hand-written Provider app (``apps/provider.py``'s stack).

Printed: the median milliseconds per part over the runs, for ours and for the
Provider, so that what ours costs beyond the Provider can be read as the features
that cost it (the construct's validation, its least-privilege grants, its log group
and roles, its cdk-nag acknowledgments).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "benchmarks" / "apps"

CHILD = r"""
import json, os, sys, time
sys.path[:0] = [sys.argv[2]]
way = sys.argv[1]
started = time.perf_counter()
from jsii._kernel.providers import process

parts = {}
calls = {}
PACKAGE = os.sep + "cdk_cleanrooms_ml" + os.sep
original = process._NodeProcess.send


def part_of(frame):
    while frame is not None:
        name = frame.f_code.co_filename
        if PACKAGE in name and "_lambda" not in name:
            module = name.rsplit(os.sep, 1)[1].removesuffix(".py")
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "app (App, Stack, synth)"


def send(self, request, response_type):
    t = time.perf_counter()
    try:
        return original(self, request, response_type)
    finally:
        part = part_of(sys._getframe(1))
        parts[part] = parts.get(part, 0.0) + time.perf_counter() - t
        calls[part] = calls.get(part, 0) + 1


process._NodeProcess.send = send
t0 = time.perf_counter()
from aws_cdk import App, Environment, Stack  # noqa: E402
t1 = time.perf_counter()
if way == "ours":
    from aws_cdk import Size
    from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel
    from app_common import ACCOUNT, ASSOCIATION, CHANNEL, MEMBERSHIP, REGION, STACK
    t2 = time.perf_counter()
    app = App()
    stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
    TrainedModel(
        stack, "Model0", membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION,
        instance_type=InstanceType.ML_M5_XLARGE, volume_size=Size.gibibytes(50),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL, channel_name="train")],
        hyperparameters={"epochs": "10"},
    )
    app.synth()
else:
    import runpy
    from aws_cdk import CustomResource, Duration, RemovalPolicy  # what provider.py imports
    from aws_cdk import aws_iam, aws_lambda, custom_resources
    import app_common
    t2 = time.perf_counter()
    sys.argv = [sys.argv[0], "1"]
    runpy.run_path(os.path.join(sys.path[0], "provider.py"), run_name="__main__")
t4 = time.perf_counter()
kernel = sum(parts.values())
print(json.dumps({
    "parts": parts, "calls": calls,
    "import aws_cdk": t1 - t0, "import the app's modules": t2 - t1,
    "construct and synth": t4 - t2, "kernel": kernel,
    "whole (in process)": t4 - started,
}))
"""


Run = dict[str, Any]


def run(way: str) -> Run:
    env = dict(os.environ, CDK_VALIDATION="false")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), env.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, way, str(APPS)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    found: Run = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs: dict[str, list[Run]] = {"ours": [], "provider": []}
    run("ours")  # warm the OS caches and bytecode once
    run("provider")
    for _ in range(args.runs):
        for way in runs:
            runs[way].append(run(way))
    phases = ["import aws_cdk", "import the app's modules", "construct and synth", "kernel"]
    phases.append("whole (in process)")
    print(f"{args.runs} fresh processes each, one model, validation off; medians (ms).\n")
    print("| phase | ours | hand-written Provider | ours - Provider |")
    print("|---|---:|---:|---:|")
    for phase in phases:
        ours = statistics.median(float(r[phase]) for r in runs["ours"])
        floor = statistics.median(float(r[phase]) for r in runs["provider"])
        print(
            f"| {phase} | {ours * 1000:.0f} | {floor * 1000:.0f} | {(ours - floor) * 1000:+.0f} |"
        )
    print("\nOurs: kernel round trips by the function that made them (medians).\n")
    print("| made by | round trips | ms |")
    print("|---|---:|---:|")
    names = sorted({p for r in runs["ours"] for p in r["parts"]})
    rows = []
    for name in names:
        ms = statistics.median(float(r["parts"].get(name, 0.0)) for r in runs["ours"])
        count = statistics.median(int(r["calls"].get(name, 0)) for r in runs["ours"])
        rows.append((ms, name, count))
    for ms, name, count in sorted(rows, reverse=True):
        print(f"| {name} | {count:.0f} | {ms * 1000:.1f} |")


if __name__ == "__main__":
    main()
