"""The ``users:`` section: console users kept in opsbook.yaml (in git, like the rest), each
with a role and an Argon2 hash made by ``opsbook user hash`` (never a password)."""

from __future__ import annotations

from typing import Any

import msgspec

from opsbook.config.problems import Problem, convert_section

ROLES = ("viewer", "responder", "admin")


class UserConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    password_hash: str
    role: str = "responder"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {self.role!r}")
        if not self.password_hash.startswith("$argon2"):
            raise ValueError(
                "password_hash: expected an Argon2 hash ($argon2id$…) as opsbook user hash "
                "prints it; never the password itself"
            )


def validate_users(value: Any, problems: list[Problem]) -> dict[str, UserConfig]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(("users",), "expected a mapping of user names to "
                                "{role, password_hash}"))  # fmt: skip
        return {}
    out = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            problems.append(Problem(("users", str(name)), "expected a name of 1 to 200 characters"))
            continue
        made = convert_section(spec, UserConfig, ("users", name), problems)
        if made is not None:
            out[name] = made
    return out
