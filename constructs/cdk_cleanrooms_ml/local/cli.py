"""cdk-cleanrooms-ml: preview what a deploy retrains; deploy any CDK app onto a local
cloud, no AWS account.

    cdk-cleanrooms-ml diff [--app "python3 app.py"] [--local] [--json] [STACK ...]
    cdk-cleanrooms-ml local deploy [--app "python3 app.py"] [--stack NAME ...] [-c KEY=VALUE ...]
    cdk-cleanrooms-ml local destroy [--app ...] [--stack NAME ...] [-c KEY=VALUE ...] [--purge]
    cdk-cleanrooms-ml local up | down | status [--json]

diff says, for every Clean Rooms ML resource of each stack, what a deploy would do:
create it, update it in place, REPLACE it (a new training, query or job: what
changed, and what each replacement drags along) or delete it; it exits 3 when
something would be replaced (0 otherwise), so CI can gate on it.

deploy synthesizes the app first, then uses the cloud that up started, if one
runs; otherwise it starts its own, bootstraps it, deploys, prints the stack
outputs and stops it again (its stacks go with it: destroy needs a cloud from
up). destroy names what RETAIN kept in the emulator (--purge deletes it too).
Whatever a command starts, it stops: on success, on failure, on Ctrl-C
(SIGINT), SIGTERM or SIGHUP.

The app runs in the current folder, as with cdk: cdk.json there names it unless
--app does. The command passes the context that points the Clean Rooms ML
handler at the emulator (cdk-cleanrooms-ml:cleanroomsmlEndpointUrl) and
shortens the handler's polls (cdk-cleanrooms-ml:queryIntervalSeconds,
cdk-cleanrooms-ml:longWaitPollSeconds); never set these for a real account.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from .. import __version__
from .._context import (
    ENDPOINT_URL_CONTEXT_KEY,
    LONG_WAIT_POLL_SECONDS_CONTEXT_KEY,
    QUERY_INTERVAL_SECONDS_CONTEXT_KEY,
)
from . import cloud as clouds
from . import diff as diffing
from . import leftovers, processes, resources, toolkit
from .cloud import ENVIRONMENT, MINISTACK_VERSION, Cloud
from .report import Report, failure_summary
from .resources import owner_stack, shaped
from .toolkit import StepError, ToolError, Toolkit

PROG: Final = "cdk-cleanrooms-ml"
SYNTH_FAILURE_LINES: Final = 40
"""A failed synth shows this many last lines (the app's traceback), not 15."""


class CommandError(RuntimeError):
    """A usage problem the message explains (no traceback)."""


def _context_item(text: str) -> str:
    key, sep, _ = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else clouds.state_dir()


def _check_extra() -> None:
    if importlib.util.find_spec("boto3") is None:
        raise CommandError(
            "the local cloud needs the `local` extra: pip install 'cdk-cleanrooms-ml[local]'"
        )


def _ministack_python(report: Report) -> Path:
    """MiniStack's interpreter: as configured, this one (the extra), or a private venv."""
    explicit = os.environ.get(clouds.MINISTACK_PYTHON_ENV)
    if explicit:
        return Path(explicit)
    if clouds.ministack_here():
        return Path(sys.executable)
    target = clouds.cache_dir() / f"ministack-{MINISTACK_VERSION}"
    marker = target / ".installed"
    if marker.exists() and marker.read_text() == " ".join(clouds.REQUIREMENTS):
        return target / "bin" / "python"
    with report.step(f"install MiniStack {MINISTACK_VERSION} into {target} (first run only)"):
        return clouds.pinned_venv(
            target, clouds.REQUIREMENTS, log=None if report.verbose else io.StringIO()
        )


def _node_bin_here() -> Path | None:
    """The Node.js ``up`` gives MiniStack: ``./node_modules/.bin``'s if any, else PATH's."""
    try:
        node, _ = toolkit.find_node(toolkit.search_path(Path.cwd()))
    except ToolError:
        return None
    return node.parent


@contextlib.contextmanager
def _following(cloud: Cloud, report: Report, from_start: bool) -> Iterator[None]:
    """With ``--verbose``, stream the servers' logs while the block runs."""
    if not report.verbose:
        yield
        return
    done = threading.Event()

    def follow() -> None:
        handles = {}
        for process in cloud.processes:
            if process.log is not None and process.log.exists():
                handle = process.log.open(errors="replace")
                if not from_start:
                    handle.seek(0, os.SEEK_END)
                handles[process.name] = handle
        while True:
            quiet = True
            for name, handle in handles.items():
                for line in iter(handle.readline, ""):
                    quiet = False
                    report.raw(f"[{name}] {line}")
            if quiet and done.wait(0.2):
                break
        for handle in handles.values():
            handle.close()

    thread = threading.Thread(target=follow, daemon=True, name="follow-logs")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=2)


