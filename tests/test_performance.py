"""What the constructs cost the user's process, counted (never timed).

- importing the package makes no jsii kernel call but loading the assemblies, and loads
  no Step Functions, KMS or S3 module; the long path imports Step Functions tasks itself;
- a stack with one ``TrainedModel`` costs at most 64 kernel round trips (the ``App``,
  the stack, the provider, the model and the synth) and each further model at most 6;
- the name prefixes made without a kernel call are the CDK's own
  (``Names.unique_resource_name``), over generated construct paths.
"""

from __future__ import annotations

import importlib
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Names, NestedStack, Size, Stack, Stage
from aws_cdk.assertions import Template
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_calls import counted

from cdk_cleanrooms_ml import TrainedModel, _provider
from cdk_cleanrooms_ml._resource import unique_resource_name
from constructs import Construct
from helpers import ACCOUNT, REGION, valid_props

ROOT = Path(__file__).resolve().parent.parent
MAX_PER_STACK = 64
"""Kernel round trips for an App, a stack with one TrainedModel and the synth."""
MAX_PER_MODEL = 6
"""Kernel round trips each further TrainedModel adds (its own, the synth's included)."""
NAME_MAX = 49


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """A fresh process's import costs and the modules stacks load (tests/kernel_calls.py)."""
    output = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "kernel_calls.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    found: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return found


def _long_path_modules(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if m.startswith(("aws_cdk.aws_stepfunctions", "aws_cdk.aws_kms", "aws_cdk.aws_s3"))
        and not m.startswith("aws_cdk.aws_s3_assets")  # the Lambda asset's (aws_lambda's)
    ]


def test_importing_the_package_only_loads_the_assemblies(report: dict[str, Any]) -> None:
    requests = report["import_requests"]
    assert set(requests) == {"LoadRequest"}, requests  # no Duration, Runtime, ... built
    assert _long_path_modules(report["after_import"]) == []


def test_each_public_name_loads_its_own_module_only() -> None:
    """``cdk_cleanrooms_ml.X`` imports the module that defines X (PEP 562), not the
    whole API: an app of trained models never imports the channel's or the job's."""
    import cdk_cleanrooms_ml

    assert set(cdk_cleanrooms_ml._SOURCES) == set(cdk_cleanrooms_ml.__all__) - {"__version__"}
    for name, source in cdk_cleanrooms_ml._SOURCES.items():
        module = importlib.import_module(source, "cdk_cleanrooms_ml")
        assert name in vars(module), (name, source)
    code = (
        "import sys; from cdk_cleanrooms_ml import TrainedModel, DataChannel, InstanceType; "
        "print(sorted(m for m in sys.modules if m.startswith('cdk_cleanrooms_ml.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    for unused in ("inference_job", "ml_input_channel"):
        assert f"cdk_cleanrooms_ml.{unused}'" not in loaded, loaded


def test_the_long_path_pays_for_its_own_imports(report: dict[str, Any]) -> None:
    # A short-path stack loads aws_stepfunctions itself (the Provider framework's waiter
    # state machine carries cdk-nag 2 suppressions: its CfnStateMachine object is a
    # Step Functions type), but not the tasks module, KMS or S3.
    short = _long_path_modules(report["after_short_path_stack"])
    assert [m for m in short if m != "aws_cdk.aws_stepfunctions"] == []
    assert "aws_cdk.aws_stepfunctions_tasks" in report["after_long_path_stack"]


def _app_round_trips(models: int) -> int:
    """Kernel round trips from ``App()`` to the synth, for a stack of ``models`` models.

    The user's own argument objects (a ``Size`` per model) are made before counting; the
    process-wide constants are dropped first, so that the stack pays for them as the
    first stack of a process does.
    """
    _provider._durations.cache_clear()
    _provider._function_platform.cache_clear()
    props = [valid_props(volume_size=Size.gibibytes(50)) for _ in range(models)]
    with counted() as counts:
        app = App()
        stack = Stack(app, "Bench", env=Environment(account=ACCOUNT, region=REGION))
        for i in range(models):
            TrainedModel(stack, f"Model{i}", **props[i], hyperparameters={"epochs": "10"})
        app.synth()
    return sum(counts.values())


def test_one_stack_with_one_model_costs_at_most_64_round_trips() -> None:
    assert _app_round_trips(1) <= MAX_PER_STACK


def test_each_further_model_costs_at_most_6_round_trips() -> None:
    counts = [_app_round_trips(n) for n in (1, 2, 3, 6)]
    added = [b - a for a, b in itertools.pairwise(counts)]
    assert added[0] <= MAX_PER_MODEL, counts
    assert added[1] <= MAX_PER_MODEL, counts
    assert added[2] <= 3 * MAX_PER_MODEL, counts


_ID = st.one_of(
    st.sampled_from(["Default", "Resource", "Model", "Stack", "a", "A1", "Model-1", "x_y.z"]),
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co"],
            exclude_characters="/\n",
        ),
        min_size=1,
        max_size=70,
    ).filter(lambda text: text != "__proto__"),  # a JavaScript object's own: no construct id
)


