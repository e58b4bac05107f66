"""The web console's routes: sign-in, the board, incidents, on call, alerts and silences,
checks, backups, the public status page and the live stream, all over the daemon's core
(the same functions as the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.web.admin_pages import admin_routes
from opsbook.web.alert_pages import alert_routes
from opsbook.web.auth import page_of
from opsbook.web.backup_pages import backup_routes
from opsbook.web.board import BoardReader
from opsbook.web.check_pages import check_routes
from opsbook.web.incident_pages import incident_routes
from opsbook.web.live import Changes
from opsbook.web.login import login_routes
from opsbook.web.oncall_pages import oncall_routes
from opsbook.web.render import HEADERS, page
from opsbook.web.status_page import status_routes

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon


def console_routes(d: Daemon) -> list[BaseRoute]:
    board = BoardReader(d)
    changes = Changes(d)

    async def show_board(request: Request, session: Session) -> Response:
        from markupsafe import Markup

        if request.query_params.get("fragment") == "1":
            if "gzip" in request.headers.get("accept-encoding", ""):
                packed = await board.live_gzip()
                headers = {**HEADERS, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
                return Response(packed, media_type="text/html; charset=utf-8", headers=headers)
            return HTMLResponse(await board.live_html(), headers=HEADERS)
        html = await board.live_html()
        return page(request, "board.html", {"live": Markup(html)}, session=session)  # noqa: S704

    return [
        Route("/", page_of(d, show_board), methods=["GET"]),
        Route("/events", page_of(d, changes.stream), methods=["GET"]),
        *login_routes(d),
        *incident_routes(d),
        *status_routes(d),
        *oncall_routes(d),
        *alert_routes(d),
        *check_routes(d),
        *backup_routes(d),
        *admin_routes(d),
    ]
