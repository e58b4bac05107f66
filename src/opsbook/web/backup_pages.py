"""``/backups``: every backup in the repositories with its verification, one backup's
manifest and history, and a button to verify one now (``opsbook backup verify ID`` run by
the daemon in the background; its result lands in the history like any other)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from opsbook.accounts.sessions import Session
from opsbook.config.actions import Role
from opsbook.errors import OpsbookError
from opsbook.web.auth import may, page_of
from opsbook.web.render import message, page

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook.web")
BACKUP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,200}")


class BackupPages:
    def __init__(self, d: Daemon) -> None:
        self.d = d
        self.verifying: dict[str, asyncio.Task[None]] = {}

    async def _catalog(self) -> list[Any]:
        from opsbook.backups.catalog import catalog

        backups = self.d.config.backups
        assert backups is not None
        # the repositories are remote (S3): read off the store thread and off the loop
        return await asyncio.to_thread(catalog, backups)

    async def list(self, request: Request, session: Session) -> Response:
        from opsbook.backups.records import EventKind, events, verifications
        from opsbook.output.backups import list_json

        if self.d.config.backups is None:
            empty = {"backups": [], "events": [], "error": "", "configured": False}
            return page(request, "backups.html", empty, session=session)
        engine = self.d.store.engine
        error = ""
        try:
            entries = await self._catalog()
        except OpsbookError as exc:
            entries, error = [], str(exc)
        verified = await self.d.in_store(lambda: verifications(engine))
        history = await self.d.in_store(lambda: events(engine, kind=EventKind.VERIFY, limit=30))
        return page(request, "backups.html", {
            "backups": list_json(entries, verified)[::-1], "error": error, "configured": True,
            "events": [{"at": e.finished_at.isoformat(), "ok": e.ok, "id": e.backup_id,
                        "source": e.source, "detail": e.detail, "actor": e.actor}
                       for e in history],
            "verifying": sorted(k for k, t in self.verifying.items() if not t.done()),
            "can_act": may(session, Role.RESPONDER),
        }, session=session)  # fmt: skip

    async def show(self, request: Request, session: Session) -> Response:
        from opsbook.backups.catalog import find
        from opsbook.backups.records import events
        from opsbook.output.backups import show_json

        backup_id = request.path_params["id"]
        backups = self.d.config.backups
        if backups is None:
            return message(request, "No backups", "no backups: in opsbook.yaml", 404, session)
        try:
            entry = await asyncio.to_thread(find, backups, backup_id)
        except OpsbookError as exc:
            return message(request, "No such backup", str(exc), 404, session)
        engine = self.d.store.engine
        history = await self.d.in_store(lambda: [e for e in events(engine, limit=500)
                                                 if e.backup_id == backup_id])  # fmt: skip
        return page(request, "backup.html", {"b": show_json(entry, history), "id": backup_id,
                                             "can_act": may(session, Role.RESPONDER)},
                    session=session)  # fmt: skip

    async def verify(self, request: Request, session: Session) -> Response:
        backup_id = request.path_params["id"]
        if not BACKUP_ID.fullmatch(backup_id):  # it becomes an argument of a command
            return message(request, "No such backup", f"{backup_id!r} is not a backup ID", 404,
                           session)  # fmt: skip
        path = self.d.loaded.path
        if path is None or self.d.config.backups is None:
            return message(request, "Not verified", "no backups: in opsbook.yaml", 400, session)
        running = self.verifying.get(backup_id)
        if running is None or running.done():
            self.verifying[backup_id] = asyncio.get_running_loop().create_task(
                self._run_verify(backup_id, str(path), session.user)
            )
        return RedirectResponse("/backups", status_code=303)

    async def _run_verify(self, backup_id: str, path: str, user: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "opsbook", "backup", "verify", "--config", path, "--", backup_id,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "OPSBOOK_USER": user})  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode:
            log.warning("backup verify %s (asked by %s) failed: %s", backup_id, user,
                        err.decode(errors="replace").strip()[-300:])  # fmt: skip


def backup_routes(d: Daemon) -> list[BaseRoute]:
    pages = BackupPages(d)
    return [
        Route("/backups", page_of(d, pages.list), methods=["GET"]),
        Route("/backups/{id}", page_of(d, pages.show), methods=["GET"]),
        Route("/backups/{id}/verify", page_of(d, pages.verify, Role.RESPONDER), methods=["POST"]),
    ]
