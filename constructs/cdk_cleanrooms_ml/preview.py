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
import re
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
    contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: "TrainedModelExportJob",
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: "AudienceModel",
    contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: "ConfiguredAudienceModel",
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: "AudienceGenerationJob",
    contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: "AudienceExportJob",
}
STARTS: Final = {
    contract.RESOURCE_TYPE: "training",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "query",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "inference job",
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: "audience model training",
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: "audience generation",
    contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE: "model export",
    contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE: "audience export",
}
"""What creating one starts (a configured audience model starts nothing)."""
PLURALS: Final = {"query": "queries"}
DESTROYS: Final = {
    contract.RESOURCE_TYPE: "deletes its output (a training still running is cancelled)",
    contract.ML_INPUT_CHANNEL_RESOURCE_TYPE: "deletes its data",
    contract.INFERENCE_JOB_RESOURCE_TYPE: "cancels it if it still runs",
    contract.ML_CONFIGURATION_RESOURCE_TYPE: "deletes the configuration",
    contract.AUDIENCE_MODEL_RESOURCE_TYPE: "deletes it (a training still running stops)",
    contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE: "deletes it and its policy",
    contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE: (
        "deletes it and its audience (a job still running stops)"
    ),
}
UNDONE_BY_NOTHING: Final = frozenset(
    {contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE, contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE}
)
"""Kinds whose Delete undoes nothing: an export stays done, whatever the removal policy."""
STAYS: Final = "an export cannot be undone: it stays done"
SETTINGS: Final = {
    contract.AUDIENCE_MODEL_ARN: "audience_model",
    contract.OUTPUT_S3_URI: "output_bucket/output_prefix",
    contract.ROLE_ARN: "output_role",
    contract.SHARED_AUDIENCE_METRICS: "shared_audience_metrics",
    contract.MIN_MATCHING_SEED_SIZE: "min_matching_seed_size",
    contract.AUDIENCE_SIZE_TYPE: "audience_size_config",
    contract.AUDIENCE_SIZE_BINS: "audience_size_config",
    contract.DESCRIPTION: "description",
    contract.RESOURCE_POLICY: "resource_policy",
}
"""A configured audience model's settings an update applies in place, by the prop."""
UNSETTABLE: Final = (contract.MIN_MATCHING_SEED_SIZE, contract.AUDIENCE_SIZE_TYPE)
"""Settings the service cannot unset: dropping one makes a new configured audience model."""
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
        for what in dict.fromkeys(STARTS.values()):
            details = counts.get(what)
            if details:
                noun = PLURALS.get(what, f"{what}s") if len(details) != 1 else what
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


def _stand_ins(template: Mapping[str, Any] | None) -> dict[str, str]:
    """On the long path, what uses a model (an audience model) reads its ARN from the
    attributes resource after its WaitCondition: each such resource's logical id, with
    the logical id of the resource it reports."""
    found: dict[str, str] = {}
    for logical_id, resource in ((template or {}).get("Resources") or {}).items():
        if resource.get("Type") != contract.ATTRIBUTES_RESOURCE_TYPE:
            continue
        for key, value in (resource.get("Properties") or {}).items():
            if key == "ServiceToken":  # the handler's, not what it reports
                continue
            if isinstance(value, Mapping) and isinstance(value.get("Fn::GetAtt"), list):
                found[logical_id] = str(value["Fn::GetAtt"][0])
                break
    return found


def _through_stand_ins(text: str, stand_ins: Mapping[str, str]) -> str:
    """``text`` with each reference to an attributes resource made to the resource it
    reports (logical ids are whole words of the JSON)."""
    for stand_in, reported in stand_ins.items():
        text = re.sub(rf"\b{re.escape(stand_in)}\b", reported, text)
    return text


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
    if contract.INSTANCE_TYPE not in props:
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


