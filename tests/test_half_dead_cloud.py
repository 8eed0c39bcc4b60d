"""A cloud ``up`` started whose emulator died while MiniStack runs on: every command says
so (which part runs, which does not, how to clear it), none starts a second cloud beside
it, and ``down`` stops what is left."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from cdk_cleanrooms_ml.local import processes
from local_cli import ROOT, recorded_cloud, run


def test_a_half_dead_cloud_is_reported_refused_and_cleared_by_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with recorded_cloud(state) as cloud:

        def local(*args: str) -> tuple[int, str]:
            done = run(*args, "--state-dir", str(state), cwd=ROOT, check=False)
            return done.returncode, done.stdout

        assert local("status") == (
            0,
            f"running: MiniStack {cloud.ministack_url}, emulator "
            f"{cloud.emulator_url} (state: {state})\n",
        )
        emulator, ministack = cloud.processes
        os.kill(emulator.pid, signal.SIGKILL)
        assert emulator.popen is not None
        emulator.popen.wait()

        code, said = local("status")
        assert code == 1
        assert "half-dead" in said
        assert f"MiniStack (pid {ministack.pid}, {cloud.ministack_url}) is running" in said
        assert f"the emulator (pid {emulator.pid}) is stopped" in said
        assert "`cdk-cleanrooms-ml local down` stops what is left" in said
        code, said = local("status", "--json")
        shown = json.loads(said)
        assert (code, shown["running"], shown["state"]) == (1, False, "half-dead")
        assert {p["name"]: p["state"] for p in shown["processes"]} == {
            "emulator": "stopped",
            "ministack": "running",
        }

        for refused in (("deploy",), ("destroy",), ("up",)):
            code, said = local(*refused)
            assert code == 1, said
            assert "half-dead" in said
            assert "start the local cloud" not in said  # no second cloud beside it
            assert "cdk synth" not in said
            assert "Traceback" not in said

        code, said = local("down")
        assert code == 0
        assert said.startswith("==> stop what is left of the local cloud")
        assert not ministack.running()
        assert not processes.alive(ministack.pid)
        code, said = local("status")
        assert (code, said.splitlines()[0]) == (1, f"no local cloud is running (state: {state})")


def test_a_cloud_whose_servers_all_stopped_is_no_cloud(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with recorded_cloud(state) as cloud:
        cloud.stop()
        done = run("status", "--state-dir", str(state), check=False)
    assert done.returncode == 1
    assert "no local cloud is running: the one `up` started has stopped" in done.stdout
    assert "`cdk-cleanrooms-ml local down` clears its record" in done.stdout
