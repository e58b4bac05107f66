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
            problems.append(translate(str(exc), spec if isinstance(spec, dict) else {}, path,
                                      ActionConfig))  # fmt: skip
            continue
        named = [("suggest_for", c) for c in action.suggest_for]
        named += [("auto.when", c) for c in (action.auto.when if action.auto else ())]
        for key, check in named:
            if check not in checks:
                known = ", ".join(sorted(checks)) or "none defined"
                problems.append(Problem((*path, *key.split(".")),
                                        f"no check named {check!r} (checks: {known})"))  # fmt: skip
        out[str(name)] = action
    return out
