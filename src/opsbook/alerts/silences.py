"""Silences: "this alert is known, do not open incidents or page for it until …".

A silence matches alerts by name or fingerprint, with shell-style globs (``db*``). Silenced
alerts still evaluate and are recorded; they open no incident. When a silence ends while
its alert still fires, the incident opens then.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, or_, select, update

from opsbook.errors import IncidentError, UsageError
from opsbook.store.tables import silences
from opsbook.store.tx import begin, read


@dataclass(frozen=True)
class Silence:
    id: int
    matcher: str
    starts_at: datetime
    ends_at: datetime
    why: str
    created_at: datetime
    created_by: str
    expired_at: datetime | None
    expired_by: str | None

    def active(self, now: datetime) -> bool:
        return self.expired_at is None and self.starts_at <= now < self.ends_at

    def matches(self, name: str, fingerprint: str) -> bool:
        return fnmatch.fnmatchcase(name, self.matcher) or fnmatch.fnmatchcase(
            fingerprint, self.matcher
        )


def active_silences(conn: Connection, now: datetime) -> list[Silence]:
    query = select(silences).where(
        silences.c.expired_at.is_(None), silences.c.starts_at <= now, silences.c.ends_at > now
    )
    return [_silence(row) for row in conn.execute(query)]


class Silences:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self, matcher: str, *, ends_at: datetime, why: str, actor: str, now: datetime
    ) -> Silence:
        if not matcher.strip():
            raise UsageError("silence what? opsbook silence add CHECK --for 2h --why '…'")
        if not why.strip():
            raise UsageError("say why: --why 'deploying the new schema'")
        if ends_at <= now:
            raise UsageError(
                "the silence would end before it starts; give --for 2h or a later --until"
            )
        if ends_at - now > timedelta(days=30):
            raise UsageError("silences last 30 days at most; a longer one is a config change")
        with begin(self.engine) as conn:
            new_id = conn.execute(
                insert(silences)
                .values(
                    matcher=matcher.strip(),
                    starts_at=now,
                    ends_at=ends_at,
                    why=why.strip(),
                    created_at=now,
                    created_by=actor,
                )
                .returning(silences.c.id)
            ).scalar_one()
        return self.get(new_id)

    def expire(self, silence_id: int, *, actor: str, now: datetime) -> Silence:
        with begin(self.engine) as conn:
            row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
            if row is None:
                raise IncidentError(f"no silence #{silence_id} (see opsbook silence list)")
            silence = _silence(row)
            if not silence.active(now):
                raise IncidentError(
                    f"silence #{silence_id} is not active (it ended or was expired)"
                )
            conn.execute(
                update(silences)
                .where(silences.c.id == silence_id)
                .values(expired_at=now, expired_by=actor)
            )
        return self.get(silence_id)

    def get(self, silence_id: int) -> Silence:
        with read(self.engine) as conn:
            row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
        if row is None:
            raise IncidentError(f"no silence #{silence_id}")
        return _silence(row)

    def list(self, *, now: datetime, include_ended: bool = False) -> list[Silence]:
        query = select(silences).order_by(silences.c.id)
        if not include_ended:
            query = query.where(
                silences.c.expired_at.is_(None),
                or_(silences.c.ends_at > now),
            )
        with read(self.engine) as conn:
            return [_silence(row) for row in conn.execute(query)]


def _silence(row: Row[Any]) -> Silence:
    return Silence(
        row.id,
        row.matcher,
        row.starts_at,
        row.ends_at,
        row.why,
        row.created_at,
        row.created_by,
        row.expired_at,
        row.expired_by,
    )
