"""Acknowledgement links: single-purpose, unguessable, expiring tokens, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from opsbook.store.tables import ack_tokens


@dataclass(frozen=True)
class Token:
    incident_id: str
    person: str
    expires_at: datetime
    used_at: datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(conn: Connection, incident_id: str, person: str, now: datetime, ttl_s: float) -> str:
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(ack_tokens).values(
            token_hash=_hash(token),
            incident_id=incident_id,
            person=person,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    return token


def look_up(conn: Connection, token: str) -> Token | None:
    if not token or len(token) > 100:
        return None
    row = conn.execute(select(ack_tokens).where(ack_tokens.c.token_hash == _hash(token))).first()
    return Token(row.incident_id, row.person, row.expires_at, row.used_at) if row else None


def use(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(
        update(ack_tokens).where(ack_tokens.c.token_hash == _hash(token)).values(used_at=now)
    )
