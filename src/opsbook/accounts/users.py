"""Users of the web console: a name, a role (viewer, responder, admin) and an Argon2 hash.

Five wrong passwords in a row lock the account for 15 minutes (said, not silent): a login
form on the internet is guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, insert, select, update

from opsbook.config.actions import Role
from opsbook.errors import UsageError
from opsbook.store.tables import users, web_sessions
from opsbook.store.tx import begin, read

if TYPE_CHECKING:
    from argon2 import PasswordHasher

LOCK_AFTER = 5
LOCKED_FOR = timedelta(minutes=15)
MIN_PASSWORD = 12


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: datetime
    locked_until: datetime | None


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def add(engine: Engine, name: str, role: Role, password: str, now: datetime) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password of {MIN_PASSWORD} characters or more, please")
    digest = _hasher().hash(password)
    with begin(engine) as conn:
        if conn.execute(select(users.c.name).where(users.c.name == name)).first():
            raise UsageError(f"user {name} exists; opsbook user passwd {name} changes it")
        conn.execute(
            insert(users).values(
                name=name, role=role.value, password_hash=digest, created_at=now, failed_logins=0
            )
        )


def set_password(engine: Engine, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password of {MIN_PASSWORD} characters or more, please")
    with begin(engine) as conn:
        done = conn.execute(
            update(users)
            .where(users.c.name == name)
            .values(password_hash=_hasher().hash(password), failed_logins=0, locked_until=None)
        )
        if done.rowcount == 0:
            raise UsageError(f"no user {name}")
        # a changed password ends every session signed in with the old one
        conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))


def remove(engine: Engine, name: str) -> None:
    with begin(engine) as conn:
        if conn.execute(delete(users).where(users.c.name == name)).rowcount == 0:
            raise UsageError(f"no user {name}")
        conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))


def listed(engine: Engine) -> list[User]:
    with read(engine) as conn:
        return [
            User(r.name, Role(r.role), r.created_at, r.locked_until)
            for r in conn.execute(select(users).order_by(users.c.name))
        ]


def login(engine: Engine, name: str, password: str, now: datetime) -> User | None:
    """The user when the password is right (and the account not locked), else None."""
    from argon2.exceptions import VerificationError

    with begin(engine) as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            _hasher().hash(password)  # as slow as a real check: names are not probed
            return None
        if row.locked_until is not None and row.locked_until > now:
            return None
        try:
            _hasher().verify(row.password_hash, password)
        except VerificationError:
            failed = row.failed_logins + 1
            values: dict[str, object] = {"failed_logins": failed}
            if failed >= LOCK_AFTER:
                values = {"failed_logins": 0, "locked_until": now + LOCKED_FOR}
            conn.execute(update(users).where(users.c.name == name).values(**values))
            return None
        conn.execute(
            update(users).where(users.c.name == name).values(failed_logins=0, locked_until=None)
        )
        return User(row.name, Role(row.role), row.created_at, None)


def check_password(engine: Engine, name: str, password: str, now: datetime) -> bool:
    """Whether ``password`` is this user's now (a password change asks for the old one)."""
    return login(engine, name, password, now) is not None
