"""The local deploy: ``cdk deploy`` of the example app onto MiniStack, with the
Clean Rooms ML emulator standing in for the service. No AWS account, no Docker.

    .venv/bin/python local/local_deploy.py            # what ./bin/demo runs

Steps: start the emulator and MiniStack (IAM enforced, ``AUTH=true``) on free
loopback ports; bootstrap ``aws://000000000000/us-east-1``; deploy the example
(removal policy DESTROY) with the local endpoint switch on; print its outputs;
deploy again with another hyperparameter (the model is replaced and the old
one's output deleted); destroy; stop both servers. Any failure
prints the servers' logs and exits non-zero; nothing is left running.

MiniStack pins its own botocore, so it gets its own virtualenv
(``.cache/ministack-<version>``), with boto3 added: its Python Lambdas run on
that interpreter, as Lambda's runtime would with its bundled SDK.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
MINISTACK_VERSION: Final = "1.5.33"
MINISTACK_BOTO3: Final = "1.43.106"  # matches the botocore ministack pins
MINISTACK_VENV: Final = ROOT / ".cache" / f"ministack-{MINISTACK_VERSION}"
ACCOUNT: Final = "000000000000"
REGION: Final = "us-east-1"
STACK: Final = "CleanRoomsMLExample"
BOOTSTRAP_BUCKET: Final = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
ENDPOINT_CONTEXT_KEY: Final = "cdk-cleanrooms-ml:cleanroomsmlEndpointUrl"
NODE_BIN: Final = ROOT / "node_modules" / ".bin"  # the pinned Node.js LTS (npm ci)


def PATH() -> str:  # noqa: N802
    return os.environ.get("PATH", "")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned_venv(path: Path, requirements: Sequence[str]) -> Path:
    """A virtualenv at ``path`` with exactly ``requirements``; made once, reused after."""
    python = path / "bin" / "python"
    marker = path / ".installed"
    want = " ".join(requirements)
    if not marker.exists() or marker.read_text() != want:
        say(f"installing {want} into {path}")
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *requirements], check=True)
        marker.write_text(want)
    return python


def ministack_python() -> Path:
    """MiniStack's own virtualenv (it pins its own botocore), created on first use."""
    return pinned_venv(
        MINISTACK_VENV, [f"ministack=={MINISTACK_VERSION}", f"boto3=={MINISTACK_BOTO3}"]
    )


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    health_url: str

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.health_url, timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class LocalCloud:
    """MiniStack and the emulator, running; ``env`` is what the CDK CLI needs."""

    workdir: Path
    ministack_url: str
    emulator_url: str
    servers: list[Server] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
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
            PATH=os.pathsep.join([str(NODE_BIN), str(Path(sys.executable).parent), PATH()]),
        )
        return env

    def logs(self) -> str:
        return "\n".join(
            f"----- {s.name} log ({s.log_path}) -----\n{s.tail()}" for s in self.servers
        )


def _start(
    name: str, command: Sequence[str], env: dict[str, str], workdir: Path, health_url: str
) -> Server:
    log_path = workdir / f"{name}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        list(command), env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir
    )
    return Server(name, process, log_path, log_file, health_url)


