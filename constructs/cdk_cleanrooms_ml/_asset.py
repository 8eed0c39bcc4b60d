"""Where the handler asset is (no CDK import: the local emulator uses it too)."""

from __future__ import annotations

from pathlib import Path


def handler_asset_path() -> Path:
    """The folder holding the handler: inside the installed package, or in the repo."""
    package = Path(__file__).resolve().parent
    bundled = package / "_lambda" / "handler"
    if bundled.is_dir():
        return bundled
    # An editable install or a checkout: constructs/cdk_cleanrooms_ml -> lambda/
    source = Path(__file__).parent.parent.parent / "lambda" / "handler"
    if source.is_dir():
        return source.resolve()
    raise FileNotFoundError(f"handler asset not found at {bundled} or {source}")
