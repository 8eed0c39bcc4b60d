"""What the command prints: one line per step with its time; raw streams on ``--verbose``."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TextIO

_FAILURE: Final = re.compile(r"_FAILED|❌|\bError\b|\berror\b|failed")


class Report:
    """Quiet: ``==> step ... 12.3 s`` per step. Verbose: the step, its raw output, its time."""

    def __init__(self, *, verbose: bool = False, out: TextIO | None = None) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def raw(self, text: str) -> None:
        """A line of a tool's own output: shown with ``--verbose`` only."""
        if self.verbose:
            print(f"    {text.rstrip()}", file=self.out, flush=True)

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[Step]:
        """One line for the step: ``==> text ... 1.2 s`` (then its ``detail``, if set)."""
        start = time.monotonic()
        if self.verbose:
            self.line(f"==> {text}")
        else:
            print(f"==> {text} ...", end="", file=self.out, flush=True)
        step = Step()
        outcome = "failed after"
        try:
            yield step
            outcome = "done in" if self.verbose else ""
        except BaseException as error:
            if not isinstance(error, Exception):
                outcome = "interrupted after"
            raise
        finally:
            seconds = f"{time.monotonic() - start:.1f} s"
            ending = " ".join(part for part in (outcome, seconds) if part)
            if step.detail:
                ending += f": {step.detail}"
            if self.verbose:
                self.line(f"    ({ending})")
            else:
                self.line(f" {ending}")


@dataclass
class Step:
    detail: str = ""
    """Said after the step's time (what it found out, such as the cloud's endpoints)."""


def failure_summary(lines: Sequence[str], tail: int = 15, most: int = 40) -> list[str]:
    """The lines that say what failed (resource events, errors), then the last ``tail``.

    A failed ``cdk deploy`` names the failed resource and the service's reason in
    its ``*_FAILED`` events, which the rollback's events push out of a plain tail.
    """
    chosen = [i for i, line in enumerate(lines) if _FAILURE.search(line)]
    chosen += range(max(0, len(lines) - tail), len(lines))
    picked = sorted(set(chosen))[-most:]
    return [lines[i].rstrip() for i in picked]