def _describe(cloud: Cloud) -> str:
    return f"MiniStack {cloud.ministack_url}, emulator {cloud.emulator_url}"


def _parts(cloud: Cloud) -> str:
    """``MiniStack (pid 12, http://...) is running, the emulator (pid 13) is stopped``."""
    urls = {"emulator": cloud.emulator_url, "ministack": cloud.ministack_url}
    parts = cloud.parts()
    said = []
    for process in cloud.processes:
        state = parts.get(process.name, clouds.STOPPED)
        where = f"pid {process.pid}" + (
            f", {urls[process.name]}" if state != clouds.STOPPED else ""
        )
        name = clouds.SERVER_NAMES.get(process.name, process.name)
        said.append(f"{name} ({where}) is {state}")
    return ", ".join(said)


def _half_dead(cloud: Cloud, directory: Path) -> str:
    return (
        f"the local cloud `up` started is half-dead: {_parts(cloud)} (state: {directory}); "
        f"`{PROG} local down` stops what is left of it, then `{PROG} local up` starts a new one"
    )


def _up_cloud(args: argparse.Namespace, report: Report) -> Cloud | None:
    """The cloud ``up`` started, if it runs; None if there is none (or it has stopped).

    A half-dead one (one server still running) is an error: a second cloud beside
    it would hide it, and its stacks are not there to deploy to or destroy from.
    """
    directory = _state_dir(args)
    running = clouds.load(directory)
    if running is None:
        return None
    state = running.state()
    if state == clouds.RUNNING:
        return running
    if state == clouds.HALF_DEAD:
        raise CommandError(_half_dead(running, directory))
    report.line(
        f"==> the local cloud `up` started has stopped (state: {directory}; "
        f"`{PROG} local down` clears its record)"
    )
    return None


@contextlib.contextmanager
def _cloud(
    args: argparse.Namespace, report: Report, planned: Cloud, running: bool
) -> Iterator[Cloud]:
    """The cloud ``up`` started (``running``), or ``planned`` started (and always
    stopped) for this command."""
    if running:
        try:
            with _following(planned, report, from_start=False):
                yield planned
        finally:  # a replaced or rolled-back function's workers: MiniStack leaves them
            with contextlib.suppress(Exception):
                leftovers.stop_workers(planned)
        return
    python = _ministack_python(report)
    directory = clouds.own_dir()
    started: Cloud | None = None
    failed = False
    try:
        with report.step("start the local cloud") as step:
            started = clouds.start(
                directory,
                ministack_python=python,
                node_bin=planned.node_bin,
                training_seconds=_training_seconds(args),
                verbose=report.verbose,
                planned=planned,
            )
            step.detail = _describe(started)
        with _following(started, report, from_start=True):
            yield started
    except Exception:
        failed = True  # its logs are kept (not on an interruption: nothing went wrong)
        raise
    finally:
        if started is not None:
            with report.step("stop the local cloud"):
                started.stop()
        if failed:
            report.line(f"    its files and logs are kept in {directory}")
        else:
            clouds.remove(directory)


