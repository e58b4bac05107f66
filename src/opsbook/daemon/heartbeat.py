"""Who watches the watcher: opsbook serve pings an outside dead man's switch
(healthchecks.io, Cronitor, Uptime Kuma's push monitors, a URL of your own) so that something
outside pages when this host, or the daemon on it, dies or hangs.

healthchecks.io's protocol: ``<url>/start`` when the daemon starts, ``<url>`` every
interval while it is healthy, ``<url>/fail`` with the reasons in the body while it is
degraded. The outside service alerts when the pings stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opsbook.clients import webhooks
from opsbook.config.daemon import HeartbeatConfig
from opsbook.errors import DeliveryError
from opsbook.secrets import mask_url

log = logging.getLogger("opsbook.heartbeat")


@dataclass(frozen=True)
class Ping:
    url: str  # masked
    kind: str  # start, ok, fail
    ok: bool
    detail: str


async def ping(http: webhooks.Session, beat: HeartbeatConfig, kind: str, body: str = "") -> Ping:
    url = beat.url.rstrip("/") + ("" if kind == "ok" else f"/{kind}")
    try:
        answer = await webhooks.post(http, url, content=body.encode()[:10_000] or b"opsbook")
    except DeliveryError as exc:
        return Ping(mask_url(url), kind, False, str(exc))
    ok = 200 <= answer.status < 300
    return Ping(mask_url(url), kind, ok, f"HTTP {answer.status}")


async def run(
    beats: Sequence[HeartbeatConfig],
    problems: Callable[[], list[str]],
    stop: asyncio.Event,
) -> None:
    """Start, then a ping per interval (``/fail`` with the reasons while degraded)."""
    if not beats:
        return
    async with webhooks.session() as http:
        await _all(http, beats, "start", "opsbook serve started")
        interval = min(float(b.interval) for b in beats)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            now = problems()
            await _all(http, beats, "fail" if now else "ok", "\n".join(now))


async def _all(
    http: webhooks.Session, beats: Sequence[HeartbeatConfig], kind: str, body: str
) -> None:
    for result in await asyncio.gather(*(ping(http, b, kind, body) for b in beats)):
        if not result.ok:  # the switch will page if this goes on; say so here too
            log.warning("heartbeat %s to %s failed: %s", result.kind, result.url, result.detail)
