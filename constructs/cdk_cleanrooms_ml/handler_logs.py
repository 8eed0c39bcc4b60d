"""The log group of a stack's handler: its retention and removal policy.

Every Clean Rooms ML construct of a stack shares one handler, and its functions
(and the Provider framework's) write to one log group. By default it keeps logs
for one year and is retained when the stack is deleted (``cdk destroy`` leaves it).
``HandlerLogs.configure(stack, ...)`` chooses otherwise, before or after the
stack's first construct; ``RemovalPolicies.of(stack).destroy()`` reaches it too.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs

from constructs import Construct

from ._props import Reader, received
from .errors import ValidationError

DEFAULT_RETENTION = logs.RetentionDays.ONE_YEAR
DEFAULT_REMOVAL_POLICY = RemovalPolicy.RETAIN


@dataclass(frozen=True)
class LogSettings:
    retention: logs.RetentionDays = DEFAULT_RETENTION
    removal_policy: RemovalPolicy = DEFAULT_REMOVAL_POLICY


_SETTINGS: weakref.WeakKeyDictionary[Stack, LogSettings] = weakref.WeakKeyDictionary()
_LOG_GROUPS: weakref.WeakKeyDictionary[Stack, logs.LogGroup] = weakref.WeakKeyDictionary()


def settings(stack: Stack) -> LogSettings:
    """The settings the stack's log group is created with."""
    return _SETTINGS.get(stack) or LogSettings()


def created(stack: Stack, log_group: logs.LogGroup) -> None:
    """The provider made ``stack``'s log group: later ``configure`` calls change it."""
    _LOG_GROUPS[stack] = log_group


class HandlerLogs:
    """The log group of the handler that serves a stack's Clean Rooms ML resources."""

    @staticmethod
    def configure(
        scope: Construct,
        *,
        retention: logs.RetentionDays | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        """Choose the retention and removal policy of ``scope``'s stack's handler logs.

        :param scope: the stack, or any construct in it.
        :param retention: how long log events are kept. Default: one year.
        :param removal_policy: ``RETAIN`` (the default: the logs outlive the stack)
            or ``DESTROY`` (``cdk destroy`` deletes them).

        :raises ValidationError: listing every invalid argument.
        """
        reader = Reader()
        chosen_retention = reader.choice("retention", retention, logs.RetentionDays)
        chosen_policy = reader.choice(
            "removal_policy",
            removal_policy,
            RemovalPolicy,
            members=(RemovalPolicy.RETAIN, RemovalPolicy.DESTROY),
        )
        stack = Stack.of(scope) if isinstance(scope, Construct) else None
        if stack is None:
            reader.fail(
                "scope", f"{received(scope)} is not a construct; allowed: a stack or a construct"
            )
        if reader.failures or stack is None:
            path = scope.node.path if stack is not None else "(no scope)"
            raise ValidationError("HandlerLogs", path, reader.failures)
        current = settings(stack)
        updated = LogSettings(
            retention=chosen_retention or current.retention,
            removal_policy=chosen_policy or current.removal_policy,
        )
        _SETTINGS[stack] = updated
        log_group = _LOG_GROUPS.get(stack)
        if log_group is not None:
            apply(log_group, updated)


def apply(log_group: logs.LogGroup, chosen: LogSettings) -> None:
    """Set ``chosen`` on a log group that exists already."""
    cfn = log_group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    cfn.retention_in_days = _days(chosen.retention)
    log_group.apply_removal_policy(chosen.removal_policy)


def _days(retention: logs.RetentionDays) -> float | None:
    """``retention`` in days, as ``LogGroup`` renders it (None: never expire).

    A jsii enum's number lives on the JavaScript side only: a scratch log group
    renders it (the rare path of a change after the log group exists)."""
    scratch = logs.LogGroup(Stack(), "Scratch", retention=retention)
    cfn = scratch.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    return cfn.retention_in_days