def _training_seconds(args: argparse.Namespace) -> float:
    value: float = args.training_seconds if args.training_seconds is not None else 5.0
    return value


def _shown(failure: StepError, report: Report, tail: int = 15) -> None:
    """What failed, printed at once (before any cleanup line), unless it streamed."""
    if not report.verbose:
        for line in failure_summary(failure.lines, tail=tail):
            print(f"    {line}", file=sys.stderr, flush=True)
    failure.shown = True


def _step(
    report: Report,
    title: str,
    tools: Toolkit,
    cloud: Cloud,
    args: Sequence[str],
    *,
    output: Path | None = None,
    tail: int = 15,
) -> list[str]:
    """``cdk <args>`` as one step; a failure prints what failed right after the step."""
    try:
        with report.step(title):
            return tools.run(cloud, args, cwd=Path.cwd(), report=report, output=output)
    except StepError as failure:
        _shown(failure, report, tail)
        raise


def _bootstrap(cloud: Cloud, tools: Toolkit, report: Report) -> None:
    """``cdk bootstrap`` the local account once per cloud (concurrent commands wait)."""
    marker = cloud.dir / "bootstrapped"
    with clouds.locked(cloud.dir / "bootstrap.lock"):
        if marker.exists():
            return
        # `--app ""`: the CLI would otherwise run the whole app first (seconds of synth)
        # although the environment is named; cdk.json's context (a qualifier) still holds
        bootstrap = ["bootstrap", ENVIRONMENT, "--app", ""]
        _step(report, f"cdk bootstrap {ENVIRONMENT}", tools, cloud, bootstrap)
        clouds.bootstrap_bucket_plain_http(cloud)
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _app_args(args: argparse.Namespace, cloud: Cloud) -> list[str]:
    """``--app``, the local-mode context, then the user's own (which may override it)."""
    poll = str(args.poll_seconds)
    context = [
        f"{ENDPOINT_URL_CONTEXT_KEY}={cloud.emulator_url}",
        f"{QUERY_INTERVAL_SECONDS_CONTEXT_KEY}={poll}",
        f"{LONG_WAIT_POLL_SECONDS_CONTEXT_KEY}={poll}",
        *args.context,
    ]
    found = ["--app", args.app] if args.app else []
    for item in context:
        found += ["--context", item]
    return found


def _synth(
    args: argparse.Namespace, report: Report, tools: Toolkit, cloud: Cloud, output: Path
) -> Path:
    """The app synthesized for ``cloud`` into ``output`` (the assembly ``deploy`` takes);
    a broken app fails here, its whole traceback shown, before anything starts."""
    _step(
        report,
        "cdk synth",
        tools,
        cloud,
        ["synth", "--quiet", *_app_args(args, cloud)],
        output=output,
        tail=SYNTH_FAILURE_LINES,
    )
    return output


def _targets(args: argparse.Namespace) -> tuple[list[str], str]:
    if args.stack:
        return list(args.stack), " ".join(args.stack)
    return ["--all"], "(all stacks)"


def deploy(args: argparse.Namespace, report: Report) -> int:
    _check_extra()
    tools = toolkit.find(Path.cwd(), args.cdk)
    warning = tools.node_warning()
    if warning:
        report.line(warning)
    running = _up_cloud(args, report)
    if running is not None:
        report.line(f"==> local cloud (from `up`): {_describe(running)}")
        if args.training_seconds is not None:
            running.emulator("timings", {"training_seconds": args.training_seconds})
    targets, names = _targets(args)
    with tempfile.TemporaryDirectory(prefix="cdk-cleanrooms-ml-") as scratch:
        work = Path(scratch)
        planned = running or clouds.plan(work, tools.node_bin)
        assembly = _synth(args, report, tools, planned, work / "cdk.out")
        outputs_file = Path(args.outputs_file or work / "outputs.json").resolve()
        with _cloud(args, report, planned, running is not None) as cloud:
            if cloud.emulator_url != planned.emulator_url:  # its ports were taken meanwhile
                assembly = _synth(args, report, tools, cloud, work / "cdk.out-again")
            _bootstrap(cloud, tools, report)
            _step(
                report,
                f"cdk deploy {names}",
                tools,
                cloud,
                [
                    "deploy",
                    *targets,
                    "--require-approval",
                    "never",
                    "--outputs-file",
                    str(outputs_file),
                    "--app",
                    str(assembly),
                ],
            )
        outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
    values = [
        (stack, key, value) for stack, found in outputs.items() for key, value in found.items()
    ]
    report.line("Outputs:" if values else "Outputs: none")
    for stack, key, value in values:
        report.line(f"  {stack}.{key} = {value}")
    return 0


