"""A whole-stack CloudFormation for the tests: templates deployed as CloudFormation does.

``cfn.CloudFormation`` sends one logical resource's events; ``Simulator`` runs a
stack. It deploys a sequence of synthesized templates (each deploy a version of a
CDK app) and destroys the stack, with CloudFormation's algorithm:

- **Order.** A resource starts once every resource it depends on (``DependsOn``,
  ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) is done; ready resources run in parallel.
  Deletes run in reverse dependency order. (CloudFormation user guide, "DependsOn
  attribute"; stack updates apply dependencies first.)
- **Our resources** (``Custom::CleanRoomsML*``) go through the Provider framework
  (``cfn.Framework``: the handler's real entry points, the waiter polling every 10 s,
  its payload limits) with every scalar property stringified; every other resource
  is applied at once, its attributes made up (``Ref`` a physical id, ``Fn::GetAtt``
  an ARN). The long path's WaitConditions wait for their handles' signals, sent by
  the waiter's executions (``index.long_wait_poll``), stepped on the same clock.
- **A failure** (a sibling that fails after some ticks, a training the service
  fails) fails the operation: resources still in progress are cancelled ("Resource
  creation cancelled": a Create then gets a Delete with a physical id CloudFormation
  made up, row 11), and the framework's waiters CloudFormation stopped waiting for
  poll on (``orphans``), their answers ignored.
- **First deploy**: CREATE_IN_PROGRESS, or on failure ROLLBACK_IN_PROGRESS (every
  resource it made or tried deleted, ``DeletionPolicy: Retain`` skipped) to
  ROLLBACK_COMPLETE, which ``cdk deploy`` deletes before it creates the stack again
  (a new stack id).
- **Update**: UPDATE_IN_PROGRESS (new and changed resources), then
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (Deletes of replaced physical ids with the old
  properties, and of removed resources, ``UpdateReplacePolicy``/``DeletionPolicy``
  Retain skipped; a failed Delete leaves the resource, the stack still
  UPDATE_COMPLETE). On failure UPDATE_ROLLBACK_IN_PROGRESS: every resource the
  update changed (done, failed or cancelled) is updated back to its old properties
  in the old template's dependency order (row 6's Update(old, new, B); a failed one
  named by the id its FAILED answer carried or by the one before, row 7's two
  readings), then UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS deletes what the
  update made (replacements, new resources). A rollback Update that fails leaves
  UPDATE_ROLLBACK_FAILED.
- **Stack delete**: DELETE_IN_PROGRESS, everything in reverse dependency order.
- **IAM**: the handler role's policy *in force* (the applied ``AWS::IAM::Policy``
  resources attached to it, resolved) is enforced on every Clean Rooms ML and
  CloudFormation call the handler makes (``iam_sim``): rewritten when
  UPDATE_IN_PROGRESS applies it, restored when the rollback does.
- **What the handler asks CloudFormation** (``ListStackResources``,
  ``DescribeStacks``) is answered from this stack.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from cfn import Framework, InFlight, Response, Waiters, json_bytes
from iam_sim import ACCOUNT, PARTITION, REGION, Enforcer, Policy, Statement, resolve

import contract
import engine
import index
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from cdk_cleanrooms_ml.local.emulator import Emulator
from helpers import cfn_stringify

OURS = "Custom::CleanRoomsML"
TICK = 10.0
"""The framework's query interval: one poll of every waiter per tick."""
RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
    + "x" * 1400
    + "?X-Amz-Signature=0"
)
"""A pre-signed URL as long as CloudFormation's are (with a session token)."""


@dataclass
class Applied:
    """A resource as the stack holds it."""

    logical_id: str
    type: str
    properties: Any
    """As applied: resolved (for ours, as sent: every scalar a string)."""
    physical_id: str
    attributes: dict[str, str]
    status: str
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"

    @property
    def ours(self) -> bool:
        return self.type.startswith(OURS)


@dataclass
class Failure:
    """What goes wrong in one deploy (or nothing)."""

    sibling_after_ticks: int | None = None
    """The stack's sibling resource (``SIBLING``) fails after this many ticks of its own
    operation (it is changed in the deploy so that it has one)."""
    training_of: str | None = None
    """The service fails the next creation of this emulated kind (``state.MODEL``...)."""
    rollback_names_failed: bool = True
    """Row 7: the rollback's Update of a resource whose update failed names the id its
    FAILED answer carried (True) or the one before it (False)."""
    late_on_event: bool = False
    """The framework's onEvent is invoked asynchronously: each Create and Update of ours
    reaches the handler a tick after CloudFormation sent it (after a sibling's failure
    that came meanwhile, too)."""
    throttled_stack_reads: int = 0
    """The next this many ``DescribeStacks`` calls of the handler are throttled."""


