"""``benchmarks/compare.py`` runs and prints its tables (no timing is judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _rows(output: str, header_start: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header starts with ``header_start``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ratio(cell: str) -> float:
    """``1.08x``, or ``1.08x (1.03-1.14)``: a median with the lowest and highest ratio."""
    median, _, rest = cell.partition(" ")
    assert median.endswith("x"), cell
    if rest:
        low, high = (float(x) for x in rest.strip("()").split("-"))
        assert low <= float(median[:-1]) <= high, cell
    return float(median[:-1])


@pytest.mark.slow(seconds=20)
def test_the_quick_comparison_prints_every_table() -> None:
    output = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    ).stdout

    (whole,) = _rows(output, "| N | validation |")
    assert whole[:2] == ["1", "off"]
    assert all(float(seconds) > 0 for seconds in whole[2:5])
    assert all(_ratio(ratio) > 0 for ratio in whole[5:9])

    (warm,) = _rows(output, "| N | ours (ms) |")
    assert warm[0] == "1"
    assert all(float(ms) > 0 for ms in warm[1:4])
    assert all(_ratio(ratio) > 0 for ratio in warm[4:6])

    (template,) = _rows(output, "| N | TrainedModel resources |")
    resources = [int(template[i]) for i in (1, 3, 5)]
    # ours: the custom resource and the per-stack provider (2 functions, the
    # framework's 3 and its state machine, roles, policies, a log group)
    assert resources[0] > resources[2] >= 2
