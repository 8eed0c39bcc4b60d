"""Where a local-cloud run's seconds go: wall, CPU and a timeline of its steps.

    .venv/bin/python benchmarks/local_timeline.py [--runs N] [--echo]
        [--baseline "OTHER COMMAND"] -- COMMAND...

    .venv/bin/python benchmarks/local_timeline.py -- bin/demo
    .venv/bin/python benchmarks/local_timeline.py -- \\
        .venv/bin/cdk-cleanrooms-ml local deploy --app "python3 examples/pipeline.py"

The command runs ``--runs`` times (default 1). This process makes itself the
*subreaper* of everything the command starts (``PR_SET_CHILD_SUBREAPER``), so the
servers a local cloud starts in sessions of their own, and the Lambda workers they
start, are reaped here when they end, and their CPU time counts. CPU is user +
system time of the whole tree; a server still running when the command ends (a
cloud ``up`` started before) is not counted.

Each line the command prints is stamped with the seconds since the start. The
timeline lists the ``==> step ... 12.3 s`` lines of ``cdk-cleanrooms-ml local``
(and, with ``--verbose`` passed to it, the stack events ``cdk`` prints in between).
Printed: one table row per run (wall, CPU, wall / CPU), the medians, the CPU by
part and the last run's timeline. With ``--baseline``, that command runs too,
interleaved with the first (baseline, command, baseline, ...), and the paired ratios
of wall and CPU (command / baseline) are printed with their spread.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

PR_SET_CHILD_SUBREAPER = 36
STEP = re.compile(r"^==> (?P<title>.*?)(?: \.\.\.(?P<rest>.*))?$")
EVENT = re.compile(r"\|\s*(?P<status>[A-Z_]+)\s*\|\s*(?P<type>\S+)\s*\|\s*(?P<id>\S+)")


@dataclass
class Run:
    wall: float
    cpu: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    code: int = 0
    by_part: dict[str, float] = field(default_factory=dict)
    spawned: dict[str, int] = field(default_factory=dict)


PARTS = (
    ("Lambda: Node.js (the framework's functions)", re.compile(r"_worker\.js")),
    ("Lambda: Python (our handler)", re.compile(r"_worker\.py")),
    ("MiniStack", re.compile(r"ministack")),
    ("emulator", re.compile(r"cdk_cleanrooms_ml\.local\.emulator")),
    ("cdk CLI (Node.js)", re.compile(r"node\S* \S*(aws-cdk|cdk)")),
    ("app synth (Python)", re.compile(r"python\S* .*\.py")),
    ("cdk-cleanrooms-ml CLI", re.compile(r"cdk-cleanrooms-ml")),
)
CLK = os.sysconf("SC_CLK_TCK")


class Sampler:
    """Every process of this tree, by what it runs: its own CPU time, last seen."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], tuple[str, float]] = {}
        self.stop = threading.Event()
        self.me = os.getpid()

    def _tree(self) -> dict[int, tuple[int, str, float]]:
        found: dict[int, tuple[int, str, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            found[int(entry)] = (
                int(fields[1]),
                cmdline,
                (int(fields[11]) + int(fields[12])) / CLK,
            )
        return found

    def sample(self) -> None:
        procs = self._tree()
        ours = {self.me}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _, _) in procs.items():
                if pid not in ours and ppid in ours:
                    ours.add(pid)
                    changed = True
        for pid in ours - {self.me}:
            ppid, cmdline, cpu = procs[pid]
            if not cmdline:
                continue
            started = cmdline  # a pid's cmdline can change after exec: key by both
            self.seen[(pid, started)] = (cmdline, cpu)

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.sample()

    def parts(self) -> tuple[dict[str, float], dict[str, int]]:
        cpu: dict[str, float] = {}
        count: dict[str, int] = {}
        for cmdline, seconds in self.seen.values():
            other = "other: " + cmdline[:60]
            part = next((name for name, rx in PARTS if rx.search(cmdline)), other)
            cpu[part] = cpu.get(part, 0.0) + seconds
            count[part] = count.get(part, 0) + 1
        return cpu, count


def _subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _cpu(usage: resource.struct_rusage) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def run_once(command: list[str], echo: bool) -> Run:
    """The command with its whole tree reaped here: wall, CPU and stamped lines."""
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stamp = time.monotonic() - started
            lines.append((stamp, line.rstrip("\n")))
            if echo:
                print(f"{stamp:7.1f}  {line}", end="", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sampler = Sampler()
    watcher = threading.Thread(target=sampler.run, daemon=True)
    watcher.start()
    cpu = 0.0
    code = 0
    # reap the command and every orphan it left (servers, workers) until none is left
    while True:
        try:
            pid, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            break
        cpu += _cpu(usage)
        if pid == process.pid:
            code = os.waitstatus_to_exitcode(status)
            process.returncode = code
    wall = time.monotonic() - started
    sampler.stop.set()
    watcher.join()
    reader.join(timeout=5)
    by_part, spawned = sampler.parts()
    return Run(wall=wall, cpu=cpu, lines=lines, code=code, by_part=by_part, spawned=spawned)


def timeline(run: Run) -> list[str]:
    """The steps (and any stack events shown) with their start times and lengths."""
    rows = ["| at (s) | step | took |", "|---:|---|---|"]
    for stamp, line in run.lines:
        step = STEP.match(line)
        if step:
            rest = (step.group("rest") or "").strip()
            took = rest.split(":")[0] if rest else ""
            # a quiet step's line is printed when it ends: its start is that minus its time
            seconds = re.match(r"(?:done in |failed after )?([\d.]+) s", took)
            begin = stamp - float(seconds.group(1)) if seconds else stamp
            rows.append(f"| {begin:.1f} | {step.group('title')} | {took} |")
            continue
        event = EVENT.search(line)
        if event and event.group("type").startswith("Custom::"):
            rows.append(
                f"| {stamp:.1f} | {event.group('id')} {event.group('status')} "
                f"({event.group('type')}) | |"
            )
    return rows


def _table(title: str, runs: list[Run]) -> None:
    print(f"{title}, {len(runs)} run(s):")
    print("| run | wall (s) | CPU (s) | wall / CPU |")
    print("|---:|---:|---:|---:|")
    for i, run in enumerate(runs, 1):
        print(f"| {i} | {run.wall:.1f} | {run.cpu:.1f} | {run.wall / run.cpu:.2f}x |")
    ratios = [run.wall / run.cpu for run in runs]
    print(
        f"| median | {statistics.median(r.wall for r in runs):.1f} | "
        f"{statistics.median(r.cpu for r in runs):.1f} | {statistics.median(ratios):.2f}x "
        f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x) |"
    )
    print()
    print("CPU of the last run by part (sampled every 0.1 s: a short process may be missed):")
    print("| part | processes | CPU (s) |")
    print("|---|---:|---:|")
    last = runs[-1]
    for part, seconds in sorted(last.by_part.items(), key=lambda kv: -kv[1]):
        print(f"| {part} | {last.spawned[part]} | {seconds:.1f} |")
    print()
    print("Timeline of the last run:")
    print("\n".join(timeline(last)))
    print()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x (min {min(values):.2f}x, max {max(values):.2f}x)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--echo", action="store_true", help="print the command's lines")
    parser.add_argument("--baseline", help="a command to pair with (one shell-quoted string)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    commands = {"command": command}
    if args.baseline:
        commands = {"baseline": shlex.split(args.baseline), **commands}
    _subreaper()
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            run = run_once(argv, args.echo)
            runs[name].append(run)
            if run.code != 0:
                print("\n".join(line for _, line in run.lines[-30:]), file=sys.stderr)
                print(f"{name} failed (exit {run.code})", file=sys.stderr)
                return 1
    for name, argv in commands.items():
        _table(f"{name}: `{shlex.join(argv)}`", runs[name])
    if args.baseline:
        pairs = list(zip(runs["command"], runs["baseline"], strict=True))
        print("command / baseline, paired runs:")
        print(f"- wall: {_spread([c.wall / b.wall for c, b in pairs])}")
        print(f"- CPU: {_spread([c.cpu / b.cpu for c, b in pairs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
