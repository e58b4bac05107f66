"""Users of the web console: a name, a role (viewer, responder, admin) and an Argon2 hash.

Five wrong passwords in a row lock the account for 15 minutes (said, not silent): a login
form on the internet is guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, insert, select, update

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
    managed: bool = False  # defined under users: in opsbook.yaml


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2 hash for users: in opsbook.yaml."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password of {MIN_PASSWORD} characters or more, please")
    return str(_hasher().hash(password))


def _not_managed(conn: Connection, name: str) -> None:
    row = conn.execute(select(users.c.managed).where(users.c.name == name)).first()
    if row is not None and row.managed:
        raise UsageError(f"user {name} is defined in opsbook.yaml (users:): change it there "
                         "(opsbook user hash makes a password_hash) and reload")  # fmt: skip


def sync(engine: Engine, wanted: dict[str, tuple[Role, str]], now: datetime) -> list[str]:
    """Make the users defined in opsbook.yaml the store's (added, role or hash changed, or
    removed with their sessions); users made with `opsbook user add` are left alone. Returns
    what changed, to log."""
    said = []
    with begin(engine) as conn:
        have = {r.name: r for r in conn.execute(select(users))}
        for name, (role, digest) in wanted.items():
            row = have.get(name)
            if row is None:
                conn.execute(insert(users).values(name=name, role=role.value,
                                                  password_hash=digest, created_at=now,
                                                  failed_logins=0, managed=True))  # fmt: skip
                said.append(f"added {name}")
            elif (row.role, row.password_hash, row.managed) != (role.value, digest, True):
                conn.execute(update(users).where(users.c.name == name).values(
                    role=role.value, password_hash=digest, managed=True))  # fmt: skip
                if row.password_hash != digest or row.role != role.value:
                    conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))
                said.append(f"updated {name}")
        for name, row in have.items():
            if row.managed and name not in wanted:
                conn.execute(delete(users).where(users.c.name == name))
                conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))
                said.append(f"removed {name}")
    return said


def add(engine: Engine, name: str, role: Role, password: str, now: datetime) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password of {MIN_PASSWORD} characters or more, please")
    digest = _hasher().hash(password)
    with begin(engine) as conn:
        _not_managed(conn, name)
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
        _not_managed(conn, name)
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
        _not_managed(conn, name)
        if conn.execute(delete(users).where(users.c.name == name)).rowcount == 0:
            raise UsageError(f"no user {name}")
        conn.execute(delete(web_sessions).where(web_sessions.c.user_name == name))


def listed(engine: Engine) -> list[User]:
    with read(engine) as conn:
        return [
            User(r.name, Role(r.role), r.created_at, r.locked_until, bool(r.managed))
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
