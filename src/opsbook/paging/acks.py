"""Acknowledgement links: single-purpose, unguessable, expiring tokens, stored hashed."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import Incident
from opsbook.incidents.rows import get_incident
from opsbook.store.tables import ack_tokens
from opsbook.store.tx import begin


class Link(enum.StrEnum):
    """What an acknowledgement link is, or what using it did."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    ACKNOWLEDGED = "acknowledged"  # this use acknowledged the incident
    ALREADY = "already"  # acknowledged before, or no longer open


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


@dataclass(frozen=True)
class Looked:
    link: Link
    token: Token | None = None
    incident: Incident | None = None


def _valid(conn: Connection, token: str, now: datetime) -> Token | Looked:
    """The token, or why the link is not valid. A link acknowledges once: used again, it
    shows the incident and changes nothing (its incident may have been reopened since)."""
    found = look_up(conn, token)
    if found is None:
        return Looked(Link.UNKNOWN)
    if found.expires_at <= now:
        return Looked(Link.EXPIRED, found)
    if found.used_at is not None:
        return Looked(Link.ALREADY, found, get_incident(conn, found.incident_id))
    return found


def look(engine: Engine, token: str, now: datetime) -> Looked:
    """What a GET of the link shows; changes nothing (chat unfurlers fetch links)."""
    with begin(engine) as conn:
        found = _valid(conn, token, now)
        if isinstance(found, Looked):
            return found
        return Looked(Link.VALID, found, get_incident(conn, found.incident_id))


def acknowledge(engine: Engine, incidents: Incidents, token: str, now: datetime) -> Looked:
    """The link's one action: acknowledge its incident as its person, once."""
    with begin(engine) as conn:
        found = _valid(conn, token, now)
        if isinstance(found, Looked):
            return found
        done = incidents.acknowledge_in(conn, found.incident_id, f"{found.person} (ack link)")
        use(conn, token, now)
        incident = get_incident(conn, found.incident_id)
        return Looked(Link.ACKNOWLEDGED if done else Link.ALREADY, found, incident)
