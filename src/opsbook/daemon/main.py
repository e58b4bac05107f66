"""The daemon: scheduler → results queue → store thread (results, alerts, incidents), the
escalation engine and the outbox, backup jobs, and the HTTP app it is given, all long-running
tasks under one supervisor (daemon/supervisor.py: log, alert, restart with backoff).

Store work runs on one dedicated thread, in order, so the event loop never waits on the
database and SQLite sees a single writer from this process. Each loop is a small step that
tests call directly (``process``, ``housekeep``, ``page_now``). On SIGTERM/SIGINT: no new
check starts, in-flight checks get a few seconds, queued results are written, pages already
claimed are delivered, the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import AlertState, Source
from opsbook.alerts.processor import AlertProcessor, Notice
from opsbook.alerts.relay import relay
from opsbook.cluster.lease import Fence, default_instance
from opsbook.config.checks import CheckBase
from opsbook.config.loader import LoadedConfig
from opsbook.daemon import heartbeat, housekeeping, http_server, roles
from opsbook.daemon.http_server import descriptor_budget, raise_descriptor_limit
from opsbook.daemon.jobs import JobScheduler, start_jobs
from opsbook.daemon.leadership import Leadership, leader_engine
from opsbook.daemon.metrics import Metrics
from opsbook.daemon.reload import log_coverage, reload, watch_file
from opsbook.daemon.remedies import Remedies
from opsbook.daemon.scheduler import Scheduler
from opsbook.daemon.state import DaemonState
from opsbook.daemon.supervisor import Supervisor
from opsbook.daemon.trends import TrendWatch
from opsbook.daemon.watch import Watcher
from opsbook.errors import NotLeader, OpsbookError
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.records import open_counts
from opsbook.incidents.severity import SeverityPolicy
from opsbook.paging.delivery import Deliverer
from opsbook.paging.pager import Pager
from opsbook.results import Result
from opsbook.store.open import Store

T = TypeVar("T")
log = logging.getLogger("opsbook")
TASK_ALERT_SEVERITY = 2  # a crashing part of opsbook may mean checks or pages do not happen
DECISION_SLACK = 0.05  # seconds past a deadline, so the run's start is surely after it


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        *,
        listen: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.store = store
        self.clock = clock
        self.listen = listen or str(self.config.server.listen)
        self.instance = self.config.server.instance or default_instance(self.listen)
        # Leader-only work (alerts, incidents, paging, backups, retention) runs on an engine
        # whose every transaction checks this instance still holds the lease (fencing).
        self.fence = Fence(self.instance)
        self.engine = leader_engine(store, self.config.server.lease_ttl)
        self.fence.attach(self.engine)
        self.leading = False
        self.leader_stop = asyncio.Event()
        self.follow_stop = asyncio.Event()
        self.started_at = clock()
        self.state = DaemonState(instance=self.instance)
        self.metrics = Metrics(self.state)
        self.queue: asyncio.Queue[Result] = asyncio.Queue()
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsbook-store")
        self.incidents = Incidents(
            store.engine, SeverityPolicy.from_config(self.config.severities), clock=clock
        )
        self.supervisor = Supervisor(on_crash=self._crashed)
        self.stop = asyncio.Event()
        self._processor: AlertProcessor | None = None
        self._pager: Pager | None = None
        self._deliverer: Deliverer | None = None
        self.last_retention = 0.0
        self.trends = TrendWatch(self)
        self.remedies = Remedies(self)
        self.leadership = Leadership(self)
        self.scheduler: Scheduler | None = None
        self.watcher: Watcher | None = None
        self.calendar: JobScheduler | None = None  # the leader's jobs: (daemon/jobs.py)
        self._reloading: asyncio.Task[bool] | None = None
        # check -> (the moment time alone changes its alert, the wake planned for it)
        self._decisions: dict[str, tuple[datetime, asyncio.TimerHandle]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def main(self, app: Any = None) -> None:
        """Run until SIGTERM/SIGINT (or ``stop`` is set); ``app`` is served on ``listen``."""
        srv = self.config.server
        tls = srv.tls
        if app is not None:
            http_server.refuse_exposure(self.listen, tls is not None, srv.behind_proxy)
        options = http_server.tls_options(tls.cert if tls else None, tls.key if tls else None)
        sock = http_server.bind(self.listen) if app is not None else None
        descriptors = raise_descriptor_limit()
        inbound = descriptor_budget(descriptors)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        await self.leadership.first()  # SQLite: a second daemon on the store stops here
        if not self.leading:
            roles.follow(self)
        self._deliverer = Deliverer(
            self.store.engine, self.config.paging, self.in_store, clock=self.clock
        )
        server = http_server.server(app, inbound, tls=options) if app is not None else None
        log.info("opsbook serve: %s, %d file descriptors, at most %d inbound connections",
                 self.instance, descriptors, inbound)  # fmt: skip
        self._start(server, sock)
        log_coverage(self.config)
        await self.stop.wait()
        log.info("opsbook serve: stopping")
        await self.step_down("stopping")
        await roles.stop_following(self)
        await self.supervisor.cancel("leadership")
        await self.leadership.last()
        await self.supervisor.wait("delivery", timeout=15)
        await self.supervisor.cancel("heartbeat", "config-watch")
        if server is not None:
            server.should_exit = True
            await self.supervisor.wait("http", timeout=5)
        await self.supervisor.cancel()
        self.store_thread.shutdown(wait=True)
        log.info("opsbook serve: stopped")

    async def open(self) -> None:
        """Load the alert state and build the engines; the store thread does the reading."""
        self._processor = await self.in_store(
            lambda: AlertProcessor(
                self.engine,
                self.incidents,
                self.config.checks,
                service=self.config.service,
                redact=self.loaded.redactor,
                clock=self.clock,
                windows=self.config.maintenance,
                timezone=self.config.timezone,
            )
        )
        self._pager = await self.in_store(lambda: Pager(self.engine, self.config, clock=self.clock))
        await self.sync_users()
        if self._deliverer is None:
            self._deliverer = Deliverer(
                self.store.engine, self.config.paging, self.in_store, clock=self.clock
            )
        firing = [a for a in self.processor.alerts.values() if a.state is AlertState.FIRING]
        log.info(
            "opsbook serve: %d checks, store %s, listening on %s://%s (%d alerts firing "
            "from before)",
            len(self.config.checks),
            self.store.described,
            "https" if self.config.server.tls else "http",
            self.listen,
            len(firing),
        )

    async def sync_users(self) -> None:
        """users: in opsbook.yaml become the console's (at start and on every reload)."""
        from opsbook.accounts import users
        from opsbook.config.actions import Role

        wanted = {n: (Role(u.role), u.password_hash) for n, u in self.config.users.items()}
        said = await self.in_store(lambda: users.sync(self.store.engine, wanted, self.clock()))
        if said:
            log.info("users from opsbook.yaml: %s", ", ".join(said))

    def _start(self, server: Any, sock: socket.socket | None) -> None:
        """What every instance runs: the HTTP server, delivery from the outbox (claimed, so
        never twice), the lease (leader or follower), the outside heartbeat."""
        start = self.supervisor.start
        start("leadership", self.leadership.run)
        start("delivery", lambda: self.deliverer.run(self.stop))
        if server is not None:
            start("http", lambda: server.serve(sockets=[sock]))
        self._start_heartbeat()  # (backups started with the lease, in lead)
        path = self.loaded.path
        if self.config.server.watch_config and path is not None:
            start("config-watch", lambda: watch_file(path, self.request_reload, self.stop))

    async def lead(self, token: int, taken_from: str | None = None) -> None:
        await roles.lead(self, token, taken_from)

    async def step_down(self, why: str) -> None:
        await roles.step_down(self, why)

    def start_config_tasks(self) -> None:
        """The tasks made from the config's backups: and heartbeat: (again, after a reload)."""
        if self.leading:
            self._start_backups()
            start_jobs(self)
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        if self.config.heartbeat:
            beats = self.config.heartbeat
            self.supervisor.start(
                "heartbeat", lambda: heartbeat.run(beats, self.state.problems, self.stop)
            )

    def _start_backups(self) -> None:
        roles.start_backups(self)

    def request_reload(self) -> None:
        """SIGHUP, POST /-/reload, or the config file changed: reload, one at a time."""
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(reload(self))

    @property
    def processor(self) -> AlertProcessor:
        assert self._processor is not None, "Daemon.open() first"
        return self._processor

    def replace_pager(self, pager: Pager) -> None:
        self._pager = pager

    @property
    def pager(self) -> Pager:
        assert self._pager is not None, "Daemon.open() first"
        return self._pager

    @property
    def deliverer(self) -> Deliverer:
        assert self._deliverer is not None, "Daemon.open() first"
        return self._deliverer

    async def in_store(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.store_thread, fn)

    # ------------------------------------------------------------------ results

    def on_result(self, result: Result, lag: float, *, queue: bool = True) -> None:
        self.state.record(result, lag)
        self.metrics.observe(result, lag)
        if queue:
            self.queue.put_nowait(result)

    async def process(self, batch: Sequence[Result]) -> bool:
        """One batch through the alert processor; False when the store refused it."""
        try:
            notices = await self.in_store(lambda: self.processor.process(batch))
        except NotLeader as exc:
            self.lost(str(exc))
            return False
        except OpsbookError as exc:  # the store is down: say so, keep checking
            self.state.store_ok, self.state.store_error = False, str(exc)
            log.error("could not store %d results: %s", len(batch), exc)  # noqa: TRY400
            return False
        self.state.store_ok, self.state.store_error = True, ""
        self.plan_decisions()
        await self._after(notices)
        self.state.firing_by_severity = dict(
            Counter(
                a.severity
                for a in self.processor.alerts.values()
                if a.state is AlertState.FIRING and a.severity is not None
            )
        )
        return True

    def plan_decisions(self) -> None:
        """Run a check the moment its ``for``, ``keep_firing_for`` or ``auto_resolve`` ends."""
        if self.scheduler is None:
            return
        loop = asyncio.get_running_loop()
        now = self.clock()
        for name, when in self.processor.decisions().items():
            if self._decisions.get(name, (None,))[0] == when:
                continue  # already planned
            previous = self._decisions.pop(name, None)
            if previous is not None:
                previous[1].cancel()
            delay = max(0.0, (when - now).total_seconds()) + DECISION_SLACK
            self._decisions[name] = (when, loop.call_later(delay, self.scheduler.wake, name))

    async def ingest(
        self,
        alerts: Sequence[ExternalAlert],
        *,
        severity_for: Callable[[str], int] | None = None,
        actor: str = "intake",
        auto_resolve: bool | None = None,
    ) -> int:
        """Alerts from the intake (Alertmanager, PagerDuty) or trend rules; how many changed
        anything."""
        if self._processor is None:  # a follower: stored now, processed by the leader
            return await self.in_store(
                lambda: relay(self.store.engine, alerts, self.instance, self.clock())
            )
        intake = self.config.intake
        by = severity_for or intake.severity_for
        auto = intake.auto_resolve if auto_resolve is None else auto_resolve
        changed, notices = await self.in_store(
            lambda: self.processor.ingest(alerts, by, actor, auto_resolve=auto)
        )
        await self._after(notices)
        return changed

    async def _after(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            log.warning("%s", notice.text)
        if notices:  # an incident may have opened or resolved: page and count it now
            await self.page_now()
            self.state.open_incidents_by_severity = await self.in_store(
                lambda: open_counts(self.engine)
            )

    # ------------------------------------------------------------------ paging

    async def page_now(self) -> bool:
        """One round of the escalation engine, then wake the deliverer (the leader's)."""
        if self._pager is None:  # a follower: the leader pages
            return False
        try:
            notices = await self.in_store(self.pager.tick)
        except NotLeader as exc:
            self.lost(str(exc))
            return False
        except OpsbookError as exc:
            log.error("paging: %s", exc)  # noqa: TRY400 - the store is down; next round retries
            return False
        for said in notices:
            log.log(said.level, "%s", said.text)
        self.deliverer.wake.set()
        await self._undeliverable()
        return bool(notices)

    async def _undeliverable(self) -> None:
        """Pages that reached nobody: counted, shown on /health, and an alert of their own
        (SEV-2: it pages level 1 through whatever still works)."""
        lost = self.pager.undeliverable + self.deliverer.undeliverable
        if not lost:
            return
        self.pager.undeliverable.clear()
        self.deliverer.undeliverable.clear()
        self.state.pages_undeliverable += len(lost)
        self.state.paging_failed_at = time.monotonic()
        self.state.paging_problem = f"a page reached nobody: {lost[-1]}"
        for what in lost:
            log.error("NOT DELIVERED: %s", what)
        await self.self_alert("paging", "firing", f"a page reached nobody: {lost[-1]}"[:300])

    # ------------------------------------------------------------------ housekeeping

    async def housekeep(self) -> bool:
        """Counts for /metrics, hourly roll-up of old results, alerts about opsbook itself."""
        return await housekeeping.housekeep(self)

    def scheduled(self, leading: bool) -> dict[str, CheckBase]:
        """The checks this instance runs: the leader's (remote targets) when it leads, every
        instance's (its own host's resources) always, and those pinned to it by name. In a
        deployment (``server.instance`` set) a host-local check's results are named
        ``check@instance``: one alert and one history per host."""
        clustered = self.config.server.instance is not None
        out: dict[str, CheckBase] = {}
        for name, check in self.config.checks.items():
            where = check.placement
            if where == "all":
                out[f"{name}@{self.instance}" if clustered else name] = check
            elif (where == "leader" and leading) or where == self.instance:
                out[name] = check
        return out

    def forget_decisions(self) -> None:
        for _, handle in self._decisions.values():
            handle.cancel()
        self._decisions.clear()

    def drop_leader_state(self) -> None:
        self._processor = self._pager = None

    def lost(self, why: str) -> None:
        """A leader-only write was refused by the fence: another instance leads now."""
        if self.leading:
            asyncio.get_running_loop().create_task(self.step_down(why))

    async def _crashed(self, name: str, exc: BaseException, crashes: int) -> None:
        if isinstance(exc, NotLeader):
            self.lost(str(exc))
            return
        self.state.task_restarts[name] = self.state.task_restarts.get(name, 0) + 1
        self.state.task_problems = self.supervisor.problems()
        await self.self_alert(
            f"task:{name}", "firing", f"opsbook serve's {name} task crashed ({crashes} in a "
            f"row): {type(exc).__name__}: {exc}"[:300],
        )  # fmt: skip

    async def self_alert(
        self, topic: str, action: str, summary: str, severity: int = TASK_ALERT_SEVERITY
    ) -> None:
        """An alert about opsbook itself (a task, paging, an instance gone), through the same
        path as Alertmanager's; ``topic`` is "task:<name>", "paging", "instance:<name>"."""
        if self._processor is None:
            return
        alert = ExternalAlert(
            fingerprint=f"opsbook:{topic}",
            source=Source.OPSBOOK,
            name=f"opsbook-{topic.removeprefix('task:')}",
            labels={"topic": topic, "instance": self.instance},
            action="firing" if action == "firing" else "resolved",
            severity_word="critical",
            summary=summary,
            at=self.clock(),
        )
        with contextlib.suppress(OpsbookError):  # the store may be what is failing
            _, notices = await self.in_store(
                lambda: self.processor.ingest([alert], lambda _: severity, "opsbook")
            )
            await self._after(notices)
