"""Synth time as users feel it: ``TrainedModel`` against what they would write instead.

    .venv/bin/python benchmarks/compare.py                 # N = 1, 10, 50; 7 paired runs
    .venv/bin/python benchmarks/compare.py --quick         # N = 1, one run: checks it works
    .venv/bin/python benchmarks/compare.py --calls 3 --sizes 1,10   # 3 separate calls

Three apps in ``benchmarks/apps/``, each a plain CDK app that puts N trained models in
one stack and synthesizes it (``python app.py N``), importing only what it uses:

- **ours**: ``TrainedModel`` (``apps/ours.py``);
- **hand-written Provider**: the same handler asset behind a ``custom_resources.Provider``
  (an ``on_event`` and an ``is_complete`` function, the permissions they need) and one
  ``CustomResource`` per model with the properties ``TrainedModel`` renders
  (``apps/provider.py``): the floor for any construct built on the Provider framework;
- **AwsCustomResource**: one ``custom_resources.AwsCustomResource`` per model calling
  ``CreateTrainedModel`` (``apps/aws_custom_resource.py``), what most users write today.

Metric 1, the whole process: each app is run as its own ``python app.py N`` process,
its start-up, imports, construction, synthesis and exit included (wall clock, and the
CPU time of the process tree: Python and the jsii Node.js kernel). One run of each app
warms the caches (bytecode, staged assets) and is not counted; then the apps run in
turn, in a rotating order, ``--repeats`` times: each round gives one paired ratio per
peer, and the table shows medians. Validation off is ``CDK_VALIDATION=false`` (what
``cdk synth --no-validation`` sets; ``App(builtin_cloud_formation_validation=False)``
is the same switch in code); on is aws-cdk-lib's default (its built-in CloudFormation
template check). The apps run with bytecode kept (``PYTHONDONTWRITEBYTECODE`` is
removed from their environment), as a user's virtualenv has it, and with the
project's pinned Node.js (``node_modules/.bin`` first on PATH).

Metric 2, the warm per-stack cost: inside one process per app, the app is run once to
warm up, then ``--warm-repeats`` more times (a new ``App``, stack and N models, and a
synth each time); the median time per stack is the cost a test suite or a
multi-stack app pays per stack once imports are done.

The output is Markdown (the README's performance section). Timings are ratios measured
side by side, never thresholds: the machine's speed drifts, pairs share it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "benchmarks" / "apps"
NODE_BIN = ROOT / "node_modules" / ".bin"
"""The project's pinned Node.js LTS (from ``npm ci``), first on the apps' PATH."""
WAYS: dict[str, str] = {
    "ours": "ours.py",
    "provider": "provider.py",
    "peer": "aws_custom_resource.py",
}
LABELS: dict[str, str] = {
    "ours": "TrainedModel",
    "provider": "hand-written Provider",
    "peer": "AwsCustomResource",
}
VALIDATION: dict[str, str | None] = {"off": "false", "on": None}
"""``CDK_VALIDATION`` for each setting (None: unset, aws-cdk-lib's default: on)."""
STACK = "Bench"


@dataclass(frozen=True)
class Sample:
    """One whole-process run: wall clock and CPU (user + system) seconds."""

    wall: float
    cpu: float


def child_environment(validation: str, outdir: str) -> dict[str, str]:
    """The apps' environment: this one, bytecode kept, the cloud assembly in ``outdir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONOPTIMIZE")
    }
    env["CDK_OUTDIR"] = outdir
    env["PATH"] = os.pathsep.join([str(NODE_BIN), env.get("PATH", "")])
    switch = VALIDATION[validation]
    if switch is None:
        env.pop("CDK_VALIDATION", None)
    else:
        env["CDK_VALIDATION"] = switch
    return env


def run_app(way: str, n: int, env: dict[str, str]) -> Sample:
    """Run ``python apps/<way>.py n`` to its end; its wall clock and its tree's CPU time."""
    with tempfile.TemporaryFile() as errors:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.run(
            [sys.executable, str(APPS / WAYS[way]), str(n)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"{WAYS[way]} {n} exited {process.returncode}:\n"
                + errors.read().decode(errors="replace")[-4000:]
            )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall=wall, cpu=cpu)


def whole_process(
    n: int, validation: str, repeats: int, warmup: bool, outdirs: dict[str, str]
) -> dict[str, list[Sample]]:
    """``repeats`` rounds of every app, in a rotating order (after one warm-up run each)."""
    envs = {way: child_environment(validation, outdirs[way]) for way in WAYS}
    if warmup:
        for way in WAYS:
            run_app(way, n, envs[way])
    samples: dict[str, list[Sample]] = {way: [] for way in WAYS}
    order = list(WAYS)
    for round_ in range(repeats):
        shift = round_ % len(order)
        for way in order[shift:] + order[:shift]:
            samples[way].append(run_app(way, n, envs[way]))
    return samples


def paired_ratios(samples: dict[str, list[Sample]], peer: str, field: str) -> list[float]:
    """The per-round ratios ours / ``peer`` (one per paired round)."""

    def value(sample: Sample) -> float:
        return sample.wall if field == "wall" else sample.cpu

    return [value(a) / value(b) for a, b in zip(samples["ours"], samples[peer], strict=True)]


def spread(ratios: Sequence[float]) -> str:
    """``1.08x (1.03-1.14)``: the median of the paired ratios, then their min and max."""
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def warm_child(way: str, n: int, repeats: int) -> None:
    """(In a child process) run the app ``repeats + 1`` times; print the timed runs' seconds."""
    script = str(APPS / WAYS[way])
    sys.path.insert(0, str(APPS))
    sys.argv = [script, str(n)]
    times = []
    for index in range(repeats + 1):
        start = time.perf_counter()
        runpy.run_path(script, run_name="__main__")
        if index:  # the first run pays the imports
            times.append(time.perf_counter() - start)
    print(json.dumps(times))


def warm_per_stack(
    n: int, repeats: int, rounds: int, outdirs: dict[str, str]
) -> dict[str, list[float]]:
    """Per-stack seconds of each app inside one warm process (``rounds`` processes each)."""
    found: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way in WAYS:
            env = child_environment("off", outdirs[way])
            output = subprocess.run(
                [sys.executable, __file__, "--warm-child", way, str(n), str(repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            found[way].extend(json.loads(output.strip().splitlines()[-1]))
    return found


def template_stats(outdir: str) -> tuple[int, int]:
    """Resources and compact JSON bytes of the benchmark stack's template."""
    template: dict[str, Any] = json.loads((Path(outdir) / f"{STACK}.template.json").read_text())
    return len(template["Resources"]), len(json.dumps(template, separators=(",", ":")))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="1,10,50", help="values of N, comma-separated")
    parser.add_argument("--repeats", type=int, default=7, help="paired rounds per N and setting")
    parser.add_argument(
        "--validation", choices=["both", "off", "on"], default="both", help="settings to run"
    )
    parser.add_argument("--warm-repeats", type=int, default=5, help="timed stacks per warm process")
    parser.add_argument("--warm-rounds", type=int, default=2, help="warm processes per app")
    parser.add_argument("--no-warmup", action="store_true", help="count every run")
    parser.add_argument(
        "--calls",
        type=int,
        default=1,
        help="separate measurements (each with its own warm-up), pooled in the table",
    )
    parser.add_argument(
        "--quick", action="store_true", help="N = 1, one round, validation off, no warm-up"
    )
    parser.add_argument(
        "--warm-child", nargs=3, metavar=("WAY", "N", "REPEATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.warm_child:
        way, n, repeats = args.warm_child
        warm_child(way, int(n), int(repeats))
        return
    if args.quick:
        args.sizes, args.repeats, args.validation, args.no_warmup = "1", 1, "off", True
        args.warm_repeats, args.warm_rounds = 1, 1
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = ["off", "on"] if args.validation == "both" else [args.validation]

    with tempfile.TemporaryDirectory(prefix="cdk-cleanrooms-ml-bench-") as scratch:
        outdirs = {way: str(Path(scratch) / way) for way in WAYS}
        whole: dict[tuple[int, str], dict[str, list[Sample]]] = {}
        templates: dict[tuple[int, str], tuple[int, int]] = {}
        calls: dict[tuple[int, str], list[dict[str, list[Sample]]]] = {}
        for _ in range(args.calls):
            for n in sizes:
                for setting in settings:
                    calls.setdefault((n, setting), []).append(
                        whole_process(n, setting, args.repeats, not args.no_warmup, outdirs)
                    )
                for way in WAYS:
                    templates[(n, way)] = template_stats(outdirs[way])
        for key, measured in calls.items():
            whole[key] = {way: [s for m in measured for s in m[way]] for way in WAYS}
        warm = {n: warm_per_stack(n, args.warm_repeats, args.warm_rounds, outdirs) for n in sizes}

    print(
        f"Whole `python app.py N` process (synth), {args.calls} separate call(s) of "
        f"{args.repeats} paired rounds"
        + ("" if args.no_warmup else " after one warm-up run each")
        + "; ratio = median of the per-round ratios (below 1: ours is faster), then the "
        "lowest and highest of them.\n"
    )
    print(
        "| N | validation | ours (s) | hand-written Provider (s) | AwsCustomResource (s) "
        "| ours / Provider | ours / AwsCustomResource | CPU: ours / Provider "
        "| CPU: ours / AwsCustomResource |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for (n, setting), samples in whole.items():
        walls = [statistics.median(s.wall for s in samples[way]) for way in WAYS]
        print(
            f"| {n} | {setting} | "
            + " | ".join(f"{w:.2f}" for w in walls)
            + f" | {spread(paired_ratios(samples, 'provider', 'wall'))}"
            + f" | {spread(paired_ratios(samples, 'peer', 'wall'))}"
            + f" | {spread(paired_ratios(samples, 'provider', 'cpu'))}"
            + f" | {spread(paired_ratios(samples, 'peer', 'cpu'))} |"
        )
    print(
        f"\nWarm per-stack cost inside one process (validation off): median of "
        f"{args.warm_repeats * args.warm_rounds} stacks, each a new App with N models and a "
        "synth, after one warm-up stack.\n"
    )
    print(
        "| N | ours (ms) | hand-written Provider (ms) | AwsCustomResource (ms) "
        "| ours / Provider | ours / AwsCustomResource |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n, times in warm.items():
        medians = {way: statistics.median(times[way]) for way in WAYS}
        print(
            f"| {n} | "
            + " | ".join(f"{medians[way] * 1000:.0f}" for way in WAYS)
            + f" | {medians['ours'] / medians['provider']:.2f}x"
            + f" | {medians['ours'] / medians['peer']:.2f}x |"
        )
    print("\nTemplate (one stack): resources and bytes (compact JSON).\n")
    print("| N | " + " | ".join(f"{LABELS[way]} resources | bytes" for way in WAYS) + " |")
    print("|---:|" + "---:|---:|" * len(WAYS))
    for n in sizes:
        cells = [f"{templates[(n, way)][0]} | {templates[(n, way)][1]}" for way in WAYS]
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
