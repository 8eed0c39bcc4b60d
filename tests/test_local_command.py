"""The ``cdk-cleanrooms-ml local`` command itself: quiet output, where its tools come
from, and that it stops everything it starts, also when interrupted. The slow tests
start clouds of their own (the demo, interrupted runs, the wheel in a fresh venv).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_cleanrooms_ml.local import cli, cloud, processes
from cdk_cleanrooms_ml.local.report import Report, failure_summary
from cdk_cleanrooms_ml.local.toolkit import Toolkit
from local_cli import ROOT, env, run

PROBE = "CDK_CLEANROOMS_ML_TEST_PROBE"
"""An environment variable the tests give a command: every process it starts inherits it."""


def probed(mark: str) -> dict[int, str]:
    """Every live process (pid: command line) whose environment carries ``PROBE=mark``."""
    found = {}
    wanted = f"{PROBE}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not processes.alive(int(entry.name)):
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
    return {pid: command.decode(errors="replace") for pid, command in found.items()}


# --- fast: no cloud ---------------------------------------------------------------


def test_the_local_extra_pins_what_the_command_installs_for_ministack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["local"] == list(cloud.REQUIREMENTS)
    assert project["scripts"]["cdk-cleanrooms-ml"] == "cdk_cleanrooms_ml.local.cli:main"


def test_destroy_needs_a_cloud_from_up_and_says_so(tmp_path: Path) -> None:
    done = run("destroy", "--state-dir", str(tmp_path), check=False)
    assert done.returncode == 1
    assert "no local cloud is running" in done.stdout
    assert "cdk-cleanrooms-ml local up" in done.stdout
    assert "Traceback" not in done.stdout


def test_status_and_down_without_a_cloud(tmp_path: Path) -> None:
    status = run("status", "--state-dir", str(tmp_path), check=False)
    assert status.returncode == 1
    assert "no local cloud is running" in status.stdout
    assert (
        json.loads(run("status", "--json", "--state-dir", str(tmp_path), check=False).stdout)[
            "running"
        ]
        is False
    )
    assert "no local cloud is running" in run("down", "--state-dir", str(tmp_path)).stdout


def test_deploy_without_an_aws_cdk_cli_says_where_to_get_one(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node
    only_node = tmp_path / "bin"
    only_node.mkdir()
    (only_node / "node").symlink_to(node)
    app, state = tmp_path / "app", tmp_path / "state"
    app.mkdir()
    done = run(
        "deploy",
        "--state-dir",
        str(state),
        cwd=app,
        environment=env(PATH=os.pathsep.join([str(Path(sys.executable).parent), str(only_node)])),
        check=False,
    )
    assert done.returncode == 1
    assert "no aws-cdk CLI found: `npm install aws-cdk` in the app folder" in done.stdout
    assert not state.exists()  # it checks before it starts anything
    assert not list(app.iterdir())


@pytest.mark.parametrize(("version", "warned"), [("v20.20.2", True), ("v24.21.0", False)])
def test_a_node_that_is_not_a_supported_lts_gets_one_warning_line(
    version: str, warned: bool
) -> None:
    tools = Toolkit(("cdk",), (), Path("/usr/bin/node"), version)
    warning = tools.node_warning()
    assert (warning is not None) == warned
    if warning:
        assert "\n" not in warning
        assert version in warning
        assert "node_modules/.bin" in warning


def test_a_failure_summary_keeps_the_failed_events_and_the_end() -> None:
    lines = [
        "Stack |  0/17 | CREATE_IN_PROGRESS | Custom::CleanRoomsMLTrainedModel | Model",
        "Stack |  1/17 | CREATE_FAILED | Custom::CleanRoomsMLTrainedModel | Model reason: boom",
        *[f"Stack | rollback event {i}" for i in range(60)],
        "❌  Stack failed: ROLLBACK_COMPLETE",
    ]
    summary = failure_summary(lines)
    assert summary[0].endswith("reason: boom")
    assert summary[-1] == "❌  Stack failed: ROLLBACK_COMPLETE"
    assert len(summary) == 1 + 15
    assert "CREATE_IN_PROGRESS" not in " ".join(summary)


def test_a_stopped_tree_takes_the_processes_that_left_its_group(tmp_path: Path) -> None:
    started = processes.start(
        "probe",
        ["sh", "-c", "sleep 300 & setsid sleep 300 & trap '' TERM; wait"],
        env=os.environ,
        cwd=tmp_path,
        log=tmp_path / "probe.log",
        grace=1.0,
    )
    deadline = time.monotonic() + 10
    while len(processes.tree(started.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    members = processes.tree(started.pid)
    assert len(members) == 2  # one sleep in the group, one in a session of its own
    started.stop()  # the shell ignores SIGTERM: SIGKILL after the grace period
    assert not started.running()
    assert not [pid for pid in members if processes.alive(pid)]


def test_a_signal_inside_a_deferred_block_is_raised_when_it_ends() -> None:
    reached = []

    def block() -> None:
        with processes.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            reached.append("end of block")

    with processes.signals(), pytest.raises(processes.Interrupted) as raised:
        block()
    assert reached == ["end of block"]
    assert raised.value.signum == signal.SIGTERM


# --- slow: clouds of their own ------------------------------------------------------


@pytest.mark.slow(seconds=3)
def test_a_port_taken_before_ministack_binds_it_means_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cloud.CACHE_DIR_ENV, str(ROOT / ".cache"))
    python = cli._ministack_python(Report())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        found = iter([cloud.free_port(), port])  # the first MiniStack port is taken
        free = cloud.free_port
        monkeypatch.setattr(cloud, "free_port", lambda: next(found, None) or free())
        started = cloud.start(tmp_path, ministack_python=python, node_bin=None, training_seconds=1)
        try:
            assert started.ministack_url != f"http://127.0.0.1:{port}"
            assert started.healthy()
        finally:
            started.stop()
    assert not [p for p in started.processes if p.running()]


def _setup_is_current() -> bool:
    """Whether ``bin/setup`` (which ``bin/demo`` runs first) has nothing to do."""

    def current(stamp: Path, source: Path) -> bool:
        want = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        return stamp.exists() and stamp.read_text().strip() == want

    return current(ROOT / ".venv" / ".setup-stamp", ROOT / "pyproject.toml") and current(
        ROOT / "node_modules" / ".setup-stamp", ROOT / "package-lock.json"
    )


@pytest.mark.slow(seconds=40)
def test_the_demo_deploys_replaces_and_destroys_in_a_few_quiet_lines(tmp_path: Path) -> None:
    if not _setup_is_current():  # it would reinstall .venv or node_modules under other tests
        pytest.fail("bin/setup has work to do: run it (bin/test does) before the tests")
    done = subprocess.run(
        [str(ROOT / "bin" / "demo")],
        env=env(TRAINING_SECONDS="2", CDK_CLEANROOMS_ML_LOCAL_DIR=str(tmp_path / "no-cloud")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, output
    lines = output.splitlines()
    assert len(lines) <= 25, output
    for noise in ("b'!!", "end-of-life", "NodeVersionSupportWarning", "WARNING: Location"):
        assert noise not in output
    assert "warning: Node.js" not in output  # the pinned LTS, first on PATH
    steps = [line for line in lines if line.startswith("==> cdk ")]
    # synth, bootstrap, deploy; synth, deploy; destroy: one line each, with its time
    assert [step.split(" ...")[0] for step in steps] == [
        "==> cdk synth",
        "==> cdk bootstrap aws://000000000000/us-east-1",
        "==> cdk deploy (all stacks)",
        "==> cdk synth",
        "==> cdk deploy (all stacks)",
        "==> cdk destroy (all stacks)",
    ]
    assert all(re.search(r" \d+\.\d s(: [^:]+)?$", line) for line in steps)
    first, second = re.findall(r"CleanRoomsMLExample\.TrainedModelArn = (\S+)", output)
    assert first.startswith("arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/")
    assert second != first  # epochs=20 replaced the model
    assert "VersionIdentifier" not in output  # a base model has no version
    # removal policy DESTROY: the replaced model's output deleted on replacement, the other's
    # on destroy
    models = {
        arn: status for status, arn in re.findall(r"trained-model  \S+  (\S+)  (\S+)", output)
    }
    assert models == {first: "INACTIVE", second: "INACTIVE"}
    assert lines[-1].startswith("==> stop the local cloud")
    assert not (tmp_path / "no-cloud").exists()  # it started a cloud of its own elsewhere


class Running:
    """A command running in the background, its output collected as it comes."""

    def __init__(self, command: list[str], environment: dict[str, str], cwd: Path) -> None:
        self.popen = subprocess.Popen(
            command,
            env=environment,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        while chunk := os.read(self.popen.stdout.fileno(), 4096):
            self.output += chunk.decode(errors="replace")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.popen.poll() is None, self.output
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output}"
            time.sleep(0.1)

    def finish(self, timeout: float = 60) -> int:
        code = self.popen.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def probe_mark() -> Iterator[str]:
    mark = f"{os.getpid()}-{time.monotonic_ns()}"
    yield mark
    for pid in probed(mark):  # a failing test leaves nothing behind either
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _emulator_training(url: str, timeout: float = 120) -> None:
    """Wait until the emulator has a model: the deploy's Lambda functions are running."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/_emulator/models", timeout=5) as response:
            if json.loads(response.read()):
                return
        time.sleep(0.3)
    raise AssertionError("no model was created")