class _Late:
    """An event the framework's onEvent takes a tick after CloudFormation sent it."""

    def __init__(self, framework: Framework, event: dict[str, Any]) -> None:
        self.framework = framework
        self.event = event
        self.flight: InFlight | None = None

    def poll(self) -> Response | None:
        if self.flight is None:
            self.flight = self.framework.start(self.event)
            return self.flight.response
        return self.flight.poll()


SIBLING = "Sibling"
"""The logical id of the plain resource a failure is injected in (the apps have one)."""


@dataclass
class _Task:
    logical_id: str
    action: str  # create | update | delete
    after: set[str]
    template: Mapping[str, Any] | None = None  # the resource's definition (create/update)
    old: Applied | None = None
    physical_id: str = ""  # delete: the id to delete
    properties: Any = None  # what was sent (delete: the properties sent)
    old_properties: Any = None  # a rollback's OldResourceProperties (what the update sent)
    flight: InFlight | _Late | None = None
    ticks_left: int = 0
    fails: bool = False
    waits_for: str = ""  # a WaitCondition's handle URL
    started: bool = False
    outcome: str = ""  # done | failed | cancelled
    response: Response | None = None


@dataclass
class Record:
    """What one operation did, for the tests' assertions and reports."""

    operation: str
    status: str
    failed: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    rollback_creations: list[str] = field(default_factory=list)


