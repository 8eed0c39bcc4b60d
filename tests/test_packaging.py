"""Packaging: the import path, the wheel's contents and the handler asset."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

import constructs
import contract
from cdk_cleanrooms_ml import TrainedModel
from cdk_cleanrooms_ml._asset import handler_asset_path
from helpers import new_stack, valid_props

ROOT = Path(__file__).resolve().parent.parent


def test_the_constructs_folder_does_not_shadow_the_constructs_package() -> None:
    assert not (ROOT / "constructs" / "__init__.py").exists()
    assert "site-packages" in str(constructs.__file__)
    assert hasattr(constructs, "Construct")


def test_runtime_dependencies_are_aws_cdk_lib_and_constructs_only() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(
        dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"]
    )
    assert names == ["aws-cdk-lib", "constructs"]


def test_asset_holds_the_handler_and_service_model_but_no_caches() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    assembly = stack.node.root.synth()  # type: ignore[attr-defined]
    out = Path(assembly.directory)
    handler_assets = [p for p in out.glob("asset.*") if (p / "index.py").exists()]
    assert len(handler_assets) == 1
    files = sorted(
        str(p.relative_to(handler_assets[0])) for p in handler_assets[0].rglob("*") if p.is_file()
    )
    assert "index.py" in files
    assert "contract.py" in files
    assert "data/cleanroomsml/2023-09-06/service-2.json" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert (handler_assets[0] / "contract.py").read_text() == Path(contract.__file__).read_text()


def test_asset_hash_ignores_bytecode_caches(tmp_path: Path) -> None:
    cache = handler_asset_path() / "__pycache__"
    cache.mkdir(exist_ok=True)
    before = _asset_hash()
    (cache / "probe.cpython-311.pyc").write_bytes(b"changed")
    try:
        assert _asset_hash() == before
    finally:
        (cache / "probe.cpython-311.pyc").unlink()


def _asset_hash() -> str:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props())
    functions = Template.from_stack(stack).find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.on_event"}}
    )
    (function,) = functions.values()
    key: str = function["Properties"]["Code"]["S3Key"]
    return key


@pytest.mark.slow
def test_wheel_ships_the_package_the_handler_and_a_real_contract_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    import cdk_cleanrooms_ml

    (wheel,) = tmp_path.glob("cdk_cleanrooms_ml-*.whl")
    assert wheel.name == f"cdk_cleanrooms_ml-{cdk_cleanrooms_ml.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        contract_text = archive.read("cdk_cleanrooms_ml/_contract.py").decode()
        dist_info = f"cdk_cleanrooms_ml-{cdk_cleanrooms_ml.__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        license_text = archive.read(f"{dist_info}/licenses/LICENSE").decode()
    # the metadata an index and `pip show` display
    assert metadata["Name"] == "cdk-cleanrooms-ml"
    assert metadata["Version"] == cdk_cleanrooms_ml.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.11"
    requires = metadata.get_all("Requires-Dist") or []
    assert [r for r in requires if "extra ==" not in r] == [
        "aws-cdk-lib<3,>=2.269.0",
        "constructs<11,>=10.5.0",
    ]
    classifiers = metadata.get_all("Classifier") or []
    assert "Framework :: AWS CDK :: 2" in classifiers
    assert "Typing :: Typed" in classifiers
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert str(metadata.get_payload()).startswith("# cdk-cleanrooms-ml")
    assert "The cdk-cleanrooms-ml Authors" in license_text
    assert "Amazon.com" not in license_text
    assert "cdk_cleanrooms_ml/py.typed" in names
    assert "cdk_cleanrooms_ml/_lambda/handler/index.py" in names
    assert "cdk_cleanrooms_ml/_lambda/handler/data/cleanroomsml/2023-09-06/service-2.json" in names
    # the local cloud: the emulator (which loads the service model above) and its ASSUMPTIONs
    assert "cdk_cleanrooms_ml/local/emulator/server.py" in names
    assert "cdk_cleanrooms_ml/local/ASSUMPTIONS.md" in names
    assert not [n for n in names if n.startswith("constructs/") or "__pycache__" in n]
    assert contract_text == Path(contract.__file__).read_text()


def test_importing_the_package_starts_no_node_process_until_a_name_is_used() -> None:
    """The console script and the emulator import the package without needing CDK."""
    probe = (
        "import sys, cdk_cleanrooms_ml as m\n"
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
        "assert m.TrainedModel.__module__ == 'cdk_cleanrooms_ml.trained_model'\n"
        "assert all(getattr(m, name) is not None for name in m.__all__)\n"
        "assert sorted(m.__all__) == sorted(set(m.__all__)) and set(m.__all__) <= set(dir(m))\n"
        "try:\n    m.NotAName\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