@pytest.mark.slow(seconds=14)
@pytest.mark.parametrize(
    ("signum", "phase"),
    [(signal.SIGINT, "mid-deploy"), (signal.SIGTERM, "bootstrap")],
    ids=["SIGINT-mid-deploy", "SIGTERM-during-bootstrap"],
)
def test_an_interrupted_run_leaves_no_process_behind(
    tmp_path: Path, probe_mark: str, signum: int, phase: str
) -> None:
    command = Running(
        [
            str(Path(sys.executable).parent / "cdk-cleanrooms-ml"),
            *("local", "deploy", "--state-dir", str(tmp_path / "no-cloud")),
            *("--training-seconds", "120"),
        ],
        env(**{PROBE: probe_mark}),
        ROOT,
    )
    command.wait_for("==> cdk bootstrap")
    url = re.search(r"emulator (http://127\.0\.0\.1:\d+)", command.output)
    assert url
    if phase == "mid-deploy":
        command.wait_for("==> cdk deploy")
        _emulator_training(url.group(1))  # the custom resource's Lambda functions poll now
    else:
        while not any(" bootstrap " in line for line in probed(probe_mark).values()):
            time.sleep(0.1)
    before = probed(probe_mark)
    kinds = " ".join(before.values())
    assert "cdk_cleanrooms_ml.local.emulator" in kinds
    assert "-m ministack" in kinds
    assert re.search(r"\bnode\b.*\bcdk (deploy|bootstrap)\b", kinds)  # the aws-cdk CLI
    if phase == "mid-deploy":
        assert "ministack-lambda" in kinds  # MiniStack's Lambda workers
    ministack = next(pid for pid, line in before.items() if "-m ministack" in line)
    cloud_dir = Path(os.readlink(f"/proc/{ministack}/cwd"))

    os.kill(command.popen.pid, signum)
    assert command.finish() == 128 + signum
    assert f"interrupted ({signal.Signals(signum).name}); stopped what it started" in (
        command.output
    )
    assert probed(probe_mark) == {}  # nothing it started is left: not one process
    assert not cloud_dir.exists()  # nor its files (an interruption is not a failure)


