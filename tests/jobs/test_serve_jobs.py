"""The calendar run by a real `opsbook serve`, on a fast test clock (OPSBOOK_TEST_CLOCK): cron
in a time zone across a DST change, catch-up once after downtime, a timeout that kills a
whole process tree, a failing job that alerts and reports, and one run per scheduled time
with two daemons on one PostgreSQL store."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from opsbook.store.tables import job_runs, job_state
from tests.support.daemon import Daemon
from tests.support.receivers import HttpReceiver
from tests.support.servers import PostgresServer

CHECKS = "checks:\n  mem: {type: memory, interval: 60s}\n"


def runs(store: str, job: str | None = None) -> list[Any]:
    engine = create_engine(store.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            query = select(job_runs).order_by(job_runs.c.id)
            if job is not None:
                query = query.where(job_runs.c.job == job)
            return list(conn.execute(query))
    finally:
        engine.dispose()


def _known(store: str) -> list[Any]:
    engine = create_engine(store.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(job_state)))
    finally:
        engine.dispose()


def finished(store: str, job: str, n: int) -> list[Any] | None:
    done = [r for r in runs(store, job) if r.finished_at is not None]
    return done if len(done) >= n else None


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.close()


def test_a_job_runs_on_its_wall_clock_across_the_spring_forward_night(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = (
        CHECKS
        + """
jobs:
  night:
    action: command
    schedule: "30 1-4 * * *"
    timezone: Europe/Paris
    command: [sh, -c, "echo ran"]
"""
    )
    d = Daemon(tmp_path, config)
    daemons.append(d)
    # 00:10 Paris on the night clocks go forward, 20 minutes a second
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-03-28T23:10:00Z*1200"})
    done = d.wait_for(lambda: finished(d.store, "night", 4), "four runs of the night", 40)
    slots = [r.slot.replace(tzinfo=UTC).strftime("%H:%M") for r in done[:4]]
    # 01:30 CET, 03:00 CEST (02:30 did not exist), 03:30 CEST, 04:30 CEST
    assert slots == ["00:30", "01:00", "01:30", "02:30"]
    assert {r.trigger for r in done} == {"schedule"}
    assert all(r.status == 0 and r.summary == "ran" for r in done)


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_a_missed_run_is_caught_up_once_and_one_that_is_not_alerts_as_overdue(
    tmp_path: Path, daemons: list[Daemon], store_kind: str, request: pytest.FixtureRequest
) -> None:
    store = None
    if store_kind == "postgresql":
        store = request.getfixturevalue("pg_fresh").dsn()
    config = (
        CHECKS
        + f"""
jobs:
  report:
    action: command
    schedule: "0 3 * * *"
    timezone: UTC
    command: [sh, -c, "echo caught >> {tmp_path}/report.txt; echo reported"]
  audit:
    action: command
    schedule: "0 3 * * *"
    timezone: UTC
    catch_up: false
    severity: SEV-2
    command: [sh, -c, "echo audit >> {tmp_path}/audit.txt"]
"""
    )
    d = Daemon(tmp_path, config, store=store)
    daemons.append(d)
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-01T12:00:00Z*1"})  # both become known
    d.wait_for(lambda: len(_known(d.store)) == 2, "both jobs recorded as known")
    d.stop()
    # three days later: down over three 03:00s
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-04T10:00:00Z*1"})
    [caught] = d.wait_for(lambda: finished(d.store, "report", 1), "the catch-up run")
    assert (caught.trigger, caught.slot.replace(tzinfo=UTC)) == (
        "catch-up",
        datetime(2026, 12, 4, 3, 0, tzinfo=UTC),
    )
    [incident] = d.wait_for(lambda: [i for i in d.incidents() if "job-audit" in i.title],
                            "an incident for the overdue audit")  # fmt: skip
    assert incident.severity == 2 and "overdue" in incident.title
    assert runs(d.store, "audit") == []  # catch_up: false
    d.stop()
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-04T10:05:00Z*1"})  # and again: nothing new
    time.sleep(2)
    assert len(runs(d.store, "report")) == 1
    assert (tmp_path / "report.txt").read_text() == "caught\n"


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_a_job_over_its_timeout_is_killed_with_its_children_and_a_failure_alerts_and_reports(
    tmp_path: Path, daemons: list[Daemon], store_kind: str, request: pytest.FixtureRequest
) -> None:
    hook = HttpReceiver()
    pidfile = tmp_path / "child.pid"
    config = (
        CHECKS
        + f"""
channels:
  ops-hook: {{type: webhook, url: "{hook.url}"}}
jobs:
  hang:
    action: command
    schedule: "0 9 * * *"
    timeout: 2s
    shell: true
    command: "sleep 300 & echo $! > {pidfile}; wait"
  broken:
    action: command
    schedule: "0 9 * * *"
    notify: ops-hook
    severity: SEV-3
    command: [sh, -c, "echo 'CRITICAL - 3 images with fixable HIGH CVEs'; exit 2"]
