"""Who is asking: the session cookie for pages, its CSRF token for every form, the role for
every act, and a limit on password guessing per client address.

Only this module reads the cookie; pages get a Session (or are sent to /login).
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opsbook.accounts import sessions
from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import OpsbookError
from opsbook.web.render import message

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

COOKIE = "opsbook_session"
PageHandler = Callable[[Request, Session], Awaitable[Response]]
RANK = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.ADMIN: 2}


def may(session: Session, role: Role) -> bool:
    return RANK[session.role] >= RANK[role]


def secure(d: Daemon, request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a trusted proxy)."""
    if d.config.server.tls is not None or request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    return d.config.server.behind_proxy and forwarded.lower() == "https"


def client_address(d: Daemon, request: Request) -> str:
    direct = request.client.host if request.client else "?"
    if d.config.server.behind_proxy:
        # the address the proxy saw: the last hop it appended, not what the client claimed
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
        if hops and hops[-1]:
            return hops[-1]
    return direct


class Recent:
    """Who a cookie or token was, for a few seconds: a page load is several requests and
    the board is polled, and each lookup would queue in the store's one thread behind the
    board's reading. Sign-out here forgets at once; elsewhere (another instance, the CLI's
    passwd or revoke) it takes effect within ``TTL``."""

    TTL = 5.0
    LARGEST = 10_000

    def __init__(self) -> None:
        self.known: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        found = self.known.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: str, value: Any) -> None:
        if len(self.known) >= self.LARGEST:
            self.known.clear()
        self.known[key] = (time.monotonic() + self.TTL, value)

    def forget(self, key: str) -> None:
        self.known.pop(key, None)


SESSIONS = Recent()


async def current(d: Daemon, request: Request) -> Session | None:
    given = request.cookies.get(COOKIE, "")
    if not given:
        return None
    known: Session | None = SESSIONS.get(given)
    if known is not None:
        return known
    found = await d.in_store(lambda: sessions.look(d.store.engine, given, d.clock()))
    if found is not None:
        SESSIONS.put(given, found)
    return found


async def csrf_ok(request: Request, session: Session) -> bool:
    given = request.headers.get("x-csrf-token", "")
    if not given:
        form = await request.form()
        value = form.get("csrf", "")
        given = value if isinstance(value, str) else ""
    return bool(given) and hmac.compare_digest(given, session.csrf)


def page_of(
    d: Daemon, handler: PageHandler, role: Role = Role.VIEWER
) -> Callable[[Request], Awaitable[Response]]:
    """A page or form for signed-in users: GETs for ``viewer``s and up; a POST needs the
    session's CSRF token and ``role``."""

    async def endpoint(request: Request) -> Response:
        try:
            return await guarded(request)
        except OpsbookError as exc:  # the store went away: said, not a traceback
            said = f"{exc}. Checks go on and are recorded once it answers; try again soon."
            return message(request, "opsbook cannot reach its store", said, 503)

    async def guarded(request: Request) -> Response:
        session = await current(d, request)
        if session is None:
            if request.method == "GET":
                back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(back, safe='')}", status_code=303)
            return message(request, "Signed out", "Your session has ended: sign in again.", 401)
        if request.method != "GET":
            if not await csrf_ok(request, session):
                return message(
                    request,
                    "Form refused",
                    "This form did not come from this page (its CSRF token is missing or "
                    "wrong): reload the page and try again.",
                    403,
                    session,
                )
            if not may(session, role):
                return message(
                    request,
                    "Not allowed",
                    f"{session.user} is a {session.role.value}: this needs a {role.value}.",
                    403,
                    session,
                )
        elif not may(session, role):
            return message(request, "Not allowed",
                           f"This page is for a {role.value}.", 403, session)  # fmt: skip
        return await handler(request, session)

    return endpoint


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per address in ``window`` seconds (the account
    lockout in accounts/users.py covers one name tried from many addresses)."""

    def __init__(self, attempts: int = 10, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self.failures: dict[str, deque[float]] = {}

    def wait(self, address: str) -> float:
        """Seconds before this address may try again (0: now)."""
        now = time.monotonic()
        seen = self.failures.get(address)
        if not seen:
            return 0.0
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.attempts:
            return 0.0
        return seen[0] + self.window - now

    def failed(self, address: str) -> None:
        if len(self.failures) > 10_000:  # a spray from many addresses cannot grow this forever
            self.failures.clear()
        self.failures.setdefault(address, deque()).append(time.monotonic())

    def succeeded(self, address: str) -> None:
        self.failures.pop(address, None)