def destroy(args: argparse.Namespace, report: Report) -> int:
    _check_extra()
    running = _up_cloud(args, report)
    if running is None:
        raise CommandError(
            f"no local cloud is running: `{PROG} local up` starts one to deploy to and destroy "
            "from (a cloud that `deploy` starts itself is gone, with its stacks, when it ends)"
        )
    tools = toolkit.find(Path.cwd(), args.cdk)
    targets, names = _targets(args)
    report.line(f"==> local cloud (from `up`): {_describe(running)}")
    before = leftovers.stacks(running)
    with _following(running, report, from_start=False):
        try:
            with report.step(f"cdk destroy {names}") as step:
                lines = tools.run(
                    running,
                    ["destroy", *targets, "--force", *_app_args(args, running)],
                    cwd=Path.cwd(),
                    report=report,
                )
                live = leftovers.stacks(running)
                gone = leftovers.destroyed(before, live, lines)
                stopped = leftovers.stop_workers(running)
                if stopped:
                    step.detail = f"{stopped} Lambda worker{'s' if stopped > 1 else ''} stopped"
        except StepError as failure:
            _shown(failure, report)
            raise
    recorded = leftovers.remember(running, (before[name] for name in gone if name in before))
    found = shaped(running.emulator("resources"))
    left = leftovers.left(found, gone, recorded, live.values())
    if not left:
        return 0
    whose = ", ".join(sorted({owner_stack(r) or "" for _, r in left} & gone) or sorted(gone))
    if args.purge:
        with report.step(f"purge what {whose} left in the emulator") as step:
            problems = leftovers.purge(running, left)
            step.detail = f"{len(left) - len(problems)} deleted"
        if problems:
            raise CommandError("could not purge:\n  " + "\n  ".join(problems))
        return 0
    report.line(
        f"    kept by RETAIN in the emulator until `{PROG} local down` "
        "(`destroy --purge` deletes them):"
    )
    for kind, record in left:
        report.line(f"      {resources.line(kind, record)}")
    return 0


def up(args: argparse.Namespace, report: Report) -> int:
    _check_extra()
    directory = _state_dir(args)
    with clouds.locked(directory / "up.lock"):
        running = clouds.load(directory)
        state = running.state() if running is not None else None
        if running is not None and state == clouds.RUNNING:
            report.line(f"==> already running: {_describe(running)}")
            return 0
        if running is not None and state == clouds.HALF_DEAD:
            raise CommandError(_half_dead(running, directory))
        if running is not None:  # a cloud that died: clear what is left of it
            running.stop()
            (directory / clouds.STATE_FILE).unlink(missing_ok=True)
            clouds.remove(running.dir)
        python = _ministack_python(report)
        directory.mkdir(parents=True, exist_ok=True)
        cloud_dir = Path(tempfile.mkdtemp(prefix="cloud-", dir=directory))
        started: Cloud | None = None
        try:
            with report.step("start the local cloud") as step:
                started = clouds.start(
                    cloud_dir,
                    ministack_python=python,
                    node_bin=_node_bin_here(),
                    training_seconds=_training_seconds(args),
                    verbose=report.verbose,
                )
                started.save(directory)
                step.detail = _describe(started)
        except BaseException:
            if started is not None:  # interrupted after it started: nothing stays behind
                started.stop()
                (directory / clouds.STATE_FILE).unlink(missing_ok=True)
            clouds.remove(cloud_dir)
            raise
    report.line(f"    it keeps running; stop it with `{PROG} local down` (state: {directory})")
    return 0


