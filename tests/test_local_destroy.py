"""What ``cdk-cleanrooms-ml local destroy`` leaves on the local cloud: it names what RETAIN
kept in the emulator, ``--purge`` deletes that, and the destroyed stacks' Lambda workers
stop with them (MiniStack leaves them running)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from emulated import emulator_client

from cdk_cleanrooms_ml.local import leftovers, processes
from cdk_cleanrooms_ml.local.cloud import Cloud
from cdk_cleanrooms_ml.local.emulator import Emulator, Timings, start_server
from cdk_cleanrooms_ml.local.leftovers import Stack
from cdk_cleanrooms_ml.local.resources import physical_id as resources_physical
from cdk_cleanrooms_ml.local.resources import shaped
from local_cli import ROOT, SharedCloud

APP = "python3 examples/app.py"
OWNER = "cdk-cleanrooms-ml:owner"
M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{M}"


def _workers(cloud: SharedCloud, stack: str) -> dict[int, str]:
    """MiniStack's Lambda workers (pid: function) of ``stack``'s functions."""
    shown = json.loads(cloud.run("status", "--json").stdout)
    (ministack,) = (p["pid"] for p in shown["processes"] if p["name"] == "ministack")
    found = {}
    for pid in processes.tree(ministack):
        function = processes.environment(pid).get("AWS_LAMBDA_FUNCTION_NAME", "")
        if function.startswith(f"{stack}-") and processes.alive(pid):
            found[pid] = function
    return found


@pytest.mark.slow(seconds=30)
def test_destroy_names_what_retain_kept_and_purge_deletes_it(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    stack = "KeptByRetain"
    context = ["-c", f"stackName={stack}"]
    local_cloud.deploy(APP, stack, f"stackName={stack}", outputs=tmp_path / "outputs.json")
    workers = _workers(local_cloud, stack)
    assert workers  # the stack's Provider functions ran

    done = local_cloud.app_run("destroy", "--app", APP, "--stack", stack, *context)
    (model,) = local_cloud.models(stack)
    assert model["status"] == "ACTIVE"  # RETAIN, examples/app.py's default, kept it
    said = done.stdout
    assert "kept by RETAIN in the emulator until `cdk-cleanrooms-ml local down`" in said
    assert "`destroy --purge` deletes them" in said
    assert f"trained-model  {model['name']}  ACTIVE  {model['trainedModelArn']}" in said
    stopped = r"==> cdk destroy KeptByRetain \.\.\. [\d.]+ s: \d+ Lambda workers? stopped"
    assert re.search(stopped, said)
    assert not [pid for pid in workers if processes.alive(pid)]
    assert _workers(local_cloud, stack) == {}

    # again with --purge: the stack is gone already; what it left is deleted now
    done = local_cloud.app_run("destroy", "--app", APP, "--stack", stack, *context, "--purge")
    purged = rf"==> purge what {stack} left in the emulator \.\.\. [\d.]+ s: 1 deleted"
    assert re.search(purged, done.stdout)
    (model,) = local_cloud.models(stack)
    assert model["status"] == "INACTIVE"  # its output deleted, as DeleteTrainedModelOutput does
    done = local_cloud.app_run("destroy", "--app", APP, "--stack", stack, *context)
    assert "kept by RETAIN" not in done.stdout  # nothing left


def test_what_a_destroyed_stack_left_is_chosen_by_owner_record_and_status() -> None:
    def tag(who: str) -> dict[str, str]:
        return {OWNER: f"v2.0123456789abcdef.0123456789abcdef.0123456789abcdef.{who}"}

    raw: dict[str, list[dict[str, Any]]] = {
        "trained-model": [
            {**_raw("trained-model", "kept"), "tags": tag("Gone/Model")},
            {**_raw("trained-model", "deleted", "INACTIVE"), "tags": tag("Gone/Old")},
            {**_raw("trained-model", "other"), "tags": tag("Live/Model")},
            {**_raw("trained-model", "suffixed"), "tags": tag("Gone/Next@0123456789ab")},
            {**_raw("trained-model", "adopted"), "tags": tag("Gone/Adopted")},
        ],
        "ml-input-channel": [{**_raw("ml-input-channel", "rows"), "tags": tag("Gone/Rows")}],
        "trained-model-inference-job": [
            {**_raw("trained-model-inference-job", "done"), "tags": tag("Gone/Done")},
            {
                **_raw("trained-model-inference-job", "running", "CREATE_IN_PROGRESS"),
                "tags": tag("Gone/Running"),
            },
        ],
        "ml-configuration": [
            {
                "membershipIdentifier": M,
                "defaultOutputLocation": {"destination": {"s3Destination": {"s3Uri": "s3://b/"}}},
            },
            {"membershipIdentifier": "11111111-2222-4333-8444-555555555555"},
        ],
    }
    resources = shaped(raw)
    live = [Stack("Live", frozenset({f"{PREFIX}/trained-model/adopted"}))]
    found = leftovers.left(resources, {"Gone"}, {"Gone": [f"ml-configuration:{M}"]}, live)
    names = [(kind, record.get("arn", record.get("membership"))) for kind, record in found]
    assert names == [
        ("trained-model", f"{PREFIX}/trained-model/kept"),
        ("trained-model", f"{PREFIX}/trained-model/suffixed"),
        ("ml-input-channel", f"{PREFIX}/ml-input-channel/rows"),
        ("trained-model-inference-job", f"{PREFIX}/trained-model-inference-job/running"),
        ("ml-configuration", M),  # the stack's record names it (it has no tags)
    ]


ACCOUNT = "arn:aws:cleanrooms-ml:us-east-1:000000000000"


def test_a_destroyed_stack_s_audience_resources_are_left_and_purged_users_first() -> None:
    def tag(who: str) -> dict[str, str]:
        return {OWNER: f"v2.0123456789abcdef.0123456789abcdef.0123456789abcdef.{who}"}

    def audience(kind: str, ident: str, who: str, status: str = "ACTIVE") -> dict[str, Any]:
        arn = f"{ACCOUNT}:{kind}/{ident}"
        return {"arn": arn, "name": ident, "status": status, "tags": tag(who)}

    job = f"{ACCOUNT}:audience-generation-job/job"
    model = f"{PREFIX}/trained-model/kept"
    raw: dict[str, list[dict[str, Any]]] = {
        "audience-model": [
            audience("audience-model", "model", "Gone/Model"),
            audience("audience-model", "going", "Gone/Going", "DELETE_IN_PROGRESS"),
            audience("audience-model", "failed", "Gone/Failed", "DELETE_FAILED"),
            audience("audience-model", "training", "Gone/Training", "CREATE_IN_PROGRESS"),
        ],
        "configured-audience-model": [
            audience("configured-audience-model", "configured", "Gone/Configured"),
            audience("configured-audience-model", "theirs", "Live/Configured"),
        ],
        "audience-generation-job": [audience("audience-generation-job", "job", "Gone/Job")],
        # an export has no tags: the stack's record names it, yet it cannot be undone
        "audience-export-job": [{"parent": job, "name": "a b", "status": "ACTIVE"}],
        "trained-model-export-job": [
            {
                "parent": model,
                "name": "export",
                "status": "ACTIVE",
                "request": {"trainedModelVersionIdentifier": "v1"},
            }
        ],
    }
    resources = shaped(raw)
    exports = [f"{job}/export-job/a%20b", f"{model}/export-job/export#v1"]
    assert [
        resources_physical(kind, record)
        for kind in ("audience-export-job", "trained-model-export-job")
        for record in resources[kind]
    ] == exports
    found = leftovers.left(resources, {"Gone"}, {"Gone": exports}, [])
    names = [(kind, record["name"]) for kind, record in found]
    assert names == [
        ("audience-model", "model"),
        ("audience-model", "failed"),
        ("audience-model", "training"),  # a Delete stops its training (A21)
        ("configured-audience-model", "configured"),
        ("audience-generation-job", "job"),
    ]
    calls = [leftovers._action(kind, record) for kind, record in leftovers._ordered(found)]
    assert calls == [
        ("delete_audience_generation_job", {"audienceGenerationJobArn": job}),
        (
            "delete_configured_audience_model",
            {"configuredAudienceModelArn": f"{ACCOUNT}:configured-audience-model/configured"},
        ),
        ("delete_audience_model", {"audienceModelArn": f"{ACCOUNT}:audience-model/model"}),
        ("delete_audience_model", {"audienceModelArn": f"{ACCOUNT}:audience-model/failed"}),
        ("delete_audience_model", {"audienceModelArn": f"{ACCOUNT}:audience-model/training"}),
    ]
    going = next(r for r in resources["audience-model"] if r["name"] == "going")
    assert leftovers._action("audience-model", going) is None  # wait until it is gone


def test_purge_deletes_a_destroyed_stack_s_lookalike_chain_through_the_api(
    tmp_path: Path,
) -> None:
    """Against the emulator: the audience model goes last (not while a configured
    audience model uses it), the export with its job; asked first, its deletion fails."""
    server = start_server(Emulator(timings=Timings(0, 0, 0)))
    try:
        client = emulator_client(server)
        cloud = Cloud(tmp_path, server.endpoint_url, "http://127.0.0.1:9", None)
        tag = "v2.0123456789abcdef.0123456789abcdef.0123456789abcdef.Gone/{}@0123456789ab~01234567"
        role = "arn:aws:iam::000000000000:role/r"
        model = client.create_audience_model(
            name="m",
            trainingDatasetArn=f"{ACCOUNT}:training-dataset/d",
            tags={OWNER: tag.format("Model")},
        )["audienceModelArn"]
        configured = client.create_configured_audience_model(
            name="c",
            audienceModelArn=model,
            outputConfig={"destination": {"s3Destination": {"s3Uri": "s3://b/"}}, "roleArn": role},
            sharedAudienceMetrics=["ALL"],
            audienceSizeConfig={"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000]},
            tags={OWNER: tag.format("Configured")},
        )["configuredAudienceModelArn"]
        job = client.start_audience_generation_job(
            name="j",
            configuredAudienceModelArn=configured,
            seedAudience={"dataSource": {"s3Uri": "s3://b/seed.csv"}, "roleArn": role},
            tags={OWNER: tag.format("Job")},
        )["audienceGenerationJobArn"]
        client.start_audience_export_job(
            name="e", audienceGenerationJobArn=job, audienceSize={"type": "ABSOLUTE", "value": 1000}
        )
        found = leftovers.left(shaped(cloud.emulator("resources")), {"Gone"}, {}, [])
        assert [kind for kind, _ in found] == [
            "audience-model",
            "configured-audience-model",
            "audience-generation-job",
        ]
        first = [(kind, record) for kind, record in found if kind == "audience-model"]
        (problem,) = leftovers.purge(cloud, first, timeout=5)
        assert "ConflictException" in problem  # a configured audience model still uses it
        assert leftovers.purge(cloud, found, timeout=5) == []
        left = shaped(cloud.emulator("resources"))
        assert {kind: held for kind, held in left.items() if held} == {}
    finally:
        server.stop()


def _raw(kind: str, ident: str, status: str = "ACTIVE") -> dict[str, Any]:
    arn = f"{PREFIX}/{kind}/{ident}"
    return {"arn": arn, "name": ident, "membershipIdentifier": M, "status": status}


def test_destroyed_stacks_are_those_gone_or_named_by_the_cli() -> None:
    before = {"A": Stack("A", frozenset()), "B": Stack("B", frozenset())}
    output = ["C: destroying... [1/2]\n", " ✅  C: destroyed\n", "✅  B: destroyed\n"]
    assert leftovers.destroyed(before, {"B"}, output) == {"A", "C"}


def test_the_readme_destroys_with_purge_and_passes_no_example_only_context() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your app on the local cloud") :]
    usage = section[section.index("**Use**") : section.index("**What it does.**")]
    assert "-c removalPolicy" not in usage  # only examples/app.py reads that key
    assert 'local destroy --app "python3 app.py" --purge' in usage
