"""The local cloud's aws-cdk CLI sees a finished stack within a quarter second.

The CLI's ``waitFor`` helper sleeps 5 s between its polls of DescribeStacks (and
DescribeChangeSet); ``local/cli_polls.js``, preloaded into the CLI by
``Toolkit.run``, shortens that one sleep. The helper is taken from the installed CLI
itself, so an aws-cdk release that renames or reshapes it fails here instead of
silently waiting 5 s again.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from cdk_cleanrooms_ml.local import toolkit

ROOT = Path(__file__).resolve().parent.parent
CLI_BUNDLE = ROOT / "node_modules" / "aws-cdk" / "lib" / "index.js"
NODE = ROOT / "node_modules" / ".bin" / "node"
WAIT_FOR = re.compile(
    r"^async function waitFor\(valueProvider, timeout = 5e3\) \{\n.*?^\}\n", re.M | re.S
)

PROBE = r"""
const delays = [];
const timer = globalThis.setTimeout;
globalThis.setTimeout = (callback, ms, ...rest) => {
  delays.push(ms); // recorded, then run at once: the probe itself never sleeps
  return timer(callback, 0, ...rest);
};
if (process.argv[2]) require(process.argv[2]); // as NODE_OPTIONS=--require would
const waitFor = eval('(' + process.argv[1] + ')');
let calls = 0;
waitFor(async () => (++calls < 3 ? undefined : 'done')).then((value) => {
  setImmediate(() => console.log(JSON.stringify({ value, calls, delays })));
});
"""


def _wait_for_source() -> str:
    found = WAIT_FOR.search(CLI_BUNDLE.read_text())
    assert found, f"no `waitFor(valueProvider, timeout = 5e3)` in {CLI_BUNDLE}"
    return found.group(0)


def _probe(*preload: str) -> dict[str, object]:
    done = subprocess.run(
        [str(NODE), "-e", PROBE, _wait_for_source(), *preload],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_clis_wait_between_polls_is_shortened() -> None:
    assert _probe() == {"value": "done", "calls": 3, "delays": [5000, 5000]}
    assert _probe(str(toolkit.CLI_POLLS)) == {"value": "done", "calls": 3, "delays": [250, 250]}


def test_other_timers_are_left_alone() -> None:
    script = (
        f"require({json.dumps(str(toolkit.CLI_POLLS))});"
        "const t = Date.now(); setTimeout(() => console.log(Date.now() - t), 300);"
    )
    done = subprocess.run(
        [str(NODE), "-e", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert int(done.stdout.strip()) >= 290


def test_the_cli_runs_with_the_preload() -> None:
    env = toolkit.node_options_with_cli_polls({"NODE_OPTIONS": "--max-old-space-size=4096"})
    assert env["NODE_OPTIONS"] == f'--max-old-space-size=4096 --require "{toolkit.CLI_POLLS}"'
    done = subprocess.run(
        [str(NODE), "-e", "console.log(typeof setTimeout, setTimeout.name)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    assert done.stdout.split() == ["function", "setTimeout"]
