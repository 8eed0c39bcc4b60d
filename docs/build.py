"""Build the API reference from the docstrings with pdoc.

    .venv/bin/python docs/build.py            # writes docs/api/ (not committed)

The package is imported before pdoc runs: pdoc mocks ``subprocess`` while it
imports modules, which would stop jsii from starting its Node.js process.
Warnings fail the build.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

# the project's pinned Node.js LTS (node_modules/.bin, from npm ci) runs jsii
os.environ["PATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent.parent / "node_modules" / ".bin"), os.environ["PATH"]]
)

import pdoc

from cdk_cleanrooms_ml import TrainedModel  # noqa: F401 (loads the whole API first, see above)

OUTPUT = Path(__file__).resolve().parent / "api"


def build(output: Path = OUTPUT) -> list[str]:
    """Write the HTML reference to ``output``; return the warnings pdoc gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc("cdk_cleanrooms_ml", output_directory=output)
    return [str(w.message) for w in caught]


if __name__ == "__main__":
    problems = build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"API reference written to {OUTPUT if len(sys.argv) < 2 else sys.argv[1]}")
    sys.exit(1 if problems else 0)