def _dev_pin(name: str) -> str:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = (p for p in dev["dev"] if p.startswith(f"{name}=="))
    return str(pin)


@pytest.fixture(scope="session")
def wheel_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cdk-cleanrooms-ml`` from the built wheel, installed with ``[local]`` in a venv of
    its own (``.cache/wheel-venv-*``: its dependencies are installed once; the wheel again
    only when its hash changes)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "-w", str(out), str(ROOT)),
        ],
        check=True,
        env=env(),
    )
    (wheel,) = out.glob("cdk_cleanrooms_ml-*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    dependencies = [_dev_pin("aws-cdk-lib"), _dev_pin("constructs"), *cloud.REQUIREMENTS]
    key = hashlib.sha256(" ".join([sys.version, *dependencies]).encode()).hexdigest()[:12]
    venv = ROOT / ".cache" / f"wheel-venv-{key}"
    python = cloud.pinned_venv(venv, dependencies, log=io.StringIO())
    marker = venv / ".wheel"
    if not marker.exists() or marker.read_text() != digest:
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
        if marker.exists():  # another build of the same version: pip would keep it
            subprocess.run([*pip, "uninstall", "--yes", "cdk-cleanrooms-ml"], check=True, env=env())
        # the extra's requirements are resolved again against the wheel's metadata
        subprocess.run([*pip, "install", f"{wheel}[local]"], check=True, env=env())
        marker.write_text(digest)
    return venv / "bin" / "cdk-cleanrooms-ml"


OUTSIDE_APP = """\
from aws_cdk import App, CfnOutput, RemovalPolicy, Size, Stack

from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel

PREFIX = "arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{membership}"
CHANNEL = PREFIX + "/ml-input-channel/c"
app = App()
stack = Stack(app, "MyModels")
model = TrainedModel(
    stack,
    "Churn",
    membership_identifier="{membership}",
    configured_model_algorithm_association_arn=PREFIX + "/configured-model-algorithm-association/a",
    instance_type=InstanceType.ML_M5_XLARGE,
    volume_size=Size.gibibytes(10),
    data_channels=[DataChannel(ml_input_channel_arn=CHANNEL, channel_name="train")],
    hyperparameters={{"depth": "3"}},
    removal_policy=RemovalPolicy.DESTROY,
)
CfnOutput(stack, "ChurnModelArn", value=model.trained_model_arn)
app.synth()
"""


@pytest.mark.slow(seconds=24)
def test_an_app_outside_the_repository_deploys_and_destroys_with_the_wheels_command(
    wheel_cli: Path, tmp_path: Path, probe_mark: str
) -> None:
    membership = "11111111-2222-4333-8444-555555555555"
    app_dir = tmp_path / "my-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(OUTSIDE_APP.format(membership=membership))
    state = tmp_path / "state"
    # only the wheel's venv and Node.js (the repository's pinned one, with the aws-cdk
    # CLI, stands in for a user's own): nothing of the repository's .venv
    path = os.pathsep.join([str(ROOT / "node_modules" / ".bin"), "/usr/bin", "/bin"])
    environment = {
        "HOME": os.environ["HOME"],
        "PATH": path,
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_VALIDATION": "false",
        PROBE: probe_mark,
    }

    def local(*args: str) -> str:
        return run(
            *args, "--state-dir", str(state), cli=wheel_cli, cwd=app_dir, environment=environment
        ).stdout

    started = time.monotonic()
    local("up", "--training-seconds", "2")
    deployed = local("deploy", "--app", "python3 app.py")
    arn = re.search(r"MyModels\.ChurnModelArn = (\S+)", deployed)
    assert arn, deployed
    assert arn.group(1).startswith(
        f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{membership}/trained-model/"
    )
    status = json.loads(local("status", "--json"))
    (model,) = status["resources"]["trained-model"]
    assert (model["arn"], model["status"]) == (arn.group(1), "ACTIVE")
    assert model["owner"].startswith("MyModels/Churn")  # <stack>/<logical id>
    assert model["hyperparameters"] == {"depth": "3"}
    # MiniStack runs on the wheel venv's interpreter (the extra), not a private one
    ministack = next(p for p in status["processes"] if p["name"] == "ministack")
    assert Path(os.readlink(f"/proc/{ministack['pid']}/exe")).name.startswith("python")
    assert str(wheel_cli.parent) in Path(f"/proc/{ministack['pid']}/cmdline").read_text()
    local("destroy", "--app", "python3 app.py")
    (model,) = json.loads(local("status", "--json"))["resources"]["trained-model"]
    assert model["status"] == "INACTIVE"  # DESTROY deleted its output
    local("down")
    print(f"outside app: up, deploy, destroy, down in {time.monotonic() - started:.1f} s")
    assert probed(probe_mark) == {}
    assert not (app_dir / "cdk.out").exists()  # each run synthesizes into a folder of its own
