"""``/admin``: an admin manages the console's users and the API tokens (what `opsbook user`
and `opsbook token` do): add, reset a password, change nothing else silently, remove; make a
token (shown once, on this page only) and revoke one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts import tokens, users
from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import OpsbookError, UsageError
from opsbook.web.auth import SESSIONS, page_of
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon


class AdminPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d

    async def show(self, request: Request, session: Session, made: str = "") -> Response:
        engine = self.d.store.engine
        people = await self.d.in_store(lambda: users.listed(engine))
        keys = await self.d.in_store(lambda: tokens.listed(engine))
        return page(request, "admin.html", {
            "users": [{"name": u.name, "role": u.role.value, "created": u.created_at.isoformat(),
                       "locked": u.locked_until.isoformat() if u.locked_until else None,
                       "managed": u.managed}
                      for u in people],
            "tokens": [{"id": t.id, "name": t.name, "role": t.role.value,
                        "created": t.created_at.isoformat(),
                        "used": t.last_used_at.isoformat() if t.last_used_at else None,
                        "revoked": t.revoked_at is not None} for t in keys],
            "roles": [r.value for r in Role], "made": made,
        }, session=session)  # fmt: skip

    async def act(self, request: Request, session: Session) -> Response:
        form = await request.form()
        verb = request.url.path.rsplit("/", 1)[1]
        name = str(form.get("name", "")).strip()
        try:
            role = Role(str(form.get("role", "viewer")))
        except ValueError:
            return message(request, "Not done", "pick a role", 400, session)
        password = str(form.get("password", ""))
        try:
            made = await self.d.in_store(
                lambda: self._do(verb, name, role, password, str(form.get("id", "")), session)
            )
        except (UsageError, ValueError) as exc:
            return message(request, "Not done", str(exc), 400, session)
        except OpsbookError as exc:
            return message(request, "Not done", str(exc), 503, session)
        if made:  # shown once, here: never stored in clear, never shown again
            return await self.show(request, session, made)
        return RedirectResponse("/admin", status_code=303)

    def _do(self, verb: str, name: str, role: Role, password: str, token_id: str,
            session: Session) -> str:  # fmt: skip
        """In the store thread; the new token when one was made."""
        engine, now = self.d.store.engine, self.d.clock()
        if verb in ("user-add", "token-create") and not name:
            raise UsageError("a name, please")
        if verb == "user-add":
            users.add(engine, name, role, password, now)
        elif verb == "user-password":
            users.set_password(engine, name, password)
            SESSIONS.known.clear()  # their sessions ended with the old password
        elif verb == "user-remove":
            if name == session.user:
                raise UsageError("you cannot remove yourself (another admin can)")
            users.remove(engine, name)
            SESSIONS.known.clear()
        elif verb == "token-create":
            return tokens.create(engine, name, role, now)
        else:  # token-revoke
            tokens.revoke(engine, int(token_id), now)
        return ""


ACTS = ("user-add", "user-password", "user-remove", "token-create", "token-revoke")


def admin_routes(d: Daemon) -> list[BaseRoute]:
    pages = AdminPages(d)
    return [
        Route("/admin", page_of(d, pages.show, Role.ADMIN), methods=["GET"]),
        *(
            Route(f"/admin/{verb}", page_of(d, pages.act, Role.ADMIN), methods=["POST"])
            for verb in ACTS
        ),
    ]
