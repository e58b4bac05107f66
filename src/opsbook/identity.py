"""Who is working: a worker is ``host:pid``, so a lease or lock left by a process that died on
this host (kill -9, OOM) can be taken over at once instead of waiting for it to expire."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(pid: int) -> bool:
    """Whether a process of this host exists (another user's counts: it is alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def is_dead_here(worker: str) -> bool:
    """A worker on this host whose process is gone; False for other hosts (we cannot know)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not alive(int(pid))
