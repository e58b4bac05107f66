"""The escalation engine: small step functions, run by the daemon every second (and at once
when an incident opens), each returning whether it did anything.

- start: an open, unacknowledged SEV-1..3 incident without an escalation gets one, and the
  stakeholders of its severity are told (the runbook's communication rule);
- advance: a due escalation pages its next level (or repeats the last, up to a cap); the
  escalation row is locked (FOR UPDATE SKIP LOCKED) so two daemons never both page;
- stop: an acknowledged or resolved incident stops at once; pages still queued for it are
  cancelled, and those already paged (and PagerDuty) hear that it was acknowledged/resolved;
- digest: SEV-4 incidents go into a daily summary, never a page.

Every page and escalation step is a timeline entry, written in the transaction that queues
the notifications (in the outbox), so nothing decided is ever lost.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from opsbook.config.model import Config
from opsbook.config.paging import LevelConfig, PagerDutyChannel
from opsbook.config.types import split_host_port
from opsbook.incidents.model import ACTIVE_PHASES, EntryKind, Incident, severity_label
from opsbook.incidents.rows import append_entry, to_incident
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging import coverage
from opsbook.paging.channels import PERSON_SLACK
from opsbook.paging.digest import send_digest
from opsbook.paging.escalations import (
    escalate_now,
    insert_escalation,
    stop_escalation,
    what_fired,
)
from opsbook.paging.message import ACK_TOKEN, Kind, Message, for_incident
from opsbook.paging.outbox import cancel_pages, enqueue
from opsbook.paging.overrides import Overrides
from opsbook.paging.schedule import Layer, layers_of
from opsbook.paging.targets import Audience, Route, person_routes, reachability, resolve
from opsbook.playbook.suggest import automatic_runs, incident_checks, suggested_lines
from opsbook.store.tables import escalations, incidents, outbox
from opsbook.store.tx import begin
from opsbook.units import format_duration

ACTOR = "opsbook"
PAGED = (1, 2, 3)
DIGEST_EVERY = timedelta(minutes=1)  # the SEV-4 digest is daily: a minute late is on time


def public_url(config: Config) -> str:
    """Where acknowledgement links point: paging.public_url, else the daemon's own address
    (so changing server.listen moves the links with it)."""
    if config.paging.settings.public_url:
        return config.paging.settings.public_url.rstrip("/")
    host, port = split_host_port(str(config.server.listen))
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


WARN = logging.WARNING


@dataclass(frozen=True)
class Said:
    """A line for the daemon's log: routine paging at INFO; what needs a person (a level that
    reached nobody, an exhausted escalation) at WARNING."""

    text: str
    level: int = logging.INFO

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Paged:
    """Who a level's page is on its way to, and who it cannot reach and why."""

    reached: list[str]  # "alice (email, slack)", "channel ops-hook"
    unreachable: list[str]


def _via(route: Route) -> str:
    return "slack" if route.channel == PERSON_SLACK else route.channel


