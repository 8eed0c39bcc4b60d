"""The handler shared by every ``TrainedModel`` of a stack.

One set of provider resources per stack, however many models: two Python
functions (``on_event`` and ``is_complete``) with one role and one log group,
behind a ``custom_resources.Provider``. Each model widens the role's policy to
its own membership, association and KMS key.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnElement,
    CfnResource,
    Duration,
    Stack,
    TagManager,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr

from constructs import Construct, IConstruct, IValidation, Node

from . import _contract as contract
from . import _payload, handler_logs
from ._asset import handler_asset_path
from ._context import (
    ENDPOINT_URL_CONTEXT_KEY,
    LONG_WAIT_POLL_SECONDS_CONTEXT_KEY,
    QUERY_INTERVAL_SECONDS_CONTEXT_KEY,
)
from ._lifecycle import WatchedTags
from ._nag import acknowledgments, policy_resource, suppress
from ._props import unresolved
from ._validation import tag_failures

if TYPE_CHECKING:
    # Only the long path (a Step Functions waiter) and a KMS key use these modules:
    # they are imported where used, so that importing this package loads neither.
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_stepfunctions as sfn

PROVIDER_ID: Final = "CleanRoomsMLTrainedModelProvider"
"""Construct id of the per-stack provider, a direct child of the stack."""

QUERY_INTERVAL_SECONDS: Final = 10
"""The Provider framework's polling interval (``is_complete``)."""
TOTAL_TIMEOUT_SECONDS: Final = 3600
"""The Provider framework's total timeout (its maximum, one hour)."""
HANDLER_TIMEOUT_SECONDS: Final = 300
"""Every handler function's timeout: one API call with all its retries (at most
``aws_client.worst_call_seconds()``, 129 s) ends well inside it; a test checks."""

_ASSET_EXCLUDE: Final = ["__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache"]
_SERVICE_MARK: Final = "cdk-cleanrooms-ml-service"
_NAME_MARK: Final = "cdk-cleanrooms-ml-resource-name"
"""Marks in the stack's membership ARN template (plain text: no token, no ARN separator)."""


