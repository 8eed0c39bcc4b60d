"""Running ``cdk-cleanrooms-ml local`` in tests: the command, a shared cloud, the emulator.

The tests that deploy share one cloud per pytest process (a session fixture in
``conftest.py`` runs ``up`` once and ``down`` at the end), each with a stack of
its own; only the tests about starting and stopping start their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

import boto3

from cdk_cleanrooms_ml.local import cloud as clouds
from cdk_cleanrooms_ml.local import processes
from cdk_cleanrooms_ml.local.cloud import Cloud

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

ROOT: Final = Path(__file__).resolve().parent.parent
CLI: Final = Path(sys.executable).parent / "cdk-cleanrooms-ml"
MEMBERSHIP: Final = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
LOCAL_PREFIX: Final = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIP}"
LOCAL_ASSOCIATION: Final = f"{LOCAL_PREFIX}/configured-model-algorithm-association/local"
RESPONSES_CHECKED: Final[list[int]] = []
"""What each shared cloud's emulator (a process of its own) checked, read at ``down``."""


def env(**extra: str) -> dict[str, str]:
    """The command's environment: the repo's MiniStack venv, no synth-time template check.

    ``CDK_VALIDATION=false`` skips aws-cdk-lib's built-in template check (about 1.5 s
    a synth); ``tests/test_cli.py`` keeps it on.
    """
    found = dict(os.environ)
    found.update(
        CDK_CLEANROOMS_ML_CACHE=str(ROOT / ".cache"),
        CDK_VALIDATION="false",
        PIP_CONFIG_FILE=os.environ.get("PIP_CONFIG_FILE", os.devnull),
    )
    found.update(extra)
    return found


