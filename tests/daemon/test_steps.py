"""The daemon's steps called in-process (no process, no sleeping): what a crashing task does,
what /health says, and that results flow into alerts and incidents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from opsbook.config.loader import load_config
from opsbook.daemon.main import Daemon
from opsbook.results import CheckKind, Result, Unit
from opsbook.status import Status
from opsbook.store.open import open_store
from opsbook.web.app import create_app
from tests.support.store import FakeClock

CONFIG = """
service: fraiseql
store: sqlite:///{root}/opsbook.db
checks:
  cache: {{type: redis, url: "redis://127.0.0.1:1", for: 0s, severity: SEV-1}}
"""


def daemon(tmp_path: Path, clock: FakeClock) -> Daemon:
    (tmp_path / "opsbook.yaml").write_text(CONFIG.format(root=tmp_path))
    loaded = load_config(str(tmp_path / "opsbook.yaml"))
    return Daemon(loaded, open_store(loaded.config.store), clock=clock)


def run(d: Daemon, steps: Any) -> Any:
    async def go() -> Any:
        await d.open()
        try:
            return await steps()
        finally:
            d.store_thread.shutdown(wait=True)

    return asyncio.run(go())


def test_a_crashed_task_raises_an_alert_about_opsbook_and_its_recovery_resolves_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    d = daemon(tmp_path, clock)

    async def steps() -> tuple[list[Any], list[Any], list[str], Any]:
        d.supervisor.records["pipeline"] = _crashed_record()
        await d._crashed("pipeline", RuntimeError("a bug"), 1)
        opened = d.incidents.list()
        problems = list(d.state.task_problems)
        d.supervisor.records["pipeline"].started_at = (
            d.supervisor.records["pipeline"].crashed_at + 1
        )
        d.supervisor.healthy_after = 0  # it has run long enough since
        clock.advance(minutes=2)
        await d.housekeep()
        return opened, d.incidents.list(), problems, d.processor.alerts["opsbook:task:pipeline"]

    opened, after, problems, alert = run(d, steps)
    [incident] = opened
    assert incident.severity == 2
    assert incident.title == (
        "opsbook-pipeline: opsbook serve's pipeline task crashed (1 in a row): RuntimeError: a bug"
    )
    assert problems == ["task pipeline crashed 1 time: RuntimeError: a bug"]
    assert d.state.task_restarts == {"pipeline": 1}
    assert alert.state.value == "inactive"  # resolved once the task ran a while
    assert after[0].id == incident.id


def test_health_is_degraded_while_a_task_is_failing(tmp_path: Path, clock: FakeClock) -> None:
    d = daemon(tmp_path, clock)
    transport = httpx.ASGITransport(app=create_app(d))

    async def calls() -> tuple[httpx.Response, httpx.Response, str]:
        async with httpx.AsyncClient(transport=transport, base_url="http://opsbook") as client:
            before = await client.get("/health")
            d.state.task_problems = ["task paging crashed 2 times: KeyError: 'x'"]
            d.state.task_restarts = {"paging": 2}
            after = await client.get("/health")
            metrics = (await client.get("/metrics")).text
        return before, after, metrics

    before, after, metrics = asyncio.run(calls())
    assert before.status_code == 200 and before.json()["status"] == "ok"
    assert after.status_code == 503
    assert after.json()["problems"] == ["task paging crashed 2 times: KeyError: 'x'"]
    assert 'opsbook_task_restarts_total{task="paging"} 2.0' in metrics


def test_a_batch_of_results_opens_an_incident_and_updates_the_counts(
    tmp_path: Path, clock: FakeClock
) -> None:
    d = daemon(tmp_path, clock)
    bad = Result("cache", CheckKind.REDIS, "redis://127.0.0.1:1", Status.CRITICAL,
                 "connection refused", None, Unit.COUNT, 0.01, clock.now)  # fmt: skip

    async def steps() -> bool:
        return await d.process([bad])

    assert run(d, steps) is True
    assert d.state.firing_by_severity == {1: 1}
    assert d.state.open_incidents_by_severity == {1: 1}
    assert d.state.store_ok


def _crashed_record() -> Any:
    from opsbook.daemon.supervisor import TaskRecord

    return TaskRecord("pipeline", crashes=1, restarts=1, last_error="RuntimeError: a bug",
                      started_at=10.0, crashed_at=11.0)  # fmt: skip


def test_opsbooks_own_shortage_degrades_health_and_is_not_the_checks_status(
    tmp_path: Path, clock: FakeClock
) -> None:
    d = daemon(tmp_path, clock)
    ok = Result("cache", CheckKind.REDIS, "r", Status.OK, "PONG", None, Unit.COUNT, 0, clock.now)
    short = Result("cache", CheckKind.REDIS, "r", Status.UNKNOWN,
                   "not measured: opsbook: Too many open files", None, Unit.COUNT, 0, clock.now,
                   local_fault=True)  # fmt: skip
    d.state.record(ok, 0.0)
    d.state.record(short, 0.0)
    transport = httpx.ASGITransport(app=create_app(d))

    async def calls() -> tuple[httpx.Response, str]:
        async with httpx.AsyncClient(transport=transport, base_url="http://opsbook") as client:
            return await client.get("/health"), (await client.get("/metrics")).text

    health, metrics = asyncio.run(calls())
    assert health.status_code == 503
    assert health.json()["problems"] == [
        "opsbook could not run 1 check(s) (cache): not measured: opsbook: Too many open files"
    ]
    assert 'opsbook_check_status{check="cache",type="redis"} 0.0' in metrics  # still its last


def test_healthy_results_wait_for_company_but_a_failure_ends_the_wait(
    tmp_path: Path, clock: FakeClock
) -> None:
    from opsbook.daemon.pipeline import pipeline

    d = daemon(tmp_path, clock)

    def result(status: Status) -> Result:
        return Result("cache", CheckKind.REDIS, "r", status, status.name, None, Unit.COUNT,
                      0.01, clock.now)  # fmt: skip

    async def steps() -> tuple[int, int, bool, bool]:
        await d.process([result(Status.OK)])  # the alert now knows the check is healthy
        assert not d.processor.urgent(result(Status.OK))
        assert d.processor.urgent(result(Status.CRITICAL))
        task = asyncio.create_task(pipeline(d, quiet=3600))  # healthy ones would wait an hour
        d.queue.put_nowait(result(Status.OK))
        d.queue.put_nowait(result(Status.OK))
        await asyncio.sleep(0.3)
        held = d.processor.alerts["check:cache"].last_status
        held_incidents = len(d.incidents.list())
        d.queue.put_nowait(result(Status.CRITICAL))
        for _ in range(300):  # liveness, not speed: an hour's wait would never get here
            if d.incidents.list():
                break
            await asyncio.sleep(0.05)
        d.leader_stop.set()
        await asyncio.wait_for(task, 10)
        return held_incidents, len(d.incidents.list()), held is Status.OK, d.queue.empty()

    held_incidents, incidents, ok_before, drained = run(d, steps)
    assert held_incidents == 0 and incidents == 1 and ok_before and drained
