"""``opsbook cluster status``: the deployment as JSON and as a table."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from opsbook.output.table import Cell, Column, Style, render
from opsbook.timefmt import human, iso
from opsbook.units import format_duration

if TYPE_CHECKING:
    from opsbook.cluster.members import Cluster, Member


_STYLE: dict[str, Style] = {"leader": "green", "gone": "red", "stopped": "magenta"}


def _state(m: Member, c: Cluster, gone_after: float) -> str:
    if m.role.value == "stopped":
        return "stopped"
    if (c.now - m.seen_at).total_seconds() > gone_after:
        return "gone"
    return m.role.value


def cluster_json(c: Cluster, gone_after: float) -> dict[str, Any]:
    lease = c.leader
    return {
        "now": iso(c.now),
        "leader": None if lease is None else {
            "instance": lease.instance,
            "token": lease.token,
            "since": iso(lease.acquired_at),
            "expires_at": iso(lease.expires_at),
            "valid": lease.expires_at > c.now,
        },
        "members": [
            {"instance": m.instance, "state": _state(m, c, gone_after), "host": m.host,
             "pid": m.pid, "version": m.version, "started_at": iso(m.started_at),
             "seen_at": iso(m.seen_at),
             "seen_seconds_ago": round((c.now - m.seen_at).total_seconds(), 1)}
            for m in c.members
        ],
    }  # fmt: skip


def cluster_text(c: Cluster, gone_after: float, tz: tzinfo) -> str:
    lease = c.leader
    if lease is None:
        head = "no leader yet: no opsbook serve has run on this store"
    elif lease.expires_at > c.now:
        left = (lease.expires_at - c.now).total_seconds()
        held = format_duration((c.now - lease.acquired_at).total_seconds())
        head = (f"leader: {lease.instance} for {held} (lease token {lease.token}, "
                f"renewed, expires in {left:.1f} s)")  # fmt: skip
    else:
        ago = format_duration((c.now - lease.expires_at).total_seconds())
        head = f"NO LEADER: {lease.instance}'s lease expired {ago} ago and nobody took it"
    if not c.members:
        return head
    columns = [Column("INSTANCE"), Column("STATE"), Column("HOST"), Column("PID", align="right"),
               Column("VERSION"), Column("SEEN", align="right"), Column("UP SINCE")]  # fmt: skip
    rows: list[list[Cell | str]] = []
    for m in c.members:
        state = _state(m, c, gone_after)
        style = _STYLE.get(state)
        seen = format_duration(max(0.0, (c.now - m.seen_at).total_seconds())) + " ago"
        rows.append([m.instance, Cell(state, style) if style else state, m.host, str(m.pid),
                     m.version, seen, human(m.started_at, tz)])  # fmt: skip
    return head + "\n" + render(columns, rows)
