"""Copy botocore's cleanroomsml service model into the handler asset.

    .venv/bin/python local/refresh_service_model.py

The asset ships ``service-2.json`` without its ``documentation`` strings (they
are most of its size and botocore does not need them), plus
``paginators-1.json`` and ``endpoint-rule-set-1.json``, uncompressed, so the
handler works on a Lambda runtime whose bundled botocore predates Clean Rooms ML
trained models. ``tests/test_contract.py`` checks the copy is current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import botocore.session

TARGET: Final = (
    Path(__file__).resolve().parent.parent / "lambda/handler/data/cleanroomsml/2023-09-06"
)


def without_documentation(value: Any) -> Any:
    """The model with every ``documentation`` (and ``documentationUrl``) key removed."""
    if isinstance(value, dict):
        return {
            key: without_documentation(item)
            for key, item in value.items()
            if key not in ("documentation", "documentationUrl")
        }
    if isinstance(value, list):
        return [without_documentation(item) for item in value]
    return value


def shipped_models() -> dict[str, Any]:
    """What the asset should hold, by file name, from the installed botocore."""
    loader = botocore.session.get_session().get_component("data_loader")
    return {
        "service-2.json": without_documentation(
            loader.load_service_model("cleanroomsml", "service-2")
        ),
        "paginators-1.json": loader.load_service_model("cleanroomsml", "paginators-1"),
        "endpoint-rule-set-1.json": loader.load_service_model(
            "cleanroomsml", "endpoint-rule-set-1"
        ),
    }


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, model in shipped_models().items():
        (TARGET / name).write_text(json.dumps(model, separators=(",", ":"), sort_keys=True))
        print(f"wrote {TARGET / name}")


if __name__ == "__main__":
    main()
