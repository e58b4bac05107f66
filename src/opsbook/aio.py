"""asyncio plumbing shared by the CLI and the daemon.

Blocking calls (``getaddrinfo``, ``statvfs`` on a hung NFS mount) run in daemon threads, so
a call that never returns cannot hold the process at exit: the standard executor joins its
threads at shutdown, which would turn one hung mount into a hung health check. The pool
grows while every thread is busy (a hung call takes its thread for good) up to a cap.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
MAX_THREADS = 64


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Daemon worker threads, started as needed; ``shutdown`` never waits for them.

    (A ThreadPoolExecutor subclass only because asyncio insists on one; its own pool is
    unused.)
    """

    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        super().__init__(max_workers=1)
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._started = 0
        self._idle = 0
        self._max = max_threads

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((lambda: fn(*args, **kwargs), future))
        with self._lock:
            if self._idle == 0 and self._started < self._max:
                self._started += 1
                threading.Thread(target=self._worker, name="opsbook-blocking", daemon=True).start()
        return future

    def _worker(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._work.get()
            with self._lock:
                self._idle -= 1
            if item is None:
                return
            call, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # delivered to the awaiting coroutine
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Abandon whatever still runs: it is bounded by a check timeout that already fired."""


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` whose default executor is a DaemonThreadExecutor."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(DaemonThreadExecutor())
        return runner.run(coro)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
