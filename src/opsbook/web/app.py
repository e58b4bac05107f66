"""The daemon's HTTP app: /health, /metrics, the intake endpoints, acknowledgement links,
the JSON API and the web console (docs/console.md)."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from opsbook.daemon.main import Daemon
from opsbook.web.ack import ack_routes
from opsbook.web.api import api_routes
from opsbook.web.console import console_routes
from opsbook.web.intake import intake_routes


def create_app(daemon: Daemon) -> Starlette:
    state, metrics = daemon.state, daemon.metrics

    async def health(_: Request) -> Response:
        now = time.monotonic()
        lag_p50, lag_p99 = state.lag(50), state.lag(99)
        problems = state.problems()
        body = {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "uptime_seconds": round(now - state.started, 1),
            "checks_reporting": len(state.latest),
            "scheduler_lag_seconds": {"p50": round(lag_p50, 4), "p99": round(lag_p99, 4)},
            "last_result_age_seconds": round(now - state.last_result_at, 2)
            if state.last_result_at is not None
            else None,
            "results_backlog": state.backlog,
            "store": "ok" if state.store_ok else "failing",
            "instance": state.instance,
            "role": "leader" if state.leading else "follower",
            "leader": state.leader,
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    async def reload(request: Request) -> Response:
        # From this host only: a reload re-reads the file the daemon was started with.
        client = request.client.host if request.client else ""
        if client not in ("127.0.0.1", "::1", "localhost"):
            return JSONResponse({"status": "error", "message": "from this host only"}, 403)
        daemon.request_reload()
        return JSONResponse({"status": "reloading"}, status_code=202)

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/-/reload", reload, methods=["POST"]),
        *intake_routes(daemon.config.intake, daemon.ingest),
        # an acknowledgement is a person's act: taken by any instance (not fenced)
        *ack_routes(daemon.store.engine, daemon.incidents, daemon.in_store, daemon.page_now),
        *api_routes(daemon),
        *console_routes(daemon),
        Mount("/static", StaticFiles(packages=[("opsbook.web", "static")]), name="static"),
    ]
    # pages are compressed (a board of a thousand checks is ~10x smaller); the live stream
    # (text/event-stream) is left alone by the middleware
    gzip = Middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)  # cheap on CPU
    return Starlette(routes=routes, middleware=[gzip])
