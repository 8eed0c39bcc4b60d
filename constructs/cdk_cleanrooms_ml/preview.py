"""What a deploy does to the Clean Rooms ML resources of a stack: the replacement preview.

CloudFormation cannot tell a custom resource's replacement from an update, so
``cdk diff`` shows ``[~]`` for both. The handler can: a resource is replaced when its
identity (``identity.py``, the digest of the properties that define it) or its name
changes. ``preview`` compares a deployed template with a synthesized one by that very
code (the handler asset's ``identity`` module, loaded from the package: one source of
truth) and says, per ``Custom::CleanRoomsML*`` resource: created, updated in place,
**replaced** (what changed, secrets' values hidden), or deleted (and what DESTROY
deletes); what each replacement drags along (a job or an incremental model that uses
a replaced resource gets a new ARN to use, so it is replaced too); and what the
deploy starts (trainings, queries, jobs).

Values known only at deploy time (``Ref``, ``Fn::GetAtt``) are compared as what they
refer to: the same reference is the same value unless what it refers to is replaced
or created anew.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, Final

from . import _contract as contract
from ._asset import handler_asset_path

CREATED: Final = "created"
UPDATED: Final = "updated in place"
REPLACED: Final = "replaced"
DELETED: Final = "deleted"
UNCHANGED: Final = "unchanged"

KINDS: Final = {
    contract.RESOURCE_TYPE: "TrainedModel",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "MLInputChannel",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "TrainedModelInferenceJob",
    contract.ML_CONFIGURATION_RESOURCE_TYPE: "MLConfiguration",
}
STARTS: Final = {
    contract.RESOURCE_TYPE: "training",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "query",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "inference job",
}
DESTROYS: Final = {
    contract.RESOURCE_TYPE: "deletes its output (a training still running is cancelled)",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "deletes its data",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "cancels it if it still runs",
    contract.ML_CONFIGURATION_RESOURCE_TYPE: "deletes the configuration",
}
_IN_PLACE_KEYS: Final = {
    contract.TAGS: "tags",
    contract.REMOVAL_POLICY: "removal_policy",
    contract.WAIT_FOR_COMPLETION: "wait_for_completion",
    contract.COMPLETION_TIMEOUT_SECONDS: "completion_timeout",
    contract.REPLACEMENT_PROTECTION: "replacement_protection",
    contract.REPLACEMENT_ALLOWED: "replacement_protection (lifted for this deploy)",
}


@cache
def identity() -> ModuleType:
    """The handler's ``identity`` module, loaded from the asset the stack deploys."""
    folder = handler_asset_path()
    loaded_contract = _load("cdk_cleanrooms_ml._handler_contract", folder / "contract.py")
    previous = sys.modules.get("contract")
    sys.modules["contract"] = loaded_contract  # identity.py imports it by that name
    try:
        return _load("cdk_cleanrooms_ml._handler_identity", folder / "identity.py")
    finally:
        if previous is None:
            del sys.modules["contract"]
        else:
            sys.modules["contract"] = previous


def _load(name: str, path: Any) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Change:
    """What a deploy does to one resource."""

    logical_id: str
    kind: str
    """The construct (``TrainedModel`` ...)."""
    action: str
    why: list[str] = field(default_factory=list)
    """What changed (replaced, updated), or what it drags along (replaced by cascade)."""
    destroys: str = ""
    """Deleted or replaced under DESTROY: what the old one's Delete deletes."""
    starts: str = ""
    """Created or replaced: what it starts ("training: ml.m5.xlarge x 1, up to 3 h")."""
    path: str = ""
    """The construct's path in its stack (``Models/Base``), from the template's
    ``aws:cdk:path`` metadata; empty when the template has none."""

    @property
    def shown(self) -> str:
        """The construct as the lines name it: its path, with the logical id."""
        return f"{self.path} ({self.logical_id})" if self.path else self.logical_id


