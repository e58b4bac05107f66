"""A calendar job's report to whoever the job names (``notify:``): a Slack or webhook channel
once, a person by their first contact point that is not a pager, a stakeholder group each
member so. Queued in the outbox like every notification, delivered with its retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from opsbook.config.jobs import JobBase, NotifyOn
from opsbook.config.paging_section import Paging
from opsbook.jobs.records import Run
from opsbook.paging.message import report_message
from opsbook.paging.outbox import enqueue
from opsbook.paging.targets import Route, person_routes
from opsbook.status import Status
from opsbook.store.tx import begin

REPORT_LIMIT = 30_000  # characters: chat services cut long messages; the store keeps it all


def report_routes(target: str, paging: Paging) -> list[Route]:
    if target in paging.channels:
        return [Route(target, target, None)]
    people = paging.stakeholders.get(target, [target] if target in paging.people else [])
    routes = []
    for person in people:
        usable = [r for r in person_routes(person, paging) if not _is_pager(r.channel, paging)]
        routes.extend(usable[:1])
    return routes


def _is_pager(channel: str, paging: Paging) -> bool:
    from opsbook.config.paging import PagerDutyChannel

    return isinstance(paging.channels.get(channel), PagerDutyChannel)


def queue_report(
    engine: Engine,
    paging: Paging,
    target: str,
    *,
    key: str,
    subject: str,
    text: str,
    now: datetime,
) -> int:
    """Queue the report; returns how many notifications were queued (0 when nobody can be
    reached, which the caller says)."""
    if len(text) > REPORT_LIMIT:
        text = text[:REPORT_LIMIT] + "\n… (cut; the whole report: opsbook jobs history)"
    message = report_message(subject, text)
    queued = 0
    with begin(engine) as conn:
        for route in report_routes(target, paging):
            queued += enqueue(
                conn,
                key=f"{key}:{route.channel}:{route.recipient}",
                incident_id=None,
                channel=route.channel,
                recipient=route.recipient,
                message=message,
                now=now,
            )
    return queued


def run_report(service: str, name: str, run: Run) -> tuple[str, str]:
    """The subject and text of a run's report: a built-in action's own report (markdown), or
    a command's summary and the tail of its output."""
    status = run.status.name if run.status is not None else "RUNNING"
    subject = f"[opsbook] {service}: job {name} {status}: {run.summary}"[:200]
    took = f" in {run.duration:.0f}s" if run.duration is not None else ""
    head = f"Job {name} ({run.trigger.value}) {status}{took}: {run.summary}\n"
    body = (run.data or {}).get("report")
    if isinstance(body, str) and body.strip():
        return subject, f"{head}\n{body}"
    if run.output.strip():
        tail = "\n".join(run.output.splitlines()[-40:])
        return subject, f"{head}\nLast lines of its output:\n{tail}\n"
    return subject, head


def tell(
    engine: Engine,
    paging: Paging,
    service: str,
    name: str,
    job: JobBase,
    run: Run,
    *,
    redact: Callable[[str], str],
    now: datetime,
) -> int | None:
    """Queue a run's report for the job's ``notify:``; None when the job wants none for this
    run, else how many notifications were queued (0: nobody could be reached)."""
    if job.notify is None or (job.notify_on is NotifyOn.PROBLEMS and run.status is Status.OK):
        return None
    subject, text = run_report(service, name, run)
    return queue_report(
        engine,
        paging,
        job.notify,
        key=f"job:{name}:{run.id}",
        subject=subject,
        text=redact(text),
        now=now,
    )