"""
    )
    d = Daemon(tmp_path, config)
    daemons.append(d)
    try:
        d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-03T08:59:58Z*1"})
        [hung] = d.wait_for(lambda: finished(d.store, "hang", 1), "the hung job's end", 30)
        assert hung.status == 2 and hung.summary == "timed out after 2 s; killed"
        child = int(pidfile.read_text())
        d.wait_for(lambda: not _alive(child), "the job's own child to be killed too", 10)
        [failed] = d.wait_for(lambda: finished(d.store, "broken", 1), "the failing run")
        assert (failed.status, failed.summary) == (2, "CRITICAL - 3 images with fixable HIGH CVEs")
        incidents = d.wait_for(
            lambda: {i.title.split(":")[0]: i for i in d.incidents()} if len(d.incidents()) >= 2
            else None, "incidents for both jobs")  # fmt: skip
        assert incidents["job-broken"].severity == 3
        assert "last run CRITICAL" in incidents["job-broken"].title
        assert "timed out" in incidents["job-hang"].title
        [report] = d.wait_for(lambda: [b for b in hook.bodies() if b["kind"] == "report"],
                              "the report on the webhook")  # fmt: skip
        assert report["subject"].startswith("[opsbook] fraiseql: job broken CRITICAL")
        assert "CRITICAL - 3 images with fixable HIGH CVEs" in report["text"]
    finally:
        hook.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_two_daemons_on_one_store_run_each_scheduled_time_once(
    tmp_path: Path, daemons: list[Daemon], pg_fresh: PostgresServer
) -> None:
    ticks = tmp_path / "ticks.txt"
    config = (
        CHECKS
        + f"""
jobs:
  tick:
    action: command
    schedule: "*/10 * * * *"
    command: [sh, -c, "echo $$ >> {ticks}"]
"""
    )
    clock = {"OPSBOOK_TEST_CLOCK": "2026-12-03T08:00:00Z*600"}  # ten minutes a second
    for name in ("a", "b"):
        d = Daemon(tmp_path / name, config, store=pg_fresh.dsn(),
                   server=f"instance: opsbook-{name}\nfailover: 4s")  # fmt: skip
        daemons.append(d)
        d.start(env=clock)
    first = daemons[0]
    first.wait_for(lambda: finished(first.store, "tick", 4), "four ticks")
    leader = next(d for d in daemons if (d.health() or {}).get("role") == "leader")
    leader.kill9()  # the other takes over the calendar
    other = next(d for d in daemons if d is not leader)
    other.wait_for(lambda: (other.health() or {}).get("role") == "leader", "a takeover", 30)
    count = len(runs(other.store, "tick"))
    other.wait_for(lambda: finished(other.store, "tick", count + 3), "ticks after it", 30)
    done = runs(other.store, "tick")
    slots = [r.slot for r in done]
    assert len(slots) == len(set(slots)), "a scheduled time ran twice"
    lines = ticks.read_text().splitlines()
    assert len(lines) == len([r for r in done if r.finished_at is not None or r.status is None])


def test_a_reload_adds_a_job_and_lets_a_running_one_finish(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = (
        CHECKS
        + """
jobs:
  long:
    action: command
    schedule: "0 9 * * *"
    command: [sh, -c, "sleep 6; echo finished"]
"""
    )
    d = Daemon(tmp_path, config)
    daemons.append(d)
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-03T08:59:57Z*10"})
    d.wait_for(lambda: runs(d.store, "long"), "the long job to start")
    d.config.write_text(
        d.config.read_text()
        + """  added:
    action: command
    schedule: "2 9 * * *"
    command: [sh, -c, "echo added"]
"""
    )
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)
    [added] = d.wait_for(lambda: finished(d.store, "added", 1), "the added job's run", 30)
    assert added.slot.replace(tzinfo=UTC) == datetime(2026, 12, 3, 9, 2, tzinfo=UTC)
    [long] = d.wait_for(lambda: finished(d.store, "long", 1), "the long job's end", 30)
    assert (long.status, long.summary) == (0, "finished")  # not killed by the reload
    assert "jobs +1 (added)" in d.logs()


def test_a_job_dies_with_a_killed_daemon_and_its_run_is_recorded_abandoned(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = (
        CHECKS
        + """
jobs:
  long:
    action: command
    schedule: "0 9 * * *"
    command: [sleep, "47.31"]
  missing:
    action: command
    schedule: "0 9 * * *"
    command: [no-such-program-here, --all]
"""
    )
    d = Daemon(tmp_path, config)
    daemons.append(d)
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-03T08:59:58Z*1"})
    d.wait_for(lambda: runs(d.store, "long"), "the long job to start")
    [missing] = d.wait_for(lambda: finished(d.store, "missing", 1), "the missing program's run")
    assert (missing.status, missing.summary) == (
        2,
        "could not start no-such-program-here: no such program",
    )
    d.kill9()
    deadline = time.monotonic() + 10
    while _sleeping("47.31") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _sleeping("47.31"), "the job outlived its daemon"
    d.start(env={"OPSBOOK_TEST_CLOCK": "2026-12-03T09:00:30Z*1"})
    [long] = d.wait_for(lambda: finished(d.store, "long", 1), "the abandoned run's record")
    assert long.status == 3 and long.summary.startswith("abandoned")


def _sleeping(marker: str) -> bool:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False