def _in_place(old: Mapping[str, Any], new: Mapping[str, Any], kind: str = "") -> list[str]:
    names = dict(_IN_PLACE_KEYS)
    if kind == contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE:
        names.update(SETTINGS)
    lines: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key == "ServiceToken" or old.get(key) == new.get(key):
            continue
        name = names.get(key, key)
        if name not in lines:
            lines.append(name)
    return lines


def _unset(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What an update drops that the service cannot unset (a new resource is made)."""
    if kind != contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE:
        return []
    return [
        f"{SETTINGS[key]}: unset (the service cannot unset it: a new one is made)"
        for key in UNSETTABLE
        if key in old and key not in new
    ]


def preview(
    stack: str, deployed: Mapping[str, Any] | None, synthesized: Mapping[str, Any]
) -> Preview:
    """What deploying ``synthesized`` over ``deployed`` (None: not deployed) does."""
    before, after = _ours(deployed), _ours(synthesized)
    stand_ins = _stand_ins(synthesized)
    changes: dict[str, Change] = {}
    texts: dict[str, str] = {}
    uses: dict[str, str] = {}
    for logical_id, resource in after.items():
        kind = resource["Type"]
        new = _placeholders(resource.get("Properties") or {})
        document = _document(kind, new)  # {}: nothing but its name is frozen
        texts[logical_id] = _through_stand_ins(
            json.dumps(new if document is None else document, sort_keys=True), stand_ins
        )
        uses[logical_id] = _through_stand_ins(json.dumps(new, sort_keys=True), stand_ins)
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
            destroys=_destroys(kind, old),
            path=_path(resource),
        )
    _cascade(changes, texts, after, before)
    _follow(changes, uses)
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
    why.extend(_unset(kind, old, new))
    if why:
        destroys = _destroys(kind, old)
        return Change(
            logical_id,
            KINDS[kind],
            REPLACED,
            why,
            destroys="" if destroys.startswith("kept") else destroys,
            starts=_starts(kind, new),
        )
    if kind == contract.ML_CONFIGURATION_RESOURCE_TYPE and old != new:
        return Change(logical_id, KINDS[kind], UPDATED, _in_place(old, new))
    in_place = _in_place(old, new, kind)
    return Change(logical_id, KINDS[kind], UPDATED if in_place else UNCHANGED, in_place)


def _cascade(
    changes: dict[str, Change],
    texts: Mapping[str, str],
    after: Mapping[str, Any],
    before: Mapping[str, Any],
) -> None:
    """A resource that uses one replaced or created anew (its ARN changes at deploy
    time, in its identity) is replaced too, and so on; what its old one's Delete does
    is said as for any replacement."""
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
                destroys = _destroys(
                    kind, _placeholders(before[logical_id].get("Properties") or {})
                )
                change.destroys = "" if destroys.startswith("kept") else destroys
            renewed.add(logical_id)
            grew = True


def _destroys(kind: str, old: Mapping[str, Any]) -> str:
    """What the old resource's Delete does."""
    if kind in UNDONE_BY_NOTHING:
        return STAYS
    return DESTROYS[kind] if _destroy(old) else "kept (removal policy retain)"


def _follow(changes: dict[str, Change], uses: Mapping[str, str]) -> None:
    """A resource kept in place whose properties use one replaced or created anew (a
    configured audience model's audience model: a setting, outside its identity) is
    updated in place to use the new one."""
    renewed = sorted(k for k, c in changes.items() if c.action in (REPLACED, CREATED))
    for logical_id, change in changes.items():
        if change.action not in (UNCHANGED, UPDATED) or logical_id not in uses:
            continue
        used = [r for r in renewed if r != logical_id and _refers_to(uses[logical_id], r)]
        if used:
            change.action = UPDATED
            names = ", ".join(changes[r].path or r for r in used)
            change.why.append(
                f"uses {names}, which {'is' if len(used) == 1 else 'are'} "
                f"{'replaced' if changes[used[0]].action == REPLACED else 'created'}: "
                "updated in place to use the new one"
            )


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
