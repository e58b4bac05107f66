"""Live pages: one watcher per daemon notices any change (from this daemon, another
instance or the CLI) and tells every open page over server-sent events; a page then fetches
its live part again (``?fragment=1``).

The watcher reads a handful of MAX/COUNT figures once a second, only while a page is open,
so a change made from the CLI shows within about a second whatever the number of viewers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from opsbook.accounts.sessions import Session
from opsbook.errors import OpsbookError
from opsbook.store.changes import fingerprint

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook.web")
POLL = 1.0
PING = 15.0  # a comment line keeps proxies from closing a quiet stream
IDLE_STOP = 30.0  # the watcher stops this long after the last page closed


class Changes:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.version = 0
        self.what = "store"
        self.changed = asyncio.Event()
        self.watchers = 0
        self.task: asyncio.Task[None] | None = None

    def _seen(self) -> tuple[Any, ...]:
        state = self.d.state
        return (state.last_result_at, len(state.latest))

    async def _watch(self) -> None:
        last: tuple[Any, ...] | None = None
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        while not self.d.stop.is_set():
            now: tuple[Any, ...] | None
            try:
                stored = await self.d.in_store(lambda: fingerprint(self.d.store.engine))
                now = (*self._seen(), *stored)
            except OpsbookError as exc:
                log.warning("live pages: %s", exc)
                now = last
            if last is not None and now is not None and now != last:
                self.version += 1
                # "results": only checks' results moved (the board cares; an incident not)
                self.what = "store" if now[2:] != last[2:] else "results"
                self.changed.set()
                self.changed = asyncio.Event()
            last = now
            if self.watchers == 0:
                idle_since = idle_since or loop.time()
                if loop.time() - idle_since > IDLE_STOP:
                    break
            else:
                idle_since = None
            await asyncio.sleep(POLL)
        self.task = None

    def _ensure(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch())

    async def stream(self, request: Request, _: Session) -> Response:
        self._ensure()

        async def events() -> AsyncIterator[str]:
            self.watchers += 1
            try:
                yield "retry: 2000\n\n"
                while not self.d.stop.is_set():
                    waiting = self.changed
                    # a change, the daemon stopping (the stream ends, so shutdown does not
                    # wait on open pages), or a ping's time
                    waits = {asyncio.ensure_future(waiting.wait()),
                             asyncio.ensure_future(self.d.stop.wait())}  # fmt: skip
                    first = asyncio.FIRST_COMPLETED
                    _, pending = await asyncio.wait(waits, timeout=PING, return_when=first)
                    for task in pending:
                        task.cancel()
                    if self.d.stop.is_set() or await request.is_disconnected():
                        break
                    if waiting.is_set():
                        yield f"event: change\ndata: {self.what}\n\n"
                    else:
                        yield ": ping\n\n"
                    self._ensure()
            finally:
                self.watchers -= 1

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
