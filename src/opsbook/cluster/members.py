"""The instances of a deployment: each writes its row at every heartbeat; an instance not
seen for a few heartbeats is gone (``opsbook cluster status``, /health, an alert)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from opsbook.cluster.lease import Holder, holder, store_now
from opsbook.store.tables import cluster_members
from opsbook.store.tx import begin, read
from opsbook.store.upsert import upsert


class Role(enum.StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"
    STOPPED = "stopped"  # said at a clean stop


@dataclass(frozen=True)
class Member:
    instance: str
    host: str
    pid: int
    version: str
    role: Role
    started_at: datetime
    seen_at: datetime


@dataclass(frozen=True)
class Cluster:
    now: datetime  # the store's clock
    leader: Holder | None
    members: tuple[Member, ...]


def beat(engine: Engine, member: Member) -> None:
    with begin(engine) as conn:
        seen = store_now(conn)
        values = {"instance": member.instance, "host": member.host, "pid": member.pid,
                  "version": member.version, "role": member.role.value,
                  "started_at": member.started_at, "seen_at": seen}  # fmt: skip
        upsert(conn, cluster_members, values, ["instance"])


def status(engine: Engine) -> Cluster:
    with read(engine) as conn:
        now = store_now(conn)
        rows = conn.execute(select(cluster_members).order_by(cluster_members.c.instance)).all()
        lease = holder(conn)
    members = tuple(
        Member(
            r.instance,
            r.host,
            int(r.pid),
            r.version,
            Role(r.role),
            r.started_at,
            r.seen_at,
        )
        for r in rows
    )
    return Cluster(now, lease, members)
