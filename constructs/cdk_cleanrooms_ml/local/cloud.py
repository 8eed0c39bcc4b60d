"""The local cloud: MiniStack and the Clean Rooms ML emulator, started, found, stopped.

MiniStack (``ministack==1.5.33``) pins its own botocore (1.43.106) and runs
Python Lambda functions on its own interpreter (``sys.executable``; its one-shot
path runs ``python3`` from PATH), as Lambda's runtime would with its bundled
SDK: that interpreter needs boto3. The ``local`` extra installs exactly these
pins, and then MiniStack runs on the command's own interpreter. Where that
interpreter cannot take them (a botocore pinned otherwise, as in this
repository's dev environment), MiniStack gets a private virtualenv,
``<cache>/ministack-1.5.33``, made on first use.

MiniStack's Node.js Lambda functions (the CDK Provider framework's) run on the
first ``node`` on its PATH, whatever runtime the function names; so does jsii,
and so does the aws-cdk CLI (``#!/usr/bin/env node``): the Node.js the command
puts first on PATH serves all three.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from . import processes
from .processes import Started

MINISTACK_VERSION: Final = "1.5.33"
MINISTACK_BOTO3: Final = "1.43.106"
"""boto3 for MiniStack's Python Lambdas, matching the botocore MiniStack pins."""
REQUIREMENTS: Final = (f"ministack=={MINISTACK_VERSION}", f"boto3=={MINISTACK_BOTO3}")
"""What MiniStack's interpreter needs: the ``local`` extra of ``pyproject.toml``."""
ACCOUNT: Final = "000000000000"
REGION: Final = "us-east-1"
ENVIRONMENT: Final = f"aws://{ACCOUNT}/{REGION}"
BOOTSTRAP_BUCKET: Final = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
STATE_FILE: Final = "cloud.json"

RUNNING: Final = "running"
NOT_ANSWERING: Final = "not answering"
STOPPED: Final = "stopped"
HALF_DEAD: Final = "half-dead"
SERVER_NAMES: Final = {"emulator": "the emulator", "ministack": "MiniStack"}

STATE_DIR_ENV: Final = "CDK_CLEANROOMS_ML_LOCAL_DIR"
CACHE_DIR_ENV: Final = "CDK_CLEANROOMS_ML_CACHE"
MINISTACK_PYTHON_ENV: Final = "CDK_CLEANROOMS_ML_MINISTACK_PYTHON"
EMULATOR_SETTINGS_ENV: Final = {
    "--incremental-training": "CDK_CLEANROOMS_ML_INCREMENTAL_TRAINING",
    "--base-output-delete": "CDK_CLEANROOMS_ML_BASE_OUTPUT_DELETE",
}
"""The emulator's readings of incremental training (ASSUMPTION A2) that ``up`` takes
from the environment: ``CDK_CLEANROOMS_ML_INCREMENTAL_TRAINING=shared-arn`` plays a
new version of the base model's ARN (``new-arn`` when unset)."""


def emulator_settings(environ: Mapping[str, str]) -> list[str]:
    """The emulator's command-line flags for the settings ``environ`` names."""
    return [
        part
        for flag, name in EMULATOR_SETTINGS_ENV.items()
        if environ.get(name)
        for part in (flag, environ[name])
    ]


def state_dir() -> Path:
    """Where ``up`` keeps the running cloud (its record, logs and MiniStack's files)."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "cdk-cleanrooms-ml" / "local"


def cache_dir() -> Path:
    """Where MiniStack's private virtualenv goes, when it needs one."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cdk-cleanrooms-ml"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (made if missing), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pinned_venv(path: Path, requirements: Sequence[str], log: IO[str] | None = None) -> Path:
    """A virtualenv at ``path`` with exactly ``requirements``: made once, reused after.

    pip's output goes to ``log`` (default: this process's output); a failed
    install raises with it. Concurrent callers wait for one another.
    """
    python = path / "bin" / "python"
    marker = path / ".installed"
    want = " ".join(requirements)
    with locked(path.parent / f"{path.name}.lock"):
        if marker.exists() and marker.read_text() == want:
            return python
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        run = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
            stdout=subprocess.PIPE if log else None,
            stderr=subprocess.STDOUT if log else None,
            text=True,
            check=False,
        )
        if log is not None:
            log.write(run.stdout)
        if run.returncode != 0:
            tail = "\n".join((run.stdout or "").splitlines()[-20:])
            raise RuntimeError(f"pip install {want} into {path} failed:\n{tail}")
        marker.write_text(want)
    return python


