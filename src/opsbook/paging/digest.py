"""SEV-4 is never a page: informational incidents go into one daily digest, sent at
`paging.digest_at` (in `timezone:`) to the SEV-4 audience of the communication rule."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select

from opsbook.config.paging_section import Paging
from opsbook.incidents.model import ACTIVE_PHASES
from opsbook.paging.message import Kind, Message
from opsbook.paging.outbox import enqueue
from opsbook.paging.schedule import Layer
from opsbook.paging.targets import Route, person_routes, resolve
from opsbook.store.tables import incidents, outbox
from opsbook.timefmt import zone


def send_digest(
    conn: Connection,
    now: datetime,
    paging: Paging,
    timezone: str | None,
    layers: dict[str, list[Layer]],
    overrides: Sequence[Any],
) -> int:
    """Queue today's digest once it is due and not yet sent; returns notifications queued."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    hour, minute = (int(p) for p in paging.settings.digest_at.split(":"))
    if local.time() < time(hour, minute):
        return 0
    day = local.date().isoformat()
    if conn.execute(select(outbox.c.id).where(outbox.c.key.like(f"digest:{day}:%"))).first():
        return 0
    rows = conn.execute(
        select(incidents.c.id, incidents.c.title, incidents.c.phase, incidents.c.opened_at)
        .where(incidents.c.severity == 4)
        .where(
            or_(
                incidents.c.opened_at >= now - timedelta(days=1),
                incidents.c.phase.in_([p.value for p in ACTIVE_PHASES]),
            )
        )
        .order_by(incidents.c.opened_at)
    ).all()
    if not rows:
        return 0
    lines = [
        f"- {r.id} ({r.phase}, opened {r.opened_at.astimezone(tz):%Y-%m-%d %H:%M}): {r.title}"
        for r in rows
    ]
    subject = (
        f"[opsbook] daily digest: {len(rows)} informational incident{'s' if len(rows) != 1 else ''}"
    )
    text = (
        subject
        + "\n\nSEV-4, for the weekly review; nobody was paged.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    message = Message(
        kind=Kind.DIGEST, subject=subject, text=text, html="<pre>" + html.escape(text) + "</pre>"
    )
    audience = resolve(paging.communication.get(4, []), paging, layers, overrides, now)
    routes = [r for p in audience.people for r in person_routes(p, paging)]
    routes += [Route(c, c, None) for c in audience.channels]
    return sum(
        enqueue(
            conn,
            key=f"digest:{day}:{r.channel}:{r.recipient}",
            incident_id=None,
            channel=r.channel,
            recipient=r.recipient,
            message=message,
            now=now,
        )
        for r in routes
    )
