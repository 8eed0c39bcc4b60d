"""Shared fixtures: valid props, a synth helper, and a stubbed cleanroomsml client."""

from __future__ import annotations

import os
from pathlib import Path

# The environment as the user started pytest (credentials included), before the
# lines below sandbox it; only the opt-in real-account test uses it.
REAL_ENVIRONMENT = dict(os.environ)

# The project's pinned Node.js LTS (npm ci puts it in node_modules/.bin) first on
# PATH, as bin/test does: jsii, the aws-cdk CLI and the local cloud all take the
# first `node` on PATH, so a bare `.venv/bin/pytest` runs on it too.
NODE_BIN = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if (NODE_BIN / "node").exists():
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# Never reach a real endpoint from a test, whatever the machine's config says.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

from collections.abc import Iterator  # noqa: E402 (the environment above comes first)
from typing import Any  # noqa: E402 (the environment above comes first)

import cfn  # noqa: E402 (the environment above comes first)
import pytest  # noqa: E402 (the environment above comes first)
from botocore.stub import Stubber  # noqa: E402 (the environment above comes first)

import index  # noqa: E402 (the environment above comes first)
import kinds  # noqa: E402 (the environment above comes first)
import local_cli  # noqa: E402 (the environment above comes first)
from aws_client import make_client  # noqa: E402 (the environment above comes first)
from cdk_cleanrooms_ml.local.emulator import shapes  # noqa: E402 (the environment above comes first)
from helpers import StubbedClient, raise_queued_exceptions  # noqa: E402 (the environment above comes first)
from local_cli import SharedCloud  # noqa: E402 (the environment above comes first)


@pytest.fixture(autouse=True)
def stack_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, dict[str, tuple[str, str]]]]:
    """The handler asks the in-process CloudFormation (``cfn.STACKS``, ``cfn.OPERATIONS``)
    for a stack's resources and operation, never a real endpoint; each test starts with
    no stacks."""
    cfn.STACKS.clear()
    cfn.OPERATIONS.clear()
    kinds._FAILED_ASKED.clear()  # what this "container" asked: nothing, for each test
    monkeypatch.setattr(index, "_stack_resources", cfn.stack_resources)
    monkeypatch.setattr(index, "_stack_operation", cfn.stack_operation)
    yield cfn.STACKS
    cfn.STACKS.clear()
    cfn.OPERATIONS.clear()


@pytest.fixture
def real_environment() -> dict[str, str]:
    """The environment pytest was started with, before the test sandboxing."""
    return dict(REAL_ENVIRONMENT)


@pytest.fixture
def stubbed() -> Iterator[StubbedClient]:
    """A real cleanroomsml client whose calls are checked against the service model.

    Every test that uses it ends with ``assert_no_pending_responses()``.
    """
    client = make_client()
    stubber = Stubber(client)
    raise_queued_exceptions(stubber, client)
    with stubber:
        yield StubbedClient(client, stubber)
        stubber.assert_no_pending_responses()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, longest first (``@pytest.mark.slow(seconds=N)``), then the rest.

    Under ``pytest -n 2`` (with ``--maxschedchunk=1``, see pyproject.toml) workers take
    one test at a time in this order: the long ones start at once, on both workers,
    and the many short ones fill in around them.
    """

    def rank(item: pytest.Item) -> float:
        slow = item.get_closest_marker("slow")
        if slow is None:
            return 0.0
        return -float(slow.kwargs.get("seconds", 1))

    items.sort(key=rank)  # stable: each group keeps its order


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedCloud]:
    """One local cloud per pytest process (``up`` once, ``down`` at the end).

    Tests deploy stacks of their own to it; under xdist each worker has its own,
    so a test's injected faults and timings reach only its own worker's tests,
    which run one at a time.
    """
    cloud = SharedCloud.up(tmp_path_factory.mktemp("local-cloud"))
    yield cloud
    cloud.down()


RESPONSES_CHECKED_KEY = "emulator_responses_checked"
_WORKERS_CHECKED: list[int] = []
"""Each xdist worker's count of emulator responses checked, as it went down."""


def _responses_checked_here() -> int:
    """Responses the emulator's check verified in this process and in its shared clouds."""
    return shapes.CHECKED.count + sum(local_cli.RESPONSES_CHECKED)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the count to the controller
        workeroutput[RESPONSES_CHECKED_KEY] = _responses_checked_here()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _WORKERS_CHECKED.append(int(getattr(node, "workeroutput", {}).get(RESPONSES_CHECKED_KEY, 0)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many responses the emulator checked against the service model (every
    in-process emulator and every shared local cloud's, all workers together)."""
    total = _responses_checked_here() + sum(_WORKERS_CHECKED)
    terminalreporter.write_line(
        f"emulator response check: {total} responses verified against the service model"
    )