class Pager:
    def __init__(self, engine: Engine, config: Config, *, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.config = config
        self.paging = config.paging
        self.policy = SeverityPolicy.from_config(config.severities)
        self.clock = clock
        self.layers: dict[str, list[Layer]] = {
            name: layers_of(name, schedule, config.timezone)
            for name, schedule in self.paging.schedules.items()
        }
        self.overrides = Overrides(engine)
        self._digest_checked: datetime | None = None
        self.public_url = public_url(config)
        # pages that could reach nobody since the daemon last looked: an alert of their own
        self.undeliverable: list[str] = []

    # ------------------------------------------------------------------ the ladder

    def ladder(self) -> tuple[LevelConfig, ...]:
        """The configured escalation, or by default every schedule at level 1."""
        return coverage.ladder(self.paging)

    def wait_after(self, level: int, severity: int) -> float:
        """Seconds to wait after paging ``level`` (1-based) before the next."""
        return coverage.wait_after(self.ladder(), self.policy, level, severity)

    # ------------------------------------------------------------------ steps

    def tick(self) -> list[Said]:
        """One round of every step; returns notices for the log."""
        notices: list[Said] = []
        now = self.clock()
        with begin(self.engine) as conn:
            # read only if this round pages or tells someone: most rounds find nothing to do
            overrides = self.overrides.lazy(conn, since=now, until=now + timedelta(seconds=1))
            self.start(conn, now, overrides, notices)
            self.stop_finished(conn, now, notices)
            self.advance(conn, now, overrides, notices)
            sent = 0
            if self._digest_checked is None or now - self._digest_checked >= DIGEST_EVERY:
                self._digest_checked = now  # a daily message: once a minute is on time
                sent = send_digest(conn, now, self.paging, self.config.timezone, self.layers,
                                   overrides)  # fmt: skip
            if sent:
                notices.append(
                    Said(f"SEV-4 digest queued ({sent} notification{'s' if sent != 1 else ''})")
                )
        return notices

    def start(
        self, conn: Connection, now: datetime, overrides: Sequence[Any], notices: list[Said]
    ) -> bool:
        known = select(escalations.c.incident_id)
        query = select(incidents).where(
            incidents.c.phase.in_([p.value for p in ACTIVE_PHASES]), incidents.c.id.not_in(known)
        )
        did = False
        for row in conn.execute(query).all():
            incident = to_incident(row)
            paged = incident.severity in PAGED and incident.acknowledged_at is None
            reason = (
                None
                if paged
                else ("SEV-4: daily digest" if incident.severity == 4 else "already acknowledged")
            )
            inserted = insert_escalation(conn, incident.id, now, paged, reason)
            if not inserted:
                continue  # another daemon took it
            did = True
            self._tell_stakeholders(conn, incident, now, overrides)
            if paged:
                levels = len(self.ladder())
                append_entry(
                    conn,
                    incident.id,
                    now,
                    ACTOR,
                    EntryKind.ESCALATION,
                    f"escalation started: {levels} level{'s' if levels != 1 else ''}, "
                    f"{severity_label(incident.severity)} target "
                    f"{format_duration(self.policy.get(incident.severity).response)}",
                    {"levels": levels},
                )
        return did

    def advance(
        self, conn: Connection, now: datetime, overrides: Sequence[Any], notices: list[Said]
    ) -> bool:
        due = (
            select(escalations)
            .where(escalations.c.stopped_at.is_(None), escalations.c.next_at <= now)
            .with_for_update(skip_locked=True)
        )
        did = False
        ladder = self.ladder()
        for esc in conn.execute(due).all():
            incident = to_incident(
                conn.execute(select(incidents).where(incidents.c.id == esc.incident_id)).one()
            )
            if not incident.is_open or incident.acknowledged_at is not None:
                continue  # stop_finished deals with it
            did = True
            if not ladder:
                stop_escalation(
                    conn, incident.id, now, "nobody to page: no schedules or escalation"
                )
                continue
            if esc.level < len(ladder):
                level, repeats = esc.level + 1, esc.repeats
            elif esc.repeats < self.paging.settings.max_repeats:
                level, repeats = esc.level, esc.repeats + 1
            else:
                stop_escalation(conn, incident.id, now, "exhausted")
                append_entry(
                    conn,
                    incident.id,
                    now,
                    ACTOR,
                    EntryKind.ESCALATION,
                    "escalation exhausted: nobody acknowledged after every level and "
                    f"{esc.repeats} repeats",
                    {"state": "exhausted"},
                )
                notices.append(
                    Said(f"{incident.id}: escalation exhausted, nobody acknowledged", WARN)
                )
                continue
            wait = (
                self.paging.settings.repeat_every
                if repeats > esc.repeats
                else self.wait_after(level, incident.severity)
            )
            conn.execute(
                update(escalations)
                .where(escalations.c.incident_id == incident.id)
                .values(level=level, repeats=repeats, next_at=now + timedelta(seconds=float(wait)))
            )
            names = ladder[level - 1].who
            audience = resolve(names, self.paging, self.layers, overrides, now)
            paged = self._page(conn, incident, level, repeats, audience, now, overrides)
            name = ladder[level - 1].name or f"level {level}"
            again = f" (repeat {repeats})" if repeats else ""
            data = {"level": level, "repeat": repeats, "people": list(audience.people),
                    "channels": list(audience.channels), "reached": paged.reached,
                    "not_reachable": paged.unreachable}  # fmt: skip
            if not paged.reached:
                why = "; ".join(paged.unreachable) or f"nobody on call for {', '.join(names)}"
                self._not_delivered(conn, incident.id, level, len(ladder), now,
                                    f"{name}{again}: {why}", data)  # fmt: skip
                notices.append(
                    Said(f"{incident.id}: level {level}{again} reached nobody: {why}", WARN)
                )
                continue
            text = f"paging {name}{again}: {', '.join(paged.reached)}"
            if paged.unreachable:
                text += f"; not reachable: {'; '.join(paged.unreachable)}"
            append_entry(conn, incident.id, now, ACTOR, EntryKind.PAGE, text, data)
            notices.append(Said(f"{incident.id}: {text}"))
        return did

    def _not_delivered(
        self, conn: Connection, incident_id: str, level: int, levels: int, now: datetime,
        what: str, data: dict[str, Any],
    ) -> None:  # fmt: skip
        """A level that can reach nobody: said on the timeline, the next level at once, and
        an alert about paging itself (the daemon raises it from ``undeliverable``)."""
        append_entry(conn, incident_id, now, ACTOR, EntryKind.PAGE, f"NOT DELIVERED: {what}",
                     {**data, "delivered": False})  # fmt: skip
        if level < levels:
            escalate_now(conn, incident_id, now)
        self.undeliverable.append(f"{incident_id} {what}")

    def stop_finished(self, conn: Connection, now: datetime, notices: list[Said]) -> bool:
        """Acknowledged or resolved: stop escalating, say so to whoever was paged."""
        running = select(
            escalations, incidents.c.acknowledged_at, incidents.c.acknowledged_by, incidents.c.phase
        ).join(incidents, incidents.c.id == escalations.c.incident_id)
        did = False
        for row in conn.execute(running).all():
            open_ = row.phase in {p.value for p in ACTIVE_PHASES}
            if row.stopped_at is None and (row.acknowledged_at is not None or not open_):
                reason = "acknowledged" if open_ else "resolved"
                stop_escalation(conn, row.incident_id, now, reason)
                cancelled = cancel_pages(conn, row.incident_id)
                text = f"escalation stopped: {reason}" + (
                    f" by {row.acknowledged_by}" if open_ else ""
                )
                if cancelled:
                    text += f"; {cancelled} queued page{'s' if cancelled != 1 else ''} cancelled"
                append_entry(
                    conn,
                    row.incident_id,
                    now,
                    ACTOR,
                    EntryKind.ESCALATION,
                    text,
                    {"state": "stopped", "reason": reason},
                )
                notices.append(Said(f"{row.incident_id}: {text}"))
                did = True
            if row.acknowledged_at is not None and not row.acked_sent:
                did |= self._follow_up(conn, row.incident_id, Kind.ACK, now, "acked_sent")
            if not open_ and not row.resolved_sent:
                did |= self._follow_up(conn, row.incident_id, Kind.RESOLVE, now, "resolved_sent")
        return did

    # ------------------------------------------------------------------ notifications

    def _page(
        self,
        conn: Connection,
        incident: Incident,
        level: int,
        repeat: int,
        audience: Audience,
        now: datetime,
        overrides: Sequence[Any],
    ) -> Paged:
        fired = what_fired(conn, incident)
        on_call = self._on_call_now(now, overrides)
        actions = self.config.actions
        suggest = (suggested_lines(actions, incident.id, incident_checks(conn, incident.id))
                   if actions else [])  # fmt: skip
        done = "\n".join(automatic_runs(conn, incident.id)) if actions else ""
        reached: list[str] = []
        unreachable: list[str] = []
        step = f"page:{level}:{repeat}"
        for person in audience.people:
            url = f"{self.public_url}/ack/{ACK_TOKEN}"  # the token is issued when it is sent
            message = for_incident(
                Kind.PAGE,
                incident,
                now,
                fired=fired,
                on_call=on_call,
                ack_url=url,
                level=level,
                suggest=suggest,
                note=done,
            )
            routes, why = reachability(person, self.paging)
            unreachable += why
            for route in routes:
                self._queue(conn, incident, step, route, message, now)
            if routes:
                reached.append(f"{person} ({', '.join(_via(r) for r in routes)})")
        for channel in audience.channels:
            # A shared channel's link acknowledges as the channel ("ops-hook (ack link)").
            link = f"{self.public_url}/ack/{ACK_TOKEN}"
            message = for_incident(
                Kind.PAGE,
                incident,
                now,
                fired=fired,
                on_call=on_call,
                ack_url=link,
                level=level,
                suggest=suggest,
                note=done,
            )
            self._queue(conn, incident, step, Route(channel, channel, None), message, now)
            reached.append(f"channel {channel}")
        return Paged(reached, unreachable)

    def _tell_stakeholders(
        self, conn: Connection, incident: Incident, now: datetime, overrides: Sequence[Any]
    ) -> None:
        groups = self.paging.communication.get(incident.severity, [])
        if incident.severity == 4 or not groups:
            return  # SEV-4 reaches people in the daily digest
        audience = resolve(groups, self.paging, self.layers, overrides, now)
        message = for_incident(
            Kind.UPDATE,
            incident,
            now,
            fired=what_fired(conn, incident),
            on_call=self._on_call_now(now, overrides),
            ack_url=None,
        )
        routes = [
            r
            for p in audience.people
            for r in person_routes(p, self.paging)
            if not isinstance(self.paging.channels.get(r.channel), PagerDutyChannel)
        ]
        routes += [Route(c, c, None) for c in audience.channels]
        count = sum(self._queue(conn, incident, "update", r, message, now) for r in routes)
        if count:
            append_entry(
                conn,
                incident.id,
                now,
                ACTOR,
                EntryKind.PAGE,
                f"told {', '.join(groups)}: {', '.join(audience.labels) or 'channels'} "
                f"({count} notification{'s' if count != 1 else ''})",
                {"update": True, "groups": groups},
            )

    def _follow_up(
        self, conn: Connection, incident_id: str, kind: Kind, now: datetime, flag: str
    ) -> bool:
        """Tell every route that was paged (and PagerDuty) that it was acknowledged/resolved."""
        conn.execute(
            update(escalations).where(escalations.c.incident_id == incident_id).values({flag: True})
        )
        incident = to_incident(
            conn.execute(select(incidents).where(incidents.c.id == incident_id)).one()
        )
        paged = conn.execute(
            select(outbox.c.channel, outbox.c.recipient)
            .where(
                outbox.c.incident_id == incident_id,
                outbox.c.kind == Kind.PAGE.value,
                outbox.c.status.in_(["pending", "delivered", "failed"]),
            )
            .distinct()
        ).all()
        who = incident.acknowledged_by if kind is Kind.ACK else None
        note = f"Acknowledged by {who}." if who else "Resolved."
        message = for_incident(
            kind,
            incident,
            now,
            fired=what_fired(conn, incident),
            on_call=None,
            ack_url=None,
            note=note,
        )
        for channel, recipient in paged:
            self._queue(conn, incident, kind.value, Route(channel, recipient, None), message, now)
        return bool(paged)

    def _queue(
        self,
        conn: Connection,
        incident: Incident,
        step: str,
        route: Route,
        message: Message,
        now: datetime,
    ) -> int:
        key = f"{incident.id}:{step}:{route.channel}:{route.recipient}"
        return int(
            enqueue(
                conn,
                key=key,
                incident_id=incident.id,
                channel=route.channel,
                recipient=route.recipient,
                message=message,
                now=now,
            )
        )

    def _on_call_now(self, now: datetime, overrides: Sequence[Any]) -> str | None:
        first = self.ladder()[0].who if self.ladder() else []
        audience = resolve(first, self.paging, self.layers, overrides, now)
        return ", ".join(audience.people) or None
