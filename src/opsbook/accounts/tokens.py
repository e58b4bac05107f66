"""API tokens: made with a role, shown once, stored as their SHA-256 (a long random token
needs no slow hash), revoked rather than deleted so the log of who did what stays readable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, insert, select, update

from opsbook.config.actions import Role
from opsbook.errors import UsageError
from opsbook.store.tables import api_tokens
from opsbook.store.tx import begin, read

PREFIX = "obk_"  # recognisable in a secrets scan
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(engine: Engine, name: str, role: Role, now: datetime) -> str:
    """A new token; the only time it is shown."""
    token = PREFIX + secrets.token_urlsafe(32)
    with begin(engine) as conn:
        conn.execute(
            insert(api_tokens).values(
                name=name, role=role.value, token_hash=_digest(token), created_at=now
            )
        )
    return token


def revoke(engine: Engine, token_id: int, now: datetime) -> None:
    with begin(engine) as conn:
        done = conn.execute(
            update(api_tokens)
            .where(and_(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)))
            .values(revoked_at=now)
        )
        if done.rowcount == 0:
            raise UsageError(f"no live token {token_id} (opsbook token list)")


def listed(engine: Engine) -> list[Token]:
    with read(engine) as conn:
        return [
            Token(r.id, r.name, Role(r.role), r.created_at, r.last_used_at, r.revoked_at)
            for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))
        ]


def authenticate(engine: Engine, token: str, now: datetime) -> Token | None:
    if not token.startswith(PREFIX):
        return None
    with begin(engine) as conn:
        row = conn.execute(
            select(api_tokens).where(
                and_(api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            return None
        used = row.last_used_at
        if used is None or now - used >= TOUCH_EVERY:  # a write per request would cost more
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now)
            )
            used = now
        return Token(row.id, row.name, Role(row.role), row.created_at, used, None)