def run(
    *args: str,
    cli: Path = CLI,
    cwd: Path = ROOT,
    environment: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``cdk-cleanrooms-ml local <args>``; its output (stdout and stderr) in ``.stdout``."""
    done = subprocess.run(
        [str(cli), "local", *args],
        cwd=cwd,
        env=dict(environment) if environment is not None else env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"cdk-cleanrooms-ml local {' '.join(args)}:\n{done.stdout}")
    return done


@dataclass
class SharedCloud:
    """A cloud ``up`` started for this pytest process; tests deploy stacks of their own."""

    state_dir: Path
    emulator_url: str
    ministack_url: str

    TIMINGS: ClassVar[dict[str, float]] = {
        "pending_seconds": 0.2,
        "training_seconds": 2,
        "transition_seconds": 0.2,
    }
    """Short phases: a training of 2 s, each status step after it 0.2 s."""

    @classmethod
    def up(cls, state_dir: Path) -> SharedCloud:
        run("up", "--state-dir", str(state_dir))
        status = json.loads(run("status", "--state-dir", str(state_dir), "--json").stdout)
        cloud = cls(state_dir, status["emulator_url"], status["ministack_url"])
        cloud.control("timings", cls.TIMINGS)
        return cloud

    def down(self) -> None:
        """Stop the cloud, its emulator's count of checked responses kept first."""
        with contextlib.suppress(OSError, ValueError):
            RESPONSES_CHECKED.append(self.control("stats")["responses_checked"])
        run("down", "--state-dir", str(self.state_dir))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*args, "--state-dir", str(self.state_dir), check=check)

    def app_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command that takes an app: with the handler polling every second."""
        return self.run(*args, "--poll-seconds", "1", check=check)

    def deploy(
        self,
        app: str,
        stack: str,
        *context: str,
        outputs: Path,
        verbose: bool = False,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return self.app_run(
            "deploy",
            "--app",
            app,
            "--stack",
            stack,
            "--outputs-file",
            str(outputs),
            *(part for item in context for part in ("-c", item)),
            *(["--verbose"] if verbose else []),
            check=check,
        )

    def diff(self, app: str, stack: str, *context: str) -> subprocess.CompletedProcess[str]:
        """``cdk-cleanrooms-ml diff --local``: its exit code is what it says."""
        done = subprocess.run(
            [
                str(CLI),
                "diff",
                "--local",
                "--state-dir",
                str(self.state_dir),
                "--app",
                app,
                *(part for item in context for part in ("-c", item)),
                stack,
            ],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        return done

    def destroy(self, app: str, stack: str, *context: str) -> None:
        self.app_run(
            "destroy", "--app", app, "--stack", stack, *(p for c in context for p in ("-c", c))
        )

    def control(self, route: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.emulator_url}/_emulator/{route}", data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def models(self, stack: str) -> list[dict[str, Any]]:
        """The emulator's models of ``stack`` (their generated names start with it)."""
        models: list[dict[str, Any]] = self.control("models")
        return [m for m in models if m["name"].startswith(f"{stack}-")]

    @contextlib.contextmanager
    def timings(self, **seconds: float) -> Iterator[None]:
        """The emulator's phase timings changed for one test, then put back."""
        self.control("timings", seconds)
        try:
            yield
        finally:
            self.control("timings", self.TIMINGS)

    @contextlib.contextmanager
    def settings(self, **settings: str) -> Iterator[None]:
        """The emulator's readings of incremental training (ASSUMPTION A2) changed for
        one test (``/_emulator/settings``), then put back."""
        before = self.control("settings", {})
        self.control("settings", settings)
        try:
            yield
        finally:
            self.control("settings", before)

    def cleanroomsml(self, region: str = clouds.REGION) -> CleanRoomsMLClient:
        """A client of the emulator (in ``region``)."""
        client: CleanRoomsMLClient = self.aws("cleanroomsml", self.emulator_url, region)
        return client

    def aws(
        self, service: str, endpoint_url: str | None = None, region: str = clouds.REGION
    ) -> Any:
        """A client of MiniStack (the rest of the local cloud), or of ``endpoint_url``."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint_url or self.ministack_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def bootstrap(self, region: str) -> None:
        """``cdk bootstrap`` another region of the local account (the command bootstraps
        its own, ``us-east-1``, only), its bucket's TLS-only policy lifted as ``deploy``
        lifts its own."""
        running = clouds.load(self.state_dir)
        assert running is not None
        done = subprocess.run(
            [
                str(ROOT / "node_modules" / ".bin" / "cdk"),
                "bootstrap",
                f"aws://{clouds.ACCOUNT}/{region}",
                "--no-notices",
                "--no-version-reporting",
            ],
            cwd=ROOT,
            env=running.env([ROOT / "node_modules" / ".bin"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout
        bucket = clouds.BOOTSTRAP_BUCKET.replace(clouds.REGION, region)
        self.aws("s3", region=region).delete_bucket_policy(Bucket=bucket)


def outputs_of(path: Path, stack: str) -> dict[str, str]:
    found: dict[str, str] = json.loads(path.read_text())[stack]
    return found


@contextlib.contextmanager
def recorded_cloud(state_dir: Path) -> Iterator[Cloud]:
    """A cloud recorded in ``state_dir`` as ``up`` records one, in a fraction of a second:
    the real emulator and, for MiniStack, a static server that answers its health check.

    For the commands' view of a cloud's state (running, half-dead, stopped); nothing
    can be deployed to it. Its processes are stopped at the end.
    """
    directory = state_dir / "cloud"
    (directory / "_ministack").mkdir(parents=True)
    (directory / "_ministack" / "health").write_text('{"status": "ok"}')
    cloud = Cloud(
        dir=directory,
        emulator_url=f"http://127.0.0.1:{clouds.free_port()}",
        ministack_url=f"http://127.0.0.1:{clouds.free_port()}",
        node_bin=None,
    )
    emulator_port, ministack_port = (
        url.rpartition(":")[2] for url in (cloud.emulator_url, cloud.ministack_url)
    )
    commands = {
        "emulator": [sys.executable, "-m", "cdk_cleanrooms_ml.local.emulator"],
        "ministack": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"],
    }
    try:
        for name, port in (("emulator", emulator_port), ("ministack", ministack_port)):
            command = [*commands[name], *(["--port"] if name == "emulator" else []), port]
            log = directory / f"{name}.log"
            cloud.processes.append(
                processes.start(name, command, env=os.environ, cwd=directory, log=log, grace=1)
            )
        clouds._wait_ready(cloud, timeout=30)
        cloud.save(state_dir)
        yield cloud
    finally:
        cloud.stop()