@settings(max_examples=60, deadline=None)
@given(
    stack_name=st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,40}", fullmatch=True),
    ids=st.lists(_ID, min_size=1, max_size=5),
    max_length=st.sampled_from([NAME_MAX, 20, 64, 256]),
    separator=st.sampled_from(["-", "", "_"]),
)
def test_the_name_replica_is_the_cdks_unique_resource_name(
    stack_name: str, ids: list[str], max_length: int, separator: str
) -> None:
    app = App()
    scope: Construct = Stack(app, "S", stack_name=stack_name)
    for construct_id in ids:  # one child a level: ids need only be unique among siblings
        scope = Construct(scope, construct_id)
    made = Names.unique_resource_name(scope, max_length=max_length, separator=separator)
    assert (
        unique_resource_name([stack_name, *ids], max_length=max_length, separator=separator) == made
    )


def _cdk_prefixes(stack: Stack) -> dict[str, str]:
    return {
        construct.node.path: Names.unique_resource_name(
            construct, max_length=NAME_MAX, separator="-"
        )
        for construct in stack.node.find_all()
        if isinstance(construct, TrainedModel)
    }


def _models(scope: Construct, count: int) -> None:
    for i in range(count):
        TrainedModel(scope, f"Model{i}", **valid_props())
    TrainedModel(scope, "A" * 90, **valid_props())


@pytest.mark.parametrize(
    "layout", ["stack", "nested scopes", "stage", "stack name", "nested stack", "slash id"]
)
def test_generated_name_prefixes_are_the_cdks_wherever_the_models_are(layout: str) -> None:
    app = App()
    env = Environment(account=ACCOUNT, region=REGION)
    stack = Stack(app, "Top", env=env)
    scope: Construct = stack
    if layout == "nested scopes":
        scope = Construct(Construct(stack, "Team"), "Resource")
    elif layout == "stage":
        stack = Stack(Stage(app, "Prod"), "Top", env=env)
        scope = stack
    elif layout == "stack name":
        stack = Stack(app, "Named", stack_name="my-named-stack", env=env)
        scope = stack
    elif layout == "nested stack":
        scope = NestedStack(stack, "Nested")
    _models(scope, 3)
    if layout == "slash id":
        TrainedModel(scope, "with/slash", **valid_props())
    target = scope if isinstance(scope, NestedStack) else stack
    rendered = {
        path: props["Properties"]["NamePrefix"] for path, props in _rendered_models(target).items()
    }
    assert rendered == _cdk_prefixes(target)
    assert len(rendered) == (5 if layout == "slash id" else 4)


def _rendered_models(stack: Stack) -> dict[str, Any]:
    """Each model's synthesized resource, by the model's construct path."""
    resources = Template.from_stack(stack).to_json()["Resources"]
    return {
        construct.node.path: resources[
            stack.resolve(stack.get_logical_id(construct.custom_resource))
        ]
        for construct in stack.node.find_all()
        if isinstance(construct, TrainedModel)
    }
