"""Counting jsii kernel round trips: every request the Python side sends to Node.js.

A round trip is one request written to the jsii kernel process and its answer read
(``_NodeProcess.send``): loading an assembly, creating an object, a get, an invoke,
and the answer to each callback the kernel makes into Python.

Run as a script (``python tests/kernel_calls.py``), it reports what importing the
package and using every public name costs in a fresh process, and which aws-cdk-lib
modules a short-path and a long-path stack load, as JSON (``tests/test_performance.py``
reads it).
"""

from __future__ import annotations

import collections
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jsii._kernel.providers import process


@contextmanager
def counted() -> Iterator[collections.Counter[str]]:
    """Count the kernel requests sent inside the block, by request type."""
    counts: collections.Counter[str] = collections.Counter()
    original = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        counts[type(request).__name__] += 1
        return original(self, request, response_type)

    process._NodeProcess.send = send  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        process._NodeProcess.send = original  # type: ignore[method-assign]


def loaded_cdk_modules() -> list[str]:
    """The aws-cdk-lib service modules imported so far (``aws_cdk.aws_*``, ``interfaces`` too)."""
    return sorted(
        name
        for name in sys.modules
        if name.startswith(("aws_cdk.aws_", "aws_cdk.interfaces.aws_"))
        and not name.endswith("._private")
    )


def _report() -> dict[str, Any]:
    """(A fresh process) the import's kernel requests, then the modules stacks load."""
    with counted() as counts:
        import cdk_cleanrooms_ml

        # the package loads its names on first use: use every one of them
        for name in cdk_cleanrooms_ml.__all__:
            getattr(cdk_cleanrooms_ml, name)

    report: dict[str, Any] = {
        "import_requests": dict(counts),
        "after_import": loaded_cdk_modules(),
    }
    from aws_cdk import App, Duration, Environment, Size, Stack

    def stack(completion_timeout: Duration | None) -> None:
        app = App()
        stack = Stack(app, "Report", env=Environment(account="111122223333", region="us-east-1"))
        membership = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
        prefix = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{membership}"
        cdk_cleanrooms_ml.TrainedModel(
            stack,
            "Model",
            membership_identifier=membership,
            configured_model_algorithm_association_arn=(
                f"{prefix}/configured-model-algorithm-association/a"
            ),
            instance_type=cdk_cleanrooms_ml.InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(50),
            data_channels=[
                cdk_cleanrooms_ml.DataChannel(
                    ml_input_channel_arn=f"{prefix}/ml-input-channel/c", channel_name="train"
                )
            ],
            completion_timeout=completion_timeout,
        )
        app.synth()

    stack(None)
    report["after_short_path_stack"] = loaded_cdk_modules()
    stack(Duration.hours(3))
    report["after_long_path_stack"] = loaded_cdk_modules()
    return report


if __name__ == "__main__":
    os.environ.setdefault("CDK_VALIDATION", "false")
    print(json.dumps(_report()))
