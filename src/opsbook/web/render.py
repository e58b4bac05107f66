"""Pages from Jinja2 templates shipped in the package, with the console's security headers.

Nothing a page loads comes from elsewhere (the daemon often has no internet, and a page must
not leak to a third party): the CSP allows this origin only, and no inline script or style.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from jinja2 import Environment
    from starlette.requests import Request

    from opsbook.accounts.sessions import Session

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("opsbook.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt field fails the tests, not shows blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["ago"] = ago
    return env


def clock(at: str | datetime | None, tz: str | None = None) -> str:
    """A time as the server's zone shows it; the page's script rewrites it into the viewer's."""
    if at is None:
        return "—"
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    if tz:
        when = when.astimezone(ZoneInfo(tz))
    return when.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A full page, or only its live part when the page's script asks (``?fragment=1``)."""
    from jinja2 import TemplateNotFound

    env = environment()
    chosen = env.get_template(template)
    if request.query_params.get("fragment") == "1":
        with contextlib.suppress(TemplateNotFound):  # a page without a live part: whole
            chosen = env.get_template(template.replace(".html", "_live.html"))
    body = chosen.render(session=session, path=request.url.path, query=request.url.query, **context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def message(request: Request, title: str, text: str, status: int,
            session: Session | None = None) -> HTMLResponse:  # fmt: skip
    return page(request, "message.html", {"title": title, "text": text},
                session=session, status=status)  # fmt: skip