def down(args: argparse.Namespace, report: Report) -> int:
    directory = _state_dir(args)
    with clouds.locked(directory / "up.lock"):
        running = clouds.load(directory)
        if running is None:
            report.line("==> no local cloud is running")
            return 0
        state = running.state()
        what = "what is left of the local cloud" if state != clouds.RUNNING else "the local cloud"
        with report.step(f"stop {what}: {_describe(running)}"):
            running.stop()
            (directory / clouds.STATE_FILE).unlink(missing_ok=True)
            clouds.remove(running.dir)
    return 0


def status(args: argparse.Namespace, report: Report) -> int:
    directory = _state_dir(args)
    running = clouds.load(directory)
    parts = running.parts() if running is not None else {}
    state = clouds.state_of(parts) if running is not None else "none"
    answering = running is not None and parts.get("emulator") == clouds.RUNNING
    held = shaped(running.emulator("resources")) if running and answering else {}
    if args.json:
        record = running.record() if running else {}
        for process in record.get("processes", []):
            process["state"] = parts.get(process["name"], clouds.STOPPED)
        found = {"running": state == clouds.RUNNING, "state": state, **record}
        report.line(json.dumps({**found, "resources": held}, indent=2))
    elif running is None:
        report.line(f"no local cloud is running (state: {directory})")
    elif state == clouds.STOPPED:
        report.line(
            f"no local cloud is running: the one `up` started has stopped (state: {directory}; "
            f"`{PROG} local down` clears its record)"
        )
    elif state == clouds.HALF_DEAD:
        report.line(_half_dead(running, directory))
    else:
        report.line(f"running: {_describe(running)} (state: {directory})")
    if not args.json:
        for kind, items in held.items():
            for item in items:
                report.line(f"  {resources.line(kind, item)}")
    return 0 if state == clouds.RUNNING else 1