def ministack_here() -> bool:
    """Whether this interpreter has MiniStack and boto3 as pinned (the ``local`` extra)."""
    try:
        versions = [importlib.metadata.version(name) for name in ("ministack", "boto3")]
    except importlib.metadata.PackageNotFoundError:
        return False
    return versions == [MINISTACK_VERSION, MINISTACK_BOTO3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def state_of(parts: Mapping[str, str]) -> str:
    """A cloud's state from its servers' (``Cloud.parts``): ``running`` (every server
    answers), ``stopped`` (none runs) or ``half-dead``."""
    states = set(parts.values())
    if states == {RUNNING}:
        return RUNNING
    if states <= {STOPPED}:
        return STOPPED
    return HALF_DEAD


@dataclass
class Cloud:
    """A running local cloud: where it keeps its files, its endpoints, its processes."""

    dir: Path
    emulator_url: str
    ministack_url: str
    node_bin: Path | None
    processes: list[Started] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    @property
    def emulator_health(self) -> str:
        return f"{self.emulator_url}/_emulator/health"

    @property
    def ministack_health(self) -> str:
        return f"{self.ministack_url}/_ministack/health"

    def record(self) -> dict[str, Any]:
        return {
            "dir": str(self.dir),
            "emulator_url": self.emulator_url,
            "ministack_url": self.ministack_url,
            "node_bin": str(self.node_bin) if self.node_bin else None,
            "started_at": self.started_at,
            "processes": [p.record() for p in self.processes],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Cloud:
        return cls(
            dir=Path(record["dir"]),
            emulator_url=record["emulator_url"],
            ministack_url=record["ministack_url"],
            node_bin=Path(record["node_bin"]) if record.get("node_bin") else None,
            processes=[Started.from_record(p) for p in record["processes"]],
            started_at=float(record["started_at"]),
        )

    def save(self, directory: Path) -> None:
        """Record this cloud as the one ``up`` started in ``directory``."""
        target = directory / STATE_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.record(), indent=2))
        temporary.replace(target)

    def parts(self) -> dict[str, str]:
        """Each server's state by its name: ``running``, ``not answering`` or ``stopped``."""
        health = {"emulator": self.emulator_health, "ministack": self.ministack_health}
        found = {}
        for process in self.processes:
            if not process.running():
                found[process.name] = STOPPED
            elif process.name not in health or _healthy(health[process.name]):
                found[process.name] = RUNNING
            else:
                found[process.name] = NOT_ANSWERING
        return found

    def state(self) -> str:
        return state_of(self.parts())

    def healthy(self) -> bool:
        return self.state() == RUNNING

    def stop(self) -> None:
        """Stop every process tree of the cloud (MiniStack's Lambda workers included)."""
        with processes.deferred():
            for process in reversed(self.processes):
                process.stop()

    def env(self, path: Sequence[Path]) -> dict[str, str]:
        """The environment of the aws-cdk CLI and the app: this cloud, never a real account."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_ENDPOINT_URL=self.ministack_url,
            AWS_ENDPOINT_URL_S3=self.ministack_url,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            CDK_DISABLE_VERSION_CHECK="1",
            PATH=os.pathsep.join([*map(str, path), env.get("PATH", "")]),
        )
        return env

    def emulator(self, route: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call one of the emulator's ``/_emulator/*`` control routes."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.emulator_url}/_emulator/{route}", data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")


def load(directory: Path) -> Cloud | None:
    """The cloud ``up`` left running in ``directory`` (None if none, or if it died)."""
    try:
        record = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return Cloud.from_record(record)


class PortTakenError(RuntimeError):
    """A port found free was taken by someone else before the server bound it."""


def plan(directory: Path, node_bin: Path | None) -> Cloud:
    """A cloud not started yet, on free 127.0.0.1 ports: its endpoints are known (an
    app can be synthesized for it) before ``start`` binds them."""
    return Cloud(
        dir=directory,
        emulator_url=f"http://127.0.0.1:{free_port()}",
        ministack_url=f"http://127.0.0.1:{free_port()}",
        node_bin=node_bin,
    )


def start(
    directory: Path,
    *,
    ministack_python: Path,
    node_bin: Path | None,
    training_seconds: float,
    verbose: bool = False,
    timeout: float = 90.0,
    attempts: int = 3,
    planned: Cloud | None = None,
) -> Cloud:
    """Start the emulator and MiniStack (IAM enforced) on free 127.0.0.1 ports
    (``planned``'s, when given).

    Both run in sessions of their own with their output in ``directory``; on any
    failure (or interruption) before both are ready, both are stopped again. A
    port taken between finding it free and binding it means new ports and another
    attempt.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        cloud = plan(directory, node_bin)
        if planned is not None and attempt == 1:
            cloud.emulator_url, cloud.ministack_url = planned.emulator_url, planned.ministack_url
        try:
            _launch(cloud, ministack_python, training_seconds, verbose, timeout)
        except PortTakenError:
            if attempt == attempts:
                raise
            continue
        return cloud
    raise AssertionError("unreachable")


def _launch(
    cloud: Cloud, ministack_python: Path, training_seconds: float, verbose: bool, timeout: float
) -> None:
    directory = cloud.dir
    node_path = [str(cloud.node_bin)] if cloud.node_bin else []
    emulator_port, ministack_port = (
        url.rpartition(":")[2] for url in (cloud.emulator_url, cloud.ministack_url)
    )
    try:
        cloud.processes.append(
            processes.start(
                "emulator",
                [
                    sys.executable,
                    "-m",
                    "cdk_cleanrooms_ml.local.emulator",
                    "--port",
                    emulator_port,
                    "--training-seconds",
                    str(training_seconds),
                    "--account",
                    ACCOUNT,
                    "--region",
                    REGION,
                    *emulator_settings(os.environ),
                    *(["--verbose"] if verbose else []),
                ],
                env=os.environ,
                cwd=directory,
                log=_fresh(directory / "emulator.log"),
            )
        )
        lambda_tmp = directory / "ministack-tmp"  # MiniStack leaves a folder per function here
        lambda_tmp.mkdir(exist_ok=True)
        ministack_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))
        }
        ministack_env.update(
            GATEWAY_PORT=ministack_port,
            BIND_HOST="127.0.0.1",
            MINISTACK_HOST="127.0.0.1",
            AUTH="true",  # IAM enforced: a missing grant in a construct fails the deploy
            TMPDIR=str(lambda_tmp),
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            # its Python Lambdas' `python3` and its Node.js Lambdas' `node`
            PATH=os.pathsep.join(
                [str(ministack_python.parent), *node_path, ministack_env.get("PATH", "")]
            ),
        )
        cloud.processes.append(
            processes.start(
                "ministack",
                [str(ministack_python), "-m", "ministack"],
                env=ministack_env,
                cwd=directory,
                log=_fresh(directory / "ministack.log"),
                # its state is in memory only, and while a Lambda function or a state
                # machine runs, its SIGTERM handler (which removes a pid file) does not
                # end it: a short grace before SIGKILL
                grace=2.0,
            )
        )
        _wait_ready(cloud, timeout)
    except BaseException:
        cloud.stop()
        raise


