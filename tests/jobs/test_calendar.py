"""The calendar's rules, in process: cron on a time zone's wall clock across DST, what is
caught up, when a job is overdue, and a scheduled time taken once (both stores)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from opsbook.jobs import records
from opsbook.jobs.calendar import assess, missed, next_fire, prev_fire
from opsbook.jobs.records import JobState, Trigger
from opsbook.status import Status

PARIS = "Europe/Paris"


def _fires(cron: str, start: datetime, count: int, tz: str = PARIS) -> list[datetime]:
    out, at = [], start
    for _ in range(count):
        at = next_fire(cron, at, tz)
        out.append(at)
    return out


def test_cron_reads_the_wall_clock_of_its_zone_across_spring_forward() -> None:
    # 2026-03-29: Paris goes from 02:00 CET to 03:00 CEST; 02:30 does not exist that night
    fires = _fires("30 1-4 * * *", datetime(2026, 3, 28, 23, 0, tzinfo=UTC), 5)
    assert [f.strftime("%d %H:%M") for f in fires] == [
        "29 00:30",  # 01:30 CET
        "29 01:00",  # 02:30 does not exist: at 03:00 CEST, the first minute that does
        "29 01:30",  # 03:30 CEST
        "29 02:30",  # 04:30 CEST
        "29 23:30",  # the next day's 01:30 CEST
    ]


def test_the_repeated_hour_of_fall_back_runs_once() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice on the wall clock
    fires = _fires("30 1-3 * * *", datetime(2026, 10, 24, 22, 0, tzinfo=UTC), 4)
    assert [f.strftime("%d %H:%M") for f in fires] == ["24 23:30", "25 00:30", "25 02:30",
                                                       "26 00:30"]  # fmt: skip
    in_repeat = datetime(2026, 10, 25, 1, 45, tzinfo=UTC)  # 02:45 CET, the second time round
    assert prev_fire("30 2 * * *", in_repeat, PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_only_the_latest_missed_time_after_the_job_was_known_is_caught_up() -> None:
    known = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # down since the 1st: three 03:00s missed
    assert missed("0 3 * * *", "UTC", JobState(known, None), now) == now.replace(hour=3)
    taken = JobState(known, now.replace(hour=3))
    assert missed("0 3 * * *", "UTC", taken, now) is None  # already run (or caught up)
    new = JobState(now - timedelta(hours=1), None)
    assert missed("0 3 * * *", "UTC", new, now) is None  # added today, after 03:00


def _run(job: str, started: datetime, status: Status | None, summary: str = "") -> records.Run:
    finished = started + timedelta(minutes=1) if status is not None else None
    return records.Run(1, job, Trigger.SCHEDULE, started, started, started + timedelta(hours=1),
                       finished, status, summary, "", None, "opsbook serve")  # fmt: skip


def test_a_job_is_overdue_when_its_time_passed_without_a_run() -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    state = JobState(now - timedelta(days=10), None)
    yesterday = _run("db", now - timedelta(days=1, hours=6), Status.OK, "vacuumed 12 tables")
    late = assess("db", "0 3 * * *", "UTC", 3600.0, state, [yesterday], now)
    assert late.status is Status.CRITICAL
    assert "overdue: the run due at 2026-12-03 03:00 UTC has not happened" in late.message
    today = _run("db", now - timedelta(hours=6), Status.WARNING, "2 indexes bloated")
    fine = assess("db", "0 3 * * *", "UTC", 3600.0, state, [today, yesterday], now)
    assert (fine.status, fine.message) == (
        Status.WARNING,
        "last run WARNING 5h 59m ago: 2 indexes bloated",
    )
    just_due = datetime(2026, 12, 3, 3, 30, tzinfo=UTC)  # within timeout + grace: not yet
    assert (
        assess("db", "0 3 * * *", "UTC", 3600.0, state, [yesterday], just_due).status is Status.OK
    )
    fresh = JobState(now - timedelta(hours=1), None)  # configured an hour ago: nothing due
    never = assess("db", "0 3 * * *", "UTC", 3600.0, fresh, [], now)
    assert (never.status, never.message) == (Status.OK, "db has not run yet")


def test_a_scheduled_time_is_claimed_once(engine: Engine) -> None:
    now = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    records.know(engine, ["audit"], now - timedelta(days=1))
    assert records.claim_slot(engine, "audit", now)
    assert not records.claim_slot(engine, "audit", now)  # a second daemon, the same slot
    assert not records.claim_slot(engine, "audit", now - timedelta(days=1))  # an older one
    assert records.claim_slot(engine, "audit", now + timedelta(days=1))
    assert records.states(engine)["audit"].last_slot == now + timedelta(days=1)


def test_a_run_whose_process_died_is_ended_as_abandoned(engine: Engine) -> None:
    now = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    run_id = records.start(engine, "audit", Trigger.SCHEDULE, now, now, 600.0, "opsbook serve")
    assert records.abandon(engine, now + timedelta(minutes=5)) == 0  # alive, within deadline
    assert records.abandon(engine, now + timedelta(minutes=12)) == 1  # its deadline long past
    run = records.get(engine, run_id)
    assert run is not None and run.status is Status.UNKNOWN
    assert run.summary.startswith("abandoned")


def test_old_runs_and_older_output_are_forgotten(engine: Engine) -> None:
    now = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    for days in (1, 40, 500):
        at = now - timedelta(days=days)
        run_id = records.start(engine, "audit", Trigger.SCHEDULE, at, at, 60.0, "t")
        records.finish(engine, run_id, Status.OK, f"{days}d", "lines\n" * 3, {"n": days}, at)
    assert records.prune(engine, now, keep_runs=400 * 86400, keep_output=30 * 86400) == 1
    kept = {r.summary: r for r in records.runs(engine, "audit")}
    assert set(kept) == {"1d", "40d"}
    assert kept["1d"].output and not kept["40d"].output  # the summary and findings stay
    assert kept["40d"].data == {"n": 40}