def diff(args: argparse.Namespace, report: Report) -> int:
    """``cdk-cleanrooms-ml diff``: the replacement preview (``local/diff.py``)."""
    local = None
    if not args.account:
        local = _up_cloud(args, report)
        if args.local and local is None:
            raise CommandError(f"no local cloud is running: start one with `{PROG} local up`")
    tools = None if args.cdk_out else toolkit.find(Path.cwd(), args.cdk)
    try:
        return diffing.run(args, report, tools, local)
    except diffing.DiffError as error:
        raise CommandError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="{diff,local}")
    preview = groups.add_parser(
        "diff",
        help="what a deploy would create, update, replace (retrain) or delete",
        description="what a deploy would do to each Clean Rooms ML resource: created, "
        "updated in place, REPLACED (a new training, query or job) or deleted; exit code "
        f"{diffing.REPLACES_EXIT_CODE} when something would be replaced",
    )
    preview.add_argument("stacks", nargs="*", metavar="STACK", help="stacks (default: all)")
    preview.add_argument("--app", help="the app command, as cdk --app (default: cdk.json's)")
    preview.add_argument("--cdk-out", help="read this cloud assembly instead of synthesizing")
    preview.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        type=_context_item,
        metavar="KEY=VALUE",
        help="context for the app, as cdk -c",
    )
    preview.add_argument(
        "--cdk", help="the aws-cdk CLI command (default: ./node_modules/.bin/cdk, else cdk)"
    )
    where = preview.add_mutually_exclusive_group()
    where.add_argument(
        "--local",
        action="store_true",
        help="against the local cloud from `up` (the default when one runs)",
    )
    where.add_argument(
        "--account",
        action="store_true",
        help="against your AWS account (the default when no local cloud runs)",
    )
    preview.add_argument("--json", action="store_true", help="as JSON")
    preview.add_argument(
        "--state-dir",
        help=f"where up keeps the running cloud (default: ${clouds.STATE_DIR_ENV})",
    )
    preview.add_argument("--verbose", action="store_true", help="stream the tools' raw output")
    preview.set_defaults(handler=diff)
    local = groups.add_parser(
        "local",
        help="the local cloud (MiniStack + Clean Rooms ML emulator)",
        description="deploy a CDK app onto a local cloud (MiniStack + Clean Rooms ML emulator)",
    )
    commands = local.add_subparsers(dest="command", metavar="{deploy,destroy,up,down,status}")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir",
        help=f"where up keeps the running cloud (default: ${clouds.STATE_DIR_ENV}, "
        "else ~/.local/state/cdk-cleanrooms-ml/local)",
    )
    common.add_argument("--verbose", action="store_true", help="stream the tools' raw output")
    cloud_options = argparse.ArgumentParser(add_help=False)
    cloud_options.add_argument(
        "--training-seconds",
        type=float,
        help="how long a training (channel query, inference job) takes in the emulator "
        "(default 5; on a running cloud, changes it)",
    )
    app = argparse.ArgumentParser(add_help=False)
    app.add_argument("--app", help='the app command, as cdk --app (default: "app" in cdk.json)')
    app.add_argument(
        "--stack", action="append", default=[], help="a stack to act on (default: all)"
    )
    app.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        type=_context_item,
        metavar="KEY=VALUE",
        help="context for the app, as cdk -c",
    )
    app.add_argument(
        "--cdk",
        help="the aws-cdk CLI command (default: ./node_modules/.bin/cdk, else cdk on PATH)",
    )
    app.add_argument(
        "--poll-seconds",
        type=int,
        default=1,
        help="the Clean Rooms ML handler's poll interval on the local cloud (default 1)",
    )

    def command(name: str, summary: str, parents: list[argparse.ArgumentParser]) -> Any:
        """A subcommand: ``summary`` is its line in the list and its help's first line."""
        return commands.add_parser(name, parents=parents, help=summary, description=summary)

    parents = [common, cloud_options, app]

    run = command("deploy", "synthesize an app, deploy it, print its outputs", parents)
    run.add_argument("--outputs-file", help="also write the outputs there (as cdk deploy)")
    run.set_defaults(handler=deploy)
    gone = command("destroy", "destroy an app's stacks; name what RETAIN kept", [common, app])
    gone.add_argument(
        "--purge",
        action="store_true",
        help="also delete what the destroyed stacks left in the emulator (what RETAIN kept)",
    )
    gone.set_defaults(handler=destroy, training_seconds=None)
    start = command("up", "start a local cloud that keeps running", [common, cloud_options])
    start.set_defaults(handler=up)
    stop = command("down", "stop the cloud up started (or what is left of it)", [common])
    stop.set_defaults(handler=down)
    show = command("status", "show the cloud up started and the emulator's resources", [common])
    show.add_argument("--json", action="store_true", help="as JSON (see the README)")
    show.set_defaults(handler=status)
    parser.set_defaults(usage=parser)
    local.set_defaults(usage=local)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "handler", None) is None:  # no command: what there is, and a failure
        args.usage.print_help(sys.stderr)
        return 2
    report = Report(verbose=args.verbose)
    with processes.signals():
        try:
            code: int = args.handler(args, report)
        except processes.Interrupted as stop:
            print(f"{PROG}: interrupted ({stop}); stopped what it started", file=sys.stderr)
            return 128 + stop.signum
        except StepError as failure:
            if not failure.shown:
                _shown(failure, report)
            print(f"{PROG}: {failure}", file=sys.stderr)
            return 1
        except (CommandError, ToolError, RuntimeError, OSError) as error:
            print(f"{PROG}: {error}", file=sys.stderr)
            return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