@dataclass
class Preview:
    stack: str
    deployed: bool
    changes: list[Change]

    @property
    def replaces(self) -> bool:
        return any(c.action == REPLACED for c in self.changes)

    def summary(self) -> str:
        counts: dict[str, list[str]] = {}
        for change in self.changes:
            if change.starts:
                what, _, detail = change.starts.partition(": ")
                counts.setdefault(what, []).append(detail)
        if not counts:
            return "this deploy starts nothing"
        parts = []
        for what in ("training", "query", "inference job"):
            details = counts.get(what)
            if details:
                noun = f"{what}s" if len(details) != 1 else what
                noun = "queries" if what == "query" and len(details) != 1 else noun
                shown = f" ({_grouped(details)})" if any(details) else ""
                parts.append(f"{len(details)} {noun}{shown}")
        return "this deploy starts " + ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "deployed": self.deployed,
            "replaces": self.replaces,
            "summary": self.summary(),
            "resources": [asdict(c) for c in self.changes if c.action != UNCHANGED],
        }


def _grouped(details: list[str]) -> str:
    """``ml.m5.xlarge x 1; ml.m5.xlarge x 1`` as ``2 x (ml.m5.xlarge x 1)``, in order."""
    counts: dict[str, int] = {}
    for detail in details:
        if detail:
            counts[detail] = counts.get(detail, 0) + 1
    return "; ".join(d if n == 1 else f"{n} x ({d})" for d, n in counts.items())


def _path(resource: Mapping[str, Any]) -> str:
    """``Stack/Models/Base/Resource`` (the ``aws:cdk:path`` metadata) as ``Models/Base``."""
    metadata = resource.get("Metadata")
    path = metadata.get("aws:cdk:path") if isinstance(metadata, Mapping) else None
    if not isinstance(path, str) or "/" not in path:
        return ""
    inside = path.split("/", 1)[1]
    return inside.removesuffix("/Resource")


