"""The supervisor's one policy, in-process: a crash is logged with its traceback, reported,
and the task restarted with a growing pause; a task that returns is done; a crash in one
task never ends another."""

from __future__ import annotations

import asyncio
import logging

import pytest

from opsbook.daemon.supervisor import Supervisor


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_crashing_task_is_logged_reported_and_restarted_while_others_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashes: list[tuple[str, str, int]] = []
    runs = {"flaky": 0, "steady": 0}

    async def flaky() -> None:
        runs["flaky"] += 1
        if runs["flaky"] <= 3:
            raise RuntimeError(f"bug number {runs['flaky']}")
        await asyncio.sleep(3600)

    async def steady() -> None:
        while True:
            runs["steady"] += 1
            await asyncio.sleep(0.001)

    async def on_crash(name: str, exc: BaseException, n: int) -> None:
        crashes.append((name, str(exc), n))

    async def main() -> list[str]:
        sup = Supervisor(on_crash=on_crash, first_pause=0.01)
        sup.start("flaky", flaky)
        sup.start("steady", steady)
        while runs["flaky"] < 4:
            await asyncio.sleep(0.01)
        problems = sup.problems()
        await sup.cancel()
        return problems

    with caplog.at_level(logging.ERROR, logger="opsbook"):
        problems = asyncio.run(main())
    assert crashes == [("flaky", "bug number 1", 1), ("flaky", "bug number 2", 2),
                       ("flaky", "bug number 3", 3)]  # fmt: skip
    assert problems == ["task flaky crashed 3 times: RuntimeError: bug number 3"]
    assert runs["steady"] > 10  # the other task never stopped
    logged = [r for r in caplog.records if "task flaky crashed" in r.getMessage()]
    assert len(logged) == 3 and all(r.exc_info for r in logged)  # with the traceback


def test_the_pause_doubles_and_a_task_healthy_for_a_while_is_cleared() -> None:
    ticks = Ticks()
    pauses: list[float] = []

    async def fails() -> None:
        raise ValueError("down")

    async def no_wait(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    async def main() -> tuple[list[str], list[str], list[str]]:
        sup = Supervisor(first_pause=1.0, healthy_after=60.0, clock=ticks, sleep=no_wait)
        sup.start("fails", fails)
        while len(pauses) < 9:
            await asyncio.sleep(0)
        await sup.cancel()
        failing = sup.problems()
        ticks.now += 1
        sup.records["fails"].started_at = ticks.now  # restarted, and ran without crashing:
        assert sup.recovered() == []  # not yet long enough
        ticks.now += 61
        healed = sup.recovered()
        return failing, healed, sup.problems()

    failing, healed, after = asyncio.run(main())
    assert pauses[:9] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert failing and failing[0].startswith("task fails crashed")
    assert healed == ["fails"] and after == []


def test_a_task_that_returns_is_finished_not_restarted() -> None:
    calls = []

    async def once() -> None:
        calls.append(1)

    async def main() -> bool:
        sup = Supervisor(first_pause=0.01)
        sup.start("once", once)
        await sup.wait("once", timeout=5)
        await asyncio.sleep(0.05)
        return sup.records["once"].finished

    assert asyncio.run(main()) is True
    assert calls == [1]


def test_an_alert_hook_that_fails_does_not_stop_the_restarts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = []

    async def task() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")
        await asyncio.sleep(3600)

    async def broken_hook(name: str, exc: BaseException, n: int) -> None:
        raise OSError("the store is down too")

    async def main() -> None:
        sup = Supervisor(on_crash=broken_hook, first_pause=0.01)
        sup.start("task", task)
        while len(runs) < 3:
            await asyncio.sleep(0.01)
        await sup.cancel()

    with caplog.at_level(logging.ERROR, logger="opsbook"):
        asyncio.run(main())
    assert len(runs) == 3
    assert any("could not raise an alert about task task" in r.getMessage() for r in caplog.records)
