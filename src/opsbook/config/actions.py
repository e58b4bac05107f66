"""The ``actions:`` and ``procedures:`` sections: the runbook's containment and recovery
steps as named, guarded commands (docs/actions.md).

An action is a command (argv unless ``shell: true``), who may run it, whether it asks first,
which checks' alerts it is suggested for, and optionally a guarded automatic run. A procedure
is an ordered list of steps: run an action or a command, wait for a check to be OK, restore a
backup, verify with SQL, or ask a person to confirm something done by hand.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from opsbook.config.jobs import argv_of_command, command_error
from opsbook.config.problems import Path_, Problem, translate
from opsbook.config.types import Duration, decode_hook, is_check_name


class Role(enum.StrEnum):
    VIEWER = "viewer"  # sees, acknowledges nothing, runs nothing
    RESPONDER = "responder"
    ADMIN = "admin"


class AutoRun(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Guarded automatic remediation: off unless written."""

    when: tuple[str, ...]  # checks whose alert, firing, runs the action
    for_: Duration = msgspec.field(default=Duration(120.0), name="for")  # firing this long
    once_per: Duration = Duration(3600.0)  # at most one automatic run in this period
    sev1: bool = False  # also for SEV-1 incidents (where a human should decide)

    def __post_init__(self) -> None:
        if not self.when:
            raise ValueError("when: expected the checks whose alert runs it")
        if self.once_per < 60:
            raise ValueError("once_per: expected 1m or more")


class ActionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    command: tuple[str, ...] | str
    shell: bool = False
    workdir: str | None = None
    env: dict[str, str] = {}
    timeout: Duration = Duration(300.0)
    description: str | None = None
    roles: tuple[Role, ...] = (Role.RESPONDER, Role.ADMIN)  # who may run it
    confirm: bool = True  # ask on a terminal first (--yes to skip)
    suggest_for: tuple[str, ...] = ()  # checks whose incidents suggest it
    auto: AutoRun | None = None

    def __post_init__(self) -> None:
        command_error(self.command, self.shell)
        if self.timeout < 1:
            raise ValueError("timeout: expected 1s or more")
        if not self.roles:
            raise ValueError("roles: expected at least one role (viewer, responder, admin)")

    @property
    def argv(self) -> list[str]:
        return argv_of_command(self.command, self.shell)


def validate_actions(
    value: Any, checks: dict[str, Any], problems: list[Problem]
) -> dict[str, ActionConfig]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("actions",), "expected a mapping of action names to actions"))
        return {}
    out: dict[str, ActionConfig] = {}
    for name, spec in value.items():
        path: Path_ = ("actions", name)
        if not is_check_name(str(name)):
            problems.append(Problem(path, "action names use letters, digits, '_', '.', '-'"))
            continue
        try:
            action = msgspec.convert(spec, ActionConfig, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(
                translate(str(exc), spec if isinstance(spec, dict) else {}, path, ActionConfig)
            )
            continue
        named = [("suggest_for", c) for c in action.suggest_for]
        named += [("auto.when", c) for c in (action.auto.when if action.auto else ())]
        for key, check in named:
            if check not in checks:
                known = ", ".join(sorted(checks)) or "none defined"
                problems.append(
                    Problem((*path, *key.split(".")), f"no check named {check!r} (checks: {known})")
                )
        out[str(name)] = action
    return out


class WaitStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    check: str  # until this check is OK (the runbook's blind `sleep 60`, made a question)
    timeout: Duration = Duration(300.0)
    every: Duration = Duration(5.0)


class RestoreStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    backup: str = "latest"  # a backup ID or prefix, or latest
    source: str | None = None  # with latest: whose newest backup
    to: str  # where: a DSN or a directory, as opsbook backup restore --to
    clean: bool = False  # drop what is there first (opsbook backup restore --clean)
    timeout: Duration = Duration(7200.0)


class VerifyStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    sql: str  # read-only; its rows are shown
    dsn: str | None = None  # default: the only postgres check's
    expect: str | None = None  # a condition on the first value: "> 0", ">= 1000", "== 0"

    def __post_init__(self) -> None:
        if self.expect is not None:
            expectation(self.expect)


def expectation(text: str) -> tuple[str, float]:
    op, _, number = text.strip().partition(" ")
    if op not in ("<", "<=", "==", "!=", ">=", ">"):
        raise ValueError(f"expect: {text!r}: expected an operator and a number, such as '> 0'")
    try:
        return op, float(number)
    except ValueError:
        raise ValueError(f"expect: {text!r}: expected a number after {op}") from None


class Step(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One step: exactly one of action, run, wait, restore, verify, confirm."""

    title: str | None = None
    action: str | None = None  # an action from actions:
    run: tuple[str, ...] | str | None = None  # a command (argv; a string is split)
    timeout: Duration = Duration(300.0)  # of run:
    wait: WaitStep | None = None
    restore: RestoreStep | None = None
    verify: VerifyStep | None = None
    confirm: str | None = None  # what a person must have done by hand

    KINDS = ("action", "run", "wait", "restore", "verify", "confirm")

    def __post_init__(self) -> None:
        given = [k for k in self.KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step is exactly one of: {', '.join(self.KINDS)}; got "
                f"{', '.join(given) or 'none'}"
            )
        if self.run is not None:
            command_error(self.run, False)

    @property
    def kind(self) -> str:
        return next(k for k in self.KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        if self.title:
            return self.title
        if self.action:
            return f"run action {self.action}"
        if self.run is not None:
            return "run " + (self.run if isinstance(self.run, str) else " ".join(self.run))
        if self.wait:
            return f"wait until {self.wait.check} is OK"
        if self.restore:
            return f"restore backup {self.restore.backup} to the target"
        if self.verify:
            return "verify: " + self.verify.sql.strip().splitlines()[0][:80]
        return f"confirm: {self.confirm}"


class ProcedureConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    steps: tuple[Step, ...]
    description: str | None = None
    roles: tuple[Role, ...] = (Role.RESPONDER, Role.ADMIN)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("steps: expected at least one step")


def validate_procedures(
    value: Any, actions: dict[str, ActionConfig], checks: dict[str, Any], problems: list[Problem]
) -> dict[str, ProcedureConfig]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("procedures",), "expected a mapping of names to procedures"))
        return {}
    out: dict[str, ProcedureConfig] = {}
    for name, spec in value.items():
        path: Path_ = ("procedures", name)
        if not is_check_name(str(name)):
            problems.append(Problem(path, "procedure names use letters, digits, '_', '.', '-'"))
            continue
        try:
            procedure = msgspec.convert(spec, ProcedureConfig, dec_hook=decode_hook)
        except msgspec.ValidationError as exc:
            problems.append(
                translate(str(exc), spec if isinstance(spec, dict) else {}, path, ProcedureConfig)
            )
            continue
        for i, step in enumerate(procedure.steps):
            where: Path_ = (*path, "steps", i)
            if step.action is not None and step.action not in actions:
                known = ", ".join(actions) or "none defined"
                problems.append(
                    Problem(
                        (*where, "action"), f"no action named {step.action!r} (actions: {known})"
                    )
                )
            if step.wait is not None and step.wait.check not in checks:
                known = ", ".join(sorted(checks)) or "none defined"
                problems.append(
                    Problem(
                        (*where, "wait", "check"),
                        f"no check named {step.wait.check!r} (checks: {known})",
                    )
                )
        out[str(name)] = procedure
    return out
