"""Processes the local cloud starts, and how they are stopped: whole trees, always.

Every process is started in a session of its own (its own process group), so a
Ctrl-C at the terminal reaches only the command, which then stops each tree in
order: the process group first, then any descendant that left it (found through
``/proc`` on Linux), ``SIGTERM`` and, after a grace period, ``SIGKILL``.

``SIGINT``, ``SIGTERM`` and ``SIGHUP`` become ``Interrupted`` (see ``signals``);
inside ``deferred()`` they wait, so a process is never started without being
recorded, and a clean-up is never cut short.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PROC: Final = Path("/proc")


class Interrupted(BaseException):
    """The command got ``SIGINT``, ``SIGTERM`` or ``SIGHUP``: stop and clean up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Deferral:
    depth = 0
    pending: int | None = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _Deferral.depth:
        _Deferral.pending = _Deferral.pending or signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def signals() -> Iterator[None]:
    """Turn ``SIGINT``/``SIGTERM``/``SIGHUP`` into ``Interrupted`` (main thread only)."""
    previous = {signum: signal.signal(signum, _on_signal) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal until the block ends; then raise it (unless one is propagating)."""
    _Deferral.depth += 1
    try:
        yield
    finally:
        _Deferral.depth -= 1
        if not _Deferral.depth and _Deferral.pending is not None:
            signum, _Deferral.pending = _Deferral.pending, None
            raise Interrupted(signum)


def _stat(pid: int | str) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name: state, ppid, pgrp, ... (or None)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (``/proc/<pid>/stat`` field 22), or None."""
    stat = _stat(pid)
    return stat[19] if stat else None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    if not PROC.is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def tree(pid: int) -> list[int]:
    """Every live process below ``pid`` or in its process group (Linux; else [])."""
    children: dict[int, list[int]] = {}
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in PROC.iterdir():
            stat = _stat(entry.name) if entry.name.isdigit() else None
            if stat is None or stat[0] == "Z":
                continue
            children.setdefault(int(stat[1]), []).append(int(entry.name))
            if int(stat[2]) == pid:
                found.add(int(entry.name))
    todo = [pid, *found]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    found.discard(pid)
    return sorted(found)


def environment(pid: int) -> dict[str, str]:
    """The environment ``pid`` started with (Linux; else, or when unreadable, {})."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def terminate(pids: Sequence[int], grace: float = 2.0) -> None:
    """Stop these processes: ``SIGTERM``, then ``SIGKILL`` for those left after ``grace``."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.05)


@dataclass
class Started:
    """A process tree this command started (or one recorded by ``up``)."""

    name: str
    pid: int
    started: str | None
    log: Path | None = None
    popen: subprocess.Popen[Any] | None = None
    grace: float = 10.0
    """Seconds between ``SIGTERM`` and ``SIGKILL`` when it is stopped."""

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid,
            "started": self.started,
            "log": str(self.log),
            "grace": self.grace,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Started:
        return cls(
            record["name"],
            int(record["pid"]),
            record.get("started"),
            Path(record["log"]),
            grace=float(record.get("grace", 10.0)),
        )

    def running(self) -> bool:
        """Still the same process, still running."""
        if self.popen is not None and self.popen.poll() is not None:
            return False
        return self._ours() and alive(self.pid)

    def _ours(self) -> bool:
        """False when ``pid`` now names another process (it was reused)."""
        now = start_time(self.pid)
        return self.started is None or now is None or now == self.started

    def stop(self, grace: float | None = None) -> None:
        """Stop the whole tree: ``SIGTERM``, then ``SIGKILL`` after ``grace`` seconds.

        The process group is signalled even when its leader has ended: a pid that
        still names a group cannot be reused, so stragglers are found this way.
        """
        if self._ours():
            members = tree(self.pid)
            self._signal(members, signal.SIGTERM)
            deadline = time.monotonic() + (self.grace if grace is None else grace)
            while time.monotonic() < deadline and (
                self.running() or any(alive(pid) for pid in members)
            ):
                time.sleep(0.05)
            self._signal([*members, *tree(self.pid)], signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def _signal(self, members: Sequence[int], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)  # the group it leads (a session of its own)
        for pid in members:  # and whatever left the group
            if alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)


def start(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path | None = None,
    stdout: int | IO[Any] | None = None,
    grace: float = 10.0,
) -> Started:
    """Start ``command`` in a new session; its output goes to ``log`` (or ``stdout``)."""
    with deferred():
        sink: int | IO[Any] | None = stdout
        log_file = log.open("ab") if log is not None else None
        if log_file is not None:
            sink = log_file
        try:
            popen = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if log_file is not None:
                log_file.close()  # the child holds its own descriptor
        return Started(name, popen.pid, start_time(popen.pid), log, popen, grace)
