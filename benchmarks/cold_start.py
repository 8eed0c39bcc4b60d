"""The handler's cold start, as whole fresh processes: import, client, first on_event.

    .venv/bin/python benchmarks/cold_start.py [--python PY] [--rounds N]

Each round runs, interleaved, fresh interpreters on a copy of the handler asset:

- ``source``: no bytecode (as the asset ships: ``__pycache__`` is excluded to keep
  its hash stable), so every module of the handler is compiled on import;
- ``bytecode``: the same with the handler's bytecode compiled beforehand;
- ``eager``: ``source`` plus ``import long_wait`` first, what every cold start paid
  before ``engine.wait`` imported the long path's module only when it waits.

Each child times its phases itself (import ``index``; make the client; one
``on_event``: a Delete under RETAIN, which calls no API) and the parent times the
whole process. Medians and the ratios of paired runs are printed (min-max over the
rounds). ``--python`` runs another interpreter (it needs botocore; the Lambda
functions run Python 3.14, which this machine cannot install: see the README).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambda" / "handler"), str(ROOT / "tests")]

from helpers import event  # noqa: E402

EVENT = event("Delete", {"RemovalPolicy": "retain"}, physical_id="S-Model-ABC")
"""Not ours, under RETAIN: a Delete that calls no API."""
HANDLER = ROOT / "lambda" / "handler"
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
if "--eager" in sys.argv:
    import long_wait  # noqa: F401
import index
t1 = time.perf_counter()
index._get_client()
t2 = time.perf_counter()
event = json.loads(sys.argv[1])
index.on_event(event, None)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "client": t2 - t1, "on_event": t3 - t2,
                  "modules": "long_wait" in sys.modules}))
"""
VARIANTS = ("source", "bytecode", "eager")


def _copy(target: Path, bytecode: bool) -> Path:
    shutil.copytree(HANDLER, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if bytecode:
        compileall.compile_dir(
            str(target),
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    return target


def _run(python: str, folder: Path, variant: str) -> tuple[float, dict[str, float]]:
    env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x")
    env.update(AWS_SECRET_ACCESS_KEY="x", AWS_CONFIG_FILE=os.devnull)
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing is written between rounds
    env.pop("PYTHONPATH", None)
    args = [python, "-c", CHILD, json.dumps(EVENT)] + (["--eager"] if variant == "eager" else [])
    started = time.perf_counter()
    done = subprocess.run(
        args, cwd=folder, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    wall = time.perf_counter() - started
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        folders = {
            "source": _copy(Path(scratch) / "source", bytecode=False),
            "bytecode": _copy(Path(scratch) / "bytecode", bytecode=True),
        }
        folders["eager"] = folders["source"]
        for variant in VARIANTS:  # warm the OS caches once
            _run(args.python, folders[variant], variant)
        walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
        phases: dict[str, dict[str, list[float]]] = {v: {} for v in VARIANTS}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                wall, inside = _run(args.python, folders[variant], variant)
                walls[variant].append(wall)
                for key in ("import", "client", "on_event"):
                    phases[variant].setdefault(key, []).append(inside[key])
    print(f"Python {version} ({args.python}), {args.rounds} rounds, medians (ms):")
    print("| variant | whole process | import index | client | first on_event |")
    print("|---|---:|---:|---:|---:|")
    for variant in VARIANTS:
        cells = [statistics.median(walls[variant])] + [
            statistics.median(phases[variant][k]) for k in ("import", "client", "on_event")
        ]
        print(f"| {variant} | " + " | ".join(f"{c * 1000:.0f}" for c in cells) + " |")
    for a, b in (("source", "eager"), ("bytecode", "source")):
        ratios = [x / y for x, y in zip(walls[a], walls[b], strict=True)]
        print(
            f"{a} / {b} (whole process): median {statistics.median(ratios):.2f}x "
            f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)"
        )


if __name__ == "__main__":
    main()
