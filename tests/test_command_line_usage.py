"""``cdk-cleanrooms-ml`` as a newcomer first meets it: ``--version``, a bare call, the help
of every command (plain text, a one-line description each)."""

from __future__ import annotations

import re
import subprocess

import pytest

import cdk_cleanrooms_ml
from local_cli import CLI, env

COMMANDS = ("deploy", "destroy", "up", "down", "status")


def _call(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], env=env(), capture_output=True, text=True, timeout=60, check=False
    )


def test_version_prints_the_packages_version() -> None:
    done = _call("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cdk-cleanrooms-ml {cdk_cleanrooms_ml.__version__}"


@pytest.mark.parametrize("args", [(), ("local",)], ids=["bare", "local"])
def test_a_call_without_a_command_shows_the_help_and_exits_2(args: tuple[str, ...]) -> None:
    done = _call(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"usage: cdk-cleanrooms-ml {' '.join(args)}".rstrip())
    assert "Traceback" not in done.stderr
    assert "arguments are required" not in done.stderr
    if args:
        assert all(command in done.stderr for command in COMMANDS)


HELP_PAGES = [(), ("local",), *(("local", command) for command in COMMANDS)]


@pytest.mark.parametrize("args", HELP_PAGES, ids=lambda args: " ".join(args) or "top")
def test_every_help_page_is_plain_text(args: tuple[str, ...]) -> None:
    done = _call(*args, "--help")
    assert done.returncode == 0, done.stderr
    assert "`" not in done.stdout  # no reST (``deploy``) nor Markdown markup
    assert "Traceback" not in done.stdout


def test_every_command_has_a_one_line_description() -> None:
    listing = _call("local", "--help").stdout
    for command in COMMANDS:
        found = re.search(rf"^ {{4}}{command} +(\S.*)$", listing, flags=re.M)
        assert found, f"no description on {command}'s line:\n{listing}"
        own = _call("local", command, "--help").stdout
        assert found[1] in own  # its own help opens with the same line
