"""The leader's lease, kept in the store (a row, not an advisory lock: see docs/ha.md).

An instance leads while it holds an unexpired lease row; it renews it every third of its
length. Another instance takes the lease only once it has expired by the store's clock (or
its holder is a process that died on this host), and the token grows by one at each change
of holder. Every leader-only transaction checks, at its start and under a row lock, that the
lease is still this instance's with this token (``Fence``): a leader that was paused past its
lease and wakes up finds its first write refused, and steps down.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, event, func, insert, select, update

from opsbook.errors import NotLeader
from opsbook.store.tables import cluster_lease
from opsbook.store.tx import begin

LEADER = "leader"


@dataclass(frozen=True)
class Holder:
    instance: str
    token: int
    acquired_at: datetime
    expires_at: datetime
    taken_from: str | None = None  # who held it before, when this claim took it over


def store_now(conn: Connection) -> datetime:
    """The store's clock on PostgreSQL (one clock for every host); this host's on SQLite."""
    if conn.dialect.name == "postgresql":
        now: datetime = conn.execute(select(func.statement_timestamp())).scalar_one()
        return now  # timestamptz: psycopg gives it aware
    return datetime.now(UTC)


def idle_limit_ms(ttl: float) -> int:
    """How long a session that holds the lease row may sit idle in a transaction before the
    server ends it: half a lease, so a paused leader cannot keep the row locked past it."""
    return max(1000, int(ttl * 500))


def claim(
    engine: Engine, instance: str, ttl: float, *, dead: Collection[str] = ()
) -> tuple[Holder | None, Holder | None]:
    """Take or keep the lease: (this instance's lease or None, whoever holds it now)."""
    with begin(engine) as conn:
        if conn.dialect.name == "postgresql":
            # never wait long behind a paused leader's transaction: try again next round
            conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            # and a leader paused in here (SIGSTOP, a frozen VM), the row locked FOR UPDATE
            # and its connection alive, has its session ended by the server, as on the
            # leader's engine: otherwise nobody could ever take the lease from it
            conn.exec_driver_sql(
                f"SET LOCAL idle_in_transaction_session_timeout = {idle_limit_ms(ttl)}"
            )
        now = store_now(conn)
        row = conn.execute(
            select(cluster_lease).where(cluster_lease.c.name == LEADER).with_for_update()
        ).first()
        until = now + timedelta(seconds=ttl)
        if row is None:
            new = {"name": LEADER, "instance": instance, "token": 1, "acquired_at": now,
                   "expires_at": until}  # fmt: skip
            conn.execute(insert(cluster_lease).values(**new))
            mine = Holder(instance, 1, now, until)
            return mine, mine
        current = Holder(row.instance, int(row.token), row.acquired_at,
                         row.expires_at)  # fmt: skip
        if row.instance == instance:
            values: dict[str, Any] = {"expires_at": until}
            mine = Holder(instance, current.token, current.acquired_at, until)
        elif current.expires_at <= now or row.instance in dead:
            values = {"instance": instance, "token": current.token + 1, "acquired_at": now,
                      "expires_at": until}  # fmt: skip
            mine = Holder(instance, current.token + 1, now, until, taken_from=current.instance)
        else:
            return None, current
        conn.execute(update(cluster_lease).where(cluster_lease.c.name == LEADER).values(**values))
        return mine, mine


def release(engine: Engine, instance: str, token: int) -> None:
    """Give the lease up at a clean stop, so a follower takes over at once."""
    with begin(engine) as conn:
        past = store_now(conn) - timedelta(seconds=1)
        conn.execute(
            update(cluster_lease)
            .where(
                cluster_lease.c.name == LEADER,
                cluster_lease.c.instance == instance,
                cluster_lease.c.token == token,
            )
            .values(expires_at=past)
        )


def holder(conn: Connection) -> Holder | None:
    row = conn.execute(select(cluster_lease).where(cluster_lease.c.name == LEADER)).first()
    if row is None:
        return None
    return Holder(row.instance, int(row.token), row.acquired_at, row.expires_at)


class Fence:
    """The token this instance leads with (None: it does not lead), checked at the start of
    every transaction on the leader's engine."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.token: int | None = None

    def attach(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            return  # SQLite serves one instance (the lease refuses a second): nothing to fence

        @event.listens_for(engine, "begin")
        def _check(conn: Any) -> None:
            token = self.token
            row = conn.exec_driver_sql(
                "SELECT token FROM cluster_lease WHERE name = %(name)s AND instance = %(me)s "
                "AND expires_at > statement_timestamp() FOR SHARE",
                {"name": LEADER, "me": self.instance},
            ).first()
            if token is None or row is None or int(row[0]) != token:
                raise NotLeader(f"{self.instance} no longer holds the leader's lease")


def default_instance(listen: str) -> str:
    """This host's name and the daemon's port: stable across restarts, unique per host."""
    return f"{socket.gethostname()}:{listen.rsplit(':', 1)[-1]}"


def this_process() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()
