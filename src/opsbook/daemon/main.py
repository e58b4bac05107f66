"""The daemon: scheduler → results queue → store thread (results, alerts, incidents),
with /health and /metrics served from the same event loop.

Store work runs on one dedicated thread, in order, so the event loop never waits on the
database and SQLite sees a single writer from this process. On SIGTERM/SIGINT: no new check
starts, in-flight checks get a few seconds, queued results are written, the server stops.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import uvicorn

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import AlertState
from opsbook.alerts.processor import AlertProcessor
from opsbook.config.loader import LoadedConfig
from opsbook.config.types import split_host_port
from opsbook.daemon.ack_http import ack_routes
from opsbook.daemon.intake_http import intake_routes
from opsbook.daemon.metrics import Metrics
from opsbook.daemon.retention import roll_up
from opsbook.daemon.scheduler import Scheduler
from opsbook.daemon.state import DaemonState
from opsbook.daemon.watch import Watcher
from opsbook.daemon.web import create_app
from opsbook.errors import OpsbookError
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.model import ACTIVE_PHASES
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging.delivery import Deliverer
from opsbook.paging.pager import Pager
from opsbook.results import Result
from opsbook.store.open import Store

T = TypeVar("T")
log = logging.getLogger("opsbook")
MAX_BATCH = 1000
SUMMARY_EVERY = 5.0  # seconds between refreshes of open-incident counts
RETENTION_EVERY = 3600.0
PAGING_EVERY = 1.0  # seconds between escalation rounds


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Server(uvicorn.Server):
    def capture_signals(self):  # type: ignore[no-untyped-def]
        """The daemon owns SIGTERM/SIGINT; uvicorn must not take them."""
        import contextlib

        return contextlib.nullcontext()


class Daemon:
    def __init__(self, loaded: LoadedConfig, store: Store, *, listen: str | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.store = store
        self.listen = listen or str(self.config.server.listen)
        self.state = DaemonState()
        self.metrics = Metrics(self.state)
        self.queue: asyncio.Queue[Result] = asyncio.Queue()
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbook-store")
        self.incidents = Incidents(
            store.engine, SeverityPolicy.from_config(self.config.severities), clock=utcnow
        )
        self.processor: AlertProcessor | None = None
        self.stop = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        sock = self._bind()
        self.processor = await self._in_store(
            lambda: AlertProcessor(
                self.store.engine,
                self.incidents,
                self.config.checks,
                service=self.config.service,
                redact=self.loaded.redactor,
                clock=utcnow,
                windows=self.config.maintenance,
                timezone=self.config.timezone,
            )
        )
        firing = [a for a in self.processor.alerts.values() if a.state is AlertState.FIRING]
        log.info(
            "opsbook serve: %d checks, store %s, listening on http://%s (%d alerts firing "
            "from before)",
            len(self.config.checks),
            self.store.described,
            self.listen,
            len(firing),
        )
        scheduler = Scheduler(
            self.config.checks,
            self.loaded.redactor,
            self._on_result,
            concurrency=self.config.server.concurrency,
        )
        self.pager = await self._in_store(
            lambda: Pager(self.store.engine, self.config, clock=utcnow)
        )
        self.deliverer = Deliverer(
            self.store.engine, self.config.paging, self._in_store, clock=utcnow
        )
        routes = intake_routes(self.config.intake, self._ingest)
        routes += ack_routes(self.store.engine, self.incidents, self._in_store, self._page_now)
        server = _Server(
            uvicorn.Config(
                create_app(self.state, self.metrics, routes),
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        watcher = Watcher(self.config.checks, scheduler.wake)
        watcher.start()
        backup_jobs = None
        if self.config.backups is not None:
            from opsbook.daemon.backup_jobs import BackupScheduler

            backup_jobs = asyncio.create_task(
                BackupScheduler(self.config.backups, self.store.engine,
                                timezone=self.config.timezone, wake=scheduler.wake,
                                clock=utcnow).run(self.stop),
                name="backups",
            )  # fmt: skip
        http = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        pipeline = asyncio.create_task(self._pipeline(), name="pipeline")
        housekeeping = asyncio.create_task(self._housekeeping(), name="housekeeping")
        paging = asyncio.create_task(self._paging(), name="paging")
        delivery = asyncio.create_task(self.deliverer.run(self.stop), name="delivery")
        await scheduler.run(self.stop)  # returns once stopped and drained
        await watcher.stop()
        if backup_jobs is not None:
            await backup_jobs
        log.info("opsbook serve: stopping; writing %d queued results", self.queue.qsize())
        housekeeping.cancel()
        paging.cancel()
        await pipeline
        await asyncio.wait({delivery}, timeout=15)
        server.should_exit = True
        await asyncio.wait({http, housekeeping}, timeout=5)
        self.store_thread.shutdown(wait=True)
        log.info("opsbook serve: stopped")

    def _bind(self) -> socket.socket:
        host, port = split_host_port(self.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OpsbookError(
                f"cannot listen on {self.listen}: {exc.strerror} (set server.listen in "
                "opsbook.yaml, or --listen)"
            ) from None
        sock.listen(512)
        sock.setblocking(False)
        return sock

    # ------------------------------------------------------------------ results

    def _on_result(self, result: Result, lag: float) -> None:
        self.state.record(result, lag)
        self.metrics.observe(result, lag)
        self.queue.put_nowait(result)

    async def _pipeline(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                if self.stop.is_set() and self.queue.empty():
                    return
                continue
            batch = [first]
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            self.state.backlog = self.queue.qsize()
            await self._process(batch)

    async def _process(self, batch: list[Result]) -> None:
        processor = self.processor
        assert processor is not None
        try:
            notices = await self._in_store(lambda: processor.process(batch))
        except OpsbookError as exc:
            self.state.store_ok, self.state.store_error = False, str(exc)
            log.error("could not store %d results: %s", len(batch), exc)  # noqa: TRY400
            return
        self.state.store_ok, self.state.store_error = True, ""
        for notice in notices:
            log.warning("%s", notice.text)
        if notices:  # an incident may have opened or resolved: page and count it now
            await self._page_now()
            self.state.open_incidents_by_severity = await self._in_store(self._open_counts)
        severities = Counter(
            a.severity
            for a in processor.alerts.values()
            if a.state is AlertState.FIRING and a.severity is not None
        )
        self.state.firing_by_severity = dict(severities)

    async def _ingest(self, alerts: Sequence[ExternalAlert]) -> int:
        processor = self.processor
        assert processor is not None
        intake = self.config.intake
        changed, notices = await self._in_store(
            lambda: processor.ingest(alerts, intake.severity_for, "intake")
        )
        for notice in notices:
            log.warning("%s", notice.text)
        if notices:
            await self._page_now()
            self.state.open_incidents_by_severity = await self._in_store(self._open_counts)
        return changed

    async def _page_now(self) -> None:
        """One round of the escalation engine, then wake the deliverer."""
        try:
            notices = await self._in_store(self.pager.tick)
        except OpsbookError as exc:
            log.error("paging: %s", exc)  # noqa: TRY400
            return
        for notice in notices:
            log.warning("%s", notice)
        self.deliverer.wake.set()

    async def _paging(self) -> None:
        while True:
            await self._page_now()
            await asyncio.sleep(PAGING_EVERY)

    async def _in_store(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.store_thread, fn)

    # ------------------------------------------------------------------ housekeeping

    async def _housekeeping(self) -> None:
        last_retention = 0.0
        while True:
            try:
                self.state.open_incidents_by_severity = await self._in_store(self._open_counts)
                if time.monotonic() - last_retention > RETENTION_EVERY:
                    last_retention = time.monotonic()
                    folded = await self._in_store(self._roll_up)
                    if folded:
                        log.info("retention: folded %d old results into 5-minute rollups", folded)
            except OpsbookError as exc:
                log.error("housekeeping: %s", exc)  # noqa: TRY400 - one line, no traceback
            await asyncio.sleep(SUMMARY_EVERY)

    def _roll_up(self) -> int:
        keep = self.config.retention
        return roll_up(self.store.engine, utcnow(), keep.raw, keep.rollups)

    def _open_counts(self) -> dict[int, int]:
        from sqlalchemy import func, select

        from opsbook.store.tables import incidents
        from opsbook.store.tx import read

        with read(self.store.engine) as conn:
            rows = conn.execute(
                select(incidents.c.severity, func.count())
                .where(incidents.c.phase.in_([p.value for p in ACTIVE_PHASES]))
                .group_by(incidents.c.severity)
            )
            return {int(sev): int(n) for sev, n in rows}