def _ours(template: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    resources = (template or {}).get("Resources") or {}
    return {k: v for k, v in resources.items() if v.get("Type") in KINDS}


def _placeholders(value: Any) -> Any:
    """Properties as CloudFormation delivers them (scalars as strings), each value known
    only at deploy time as a placeholder naming what it refers to."""
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                if key == "Fn::Join":
                    separator, parts = argument
                    return str(separator).join(str(_placeholders(p)) for p in parts)
                return "{{" + json.dumps({key: argument}, sort_keys=True) + "}}"
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _refers_to(text: str, logical_id: str) -> bool:
    """Whether a document's JSON holds a placeholder referring to ``logical_id``."""
    text = text.replace('\\"', '"')
    return f'{{"Ref": "{logical_id}"}}' in text or f'{{"Fn::GetAtt": ["{logical_id}"' in text


def _document(kind: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    if kind == contract.ML_CONFIGURATION_RESOURCE_TYPE:
        return {"membershipIdentifier": props.get(contract.MEMBERSHIP_IDENTIFIER)}
    make = identity().DOCUMENTS[kind]
    try:
        document: dict[str, Any] = make(props)
    except identity().PropertyError:
        return None  # a value known only at deploy time where a number belongs
    return document


def _name(props: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return props.get(contract.NAME), props.get(contract.NAME_PREFIX)


def _destroy(props: Mapping[str, Any]) -> bool:
    return props.get(contract.REMOVAL_POLICY) == contract.REMOVAL_POLICY_DESTROY


def _starts(kind: str, props: Mapping[str, Any]) -> str:
    what = STARTS.get(kind)
    if what is None:
        return ""
    if kind == contract.ML_INPUT_CHANNEL_RESOURCE_TYPE:
        return f"{what}: "
    count = props.get(contract.INSTANCE_COUNT) or "1"
    detail = f"{props.get(contract.INSTANCE_TYPE)} x {count}"
    runtime = props.get(contract.MAX_RUNTIME_IN_SECONDS)
    if runtime and str(runtime).isdigit():
        detail += f", up to {_duration(int(runtime))}"
    return f"{what}: {detail}"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _in_place(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(old) | set(new)):
        if key == "ServiceToken" or old.get(key) == new.get(key):
            continue
        lines.append(_IN_PLACE_KEYS.get(key, key))
    return lines


def preview(
    stack: str, deployed: Mapping[str, Any] | None, synthesized: Mapping[str, Any]
) -> Preview:
    """What deploying ``synthesized`` over ``deployed`` (None: not deployed) does."""
    before, after = _ours(deployed), _ours(synthesized)
    changes: dict[str, Change] = {}
    texts: dict[str, str] = {}
    for logical_id, resource in after.items():
        kind = resource["Type"]
        new = _placeholders(resource.get("Properties") or {})
        texts[logical_id] = json.dumps(_document(kind, new) or new, sort_keys=True)
        change = Change(logical_id, KINDS[kind], CREATED, starts=_starts(kind, new))
        if logical_id in before and before[logical_id]["Type"] == kind:
            old = _placeholders(before[logical_id].get("Properties") or {})
            change = _compare(logical_id, kind, old, new)
        change.path = _path(resource)
        changes[logical_id] = change
    for logical_id, resource in before.items():
        if logical_id in changes:
            continue
        kind = resource["Type"]
        old = _placeholders(resource.get("Properties") or {})
        changes[logical_id] = Change(
            logical_id,
            KINDS[kind],
            DELETED,
            destroys=DESTROYS[kind] if _destroy(old) else "kept (removal policy retain)",
            path=_path(resource),
        )
    _cascade(changes, texts, after, before)
    order = list(after) + [k for k in before if k not in after]
    return Preview(stack, deployed is not None, [changes[k] for k in order])


def _compare(logical_id: str, kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Change:
    old_doc, new_doc = _document(kind, old), _document(kind, new)
    why: list[str] = []
    if old_doc is None or new_doc is None:
        if old_doc != new_doc or old != new:
            why.append("a value known only at deploy time may change its identity")
    elif old_doc != new_doc:
        if kind == contract.ML_CONFIGURATION_RESOURCE_TYPE:
            why.append(
                f"membership_identifier: {old_doc['membershipIdentifier']!r} -> "
                f"{new_doc['membershipIdentifier']!r}"
            )
        else:
            why.extend(identity().changes(old_doc, new_doc))
    if kind != contract.ML_CONFIGURATION_RESOURCE_TYPE and _name(old) != _name(new):
        (old_fixed, _), (new_fixed, _) = _name(old), _name(new)
        if old_fixed is not None or new_fixed is not None:
            why.append(f"name: {old_fixed or 'generated'!r} -> {new_fixed or 'generated'!r}")
    if why:
        return Change(
            logical_id,
            KINDS[kind],
            REPLACED,
            why,
            destroys=DESTROYS[kind] if _destroy(old) else "",
            starts=_starts(kind, new),
        )
    if kind == contract.ML_CONFIGURATION_RESOURCE_TYPE and old != new:
        return Change(logical_id, KINDS[kind], UPDATED, _in_place(old, new))
    in_place = _in_place(old, new)
    return Change(logical_id, KINDS[kind], UPDATED if in_place else UNCHANGED, in_place)


def _cascade(
    changes: dict[str, Change],
    texts: Mapping[str, str],
    after: Mapping[str, Any],
    before: Mapping[str, Any],
) -> None:
    """A resource that uses one replaced or created anew (its ARN changes at deploy
    time, in its identity) is replaced too, and so on."""
    renewed = {k for k, c in changes.items() if c.action in (REPLACED, CREATED)}
    grew = True
    while grew:
        grew = False
        for logical_id, change in changes.items():
            if change.action not in (UNCHANGED, UPDATED) or logical_id not in texts:
                continue
            used = sorted(
                r for r in renewed if r != logical_id and _refers_to(texts[logical_id], r)
            )
            if not used:
                continue
            resource = after[logical_id]
            kind = resource["Type"]
            new = _placeholders(resource.get("Properties") or {})
            change.action = REPLACED
            names = ", ".join(changes[r].path or r for r in used)
            change.why = [f"uses {names}, which {'is' if len(used) == 1 else 'are'} replaced"]
            change.starts = _starts(kind, new)
            if logical_id in before:
                old = _placeholders(before[logical_id].get("Properties") or {})
                change.destroys = DESTROYS[kind] if _destroy(old) else ""
            renewed.add(logical_id)
            grew = True


def lines(result: Preview) -> list[str]:
    """The preview as text, one line per resource (and its reasons), then the summary."""
    found = [f"{result.stack}{'' if result.deployed else ' (not deployed yet)'}"]
    for change in result.changes:
        if change.action == UNCHANGED:
            continue
        head = f"  {change.action.upper() if change.action == REPLACED else change.action}"
        head += f"  {change.kind} {change.shown}"
        if change.destroys:
            head += f"  [the old one: {change.destroys}]"
        found.append(head)
        found.extend(f"      {reason}" for reason in change.why)
    found.append(f"  {result.summary()}")
    return found
