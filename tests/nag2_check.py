"""cdk-nag 2 over every compliance app: prints ``{app: [finding, ...]}`` as JSON.

cdk-nag 2 is an aspect (``Aspects.of(app).add(AwsSolutionsChecks())``): its
findings are error and warning annotations, not exceptions. Run by
test_compliance.py in a subprocess whose ``PYTHONPATH`` puts cdk-nag 2 first (the
test virtualenv holds cdk-nag 3, the same distribution name).
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

import apps
from aws_cdk import Aspects
from cdk_nag import AwsSolutionsChecks


def findings(name: str) -> list[str]:
    app = apps.build(name)
    Aspects.of(app).add(AwsSolutionsChecks())  # type: ignore[arg-type]  # mypy sees cdk-nag 3
    found = []
    for stack in app.synth().stacks:
        for message in stack.messages:
            if str(message.level) in ("error", "warning") or "AwsSolutions" in str(
                message.entry.data
            ):
                found.append(f"{message.level} {message.id}: {message.entry.data}")
    return found


if __name__ == "__main__":
    names = sys.argv[1:] or apps.APPS
    print(json.dumps({"cdk-nag": version("cdk-nag"), **{n: findings(n) for n in names}}))
