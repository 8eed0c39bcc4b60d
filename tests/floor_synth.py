"""Synthesize every example (and the long path) with whatever aws-cdk-lib is importable.

Run by test_floor.py with the floor virtualenv's Python: prints the versions it
ran with and, per app, the stacks and resource counts, as JSON.
"""

from __future__ import annotations

import json
from importlib.metadata import version

from aws_cdk import App

import app as example_app
import full_pipeline
import imported_base
import incremental
import lookalike

APPS = {
    "minimal": (example_app.build, {}),
    "long-path": (example_app.build, {"completionTimeoutMinutes": "120"}),
    "full-pipeline": (full_pipeline.build, {}),
    "full-pipeline-local": (
        full_pipeline.build,
        {
            "configuredModelAlgorithmAssociationArn": "arn:aws:cleanrooms-ml:us-east-1:"
            "111122223333:membership/0f3d2a1b-1234-4cde-8f00-0123456789ab/"
            "configured-model-algorithm-association/a",
            "exportAccountId": "444455556666",
            "removalPolicy": "destroy",
        },
    ),
    "incremental": (incremental.build, {}),
    "imported-base": (imported_base.build, {}),
    "lookalike": (lookalike.build, {}),
    "lookalike-local": (
        lookalike.build,
        {
            "trainingDatasetArn": "arn:aws:cleanrooms-ml:us-east-1:111122223333:"
            "training-dataset/0f3d2a1b-1234-4cde-8f00-0123456789ab",
            "removalPolicy": "destroy",
        },
    ),
}

if __name__ == "__main__":
    result: dict[str, object] = {
        "aws-cdk-lib": version("aws-cdk-lib"),
        "constructs": version("constructs"),
    }
    for name, (build, context) in APPS.items():
        app = App(context=context)
        build(app)
        result[name] = {
            stack.stack_name: len(stack.template["Resources"]) for stack in app.synth().stacks
        }
    print(json.dumps(result))
