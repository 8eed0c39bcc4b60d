"""What every resource construct takes besides its API parameters: name, tags, policy, waits.

Read once (``read``), checked once (``failures``), rendered once (``render``), the
same way for trained models, ML input channels and inference jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aws_cdk import RemovalPolicy, TagManager, TagType

from . import _contract as contract
from ._props import Reader, unresolved
from ._validation import check_name, tag_failures

DURATION_EXAMPLE = "Duration.minutes(30)"


SUPPORTED_POLICIES: Final = (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY)
"""What the handler can honour: keep the resource, or delete it."""


@dataclass(frozen=True)
class Lifecycle:
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    wait_for_completion: bool = True
    completion_timeout_seconds: float = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
    replacement_protection: bool = False


def read(
    reader: Reader,
    *,
    name_prop: str,
    name: object,
    tags: object,
    removal_policy: object,
    wait_for_completion: object,
    completion_timeout: object,
    replacement_protection: object = None,
) -> Lifecycle:
    policy = (
        reader.choice("removal_policy", removal_policy, RemovalPolicy, members=SUPPORTED_POLICIES)
        or RemovalPolicy.RETAIN
    )
    timeout = reader.seconds("completion_timeout", completion_timeout, example=DURATION_EXAMPLE)
    return Lifecycle(
        name=reader.text(name_prop, name),
        tags=reader.strings("tags", tags),
        removal_policy=policy,
        wait_for_completion=reader.flag("wait_for_completion", wait_for_completion, default=True),
        completion_timeout_seconds=(
            contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS if timeout is None else timeout
        ),
        replacement_protection=reader.flag(
            "replacement_protection", replacement_protection, default=False
        ),
    )


def failures(lifecycle: Lifecycle, *, name_prop: str, max_timeout: int) -> list[str]:
    """The value rules of the common props (their types were checked by ``read``)."""
    found = list(check_name(name_prop, lifecycle.name))
    found.extend(tag_failures("tags", lifecycle.tags))
    value = lifecycle.completion_timeout_seconds
    if not unresolved(value) and (not float(value).is_integer() or not 1 <= value <= max_timeout):
        hours = max_timeout / 3600
        found.append(
            f"completion_timeout: {value:.12g} seconds is out of range; allowed 1-{max_timeout} "
            f"whole seconds ({hours:g} hour{'s' if hours != 1 else ''})"
        )
    return found


class WatchedTags(TagManager):
    """A resource's tags, which say when they change after the construct is made.

    ``Tags.of(resource).add(...)`` (its aspect calls ``setTag``) and ``set_tag`` or
    ``remove_tag`` from Python all reach ``set_tag``/``remove_tag`` here; then the
    provider checks the final tags when the app is built. Tags nothing changed are
    the initial ones, checked with the other props: they cost the synth no check
    (the check is a validation, a resolve and a callback: kernel round trips).
    """

    def __init__(self, resource_type: str, initial: Mapping[str, str]) -> None:
        super().__init__(TagType.MAP, resource_type, dict(initial) or None)
        self.initial = dict(initial)
        self._on_change: Callable[[], None] | None = None
        self._changed = False

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` once, at the first change (now, if there was one)."""
        self._on_change = on_change
        if self._changed:
            on_change()

    def _change(self) -> None:
        if self._changed:
            return
        self._changed = True
        if self._on_change is not None:
            self._on_change()

    def set_tag(
        self,
        key: str,
        value: str,
        priority: float | None = None,
        apply_to_launched_instances: bool | None = None,
    ) -> None:
        self._change()
        super().set_tag(key, value, priority, apply_to_launched_instances)

    def remove_tag(self, key: str, priority: float) -> None:
        self._change()
        super().remove_tag(key, priority)


def render(lifecycle: Lifecycle, name_prefix: str | None) -> dict[str, Any]:
    """The handler settings' properties (defaults left out)."""
    props: dict[str, Any] = {}
    if lifecycle.name is not None:
        props[contract.NAME] = lifecycle.name
    else:
        props[contract.NAME_PREFIX] = name_prefix
    if not lifecycle.wait_for_completion:
        props[contract.WAIT_FOR_COMPLETION] = False
    if lifecycle.completion_timeout_seconds != contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS:
        value = lifecycle.completion_timeout_seconds
        props[contract.COMPLETION_TIMEOUT_SECONDS] = (
            int(value) if float(value).is_integer() else value
        )
    return props