@contextmanager
def local_cloud(training_seconds: float = 15.0, keep_logs: bool = False) -> Iterator[LocalCloud]:
    """Start the emulator and MiniStack; stop both (and clean up) on exit."""
    python = ministack_python()
    workdir = Path(tempfile.mkdtemp(prefix="cdk-cleanrooms-ml-local-"))
    ministack_port, emulator_port = free_port(), free_port()
    cloud = LocalCloud(
        workdir=workdir,
        ministack_url=f"http://127.0.0.1:{ministack_port}",
        emulator_url=f"http://127.0.0.1:{emulator_port}",
    )
    failed = False
    try:
        emulator_env = dict(os.environ)
        cloud.servers.append(
            _start(
                "emulator",
                [
                    sys.executable,
                    "-m",
                    "cdk_cleanrooms_ml.local.emulator",
                    "--port",
                    str(emulator_port),
                    "--training-seconds",
                    str(training_seconds),
                ],
                emulator_env,
                workdir,
                f"{cloud.emulator_url}/_emulator/health",
            )
        )
        lambda_tmp = workdir / "ministack-tmp"  # MiniStack leaves a folder per function here
        lambda_tmp.mkdir()
        ministack_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))
        }
        ministack_env.update(
            GATEWAY_PORT=str(ministack_port),
            BIND_HOST="127.0.0.1",
            MINISTACK_HOST="127.0.0.1",
            AUTH="true",  # IAM enforced: a missing grant in our construct fails the deploy
            TMPDIR=str(lambda_tmp),
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            PATH=os.pathsep.join([str(NODE_BIN), PATH()]),  # its Node.js Lambdas' node
        )
        cloud.servers.append(
            _start(
                "ministack",
                [str(python), "-m", "ministack"],
                ministack_env,
                workdir,
                f"{cloud.ministack_url}/_ministack/health",
            )
        )
        for server in cloud.servers:
            server.wait_ready()
        say(f"emulator on {cloud.emulator_url}, MiniStack on {cloud.ministack_url} (AUTH=true)")
        yield cloud
    except BaseException:
        failed = True
        raise
    finally:
        if failed:
            print(cloud.logs(), file=sys.stderr)
        for server in cloud.servers:
            server.stop()
        if failed and keep_logs:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def cdk(cloud: LocalCloud, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the pinned aws-cdk CLI against the local cloud, streaming its output."""
    command = [
        str(ROOT / "node_modules" / ".bin" / "cdk"),
        *args,
        "--no-notices",
        "--no-version-reporting",
        # a cloud's own assembly directory: parallel runs never share cdk.out
        "--output",
        str(cloud.workdir / "cdk.out"),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=cloud.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        print(f"    {line}", end="", flush=True)
    process.wait()
    result = subprocess.CompletedProcess(command, process.returncode, "".join(output), "")
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed with exit code {process.returncode}")
    return result


def allow_plain_http_assets(cloud: LocalCloud) -> None:
    """The bootstrap bucket denies non-TLS requests; the local cloud speaks plain HTTP."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=cloud.ministack_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.delete_bucket_policy(Bucket=BOOTSTRAP_BUCKET)


def deploy(cloud: LocalCloud, *context: str) -> dict[str, str]:
    outputs_file = cloud.workdir / "outputs.json"
    args = [
        "deploy",
        STACK,
        "--require-approval",
        "never",
        "--outputs-file",
        str(outputs_file),
        "-c",
        f"{ENDPOINT_CONTEXT_KEY}={cloud.emulator_url}",
        "-c",
        "removalPolicy=destroy",
    ]
    for item in context:
        args += ["-c", item]
    cdk(cloud, *args)
    outputs: dict[str, str] = json.loads(outputs_file.read_text())[STACK]
    return outputs


def emulator_models(cloud: LocalCloud) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{cloud.emulator_url}/_emulator/models") as response:
        models: list[dict[str, Any]] = json.loads(response.read())
    return models


@dataclass
class Run:
    first: dict[str, str]
    second: dict[str, str]
    models: list[dict[str, Any]]
    seconds: dict[str, float]


def main_job(training_seconds: float = 15.0) -> Run:
    """Bootstrap, deploy, redeploy with a changed hyperparameter, destroy."""
    seconds: dict[str, float] = {}
    start = time.monotonic()
    with local_cloud(training_seconds) as cloud:
        seconds["start servers"] = time.monotonic() - start
        t = time.monotonic()
        say(f"cdk bootstrap aws://{ACCOUNT}/{REGION}")
        cdk(cloud, "bootstrap", f"aws://{ACCOUNT}/{REGION}")
        allow_plain_http_assets(cloud)
        seconds["bootstrap"] = time.monotonic() - t
        t = time.monotonic()
        say(f"cdk deploy {STACK} (training takes {training_seconds:.0f} s in the emulator)")
        first = deploy(cloud)
        seconds["deploy"] = time.monotonic() - t
        say("stack outputs: " + json.dumps(first, indent=2))
        t = time.monotonic()
        say("cdk deploy again with hyperparameter epochs=20: a new model replaces the old one")
        second = deploy(cloud, "epochs=20")
        seconds["redeploy"] = time.monotonic() - t
        say("stack outputs: " + json.dumps(second, indent=2))
        if second["TrainedModelArn"] == first["TrainedModelArn"]:
            raise RuntimeError("the model was not replaced")
        t = time.monotonic()
        say(f"cdk destroy {STACK}")
        cdk(cloud, "destroy", STACK, "--force", "-c", "removalPolicy=destroy")
        seconds["destroy"] = time.monotonic() - t
        models = emulator_models(cloud)
        say("models in the emulator (deployed with removal policy DESTROY: outputs deleted):")
        for model in models:
            print(f"    {model['name']}  {model['status']}  {model['trainedModelArn']}")
    seconds["total"] = time.monotonic() - start
    say("done: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    return Run(first, second, models, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--training-seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    try:
        main_job(args.training_seconds)
    except Exception as error:
        print(f"local deploy failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
