"""Reloading opsbook.yaml in a running daemon (SIGHUP, POST /-/reload from this host,
``opsbook serve reload``, or ``server.watch_config: true``).

The new file is validated in full first: if it is invalid, the daemon goes on with the old
one, logs the error with file:line, degrades /health and raises a ``config`` alert. A valid one
is swapped in: unchanged checks keep their alerts, pending timers and history; removed checks
resolve their alerts ("check removed"); new checks, people, schedules, channels, backups, jobs
and heartbeats take effect at once (a running job finishes undisturbed). ``store:`` and
``server.listen`` need a restart (said so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opsbook.checks import release
from opsbook.config.loader import LoadedConfig, load_config
from opsbook.config.model import Config
from opsbook.errors import ConfigError
from opsbook.paging.coverage import check as coverage_check
from opsbook.paging.pager import Pager

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook")
POLL = 2.0


async def reload(daemon: Daemon) -> bool:
    """True when the new configuration is running."""
    path = daemon.loaded.path
    if path is None:
        log.warning("reload: running on the embedded defaults; there is no file to reload")
        return False
    try:
        loaded = await asyncio.to_thread(load_config, str(path))
    except ConfigError as exc:
        for line in exc.lines:
            log.error("reload refused, still running the previous configuration: %s", line)  # noqa: TRY400
        daemon.state.config_problems = [f"config: {exc.lines[0]}"]
        await daemon.self_alert("config", "firing", f"opsbook.yaml does not load: {exc.lines[0]}")
        return False
    old = daemon.config
    summary = difference(old, loaded.config)
    await _swap(daemon, loaded)
    await daemon.sync_users()
    daemon.state.config_problems = []
    await daemon.self_alert("config", "resolved", "opsbook.yaml loads again")
    log.info("reloaded %s: %s", path, summary)
    log_coverage(loaded.config)
    return True


async def _swap(daemon: Daemon, loaded: LoadedConfig) -> None:
    old, new = daemon.config, loaded.config
    restart_only = (("store", old.store, new.store),
                    ("server.listen", old.server.listen, new.server.listen))  # fmt: skip
    for what, before, after in restart_only:
        if before != after:
            log.warning("reload: %s changed; it takes effect at the next restart", what)
    daemon.loaded, daemon.config = loaded, new
    release(new.checks.values())  # a log check removed or moved: its file closed
    if not daemon.leading:  # a follower: its own checks now, the rest when it leads
        if daemon.scheduler is not None:
            daemon.scheduler.redact = loaded.redactor
            daemon.scheduler.update(daemon.scheduled(leading=False))
        await daemon.supervisor.cancel("heartbeat")
        daemon.start_config_tasks()
        return
    notices = await daemon.in_store(
        lambda: daemon.processor.reconfigure(
            new.checks,
            service=new.service,
            redact=loaded.redactor,
            windows=new.maintenance,
            timezone=new.timezone,
        )
    )
    for notice in notices:
        log.warning("%s", notice.text)
    if daemon.scheduler is not None:
        checks = daemon.scheduled(leading=True)
        daemon.scheduler.redact = loaded.redactor
        daemon.scheduler.update(checks)
        if daemon.watcher is not None:
            await daemon.watcher.stop()
        from opsbook.daemon.watch import Watcher

        daemon.watcher = Watcher(checks, daemon.scheduler.wake)
        daemon.watcher.start()
    daemon.replace_pager(
        await daemon.in_store(lambda: Pager(daemon.engine, new, clock=daemon.clock))
    )
    daemon.deliverer.paging = new.paging
    await daemon.supervisor.cancel("backups", "heartbeat")
    daemon.start_config_tasks()


def difference(old: Config, new: Config) -> str:
    """One line: what a reload changed."""
    parts = []
    for label, before, after in (
        ("checks", old.checks, new.checks),
        ("people", old.paging.people, new.paging.people),
        ("schedules", old.paging.schedules, new.paging.schedules),
        ("channels", old.paging.channels, new.paging.channels),
        ("backup sources", old.backups.sources if old.backups else {},
         new.backups.sources if new.backups else {}),
        ("jobs", old.jobs, new.jobs),
    ):  # fmt: skip
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
        bits = [f"+{len(added)} ({', '.join(added)})" if added else "",
                f"-{len(removed)} ({', '.join(removed)})" if removed else "",
                f"{len(changed)} changed" if changed else ""]  # fmt: skip
        if any(bits):
            parts.append(f"{label} " + " ".join(b for b in bits if b))
    if old.paging.escalation != new.paging.escalation:
        parts.append("escalation changed")
    if old.heartbeat != new.heartbeat:
        parts.append("heartbeat changed")
    return "; ".join(parts) or "no change"


def log_coverage(config: Config) -> None:
    """The escalation's holes, said at start and at every reload (docs: opsbook oncall
    coverage)."""
    from datetime import UTC, datetime

    if not (config.paging.escalation or config.paging.schedules):
        return
    found = coverage_check(config.paging, config.timezone, datetime.now(UTC))
    for hole in found.holes:
        level = log.error if hole.error else log.warning
        level("coverage: level %d (%s) reaches nobody from %s to %s: %s", hole.level, hole.name,
              hole.start.isoformat(timespec="minutes"), hole.end.isoformat(timespec="minutes"),
              hole.why)  # fmt: skip
    for why in found.unreachable:
        log.warning("coverage: %s", why)


async def watch_file(path: Path, changed: Callable[[], None], stop: asyncio.Event) -> None:
    """``server.watch_config``: the file's size and modification time, polled; a change that
    has been quiet for one poll reloads (an editor's save is one reload, not three)."""

    def look() -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    seen = await asyncio.to_thread(look)
    pending = False
    while not stop.is_set():
        await asyncio.sleep(POLL)
        now = await asyncio.to_thread(look)
        if now != seen:
            seen, pending = now, True
        elif pending and now is not None:
            pending = False
            changed()
