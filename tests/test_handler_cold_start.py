"""What a cold start of the handler imports: only what an ``on_event`` needs.

Every poll of a long deploy can be a cold start, and the asset ships no bytecode (its
hash must not depend on the Python that built it), so each module imported is compiled
too. The long path's module (``long_wait``: ``http.client``, ``ssl``, ``email``) is
imported only by a step that starts a long wait, and each kind's module only by an
event of that kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import event

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "lambda" / "handler"
LONG_PATH_ONLY = ("long_wait", "http.client", "ssl", "email.parser")


def _modules_after(code: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(HANDLER), AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=HANDLER,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_cold_start_does_not_import_the_long_path() -> None:
    loaded = _modules_after("import index")
    assert "engine" in loaded  # the import did happen
    assert [m for m in LONG_PATH_ONLY if m in loaded] == []


def test_a_first_on_event_that_needs_no_long_wait_does_not_import_it() -> None:
    # not ours, under RETAIN: a Delete that calls nothing
    delete = event("Delete", {"RemovalPolicy": "retain"}, physical_id="S-Model-ABC")
    loaded = _modules_after(f"import index\nindex.on_event({delete!r}, None)")
    assert "trained_models" in loaded  # the event was handled
    assert "long_wait" not in loaded  # (botocore itself imports http.client and ssl)