@functools.cache
def _durations() -> tuple[Duration, Duration, Duration]:
    """The query interval, total timeout and handler timeout as ``Duration`` objects.

    Built on first use, once per process: a ``Duration`` is a jsii kernel call, and
    importing the package makes none.
    """
    return (
        Duration.seconds(QUERY_INTERVAL_SECONDS),
        Duration.hours(TOTAL_TIMEOUT_SECONDS // 3600),
        Duration.minutes(HANDLER_TIMEOUT_SECONDS // 60),
    )


@functools.cache
def _function_platform() -> tuple[lambda_.Runtime, lambda_.Architecture]:
    """The handler functions' runtime and architecture (two kernel calls, once per process)."""
    return lambda_.Runtime.PYTHON_3_14, lambda_.Architecture.ARM_64


def nag_text(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag spells it in a finding id.

    ``{"Ref": "X"}`` is ``<X>``, ``{"Fn::GetAtt": ["X", "Arn"]}`` is ``<X.Arn>``
    ``{"Fn::ImportValue": "X"}`` is ``X`` and ``Fn::Join`` concatenates.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::ImportValue":
            return nag_text(argument)
        if function == "Fn::Join":
            return str(argument[0]).join(nag_text(part) for part in argument[1])
    return str(value)


@jsii.implements(IValidation)
class _TagsValidation:
    """The final tags of every resource of a stack, checked once the app is built.

    A failure is an error annotation on the resource that has the tags (the CLI
    reports it at that path, ``[Error at /Stack/Model] tags ...``, and fails the
    synth), not an exception out of the provider's validation (a jsii traceback
    that names the provider). The tags count towards the resource's event size too
    (``_payload``): with the other properties they must fit the framework's waiter.
    """

    def __init__(self, stack: Stack, models: list[tuple[Construct, Any, ResourceTags | None]]):
        self._stack = stack
        self._models = models

    def validate(self) -> list[str]:
        # One resolve for all resources (one without tags resolves to nothing, and
        # is left out of the object); paths are looked up only for failures.
        rendered = self._stack.resolve(
            {str(i): tags for i, (_, tags, _) in enumerate(self._models)}
        )
        prop = "tags (including those added with Tags.of)"
        for i, (model, _, sizes) in enumerate(self._models):
            tags = rendered.get(str(i)) or {}
            # every key counts and is checked; a value that resolved to an intrinsic
            # (a token) is not measured
            found = tag_failures(prop, tags)
            if sizes is not None and sizes.properties is not None:
                too_large = _payload.failure(sizes.properties, tags, prop)
                if too_large is not None:
                    found.append(too_large)
            for failure in found:
                Annotations.of(model).add_error(failure)
        return []


_STATE_MACHINE_FINDINGS: Final = [
    (
        "SF1",
        "the waiters' inputs hold credentials (the Provider framework's: the "
        "CloudFormation event's pre-signed ResponseURL; the long path's: the "
        "WaitCondition handle URL): logging ALL events with execution data would "
        "write them to CloudWatch Logs; the handler functions log each step "
        "themselves",
    ),
    (
        "SF2",
        "the waiter state machines only poll (custom_resources.Provider offers no "
        "X-Ray setting for its own); tracing would add X-Ray permissions on '*' "
        "for no insight",
    ),
]
"""The Provider framework's waiter state machine's findings (and the long path's)."""


_STATE_MACHINE: Final = "aws-cdk-lib.aws_stepfunctions.CfnStateMachine"

ACCOUNT_LIFECYCLE: Final = (
    ("audience-model", "audience model", ["GetAudienceModel", "DeleteAudienceModel"]),
    (
        "configured-audience-model",
        "configured audience model",
        [
            "GetConfiguredAudienceModel",
            "GetConfiguredAudienceModelPolicy",
            "DeleteConfiguredAudienceModel",
        ],
    ),
    (
        "audience-generation-job",
        "audience generation job",
        ["GetAudienceGenerationJob", "DeleteAudienceGenerationJob"],
    ),
)
"""The kinds of the account (their ARNs name no membership) and what every stack's
handler may do to any of them: read and delete (``_grant_lifecycle``)."""


def _after(found: list[IConstruct], owner: IConstruct, kind: type, fqn: str = "") -> Any:
    """The first construct of ``kind`` (and jsii type ``fqn``) below ``owner`` in a
    preorder walk that holds both (``node.find_all()``): a role's DefaultPolicy's
    ``CfnPolicy``, a state machine's ``CfnStateMachine``."""
    # the same JavaScript object (an interface proxy is a new Python object each time)
    ref = owner.__jsii_ref__.ref  # type: ignore[attr-defined]
    start = next(i for i, c in enumerate(found) if c.__jsii_ref__.ref == ref)  # type: ignore[attr-defined]
    return next(
        c
        for c in found[start + 1 :]
        if isinstance(c, kind) and (not fqn or getattr(type(c), "__jsii_type__", "") == fqn)
    )


class ResourceTags:
    """A resource's tags, whose ``TagManager`` is made when first needed.

    A manager is a kernel object and its rendered tags a second round trip: a resource
    with initial tags gets them at once; one without gets them only when something
    asks for its ``tags`` (``Tags.of`` does, through ``ITaggable``), and then the
    resource's ``Tags`` property is pointed at them (a property override). A resource
    nobody tags renders no ``Tags``, as before.
    """

    def __init__(
        self,
        provider: CleanRoomsMLProvider,
        owner: Construct,
        resource_type: str,
        initial: Mapping[str, str],
    ) -> None:
        self._provider = provider
        self._owner = owner
        self._type = resource_type
        self._initial = dict(initial)
        self._manager: WatchedTags | None = None
        self._resource: CfnResource | None = None
        self.rendered: Any = None
        """The tags to render with the resource's properties (None: none yet)."""
        self.properties: Mapping[str, Any] | None = None
        """The resource's other properties, once rendered (``fit``): the final tags
        must fit the framework's waiter with them."""
        if self._initial:
            self._make()

    def fit(self, properties: Mapping[str, Any]) -> list[str]:
        """The problem, if ``properties`` with the initial tags would not fit every event
        of the resource (``_payload``); tags added later are measured at synth."""
        found = _payload.failure(properties, self._initial, "tags")
        self.properties = dict(properties)
        return [] if found is None else [found]

    def attach(self, resource: CfnResource) -> None:
        """The resource whose ``Tags`` property a manager made later renders into."""
        self._resource = resource

    @property
    def manager(self) -> TagManager:
        """The ``TagManager`` (``ITaggable.tags``), made now if it was not."""
        return self._manager if self._manager is not None else self._make()

    def _make(self) -> TagManager:
        manager = WatchedTags(self._type, self._initial)
        self._manager = manager
        self.rendered = self._provider.validate_tags_of(self._owner, manager, self)
        if self._resource is not None:
            self._resource.add_property_override(contract.TAGS, self.rendered)
        return manager


_PROVIDERS: weakref.WeakKeyDictionary[Stack, CleanRoomsMLProvider] = weakref.WeakKeyDictionary()
"""Providers by stack: saves a construct-tree lookup (a jsii round trip) per model."""
_BY_SCOPE: weakref.WeakKeyDictionary[Construct, CleanRoomsMLProvider] = weakref.WeakKeyDictionary()
"""Providers by the scope models are added to: saves ``Stack.of`` per model."""


class CleanRoomsMLProvider(Construct):
    """The per-stack custom resource provider for ``TrainedModel`` (internal)."""

    @classmethod
    def of(cls, scope: Construct) -> CleanRoomsMLProvider:
        """The provider of ``scope``'s stack, created on first use."""
        cached = _BY_SCOPE.get(scope)
        if cached is not None:
            return cached
        stack = Stack.of(scope)
        provider = _PROVIDERS.get(stack)
        if provider is None:
            try:
                provider = cls(stack, PROVIDER_ID)
            except Exception as error:
                # made by another copy of this module (its caches are not these): the
                # construct tree has it (looked up only then: two kernel calls)
                existing = stack.node.try_find_child(PROVIDER_ID)
                if not isinstance(existing, CleanRoomsMLProvider) or (
                    "already a Construct with name" not in str(error)
                ):
                    raise
                provider = existing
            _PROVIDERS[stack] = provider
        _BY_SCOPE[scope] = provider
        return provider

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # the provider is a direct child of its stack (``of``): no Stack.of round trip
        stack = scope if isinstance(scope, Stack) else Stack.of(self)
        node = self.node
        # one principal for every role the provider makes (each is a kernel object)
        self._lambda_principal = iam.ServicePrincipal("lambda.amazonaws.com")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=self._lambda_principal,
            description="cdk-cleanrooms-ml TrainedModel handler",
        )
        log_settings = handler_logs.settings(stack)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_settings.retention,
            removal_policy=log_settings.removal_policy,
        )
        handler_logs.created(stack, self.log_group)
        self.log_group.grant_write(self.role)  # makes the role's DefaultPolicy

        # Statements by purpose, created on first use, their resources added as
        # constructs need them (a stack of trained models only gets their statements).
        self._statements: dict[str, iam.PolicyStatement] = {}
        self._granted_to: set[tuple[str, str]] = set()

        environment: dict[str, str] = {}
        endpoint = node.try_get_context(ENDPOINT_URL_CONTEXT_KEY)
        if endpoint:
            environment["AWS_ENDPOINT_URL_CLEANROOMSML"] = str(endpoint)

        code = lambda_.Code.from_asset(str(handler_asset_path()), exclude=_ASSET_EXCLUDE)
        self._code = code
        self._environment = environment
        self._long_waiter: sfn.StateMachine | None = None
        self._lifecycle_arns: dict[str, tuple[str, tuple[str, str]]] = {}
        self._account_arns: dict[str, tuple[str, tuple[str, str]]] = {}
        """By ARN segment: a kind of the account's ``*`` ARN and its finding (``_in_account``)."""
        """By ARN segment: every such resource of the account and region, with the
        cdk-nag finding of that wildcard (``_grant_lifecycle``)."""
        query_interval, total_timeout, handler_timeout = _durations()
        runtime, architecture = _function_platform()
        common = {
            "code": code,
            "runtime": runtime,
            "architecture": architecture,
            "memory_size": 256,
            "timeout": handler_timeout,
            "role": self.role,
            "log_group": self.log_group,
            "environment": environment or None,
        }
        self.on_event_function = lambda_.Function(
            self,
            "OnEvent",
            handler="index.on_event",
            description="cdk-cleanrooms-ml TrainedModel on_event",
            **common,  # type: ignore[arg-type]
        )
        self.is_complete_function = lambda_.Function(
            self,
            "IsComplete",
            handler="index.is_complete",
            description="cdk-cleanrooms-ml TrainedModel is_complete",
            **common,  # type: ignore[arg-type]
        )
        # Roles for the Provider framework's functions, with inline log permissions
        # on the shared log group instead of the AWSLambdaBasicExecutionRole
        # managed policy. onEvent and isComplete/onTimeout need separate roles:
        # one shared role would make a dependency cycle through the waiter.
        framework_roles: list[iam.Role] = []
        for role_id in ("FrameworkOnEventRole", "FrameworkWaiterRole"):
            role = iam.Role(
                self,
                role_id,
                assumed_by=self._lambda_principal,
                description="cdk-cleanrooms-ml TrainedModel provider framework",
            )
            self.log_group.grant_write(role)
            framework_roles.append(role)
        self.framework_roles = framework_roles
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=self._query_interval(node, query_interval),
            total_timeout=total_timeout,
            framework_on_event_role=framework_roles[0],
            framework_complete_and_timeout_role=framework_roles[1],
            log_group=self.log_group,
            # The framework's functions log each whole event, properties included:
            # FATAL keeps them out of the log group (the default today, pinned here;
            # a test asserts it). The waiter state machine logs nothing.
            framework_lambda_logging_level=lambda_.ApplicationLogLevel.FATAL,
            disable_waiter_state_machine_logging=True,
        )
        self._stack = stack
        self._validations: Validations | None = None
        self._pending_statements: list[iam.PolicyStatement] = []
        self._pending_findings: list[tuple[str, str]] = []
        self._pending_suppressions: dict[int, tuple[CfnResource, list[tuple[str, str]]]] = {}
        self._template: tuple[str, str] | None = None
        self._keys: dict[int, kms.IKey] = {}
        self._endpoint: str | None = None
        self._service_token = self.provider.service_token
        self._acknowledge_framework_findings(node)
        self._grant_lifecycle()
        self._tagged_models: list[tuple[Construct, Any, ResourceTags | None]] = []
        self._allowed: frozenset[str] | None = None
        """The paths ``ALLOW_REPLACEMENT_CONTEXT_KEY`` names (read when first needed)."""
        """The resources whose final tags are checked at synth (``validate_tags_of``)."""

    def protect(self, owner: Construct, properties: dict[str, Any], protected: bool) -> None:
        """``replacement_protection``: render the owner's path (the handler's message
        names it), and whether this deploy lifts it (``contract.ALLOW_REPLACEMENT_CONTEXT_KEY``,
        read once per stack)."""
        if not protected:
            return
        path = owner.node.path
        properties[contract.REPLACEMENT_PROTECTION] = path
        if self._allowed is None:
            value = self.node.try_get_context(contract.ALLOW_REPLACEMENT_CONTEXT_KEY)
            self._allowed = frozenset(
                part.strip() for part in str(value or "").split(",") if part.strip()
            )
        if "*" in self._allowed or path in self._allowed:
            properties[contract.REPLACEMENT_ALLOWED] = True

    def _query_interval(self, node: Node, default: Duration) -> Duration:
        value = node.try_get_context(QUERY_INTERVAL_SECONDS_CONTEXT_KEY)
        if value is None:
            return default
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= 600:
            raise ValueError(
                f"context {QUERY_INTERVAL_SECONDS_CONTEXT_KEY} must be whole seconds from 1 to "
                f"600, got {value!r}"
            )
        return Duration.seconds(int(text))

    def long_waiter(self, kind: str = "trained-model") -> sfn.StateMachine:
        """The long path's waiter (a state machine polling models), created on first use,
        its poll function allowed to read ``kind`` (an ARN segment of ``_lifecycle_arns``:
        a trained model, an audience model).

        poll (Lambda) -> done? -> end; otherwise wait ``waitSeconds`` and poll again.
        The poll function signals each model's WaitCondition handle.
        """
        if self._long_waiter is not None:
            self._long_wait_reads(kind)
            return self._long_waiter
        # the long path pays for its own imports (see the TYPE_CHECKING block)
        from aws_cdk import aws_stepfunctions as sfn
        from aws_cdk import aws_stepfunctions_tasks as tasks

        role = iam.Role(
            self,
            "LongWaitRole",
            assumed_by=self._lambda_principal,
            description="cdk-cleanrooms-ml TrainedModel long-wait poller",
        )
        self.log_group.grant_write(role)
        self._long_wait_role = role
        # one Python object for the policy: its cdk-nag 2 suppressions are merged per object
        self._long_wait_policy = policy_resource(role)
        self._long_wait_reads(kind, flush=False)
        environment = dict(self._environment)
        interval = self.node.try_get_context(LONG_WAIT_POLL_SECONDS_CONTEXT_KEY)
        if interval:
            environment[contract.LONG_WAIT_POLL_SECONDS_ENV] = str(interval)
        runtime, architecture = _function_platform()
        poller = lambda_.Function(
            self,
            "LongWaitPoll",
            code=self._code,
            handler="index.long_wait_poll",
            description="cdk-cleanrooms-ml TrainedModel long-wait poll",
            runtime=runtime,
            architecture=architecture,
            memory_size=256,
            timeout=_durations()[2],
            role=role,
            log_group=self.log_group,
            environment=environment or None,
        )
        poll = tasks.LambdaInvoke(
            self,
            "Poll",
            lambda_function=poller,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        poll.add_retry(
            errors=["States.ALL"], interval=Duration.seconds(30), max_attempts=5, backoff_rate=2
        )
        # When polling keeps failing (a bug, a Lambda timeout), the same function signals
        # the WaitCondition FAILURE with the error, so a stack never waits out its timeout.
        give_up = tasks.LambdaInvoke(
            self,
            "GiveUp",
            lambda_function=poller,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        give_up.add_retry(
            errors=["States.ALL"], interval=Duration.seconds(30), max_attempts=3, backoff_rate=2
        )
        poll.add_catch(give_up.next(sfn.Fail(self, "PollingFailed")), result_path="$.failure")
        wait = sfn.Wait(self, "WaitBeforeNextPoll", time=sfn.WaitTime.seconds_path("$.waitSeconds"))
        done = sfn.Choice(self, "Done?")
        definition = poll.next(
            done.when(
                sfn.Condition.boolean_equals("$.done", True), sfn.Succeed(self, "Signalled")
            ).otherwise(wait.next(poll))
        )
        self._long_waiter = sfn.StateMachine(
            self,
            "LongWaiter",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(13),
            comment="cdk-cleanrooms-ml: polls trained models, signals their WaitConditions",
        )
        self._flush()  # the handler's pending statements go first, as they were made
        self._long_waiter.grant_start_execution(self.role)
        # on_event checks that the waiter is there before it creates a model;
        # is_complete starts it once on_event has reported the model's id
        for function in (self.on_event_function, self.is_complete_function):
            function.add_environment(
                contract.LONG_WAITER_ARN_ENV, self._long_waiter.state_machine_arn
            )
        poller_id = self._stack.resolve(cast(CfnElement, poller.node.default_child).logical_id)
        self._acknowledge(
            f"IAM5[Resource::<{poller_id}.Arn>:*]",
            "granted by Step Functions' LambdaInvoke: lambda:InvokeFunction on the versions "
            "and aliases (ARN:*) of exactly the one poll function",
            [policy_resource(self._long_waiter.role)],
        )
        self._acknowledge_state_machine(self._long_waiter)
        self._flush()
        return self._long_waiter

    _LONG_WAIT_READS: Final = {
        # a base model's versions: GetTrainedModel without a version answers for the
        # latest (ASSUMPTION A2, "shared ARN"; trained_models.describe)
        "trained-model": (
            "GetTrainedModels",
            ("cleanrooms-ml:GetTrainedModel", "cleanrooms-ml:ListTrainedModelVersions"),
        ),
        "audience-model": ("GetAudienceModels", ("cleanrooms-ml:GetAudienceModel",)),
    }
    """What the long path's poll function reads, by the kind it waits for."""

    def _long_wait_reads(self, kind: str, *, flush: bool = True) -> None:
        """Let the long path's poll function read the resources of ``kind`` (once)."""
        if ("long-wait", kind) in self._granted_to:
            return
        self._granted_to.add(("long-wait", kind))
        sid, actions = self._LONG_WAIT_READS[kind]
        arns, finding = self._lifecycle_arns[kind]
        self._acknowledge(*finding, [self._long_wait_policy])
        self._long_wait_role.add_to_policy(
            iam.PolicyStatement(sid=sid, actions=list(actions), resources=[arns])
        )
        if flush:
            self._flush()

    def validate_tags_of(
        self, model: Construct, tags: TagManager, sizes: ResourceTags | None = None
    ) -> Any:
        """Check a model's final tags (``Tags.of`` included) when the app is built.

        Returns the tags to render (``tags.rendered_tags``, fetched once for both).
        Tags that stay as they were given (checked with the props) need no check at
        synth: ``WatchedTags`` asks for it at their first change; initial tags with a
        token (known only at synth) and other tag managers are checked always.
        """
        rendered = tags.rendered_tags

        def check() -> None:
            self._check_tags_of(model, rendered, sizes)

        if isinstance(tags, WatchedTags) and not any(
            unresolved(key) or unresolved(value) for key, value in tags.initial.items()
        ):
            tags.watch(check)
        else:
            check()
        return rendered

    def resource_tags(
        self, owner: Construct, resource_type: str, initial: Mapping[str, str]
    ) -> ResourceTags:
        """``owner``'s tags (see ``ResourceTags``), checked as ``validate_tags_of`` says."""
        return ResourceTags(self, owner, resource_type, initial)

    def _check_tags_of(self, model: Construct, rendered: Any, sizes: ResourceTags | None) -> None:
        if not self._tagged_models:  # the stack's one validation, added when needed
            self.node.add_validation(_TagsValidation(self._stack, self._tagged_models))
        self._tagged_models.append((model, rendered, sizes))

    def _acknowledge(
        self, finding: str, reason: str, resources: Sequence[CfnResource] = ()
    ) -> None:
        """Acknowledge a cdk-nag (AwsSolutions) finding on this provider, with a reason
        (cdk-nag 3), and on the ``resources`` that carry it (cdk-nag 2)."""
        self._acknowledge_all([(finding, reason)], resources)

    def _acknowledge_all(
        self, findings: Sequence[tuple[str, str]], resources: Sequence[CfnResource] = ()
    ) -> None:
        """Acknowledge ``findings`` (cdk-nag 3) and suppress them on ``resources``
        (cdk-nag 2) at the next ``_flush``: one call for every acknowledgment and
        one per resource, however many findings came in between."""
        self._pending_findings.extend(findings)
        for resource in resources:
            _, pending = self._pending_suppressions.setdefault(id(resource), (resource, []))
            pending.extend(findings)

    def _flush(self) -> None:
        """Add the pending statements to the handler's policy, and write the pending
        acknowledgments and suppressions (each grant ends with it)."""
        if self._pending_statements:
            self._handler_default_policy.add_statements(*self._pending_statements)
            self._pending_statements.clear()
        if self._pending_findings:
            if self._validations is None:
                self._validations = Validations.of(self)
            self._validations.acknowledge(*acknowledgments(self._pending_findings))
            self._pending_findings.clear()
        for resource, findings in self._pending_suppressions.values():
            suppress(resource, findings)
        self._pending_suppressions.clear()

    def _acknowledge_framework_findings(self, node: Node) -> None:
        framework = self.provider.node
        invoked = [
            self.on_event_function,
            self.is_complete_function,
            framework.find_child("framework-isComplete"),
            framework.find_child("framework-onTimeout"),
        ]
        waiter = framework.find_child("waiter-state-machine")
        # Each role's subtree (its DefaultPolicy) and the waiter's, walked once: two
        # kernel calls each (the provider's whole subtree would also load the
        # Python modules of its assets' buckets)
        handler = self.role.node.find_all()
        self._handler_default_policy: iam.Policy = _after(handler, self.role, iam.Policy)
        self._handler_policy = _after(handler, self.role, iam.CfnPolicy)
        self._membership_policies: list[CfnResource] = [self._handler_policy]
        """The policies that name a membership's resource ARNs (cdk-nag 2 suppressions)."""
        framework_policies = [policy_resource(role) for role in self.framework_roles]
        below_waiter = waiter.node.find_all()
        framework_policies.append(_after(below_waiter, waiter, iam.CfnPolicy))
        state_machine = _after(below_waiter, waiter, CfnResource, _STATE_MACHINE)
        # One resolve: the four ARNs ({"Fn::GetAtt": [logical id, "Arn"]}) and the
        # stack's membership ARN template (see _arn_template).
        template = self._stack.format_arn(
            service=_SERVICE_MARK,
            resource="membership",
            resource_name=_NAME_MARK,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        *arns, spelled = self._stack.resolve(
            [*(cast(lambda_.IFunction, f).function_arn for f in invoked), template]
        )
        self._template = (template, nag_text(spelled))
        # one acknowledgment call for all of them (cdk-nag 3); each resource's
        # suppressions written once (cdk-nag 2)
        invoke_findings = [
            (
                f"IAM5[Resource::{nag_text(arn)}:*]",
                "granted by the CDK Provider framework: lambda:InvokeFunction on the "
                "versions and aliases (ARN:*) of exactly this one function",
            )
            for arn in arns
        ]
        any_resource = [
            (
                "IAM5[Resource::*]",
                "the list actions (ListTrainedModels, ListMLInputChannels, "
                "ListTrainedModelInferenceJobs, ListAudienceModels, "
                "ListConfiguredAudienceModels, ListAudienceGenerationJobs: finding by its "
                "tags what an earlier attempt of a request, or a cancelled Create, started) "
                "and the ML configuration actions support no resource-level permission: '*' "
                "is the only resource they take",
            )
        ]
        # written with the first grant's (_flush): every construct grants at once
        for policy in framework_policies:
            self._acknowledge_all(invoke_findings, [policy])
        self._acknowledge_all(any_resource, [self._handler_policy])
        self._acknowledge_all(_STATE_MACHINE_FINDINGS, [state_machine])

    def _acknowledge_state_machine(self, state_machine: IConstruct) -> None:
        self._acknowledge_all(
            _STATE_MACHINE_FINDINGS, [cast(CfnResource, state_machine.node.default_child)]
        )

    @property
    def service_token(self) -> str:
        """The service token of the provider."""
        return self._service_token

    @property
    def stack(self) -> Stack:
        """The stack the provider serves."""
        return self._stack

    def _allow(
        self,
        sid: str,
        actions: list[str],
        resource: str,
        *more: str,
        conditions: dict[str, Any] | None = None,
    ) -> None:
        """Allow the handler ``actions`` on ``resource`` (and ``more``, in a statement
        made with them), statement ``sid``, made once."""
        if (sid, resource) in self._granted_to:
            return
        self._granted_to.add((sid, resource))
        statement = self._statements.get(sid)
        if statement is None:
            statement = iam.PolicyStatement(
                sid=sid, actions=actions, resources=[resource, *more], conditions=conditions
            )
            self._statements[sid] = statement
            # added with the grant's others in one call (_flush): what
            # role.add_to_policy does, one statement at a time
            self._pending_statements.append(statement)
        else:
            statement.add_resources(resource)

    def _membership_arn(self, service: str, membership_identifier: str, rest: str = "") -> str:
        """``arn:<partition>:<service>:<region>:<account>:membership/<id><rest>``.

        ``Stack.format_arn`` concatenates its parts: the stack's ARN is formatted once,
        with marks where the service and the resource name go, and filled in here.
        """
        if unresolved(membership_identifier):  # a token: let the CDK compose it
            return self._stack.format_arn(
                service=service,
                resource="membership",
                resource_name=f"{membership_identifier}{rest}",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
        template, _ = self._arn_template()
        return template.replace(_SERVICE_MARK, service).replace(
            _NAME_MARK, f"{membership_identifier}{rest}"
        )

    def _arn_template(self) -> tuple[str, str]:
        """The marked membership ARN of this stack, and its cdk-nag spelling (made once)."""
        if self._template is None:
            arn = self._stack.format_arn(
                service=_SERVICE_MARK,
                resource="membership",
                resource_name=_NAME_MARK,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            self._template = (arn, nag_text(self._stack.resolve(arn)))
        return self._template

    def _in_membership(self, membership_identifier: str, segment: str, what: str) -> str:
        """``arn:...:cleanrooms-ml:...:membership/<id>/<segment>/*`` (acknowledged once)."""
        rest = f"/{segment}/*"
        arn = self._membership_arn("cleanrooms-ml", membership_identifier, rest)
        if ("ack", arn) not in self._granted_to:
            self._granted_to.add(("ack", arn))
            finding = (
                f"IAM5[Resource::{self._nag_spelling(arn, membership_identifier, rest)}]",
                f"{what} ARNs are generated by the service when one is created; the grant is "
                "scoped to those of the one membership used",
            )
            self._acknowledge(*finding, [self._handler_policy])
        return arn

    def _nag_spelling(
        self, arn: str, membership_identifier: str, rest: str, service: str = "cleanrooms-ml"
    ) -> str:
        """How cdk-nag spells ``arn`` (``_membership_arn``'s) in a finding id."""
        if unresolved(membership_identifier):
            return nag_text(self._stack.resolve(arn))
        _, spelled = self._arn_template()
        return spelled.replace(_SERVICE_MARK, service).replace(
            _NAME_MARK, f"{membership_identifier}{rest}"
        )

    def _grant_lifecycle(self) -> None:
        """What every kind's lifecycle needs after its creation, for every resource of its
        kind in this account and region, whatever the app holds now.

        A shared handler role's policy is rewritten in UPDATE_IN_PROGRESS, before the
        cleanup's Deletes of removed (or moved) resources run, and rolled back before the
        rollback's cleanup deletes a replacement made in another membership (rows 6 and
        12): what a Delete, a rollback's return to the original or a cancelled Create's
        cleanup needs (read, find by tags, tag, cancel, delete the stored data, delete a
        configuration, pass the membership, ask CloudFormation about this stack) cannot
        depend on which constructs (or memberships) the template in force still has.
        Creating stays scoped to each construct's association, roles and membership.
        """
        any_membership = "*"
        arns = []
        actions = ["cleanrooms-ml:TagResource", "cleanrooms-ml:UntagResource"]
        for segment, what, operations in (
            (
                "trained-model",
                "trained model",
                [
                    "GetTrainedModel",
                    "ListTrainedModelVersions",
                    "CancelTrainedModel",
                    "DeleteTrainedModelOutput",
                ],
            ),
            (
                "ml-input-channel",
                "ML input channel",
                ["GetMLInputChannel", "DeleteMLInputChannelData"],
            ),
            (
                "trained-model-inference-job",
                "inference job",
                ["GetTrainedModelInferenceJob", "CancelTrainedModelInferenceJob"],
            ),
        ):
            rest = f"/{segment}/*"
            arn = self._membership_arn("cleanrooms-ml", any_membership, rest)
            finding = (
                f"IAM5[Resource::{self._nag_spelling(arn, any_membership, rest)}]",
                f"the handler reads, stops and deletes the {what}s it made in any membership "
                "of this account and region: a Delete, a rollback or a cleanup can concern "
                "one whose construct (or membership) the template in force no longer has",
            )
            self._lifecycle_arns[segment] = (arn, finding)
            self._acknowledge(*finding, [self._handler_policy])
            arns.append(arn)
            actions.extend(f"cleanrooms-ml:{operation}" for operation in operations)
        for segment, what, operations in ACCOUNT_LIFECYCLE:
            arn, finding = self._in_account(segment, what)
            self._lifecycle_arns[segment] = (arn, finding)
            arns.append(arn)
            actions.extend(f"cleanrooms-ml:{operation}" for operation in operations)
        # one statement (one kernel object): each action takes only its own kind's ARNs
        self._allow("ManageWhatItMade", actions, *arns)
        self._everywhere(
            "FindAndDeleteWithoutResourceLevelPermissions",
            [
                "cleanrooms-ml:ListTrainedModels",
                "cleanrooms-ml:ListMLInputChannels",
                "cleanrooms-ml:ListTrainedModelInferenceJobs",
                "cleanrooms-ml:GetMLConfiguration",
                "cleanrooms-ml:DeleteMLConfiguration",
                "cleanrooms-ml:ListAudienceModels",
                "cleanrooms-ml:ListConfiguredAudienceModels",
                "cleanrooms-ml:ListAudienceGenerationJobs",
            ],
        )
        memberships = self._membership_arn("cleanrooms", any_membership)
        self._allow("PassMembership", ["cleanrooms:PassMembership"], memberships)
        self._acknowledge(
            f"IAM5[Resource::{self._nag_spelling(memberships, any_membership, '', 'cleanrooms')}]",
            "every Clean Rooms ML call that names a membership needs cleanrooms:PassMembership "
            "on it, and a Delete, a rollback or a cleanup can concern a membership the "
            "template in force no longer has",
            [self._handler_policy],
        )
        # what a Delete asks CloudFormation: which resource of this stack holds an ML
        # configuration (a renamed construct's), and whether the operation that sent a
        # request still waits for it (a sibling's failure cancels a Create: row 11)
        self._allow(
            "ThisStack",
            ["cloudformation:ListStackResources", "cloudformation:DescribeStacks"],
            self._stack.stack_id,
        )
        # added with the first construct's grant (``_flush``): one call for all

    def _in_account(self, segment: str, what: str) -> tuple[str, tuple[str, str]]:
        """``arn:...:cleanrooms-ml:<region>:<account>:<segment>/*`` (a kind of the account,
        whose ARNs name no membership) and its cdk-nag finding, acknowledged once."""
        found = self._account_arns.get(segment)
        if found is not None:
            return found
        # the stack's marked membership ARN, its resource swapped: no kernel call
        template, spelled = self._arn_template()
        membership = f"membership/{_NAME_MARK}"
        arn = template.replace(_SERVICE_MARK, "cleanrooms-ml").replace(membership, f"{segment}/*")
        spelling = spelled.replace(_SERVICE_MARK, "cleanrooms-ml").replace(
            membership, f"{segment}/*"
        )
        finding = (
            f"IAM5[Resource::{spelling}]",
            f"the handler reads and deletes the {what}s it made in this account and region "
            "(their ARNs are generated by the service when one is created, and a Delete, a "
            "rollback or a cleanup can concern one whose construct the template in force no "
            "longer has); it makes one only as a construct asks",
        )
        self._acknowledge(*finding, [self._handler_policy])
        self._account_arns[segment] = (arn, finding)
        return arn, finding

    def _everywhere(self, sid: str, actions: list[str]) -> None:
        """Actions that support no resource-level permission ('*' only)."""
        self._allow(sid, actions, "*")

    def _pass(self, role: iam.IRole) -> None:
        """Pass ``role`` to Clean Rooms ML (and to nothing else)."""
        self._allow(
            "PassRoleToCleanRoomsML",
            ["iam:PassRole"],
            role.role_arn,
            conditions={"StringEquals": {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}},
        )

    def _key(self, encryption_key: kms.IKey | None) -> None:
        """Let Clean Rooms ML use ``encryption_key`` on the handler's behalf, and nothing else.

        The handler never calls KMS, and AWS documents no KMS permission for the caller
        of ``CreateTrainedModel``, ``CreateMLInputChannel`` or
        ``StartTrainedModelInferenceJob`` with a ``kmsKeyArn`` (the Service Authorization
        Reference lists no dependent actions for them). A service that encrypts with the
        caller's key does so with the caller's permissions (a forward access session),
        as SageMaker does: those calls are the only ones allowed, through
        ``kms:ViaService`` (``cleanrooms-ml.<region>.<url suffix>``), and a grant only for
        an AWS resource (``kms:GrantIsForAWSResource``), the conditions AWS KMS documents
        for service-side use (AWS KMS Developer Guide, "kms:ViaService" and
        "kms:GrantIsForAWSResource"). Whether the service makes such calls at all is
        checked by the opt-in real-account test (ASSUMPTIONS K1).
        """
        if encryption_key is None:
            return
        # a jsii object is one Python object for the life of the process: its identity
        # names the key without reading its ARN again (a kernel call)
        if id(encryption_key) in self._keys:
            return
        self._keys[id(encryption_key)] = encryption_key
        key_arn = encryption_key.key_arn
        via = {"kms:ViaService": self._clean_rooms_ml_endpoint()}
        self._allow(
            "UseKeyThroughCleanRoomsML",
            ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"],
            key_arn,
            conditions={"StringEquals": via},
        )
        self._allow(
            "GrantKeyToCleanRoomsMLResources",
            ["kms:CreateGrant"],
            key_arn,
            conditions={"StringEquals": via, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        )

    def _clean_rooms_ml_endpoint(self) -> str:
        """``cleanrooms-ml.<region>.<url suffix>``: the service's endpoint, as KMS names it
        in ``kms:ViaService`` (made once)."""
        if self._endpoint is None:
            stack = self._stack
            self._endpoint = f"cleanrooms-ml.{stack.region}.{stack.url_suffix}"
        return self._endpoint

    def grant_model(
        self,
        *,
        membership_identifier: str,
        association_arn: str,
        encryption_key: kms.IKey | None,
    ) -> None:
        """Let the handler create trained models with one association (the rest of their
        lifecycle is granted for all: ``_grant_lifecycle``)."""
        self._allow("CreateTrainedModel", ["cleanrooms-ml:CreateTrainedModel"], association_arn)
        self._key(encryption_key)
        self._flush()

    def grant_channel(
        self,
        *,
        membership_identifier: str,
        association_arn: str,
        role: iam.IRole,
        encryption_key: kms.IKey | None,
    ) -> None:
        """Let the handler create ML input channels with one association and query role."""
        self._allow("CreateMLInputChannel", ["cleanrooms-ml:CreateMLInputChannel"], association_arn)
        self._pass(role)
        self._key(encryption_key)
        self._flush()

    def grant_job(
        self,
        *,
        membership_identifier: str,
        association_arn: str | None,
        encryption_key: kms.IKey | None,
    ) -> None:
        """Let the handler start inference jobs in one membership.

        ``StartTrainedModelInferenceJob`` is authorized on the trained model, the ML
        input channel and the association a job names: granted on those of the job's
        membership (the job's own model and channel may be resources of this stack,
        which the handler's policy cannot name without a dependency cycle), and on the
        association the job names (which may be another member's).
        """
        if association_arn is not None:
            self._allow(
                "StartTrainedModelInferenceJob",
                ["cleanrooms-ml:StartTrainedModelInferenceJob"],
                association_arn,
            )
        for segment, what in (
            ("trained-model", "trained model"),
            ("ml-input-channel", "ML input channel"),
            ("configured-model-algorithm-association", "configured model algorithm association"),
        ):
            self._allow(
                "StartTrainedModelInferenceJob",
                ["cleanrooms-ml:StartTrainedModelInferenceJob"],
                self._in_membership(membership_identifier, segment, what),
            )
        self._key(encryption_key)
        self._flush()

    def _one_or_any(self, arn: str, segment: str, what: str) -> str:
        """``arn``, or, when it is known only at deploy time (a resource of this stack,
        which the handler's policy cannot name without a dependency cycle), every
        resource of its kind in the account and region."""
        return self._in_account(segment, what)[0] if unresolved(arn) else arn

    def grant_audience_model(
        self, *, training_dataset_arn: str, encryption_key: kms.IKey | None
    ) -> None:
        """Let the handler create audience models from one training dataset (the rest of
        their lifecycle is granted for all: ``_grant_lifecycle``)."""
        self._allow(
            "CreateAudienceModel", ["cleanrooms-ml:CreateAudienceModel"], training_dataset_arn
        )
        self._key(encryption_key)
        self._flush()

    def grant_configured_audience_model(self, *, audience_model_arn: str, role: iam.IRole) -> None:
        """Let the handler create configured audience models of one audience model, update
        them in place (their settings, a new audience model, their resource policy) and
        pass their output role."""
        models = self._one_or_any(audience_model_arn, "audience-model", "audience model")
        self._allow(
            "CreateConfiguredAudienceModel",
            ["cleanrooms-ml:CreateConfiguredAudienceModel"],
            models,
        )
        configured, _ = self._in_account("configured-audience-model", "configured audience model")
        self._allow(
            "UpdateConfiguredAudienceModels",
            [
                "cleanrooms-ml:UpdateConfiguredAudienceModel",
                "cleanrooms-ml:PutConfiguredAudienceModelPolicy",
                "cleanrooms-ml:DeleteConfiguredAudienceModelPolicy",
            ],
            configured,
        )
        self._allow(
            "UpdateConfiguredAudienceModels",
            ["cleanrooms-ml:UpdateConfiguredAudienceModel"],
            models,
        )
        self._pass(role)
        self._flush()

    def grant_audience_generation_job(
        self, *, configured_audience_model_arn: str, role: iam.IRole, collaboration_id: str | None
    ) -> None:
        """Let the handler start audience generation jobs with one configured audience
        model, passing the seed's role (and the collaboration a SQL seed runs in)."""
        self._allow(
            "StartAudienceGenerationJob",
            ["cleanrooms-ml:StartAudienceGenerationJob"],
            self._one_or_any(
                configured_audience_model_arn,
                "configured-audience-model",
                "configured audience model",
            ),
        )
        self._pass(role)
        if collaboration_id is not None:
            self._pass_collaboration(collaboration_id)
        self._flush()

    def grant_trained_model_export(
        self, *, membership_identifier: str, trained_model_arn: str
    ) -> None:
        """Let the handler export one trained model (of a membership of this stack's) and
        list its exports (in the collaboration of its membership, read from the model)."""
        models = (
            self._in_membership(membership_identifier, "trained-model", "trained model")
            if unresolved(trained_model_arn)
            else trained_model_arn
        )
        self._allow(
            "ExportTrainedModels",
            [
                "cleanrooms-ml:StartTrainedModelExportJob",
                "cleanrooms-ml:ListCollaborationTrainedModelExportJobs",
            ],
            models,
        )
        self._pass_collaboration("*")
        self._flush()

    def grant_audience_export(self, *, audience_generation_job_arn: str) -> None:
        """Let the handler export the audiences of one generation job and list its exports."""
        self._allow(
            "ExportAudiences",
            ["cleanrooms-ml:StartAudienceExportJob", "cleanrooms-ml:ListAudienceExportJobs"],
            self._one_or_any(
                audience_generation_job_arn, "audience-generation-job", "audience generation job"
            ),
        )
        self._flush()

    def _pass_collaboration(self, collaboration_id: str) -> None:
        """``cleanrooms:PassCollaboration`` on a collaboration (``*``: any), which every
        Clean Rooms ML call that names one needs; a collaboration's ARN carries its
        creator's account, which may be another member's."""
        arn = self._stack.format_arn(
            service="cleanrooms",
            account="*",
            resource="collaboration",
            resource_name=collaboration_id,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        if ("collaboration", arn) not in self._granted_to:
            self._granted_to.add(("collaboration", arn))
            self._acknowledge(
                f"IAM5[Resource::{nag_text(self._stack.resolve(arn))}]",
                "every Clean Rooms ML call that names a collaboration needs "
                "cleanrooms:PassCollaboration on it; its ARN carries the account of the member "
                "that created it, which may be another's"
                + (
                    ", and the collaboration of a trained model is read from the model at "
                    "deploy time"
                    if collaboration_id == "*"
                    else ""
                ),
                [self._handler_policy],
            )
        self._allow("PassCollaboration", ["cleanrooms:PassCollaboration"], arn)

    def grant_configuration(self, *, membership_identifier: str, role: iam.IRole) -> None:
        """Let the handler put a membership's ML configuration (no resource-level
        permission: '*'), passing its role; reading and deleting are granted for all."""
        self._everywhere("PutMLConfiguration", ["cleanrooms-ml:PutMLConfiguration"])
        self._pass(role)
        self._flush()
