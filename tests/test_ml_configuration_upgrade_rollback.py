"""An ML configuration deployed by release 0.2.0 (under its construct-path logical id),
upgraded to this release (whose logical id is made from the membership, issue 20 hole 5),
in a deploy that fails and rolls back.

What CloudFormation does with that upgrade: the template now has a *new* logical
resource (``MLConfiguration<8 hex>``) and no longer the old one. UPDATE_IN_PROGRESS
updates the handler functions to this release's code, then sends Create(new logical id),
which adopts the membership's identical configuration (same physical id,
``ml-configuration:<membership>``). If a sibling then fails: UPDATE_ROLLBACK_IN_PROGRESS
puts the handler functions' code (and their role's policy) back to release 0.2.0's,
and UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS sends Delete(new logical id,
``ml-configuration:<membership>``, props with RemovalPolicy destroy), which release
0.2.0's handler answers. The old resource was never touched: CloudFormation still holds
it, with the membership's configuration.

The README promises the upgrade is safe ("A resource of another logical id that holds
the membership's configuration, as one of release 0.2.0 does after an upgrade, is
recognised ... the old one's cleanup ... deletes nothing"), and the spec's row 3 says a
rollback deletes only what the failed deploy made: the adopting resource made nothing.
The codebase already keeps this promise for release 0.1.0's handler "back after an
upgrade's rollback" (its v1 tags are never rewritten).

Release 0.2.0's handler is the one tagged in the CHANGELOG (commit ``ea2e4c5``, "CHANGELOG
0.2.0"), taken from the repository's history and run in its own interpreter against the
same Clean Rooms ML emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from emulated import CONFIG_ROLE, M, World, serve

import contract
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.ml_configuration import logical_id_of

RELEASE_0_2_0 = "ea2e4c5"
"""The commit of release 0.2.0 (its CHANGELOG entry)."""
REPOSITORY = Path(__file__).resolve().parent.parent
OLD_LOGICAL_ID = "ConfigResource9E3C1D52"
"""A construct-path logical id, as release 0.2.0 gave the configuration's resource."""


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


@pytest.fixture(scope="module")
def release_0_2_0_handler(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.2.0's ``lambda/handler`` asset, from the repository's history."""
    found = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", RELEASE_0_2_0, "lambda/handler"],
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"release 0.2.0 ({RELEASE_0_2_0}) is not in this clone's history")
    target = tmp_path_factory.mktemp("release-0.2.0")
    with tarfile.open(fileobj=BytesIO(found.stdout)) as archive:
        archive.extractall(target, filter="data")
    return target / "lambda" / "handler"


_RUN = """
import json, sys
import index

class Context:
    def get_remaining_time_in_millis(self):
        return 300_000

print(json.dumps(index.on_event(json.load(sys.stdin), Context())))
"""


def _on_event_of(handler: Path, server: EmulatorServer, event: dict[str, Any]) -> dict[str, Any]:
    """Release 0.2.0's ``index.on_event`` on ``event`` (its own interpreter)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(handler),
        "AWS_ENDPOINT_URL_CLEANROOMSML": server.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    ran = subprocess.run(
        [sys.executable, "-c", _RUN],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    answer: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    return answer


def test_a_failed_upgrade_from_0_2_0_keeps_the_membership_configuration(
    world: World, server: EmulatorServer, release_0_2_0_handler: Path
) -> None:
    """Events (DESTROY):

    1. (release 0.2.0) Create(``ConfigResource...``) -> ``ml-configuration:M``: the
       membership has the configuration;
    2. the upgrade deploy, UPDATE_IN_PROGRESS (this release's handler):
       Create(``MLConfiguration<8 hex>``, same properties) -> adopts it, the same
       physical id; a sibling fails;
    3. UPDATE_ROLLBACK_IN_PROGRESS puts the handler's code back to release 0.2.0's;
       UPDATE_ROLLBACK_COMPLETE_CLEANUP: Delete(``MLConfiguration<8 hex>``,
       ``ml-configuration:M``, props) answered by release 0.2.0's handler.

    Required: the stack is back where it was, ``ConfigResource...`` holding the
    membership's configuration, which still exists.

    What happens: release 0.2.0's Delete knows nothing of another resource holding the
    configuration (``_other_holder`` came later) and deletes it under DESTROY: the
    membership has no ML configuration while the stack still says it has one, and
    nothing in CloudFormation will put it back (no later deploy changes that resource).
    """
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.OUTPUT_S3_URI: "s3://bucket/a/",
        contract.ROLE_ARN: CONFIG_ROLE,
        contract.REMOVAL_POLICY: "destroy",
    }
    kind = contract.ML_CONFIGURATION_RESOURCE_TYPE
    before = world.cfn(resource_type=kind, logical_id=OLD_LOGICAL_ID).create(props)
    assert before.ok, before.reason
    upgraded = world.cfn(resource_type=kind, logical_id=logical_id_of(M))
    adopted = upgraded.create(props)
    assert adopted.ok, adopted.reason
    # the same membership's configuration (an adopting resource's id says it adopted)
    assert adopted.physical_id.startswith(before.physical_id)
    assert M in world.emulator.configurations()

    cleanup = upgraded.event("Delete", props, physical_id=adopted.physical_id)
    _on_event_of(release_0_2_0_handler, server, cleanup)
    assert M in world.emulator.configurations(), (
        "the failed upgrade's rollback deleted the membership's ML configuration that "
        f"{OLD_LOGICAL_ID} (still in the stack) holds"
    )
