"""Sign in, sign out, change one's password.

The login form has no session yet, so its CSRF token is a double-submit cookie: a random
value both in a SameSite cookie and in the form, which another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts import sessions, users
from opsbook.accounts.sessions import Session
from opsbook.errors import OpsbookError, UsageError
from opsbook.web.auth import (
    COOKIE,
    SESSIONS,
    LoginLimiter,
    client_address,
    current,
    page_of,
    secure,
)
from opsbook.web.render import page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

PRE = "opsbook_login"


def _safe_next(target: str) -> str:
    """Only a path on this console (an open redirect would make the login page a phish)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


class LoginPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.limiter = LoginLimiter()

    def form(self, request: Request, error: str = "", status: int = 200) -> Response:
        token = secrets.token_urlsafe(24)
        response = page(
            request,
            "login.html",
            {"error": error, "login_csrf": token,
             "next": _safe_next(request.query_params.get("next", "/"))},
            status=status,
        )  # fmt: skip
        response.set_cookie(PRE, token, httponly=True, samesite="strict",
                            secure=secure(self.d, request), path="/login")  # fmt: skip
        return response

    async def show(self, request: Request) -> Response:
        if await current(self.d, request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next", "/")), 303)
        return self.form(request)

    async def submit(self, request: Request) -> Response:
        data = await request.form()
        given, cookie = str(data.get("csrf", "")), request.cookies.get(PRE, "")
        if not given or not cookie or not hmac.compare_digest(given, cookie):
            return self.form(request, "The sign-in form had expired: try again.", 403)
        address = client_address(self.d, request)
        wait = self.limiter.wait(address)
        if wait > 0:
            response = self.form(request, f"Too many failed sign-ins from {address}: try again in "
                            f"{int(wait // 60) + 1} min.", 429)  # fmt: skip
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        name, password = str(data.get("name", "")).strip(), str(data.get("password", ""))
        now = self.d.clock()
        try:
            user = await self.d.in_store(
                lambda: users.login(self.d.store.engine, name, password, now)
            )
        except OpsbookError as exc:
            return self.form(request, f"Cannot sign in now: {exc}", 503)
        if user is None:
            self.limiter.failed(address)
            return self.form(request, "Wrong name or password, or the account is locked for a "
                        "while after repeated failures.", 401)  # fmt: skip
        self.limiter.succeeded(address)
        session_id, _ = await self.d.in_store(
            lambda: sessions.start(self.d.store.engine, user, now)
        )
        response = RedirectResponse(_safe_next(str(data.get("next", "/"))), status_code=303)
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="lax",
                            secure=secure(self.d, request), path="/")  # fmt: skip
        response.delete_cookie(PRE, path="/login")
        return response

    async def logout(self, request: Request, _: Session) -> Response:
        given = request.cookies.get(COOKIE, "")
        SESSIONS.forget(given)
        await self.d.in_store(lambda: sessions.end(self.d.store.engine, given))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def account(self, request: Request, session: Session) -> Response:
        return page(request, "account.html", {"error": "", "done": False}, session=session)

    async def change_password(self, request: Request, session: Session) -> Response:
        data = await request.form()
        old, new = str(data.get("old", "")), str(data.get("new", ""))
        again = str(data.get("again", ""))
        now = self.d.clock()
        engine = self.d.store.engine
        error = ""
        if new != again:
            error = "The two new passwords differ."
        elif not await self.d.in_store(
            lambda: users.check_password(engine, session.user, old, now)
        ):
            error = "The current password is wrong."
        else:
            try:
                await self.d.in_store(lambda: users.set_password(engine, session.user, new))
            except UsageError as exc:
                error = str(exc)
        if error:
            return page(request, "account.html", {"error": error, "done": False},
                        session=session, status=400)  # fmt: skip
        # every session ended with the old password, this browser signed in afresh
        SESSIONS.known.clear()
        user = users.User(session.user, session.role, now, None)
        session_id, fresh = await self.d.in_store(lambda: sessions.start(engine, user, now))
        response = page(request, "account.html", {"error": "", "done": True}, session=fresh)
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="lax",
                            secure=secure(self.d, request), path="/")  # fmt: skip
        return response


def login_routes(d: Daemon) -> list[BaseRoute]:
    pages = LoginPages(d)
    return [
        Route("/login", pages.show, methods=["GET"]),
        Route("/login", pages.submit, methods=["POST"]),
        Route("/logout", page_of(d, pages.logout), methods=["POST"]),
        Route("/account", page_of(d, pages.account), methods=["GET"]),
        Route("/account", page_of(d, pages.change_password), methods=["POST"]),
    ]
