"""``cdk-cleanrooms-ml diff``: what a deploy would retrain, before it does.

Synthesizes the app (or reads a cloud assembly), fetches each stack's status and
deployed template (``DescribeStacks``, ``GetTemplate``: the local cloud when ``up``
runs one or ``--local`` is given, else the account of your AWS credentials) and
prints the replacement preview
(``cdk_cleanrooms_ml.preview``). Exit code: 0 when nothing is replaced,
``REPLACES_EXIT_CODE`` when something will be (a CI job can gate on it), 1 on error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from .. import preview
from . import cloud as clouds
from .report import Report
from .toolkit import StepError, Toolkit

REPLACES_EXIT_CODE: Final = 3


class DiffError(RuntimeError):
    """A problem the message explains."""


def stacks(assembly: Path) -> list[dict[str, str]]:
    """The stacks of a cloud assembly: id, name, template file, region (if known)."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    found = []
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        environment = str(artifact.get("environment") or "")
        region = environment.rsplit("/", 1)[-1] if environment.startswith("aws://") else ""
        found.append(
            {
                "id": artifact_id,
                "name": str(properties.get("stackName") or artifact_id),
                "display": str(artifact.get("displayName") or artifact_id),
                "template": str(assembly / properties["templateFile"]),
                "region": "" if region.startswith("unknown") else region,
            }
        )
    return found


def _client(local: clouds.Cloud | None, region: str) -> Any:
    if importlib.util.find_spec("boto3") is None:
        raise DiffError(
            "diff reads the deployed templates with boto3: pip install boto3 (or the "
            "package's `local` extra)"
        )
    import boto3

    if local is not None:
        return boto3.client(
            "cloudformation",
            endpoint_url=local.ministack_url,
            region_name=region or clouds.REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    from botocore.exceptions import NoRegionError

    # the stack's own region, else the aws-cdk CLI's order: AWS_REGION, AWS_DEFAULT_REGION
    # and the profile's (boto3 reads the last two itself)
    chosen = region or os.environ.get("AWS_REGION") or None
    try:
        return boto3.client("cloudformation", region_name=chosen)
    except NoRegionError:
        raise DiffError(
            "no AWS region to read the deployed templates from: give the stack an env "
            "(Environment(region=...)), set AWS_REGION, or use --local for the local cloud"
        ) from None


NOT_DEPLOYED: Final = frozenset({"DELETE_COMPLETE", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"})
"""Stack statuses under which a deploy creates every resource anew: deleted (the local
cloud, like CloudFormation by stack id, still answers for a deleted stack), a first
deploy rolled back (``cdk deploy`` deletes it and starts over), a change set never run."""


def deployed_template(client: Any, stack_name: str) -> Mapping[str, Any] | None:
    """The stack's template as deployed, or None when it is not (or no longer) deployed."""
    try:
        (stack,) = client.describe_stacks(StackName=stack_name)["Stacks"][:1]
        if stack.get("StackStatus") in NOT_DEPLOYED:
            return None
        body = client.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    except Exception as error:
        text = str(error)
        if "does not exist" in text:
            return None
        raise DiffError(f"reading the deployed template of {stack_name} failed: {text}") from None
    template: Mapping[str, Any] = body if isinstance(body, Mapping) else json.loads(body)
    return template


def _synth(
    args: argparse.Namespace,
    report: Report,
    tools: Toolkit,
    local: clouds.Cloud | None,
    assembly: Path,
) -> None:
    """``cdk synth`` of the app into ``assembly`` (for the local cloud, as ``local
    deploy`` synthesizes it)."""
    command = [*tools.command, "synth", "--quiet", "--no-notices", "--output", str(assembly)]
    if args.app:
        command += ["--app", args.app]
    for item in args.context:
        command += ["--context", item]
    if local is not None:
        env = local.env(tools.path)
    else:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([*map(str, tools.path), env.get("PATH", "")])
    with report.step("cdk synth"):
        done = subprocess.run(
            command, env=env, cwd=Path.cwd(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            lines = (done.stdout + done.stderr).splitlines(keepends=True)
            raise StepError(f"cdk synth exited with code {done.returncode}", lines)


def run(
    args: argparse.Namespace,
    report: Report,
    tools: Toolkit | None,
    local: clouds.Cloud | None,
) -> int:
    """Preview every stack of the app (or those ``args.stacks`` names)."""
    with tempfile.TemporaryDirectory(prefix="cdk-cleanrooms-ml-diff-") as scratch:
        assembly = Path(args.cdk_out) if args.cdk_out else Path(scratch) / "cdk.out"
        if not args.cdk_out:
            assert tools is not None
            _synth(args, report, tools, local, assembly)
        found = stacks(assembly)
        if args.stacks:
            wanted = set(args.stacks)
            found = [s for s in found if {s["id"], s["name"], s["display"]} & wanted]
            missing = wanted - {n for s in found for n in (s["id"], s["name"], s["display"])}
            if missing:
                raise DiffError(f"no such stack in the app: {', '.join(sorted(missing))}")
        where = f"the local cloud at {local.ministack_url}" if local else "your AWS account"
        results = []
        for stack in found:
            client = _client(local, stack["region"])
            deployed = deployed_template(client, stack["name"])
            synthesized = json.loads(Path(stack["template"]).read_text())
            results.append(preview.preview(stack["name"], deployed, synthesized))
    if args.json:
        print(json.dumps({"against": where, "stacks": [r.as_json() for r in results]}, indent=2))
    else:
        report.line(f"==> against {where}")
        for result in results:
            for line in preview.lines(result):
                report.line(line)
    return REPLACES_EXIT_CODE if any(r.replaces for r in results) else 0