@dataclass
class Simulator:
    emulator: Emulator
    enforcer: Enforcer
    waiters: Waiters
    name: str = "Sim"
    framework: Framework = field(default_factory=Framework)
    stack_id: str = ""
    status: str = "NONE"
    template: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Applied] = field(default_factory=dict)
    orphans: list[InFlight | _Late] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    """Physical ids CloudFormation let go under Retain (or whose Delete kept them)."""
    kept_cancelled: list[tuple[str, str]] = field(default_factory=list)
    """(stack id, logical id) of cancelled Creates under Retain (their resource, if the
    Create made one, is kept: found by its ownership tag)."""
    records: list[Record] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    largest_event: int = 0
    """The largest event (JSON bytes) CloudFormation sent a resource of ours."""
    deletes_sent: set[str] = field(default_factory=set)
    deleted_logical_ids: set[tuple[str, str]] = field(default_factory=set)
    """(stack id, logical id) of every Delete sent, whatever its physical id."""
    """The physical ids CloudFormation sent a Delete for."""
    _operation: str = ""
    _failure: Failure = field(default_factory=Failure)
    _rollback_record: Record = field(default_factory=lambda: Record("", ""))
    _executions: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.framework = Framework(advance=self.emulator.clock.advance)

    # --- what the handler asks CloudFormation ------------------------------------
    def list_stack_resources(self, stack_id: str) -> list[engine.StackResource]:
        if stack_id != self.stack_id:
            return []
        return [
            engine.StackResource(r.logical_id, r.physical_id, r.status)
            for r in self.resources.values()
        ]

    def stack_operation(self, stack_id: str) -> str:
        if self._failure.throttled_stack_reads > 0:
            self._failure.throttled_stack_reads -= 1
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"
            )
        if stack_id != self.stack_id or self.status in ("NONE", "DELETE_COMPLETE"):
            return engine.STACK_GONE
        return f"{self.status}@{self._operation}"

    def install(self, patch: Any) -> None:
        """Serve the handler's CloudFormation calls and long-path waiter from here."""
        patch.setattr(
            index,
            "_stack_resources",
            self.enforcer.guard("cloudformation:ListStackResources", self.list_stack_resources),
        )
        patch.setattr(
            index,
            "_stack_operation",
            self.enforcer.guard("cloudformation:DescribeStacks", self.stack_operation),
        )
        patch.setattr(index, "_starter", lambda: self._start_execution)

    # --- the long path -----------------------------------------------------------------
    def _start_execution(self, name: str, payload: Mapping[str, Any]) -> None:
        if name not in self._executions:
            self._executions[name] = (self.now(), dict(payload))

    def _step_executions(self) -> None:
        for name, (due, state) in list(self._executions.items()):
            if state.get("done") or due > self.now():
                continue
            state = index.long_wait_poll(dict(state), None)
            self._executions[name] = (self.now() + float(state.get("waitSeconds", 30)), state)

    # --- time ----------------------------------------------------------------------
    def now(self) -> float:
        return self.emulator.clock.now()

    def tick(self) -> None:
        """One query interval: every orphaned waiter polls, the clock moves."""
        self.orphans = [f for f in self.orphans if f.poll() is None]
        self._step_executions()
        self.emulator.clock.advance(TICK)

    def settle(self, seconds: float = 3600) -> None:
        """Let every orphaned waiter and long-path execution run out, and the service's
        transitions end."""
        waited = 0.0
        while (self.orphans or self._running_executions()) and waited < seconds:
            self.tick()
            waited += TICK
        self.emulator.clock.advance(300)

    def _running_executions(self) -> bool:
        return any(not state.get("done") for _, state in self._executions.values())

    # --- the stack's operations --------------------------------------------------------
    def deploy(self, template: Mapping[str, Any], failure: Failure | None = None) -> Record:
        """``cdk deploy`` of ``template``: create the stack (again, after a rolled-back
        first deploy) or update it."""
        failure = failure or Failure()
        if self.status == "ROLLBACK_COMPLETE":
            self.destroy()  # what cdk deploy does first
        if self.status in ("NONE", "DELETE_COMPLETE"):
            return self._create(template, failure)
        if self.status.endswith("_FAILED") and self.status != "UPDATE_FAILED":
            raise AssertionError(f"stack stuck in {self.status}: cannot deploy")
        return self._update(template, failure)

    def destroy(self) -> Record:
        if self.status in ("NONE", "DELETE_COMPLETE"):
            return Record("delete", self.status)
        self._begin("DELETE_IN_PROGRESS")
        for applied in list(self.resources.values()):
            if applied.deletion_policy == "Retain":  # DELETE_SKIPPED
                self._keep(applied)
                del self.resources[applied.logical_id]
        tasks = self._deletes(self.resources, self.template)
        failed = self._run(tasks, None)
        record = Record("delete", "DELETE_FAILED" if failed else "DELETE_COMPLETE")
        self._note(record, tasks)
        self.status = record.status
        if not failed:
            self.resources.clear()
            self.template = {}
        self.records.append(record)
        return record

    def _begin(self, status: str) -> None:
        """A phase of the stack's operation. ``DescribeStacks`` answers its status and
        when the operation (a create, an update, a delete: the command) began, which
        its rollback and cleanups keep (LastUpdatedTime; MiniStack's too)."""
        if status in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"):
            self._operation = f"op-{next(self._counter)}"
        self.status = status
        self.log.append(f"{status}")

    def _create(self, template: Mapping[str, Any], failure: Failure) -> Record:
        self.stack_id = (
            f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/{uuid.uuid4()}"
        )
        self.resources = {}
        self.template = copy.deepcopy(dict(template))
        self._begin("CREATE_IN_PROGRESS")
        self._prepare(failure, creating=True)
        tasks = self._changes(template, {})
        failed = self._run(tasks, failure)
        record = Record("create", "CREATE_COMPLETE")
        self._note(record, tasks)
        if not failed:
            self.status = "CREATE_COMPLETE"
            self.records.append(record)
            return record
        self._begin("ROLLBACK_IN_PROGRESS")
        made = {key: t for key, t in tasks.items() if t.started}
        deletes = self._rollback_deletes(made, template)
        undone = self._run(deletes, None)
        self._note(record, deletes)
        record.status = "ROLLBACK_FAILED" if undone else "ROLLBACK_COMPLETE"
        self.status = record.status
        if not undone:
            self.resources.clear()
        self.records.append(record)
        return record

    def _update(self, template: Mapping[str, Any], failure: Failure) -> Record:
        old_template = self.template
        old = {k: copy.deepcopy(v) for k, v in self.resources.items()}
        self.template = copy.deepcopy(dict(template))
        self._begin("UPDATE_IN_PROGRESS")
        self._prepare(failure, creating=False)
        tasks = self._changes(template, old)
        failed = self._run(tasks, failure)
        record = Record("update", "UPDATE_COMPLETE")
        self._note(record, tasks)
        if not failed:
            self._begin("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            cleanup = self._cleanup(tasks, old, old_template, template)
            self._run(cleanup, None)
            self._note(record, cleanup)
            self.status = "UPDATE_COMPLETE"
            self.records.append(record)
            return record
        self._begin("UPDATE_ROLLBACK_IN_PROGRESS")
        self.template = copy.deepcopy(dict(old_template))
        made = self._made_by_update(tasks, old, failure)
        back = self._rollback_updates(tasks, old, old_template, failure, record)
        stuck = self._run(back, None)
        self._note(record, back)
        if stuck:
            record.status = "UPDATE_ROLLBACK_FAILED"
            self.status = record.status
            self.records.append(record)
            return record
        self._begin("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        cleanup = self._deletes(made, template)
        self._run(cleanup, None)
        self._note(record, cleanup)
        record.status = "UPDATE_ROLLBACK_COMPLETE"
        self.status = record.status
        self.records.append(record)
        return record

    def _prepare(self, failure: Failure, *, creating: bool) -> None:
        if failure.training_of is not None:
            self.emulator.fail_next_creation(failure.training_of, "AlgorithmError: injected")
        self._failure = dataclasses.replace(failure)

    def _note(self, record: Record, tasks: Mapping[str, _Task]) -> None:
        for task in tasks.values():
            if task.outcome == "failed":
                record.failed.append(f"{task.action} {task.logical_id}")
                if task.response is not None:
                    record.reasons[task.logical_id] = task.response.reason

    # --- planning ---------------------------------------------------------------------
    def _changes(self, template: Mapping[str, Any], old: Mapping[str, Applied]) -> dict[str, _Task]:
        """Creates of new resources, updates of changed ones (dependencies first)."""
        resources = template.get("Resources", {})
        tasks: dict[str, _Task] = {}
        for logical_id, definition in resources.items():
            if "Condition" in definition:
                raise NotImplementedError(f"{logical_id}: conditions are not modelled")
            after = _dependencies(definition) & set(resources)
            if logical_id not in old:
                tasks[logical_id] = _Task(logical_id, "create", after, definition)
            else:
                tasks[logical_id] = _Task(logical_id, "update", after, definition, old[logical_id])
        return tasks

    def _deletes(
        self, held: Mapping[str, Applied], template: Mapping[str, Any]
    ) -> dict[str, _Task]:
        """Deletes of ``held`` (by key) in reverse dependency order (``template``'s): a
        resource is deleted after every held one that depends on it."""
        resources = template.get("Resources", {})
        logical_ids = {applied.logical_id for applied in held.values()}
        tasks: dict[str, _Task] = {}
        for key, applied in held.items():
            dependents = {
                other
                for other, definition in resources.items()
                if other in logical_ids
                and other != applied.logical_id
                and applied.logical_id in _dependencies(definition)
            }
            tasks[key] = _Task(
                applied.logical_id,
                "delete",
                dependents,
                physical_id=applied.physical_id,
                properties=applied.properties,
                old=applied,
            )
        return tasks

    def _replaced(self, task: _Task, old: Mapping[str, Applied]) -> bool:
        before = old.get(task.logical_id)
        current = self.resources.get(task.logical_id)
        return (
            task.action == "update"
            and before is not None
            and before.ours
            and current is not None
            and task.outcome == "done"
            and current.physical_id != before.physical_id
        )

    def _cleanup(
        self,
        tasks: Mapping[str, _Task],
        old: Mapping[str, Applied],
        old_template: Mapping[str, Any],
        template: Mapping[str, Any],
    ) -> dict[str, _Task]:
        """UPDATE_COMPLETE_CLEANUP: replaced physical ids and removed resources."""
        gone = {k: v for k, v in old.items() if k not in template.get("Resources", {})}
        replaced = {k: old[k] for k, t in tasks.items() if self._replaced(t, old)}
        for logical_id, applied in gone.items():
            if applied.deletion_policy == "Retain":
                self.resources.pop(logical_id, None)
                self._keep(applied)
            else:
                self.resources[logical_id].status = "DELETE_IN_PROGRESS"
        cleanup = self._deletes(
            {k: v for k, v in gone.items() if v.deletion_policy != "Retain"}, old_template
        )
        for logical_id, applied in replaced.items():
            if applied.update_replace_policy == "Retain":
                self._keep(applied)
                continue
            cleanup[f"{logical_id}@replaced"] = _Task(
                logical_id,
                "delete",
                set(),
                physical_id=applied.physical_id,
                properties=applied.properties,
                old=applied,
            )
        return cleanup

    def _keep(self, applied: Applied) -> None:
        if applied.ours:
            self.kept.add(applied.physical_id)

    def _rollback_updates(
        self,
        tasks: Mapping[str, _Task],
        old: Mapping[str, Applied],
        old_template: Mapping[str, Any],
        failure: Failure,
        record: Record,
    ) -> dict[str, _Task]:
        """Every resource the update changed (done, failed or cancelled), back to its old
        properties, in the old template's dependency order."""
        resources = old_template.get("Resources", {})
        back: dict[str, _Task] = {}
        for logical_id, task in tasks.items():
            if task.action != "update" or not task.started:
                continue
            before = old[logical_id]
            physical_id = self.resources.get(logical_id, before).physical_id
            if task.outcome == "failed" and before.ours and task.response is not None:
                # row 7: the id the FAILED answer carried, or the one before it
                if failure.rollback_names_failed and task.response.physical_id:
                    physical_id = task.response.physical_id
                else:
                    physical_id = before.physical_id
            elif task.outcome == "cancelled":
                physical_id = before.physical_id  # CloudFormation got no new id
            back[logical_id] = _Task(
                logical_id,
                "rollback",
                _dependencies(resources[logical_id]) & set(resources),
                resources[logical_id],
                before,
                physical_id=physical_id,
                old_properties=task.properties,
            )
        self._rollback_record = record
        return back

    def _made_by_update(
        self, tasks: Mapping[str, _Task], old: Mapping[str, Applied], failure: Failure
    ) -> dict[str, Applied]:
        """What a failed update made, which its rollback's cleanup deletes: new resources
        (a cancelled Create under an id CloudFormation makes up) and replacements (B),
        ``DeletionPolicy``/``UpdateReplacePolicy`` Retain kept."""
        made: dict[str, Applied] = {}
        for key, task in tasks.items():
            if not task.started:
                continue
            if task.action == "create":
                applied = self._attempted(task)
                if applied is None:
                    continue
                if applied.deletion_policy == "Retain":
                    self._let_go(applied, task)
                    self.resources.pop(key, None)
                    continue
                made[key] = applied
                continue
            before = old[key]
            retained = (task.template or {}).get("UpdateReplacePolicy") == "Retain"
            if before.ours and task.outcome == "cancelled" and retained:
                # CloudFormation never got the replacement's id (it cancelled the Update):
                # under Retain what the Update made is kept, as a cancelled Create's is
                # (the next deploy of it adopts it), found by its ownership tag
                self.kept_cancelled.append((self.stack_id, key))
            if not before.ours or task.response is None:
                continue
            new_id = task.response.physical_id
            named = task.outcome == "done" or (
                task.outcome == "failed" and failure.rollback_names_failed
            )
            if not named or not new_id or new_id == before.physical_id:
                continue
            replacement = Applied(key, before.type, task.properties, new_id, {}, "UPDATE_COMPLETE")
            if (task.template or {}).get("UpdateReplacePolicy") == "Retain":
                self._let_go(replacement, task)
                continue
            made[f"{key}@replacement"] = replacement
        return made

    def _rollback_deletes(
        self, made: Mapping[str, _Task], template: Mapping[str, Any]
    ) -> dict[str, _Task]:
        """A failed first deploy's rollback: every resource it made or tried, deleted."""
        held: dict[str, Applied] = {}
        for key, task in made.items():
            applied = self._attempted(task)
            if applied is None:
                continue
            if applied.deletion_policy == "Retain":
                self._let_go(applied, task)
                continue
            held[key] = applied
        return self._deletes(held, template)

    def _attempted(self, task: _Task) -> Applied | None:
        """The resource a Create made or tried, as CloudFormation holds it: its id, the id
        a FAILED answer carried, or one CloudFormation makes up (a cancelled Create)."""
        applied = self.resources.get(task.logical_id)
        if applied is not None and task.outcome == "done":
            return applied
        definition = task.template or {}
        if not definition.get("Type", "").startswith(OURS):
            return applied  # a plain resource that failed or was cancelled: nothing made
        if task.outcome == "failed" and task.response is not None:
            physical_id = task.response.physical_id
        else:
            physical_id = self._made_up(task.logical_id)
        applied = Applied(
            task.logical_id,
            definition["Type"],
            task.properties,
            physical_id,
            {},
            "CREATE_FAILED",
            definition.get("DeletionPolicy", "Delete"),
            definition.get("UpdateReplacePolicy", "Delete"),
        )
        self.resources[task.logical_id] = applied
        return applied

    def _let_go(self, applied: Applied, task: _Task) -> None:
        """CloudFormation skips the Delete (Retain): what it held is kept on purpose."""
        if not applied.ours:
            return
        if task.outcome == "cancelled":
            self.kept_cancelled.append((self.stack_id, task.logical_id))
        self.kept.add(applied.physical_id)

    def _made_up(self, logical_id: str) -> str:
        return f"{self.name}-{logical_id}-{uuid.uuid4().hex[:13].upper()}"

    # --- running a plan ---------------------------------------------------------------
    def _run(self, tasks: dict[str, _Task], failure: Failure | None) -> bool:
        """Run ``tasks`` as CloudFormation does; True when one failed (the rest then
        cancelled)."""
        done: set[str] = set()
        running: dict[str, _Task] = {}
        order = list(tasks)
        while True:
            progressed = True
            while progressed:
                progressed = False
                for key in order:
                    task = tasks[key]
                    if task.started or not task.after <= done | _absent(task.after, tasks):
                        continue
                    task.started = True
                    progressed = True
                    self._start(task, failure)
                    if task.outcome == "done":
                        done.add(task.logical_id)
                    elif task.outcome == "failed":
                        return self._cancel(running, tasks)
                    else:
                        running[key] = task
            if not running:
                unstarted = [k for k in order if not tasks[k].started]
                if unstarted:
                    raise AssertionError(f"a dependency cycle among {unstarted}")
                return False
            self._policy_in_force()
            for key, task in list(running.items()):
                if self._step(task):
                    del running[key]
                    if task.outcome == "failed":
                        return self._cancel(running, tasks)
                    done.add(task.logical_id)
            self.tick()

    def _cancel(self, running: dict[str, _Task], tasks: Mapping[str, _Task]) -> bool:
        for task in running.values():
            task.outcome = "cancelled"
            if task.flight is not None:
                self.orphans.append(task.flight)
            applied = self.resources.get(task.logical_id)
            if applied is not None and task.action == "create":
                applied.status = "CREATE_FAILED"
            elif applied is not None:
                applied.status = "UPDATE_FAILED"
        return True

    def _start(self, task: _Task, failure: Failure | None) -> None:
        if task.action == "delete":
            self._start_delete(task)
            return
        definition = dict(task.template or {})
        kind = definition["Type"]
        properties = resolve(definition.get("Properties", {}), self._refs(), self._attributes())
        if task.action == "rollback" and task.old is not None and task.old.ours:
            properties = task.old.properties
        if kind.startswith(OURS):
            self._policy_in_force()
            sent = cfn_stringify(properties) if task.action != "rollback" else properties
            task.properties = sent
            if task.action == "update" and task.old is not None and task.old.properties == sent:
                task.outcome = "done"  # unchanged: no event
                return
            if task.action == "rollback" and task.old_properties == sent:
                current = self.resources.get(task.logical_id)
                if current is not None and current.physical_id == task.physical_id:
                    task.outcome = "done"  # the update sent nothing: nothing to undo
                    return
            event = self._event(task, sent)
            if failure is not None and failure.late_on_event and task.action != "rollback":
                task.flight = _Late(self.framework, event)  # reaches on_event next tick
                return
            flight = self.framework.start(event)
            task.flight = flight
            if flight.response is not None:
                self._finish(task, flight.response)
            return
        if kind == "AWS::CloudFormation::WaitCondition":
            task.waits_for = str(properties["Handle"])
            task.properties = properties
            if task.action == "rollback" or (
                task.action == "update"
                and task.old is not None
                and task.old.properties == properties
            ):
                task.outcome = "done"
                return
            timeout = float(properties.get("Timeout", 43200))
            task.ticks_left = int(timeout // TICK)
            return
        if (
            failure is not None
            and task.logical_id == SIBLING
            and failure.sibling_after_ticks is not None
            and task.action in ("create", "update")
            and (task.old is None or task.old.properties != properties)
        ):
            task.fails = True
            task.ticks_left = failure.sibling_after_ticks
            if task.ticks_left == 0:
                task.outcome = "failed"
            return
        self._apply_plain(task, definition, properties)
        task.outcome = "done"

    def _apply_plain(self, task: _Task, definition: Mapping[str, Any], properties: Any) -> None:
        existing = self.resources.get(task.logical_id)
        if existing is not None:
            existing.properties = properties
            existing.status = "UPDATE_COMPLETE"
            return
        physical_id = self._plain_id(task.logical_id, definition["Type"], properties)
        self.resources[task.logical_id] = Applied(
            task.logical_id,
            definition["Type"],
            properties,
            physical_id,
            _attributes_of(definition["Type"], physical_id, self.stack_id),
            "CREATE_COMPLETE",
            definition.get("DeletionPolicy", "Delete"),
            definition.get("UpdateReplacePolicy", "Delete"),
        )

    def _plain_id(self, logical_id: str, kind: str, properties: Any) -> str:
        if kind == "AWS::CloudFormation::WaitConditionHandle":
            return self.waiters.url(f"{logical_id}-{uuid.uuid4().hex[:8]}")
        if kind == "AWS::S3::Bucket":
            return f"{self.name.lower()}-{logical_id.lower()}-{uuid.uuid4().hex[:8]}"
        return self._made_up(logical_id)

    def _step(self, task: _Task) -> bool:
        """One tick of a running task: True once it ended (``outcome`` set)."""
        if task.flight is not None:
            response = task.flight.poll()
            if response is None:
                return False
            self._finish(task, response)
            return True
        if task.waits_for:
            signals = self.waiters.signals(task.waits_for)
            if signals:
                ok = signals[-1]["Status"] == "SUCCESS"
                task.outcome = "done" if ok else "failed"
                if ok:
                    self._apply_wait(task, signals[-1])
                else:
                    task.response = Response("FAILED", "", reason=str(signals[-1]["Reason"]))
                return True
            task.ticks_left -= 1
            if task.ticks_left <= 0:
                task.outcome = "failed"
                task.response = Response("FAILED", "", reason="WaitCondition timed out")
                return True
            return False
        task.ticks_left -= 1
        if task.ticks_left <= 0:
            task.outcome = "failed" if task.fails else "done"
            if task.fails:
                task.response = Response("FAILED", "", reason="injected: the sibling failed")
            return True
        return False

    def _apply_wait(self, task: _Task, signal: Mapping[str, Any]) -> None:
        data = json.dumps({str(signal.get("UniqueId")): signal.get("Data")})
        applied = self.resources.get(task.logical_id)
        if applied is None:
            self.resources[task.logical_id] = Applied(
                task.logical_id,
                "AWS::CloudFormation::WaitCondition",
                task.properties,
                self._made_up(task.logical_id),
                {"Data": data},
                "CREATE_COMPLETE",
            )
        else:
            applied.properties = task.properties
            applied.attributes = {"Data": data}

    def _finish(self, task: _Task, response: Response) -> None:
        task.response = response
        if task.action == "delete":
            task.outcome = "done" if response.ok else "failed"
            held = self.resources.get(task.logical_id)
            if held is not None and held.physical_id == task.physical_id:
                if response.ok:
                    del self.resources[task.logical_id]
                else:
                    held.status = "DELETE_FAILED"
            return
        if not response.ok:
            task.outcome = "failed"
            applied = self.resources.get(task.logical_id)
            if applied is not None:
                applied.status = "UPDATE_FAILED"
            return
        task.outcome = "done"
        definition = task.template or {}
        previous = self.resources.get(task.logical_id)
        self.resources[task.logical_id] = Applied(
            task.logical_id,
            definition.get("Type", previous.type if previous else ""),
            task.properties,
            response.physical_id,
            dict(response.data),
            f"{'CREATE' if task.action == 'create' else 'UPDATE'}_COMPLETE",
            definition.get("DeletionPolicy", "Delete"),
            definition.get("UpdateReplacePolicy", "Delete"),
        )
        if (
            task.action == "rollback"
            and task.old is not None
            and response.physical_id != task.old.physical_id
        ):
            # a rollback that did not go back to the resource it had: it made another
            self._rollback_record.rollback_creations.append(task.logical_id)

    def _start_delete(self, task: _Task) -> None:
        applied = task.old
        assert applied is not None
        if not applied.ours:
            self.resources.pop(task.logical_id, None)
            task.outcome = "done"
            return
        self._policy_in_force()
        task.template = None
        event = self._event(task, applied.properties, physical_id=task.physical_id)
        flight = self.framework.start(event)
        task.flight = flight
        if flight.response is not None:
            self._finish(task, flight.response)

    def _event(
        self, task: _Task, properties: Any, *, physical_id: str | None = None
    ) -> dict[str, Any]:
        applied = task.old
        request = {
            "create": "Create",
            "update": "Update",
            "rollback": "Update",
            "delete": "Delete",
        }[task.action]
        kind = (task.template or {}).get("Type") or (applied.type if applied else "")
        event: dict[str, Any] = {
            "RequestType": request,
            "ServiceToken": properties.get("ServiceToken", ""),
            "ResponseURL": RESPONSE_URL,
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": task.logical_id,
            "ResourceType": kind,
            "ResourceProperties": properties,
        }
        if request == "Update":
            assert applied is not None
            current = self.resources.get(task.logical_id, applied)
            if task.action == "rollback":
                event["PhysicalResourceId"] = task.physical_id
                event["OldResourceProperties"] = task.old_properties
            else:
                event["PhysicalResourceId"] = current.physical_id
                event["OldResourceProperties"] = current.properties
        elif request == "Delete":
            event["PhysicalResourceId"] = physical_id or task.physical_id
            self.deletes_sent.add(str(event["PhysicalResourceId"]))
            self.deleted_logical_ids.add((self.stack_id, task.logical_id))
        size = json_bytes(event)
        self.largest_event = max(self.largest_event, size)
        self.log.append(
            f"{self.status} {request} {task.logical_id} {event.get('PhysicalResourceId', '')}"
            f" ({size:,} bytes)"
        )
        return event

    # --- references --------------------------------------------------------------------
    def _refs(self) -> dict[str, Any]:
        refs: dict[str, Any] = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackId": self.stack_id,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        refs.update({k: v.physical_id for k, v in self.resources.items()})
        return refs

    def _attributes(self) -> dict[str, Any]:
        return {
            f"{k}.{name}": value
            for k, v in self.resources.items()
            for name, value in v.attributes.items()
        }

    def _policy_in_force(self) -> None:
        """The handler role's policies as applied now, enforced from this call on."""
        role = next(
            (
                r
                for r in self.resources.values()
                if r.type == "AWS::IAM::Role" and r.logical_id.startswith(f"{PROVIDER_ID}Role")
            ),
            None,
        )
        if role is None:
            self.enforcer.policy = Policy([])
            return
        statements: list[Statement] = []
        for applied in self.resources.values():
            if applied.type == "AWS::IAM::Policy" and role.physical_id in applied.properties.get(
                "Roles", []
            ):
                statements.extend(
                    Statement.of(s) for s in applied.properties["PolicyDocument"]["Statement"]
                )
        self.enforcer.policy = Policy(statements)
        self.enforcer.phase = self.status

    # --- what the emulator holds against what the stack says --------------------------
    def held_ids(self) -> set[str]:
        """The physical ids of this stack's resources of ours."""
        return {r.physical_id for r in self.resources.values() if r.ours}


def _absent(after: set[str], tasks: Mapping[str, _Task]) -> set[str]:
    """Dependencies that are not part of this plan (unchanged resources): done."""
    return {a for a in after if a not in tasks}


def _dependencies(definition: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    depends = definition.get("DependsOn")
    if isinstance(depends, str):
        found.add(depends)
    elif isinstance(depends, list):
        found.update(str(d) for d in depends)

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str) and not item.startswith("AWS::"):
                    found.add(item)
                elif key == "Fn::GetAtt":
                    name = item[0] if isinstance(item, list) else str(item).split(".")[0]
                    found.add(str(name))
                elif key == "Fn::Sub":
                    text = item if isinstance(item, str) else item[0]
                    for name in _sub_names(text):
                        found.add(name.split(".")[0])
                    if not isinstance(item, str):
                        walk(item[1])
                else:
                    walk(item)

    walk(definition.get("Properties", {}))
    return found


def _sub_names(text: str) -> Iterator[str]:
    import re

    for match in re.finditer(r"\$\{([^}!]+)\}", text):
        name = match.group(1)
        if not name.startswith("AWS::"):
            yield name


def _attributes_of(kind: str, physical_id: str, stack_id: str) -> dict[str, str]:
    service = kind.split("::")[1].lower() if "::" in kind else "simulated"
    arn = f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{physical_id}"
    if kind == "AWS::IAM::Role":
        arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{physical_id}"
    elif kind == "AWS::S3::Bucket":
        arn = f"arn:{PARTITION}:s3:::{physical_id}"
    elif kind == "AWS::Lambda::Function":
        arn = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{physical_id}"
    elif kind == "AWS::Logs::LogGroup":
        arn = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{physical_id}:*"
    return {
        "Arn": arn,
        "RoleId": physical_id,
        "Name": physical_id,
        "StateMachineName": physical_id,
        "KeyId": physical_id,
        "DomainName": f"{physical_id}.s3.amazonaws.com",
        "RegionalDomainName": f"{physical_id}.s3.{REGION}.amazonaws.com",
    }


WaitSignal = Callable[[str], list[dict[str, Any]]]

__all__ = ["SIBLING", "Applied", "Failure", "Record", "Simulator", "contract"]
