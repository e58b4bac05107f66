"""asyncio plumbing shared by the CLI and the daemon.

Blocking calls (``getaddrinfo``, ``statvfs`` on a hung NFS mount) run in daemon threads, so
a call that never returns cannot hold the process at exit: the standard executor joins its
threads at shutdown, which would turn one hung mount into a hung health check.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


class DaemonThreadExecutor(ThreadPoolExecutor):
    """One daemon thread per call; ``shutdown`` never waits for them.

    (A ThreadPoolExecutor subclass only because asyncio insists on one; its pool is unused.)
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # delivered to the awaiting coroutine
                future.set_exception(exc)

        threading.Thread(target=work, name="opsbook-blocking", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Abandon whatever still runs: it is bounded by a check timeout that already fired."""


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` whose default executor is a DaemonThreadExecutor."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(DaemonThreadExecutor())
        return runner.run(coro)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
