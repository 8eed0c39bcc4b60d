"""An app that cannot synthesize fails ``cdk-cleanrooms-ml local deploy`` at once: before
any server starts, with the app's traceback first, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_cli import env, run

BROKEN = 'from aws_cdk import App, Stack\n\napp = App()\nStack(app, "Broken"\napp.synth()\n'


@pytest.mark.slow(seconds=3)
def test_a_broken_app_fails_fast_with_its_traceback_and_leaves_nothing(tmp_path: Path) -> None:
    app, state, scratch = tmp_path / "app", tmp_path / "state", tmp_path / "tmp"
    for folder in (app, scratch):
        folder.mkdir()
    (app / "app.py").write_text(BROKEN)
    done = run(
        "deploy",
        "--app",
        "python3 app.py",
        "--state-dir",
        str(state),
        cwd=app,
        environment=env(TMPDIR=str(scratch)),
        check=False,
    )
    said = done.stdout
    assert done.returncode == 1, said
    assert "SyntaxError: '(' was never closed" in said
    assert said.index("SyntaxError") < said.index("cdk-cleanrooms-ml: cdk synth exited with code 1")
    assert "start the local cloud" not in said  # it failed before any server started
    assert "bootstrap" not in said
    assert "stop the local cloud" not in said
    assert list(scratch.iterdir()) == []  # no temporary folder left behind
    assert list(app.iterdir()) == [app / "app.py"]
    assert not state.exists()