def _fresh(log: Path) -> Path:
    log.unlink(missing_ok=True)
    return log


def _wait_ready(cloud: Cloud, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    urls = (cloud.emulator_health, cloud.ministack_health)
    pending = list(zip(cloud.processes, urls, strict=True))
    while pending:
        for process, _ in pending:
            if not process.running():
                tail = _tail(process.log)
                failure = PortTakenError if "already in use" in tail else RuntimeError
                raise failure(f"{process.name} exited before it was ready:\n{tail}")
        pending = [(process, url) for process, url in pending if not _healthy(url)]
        if pending and time.monotonic() > deadline:
            names = ", ".join(p.name for p, _ in pending)
            raise RuntimeError(f"{names} not ready after {timeout:.0f} s")
        time.sleep(0.2)


def bootstrap_bucket_plain_http(cloud: Cloud) -> None:
    """The bootstrap bucket denies non-TLS requests; the local cloud speaks plain HTTP."""
    import boto3  # the `local` extra; imported here so `--help` does not pay for it

    s3 = boto3.client(
        "s3",
        endpoint_url=cloud.ministack_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.delete_bucket_policy(Bucket=BOOTSTRAP_BUCKET)


def own_dir() -> Path:
    """A fresh folder for a cloud one command starts and stops itself."""
    return Path(tempfile.mkdtemp(prefix="cdk-cleanrooms-ml-local-"))


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
