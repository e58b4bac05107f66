"""Web console sessions: a random id in an HttpOnly cookie, its SHA-256 in the store.

Stored rather than signed into the cookie so that logout, a password change or a removed
user ends every session at once, on every instance of a deployment. Each session carries
its own CSRF token, put in every form the console renders.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from opsbook.accounts.users import User
from opsbook.config.actions import Role
from opsbook.store.tables import users, web_sessions
from opsbook.store.tx import begin

IDLE = timedelta(hours=12)  # a night on call, without signing in again at 4 a.m.
LONGEST = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=1)  # seen_at is written at most this often


@dataclass(frozen=True)
class Session:
    user: str
    role: Role
    csrf: str
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(engine: Engine, user: User, now: datetime) -> tuple[str, Session]:
    """A new session for a signed-in user: (the cookie's value, the session)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + IDLE
    with begin(engine) as conn:
        conn.execute(
            insert(web_sessions).values(
                id_hash=_digest(session_id),
                user_name=user.name,
                csrf=csrf,
                created_at=now,
                seen_at=now,
                expires_at=expires,
            )
        )
    return session_id, Session(user.name, user.role, csrf, expires)


def look(engine: Engine, session_id: str, now: datetime) -> Session | None:
    """The live session behind a cookie (its idle time renewed), or None."""
    if not session_id or len(session_id) > 100:
        return None
    key = _digest(session_id)
    with begin(engine) as conn:
        row = conn.execute(
            select(web_sessions, users.c.role)
            .join(users, users.c.name == web_sessions.c.user_name)
            .where(web_sessions.c.id_hash == key)
        ).first()
        if row is None:
            return None
        if row.expires_at <= now or row.created_at + LONGEST <= now:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == key))
            return None
        expires = row.expires_at
        if now - row.seen_at >= TOUCH_EVERY:
            expires = now + IDLE
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == key)
                .values(seen_at=now, expires_at=expires)
            )
        return Session(row.user_name, Role(row.role), row.csrf, expires)


def end(engine: Engine, session_id: str) -> None:
    with begin(engine) as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(session_id)))


def end_all(engine: Engine, user: str) -> int:
    """Every session of a user: after a password change or removal."""
    with begin(engine) as conn:
        return int(
            conn.execute(delete(web_sessions).where(web_sessions.c.user_name == user)).rowcount
        )


def purge(engine: Engine, now: datetime) -> int:
    with begin(engine) as conn:
        return int(
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now)).rowcount
        )
