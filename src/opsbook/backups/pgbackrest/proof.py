"""Proof by restore: pgBackRest restores into a scratch data directory, opsbook starts it
(as the cluster's OS user, on a private socket and a free port, archiving off so it can
never push WAL into the real repository), waits for recovery to reach the target and
promote, checks it against the marker rows, then stops and removes it, even on failure.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.backups.pgbackrest import marker
from opsbook.backups.pgbackrest.command import as_user, run
from opsbook.backups.pgbackrest.conf import give_to, layout
from opsbook.config.backups import PgBackRestSource
from opsbook.errors import BackupError

Connect = Callable[[str], Any]  # a conninfo -> a context manager giving a connection


@dataclass(frozen=True)
class Proof:
    ok: bool
    target: datetime | None
    seconds: float
    detail: str
    marks: int  # marker rows the restored cluster holds up to the target


def pg_bindir(data_directory: str) -> Path:
    """The server binaries of the cluster's major version (PG_VERSION)."""
    try:
        major = (Path(data_directory) / "PG_VERSION").read_text().strip()
    except OSError:
        major = ""
    for candidate in (Path(f"/usr/lib/postgresql/{major}/bin"), *sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)):  # fmt: skip
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found is None:
        raise BackupError("pg_ctl not found: the PostgreSQL server binaries are needed")
    return Path(found).parent


def target_text(at: datetime) -> str:
    """A time as pgBackRest reads it (and picks the backup set by): UTC, +00."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prove(
    name: str,
    source: PgBackRestSource,
    target: datetime | None,
    truth: list[marker.Mark] | None,
    connect: Connect,
    *,
    label: str | None = None,
    until: datetime,
    queries: Sequence[str] = (),
) -> Proof:
    """Restore to ``target`` (from backup ``label``, else the newest before it), or with no
    target, backup ``label`` to its consistent point; check, and remove.

    ``truth``: the source's marker rows that must be there (None: the source is not
    reachable; the restored cluster is then checked against itself); no row after ``until``
    may be (the target, or the backup's end)."""
    began = time.monotonic()
    where = layout(name, source)
    user = source.os_user
    scratch = Path(tempfile.mkdtemp(prefix="proof-", dir=where.lock.parent))
    data, sock = scratch / "data", scratch / "sock"
    bindir = pg_bindir(source.data_directory)
    started = False
    try:
        _prepare(scratch, sock, user)
        args = ["restore", f"--pg1-path={data}", "--archive-mode=off",
                "--target-action=promote", "--log-level-console=warn"]  # fmt: skip
        if target is not None:
            args += ["--type=time", f"--target={target_text(target)}"]
        else:
            args += ["--type=immediate"]
        if label:
            args.append(f"--set={label}")
        run(where, user, args, timeout=float(source.restore_timeout))
        (scratch / "hba.conf").write_text("local all all trust\n")
        give_to(scratch / "hba.conf", user)
        port = _free_port()
        options = (f"-p {port} -k {sock} -c listen_addresses='' -c archive_mode=off "
                   f"-c hba_file={scratch / 'hba.conf'}")  # fmt: skip
        start = subprocess.run(
            [*as_user(user), str(bindir / "pg_ctl"), "-D", str(data), "-l", str(scratch / "log"),
             "-o", options, "-w", "-t", str(int(source.restore_timeout)), "start"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        started = True
        _started(start.returncode, scratch)
        conninfo = f"host={sock} port={port} dbname={source.database} user={_role(source)}"
        marks = _promoted_marks(connect, conninfo, scratch, float(source.restore_timeout))
        detail = _judge(marks, truth, until, connect, conninfo)
        detail += _queries(queries, connect, conninfo)
        return Proof(True, target, time.monotonic() - began, detail, len(marks))
    except BackupError as exc:
        return Proof(False, target, time.monotonic() - began, str(exc), 0)
    finally:
        if started:
            stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run([*as_user(user), *stop], capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def _started(code: int, scratch: Path) -> None:
    if code != 0:
        raise BackupError(f"the restored cluster did not start: {_log_reason(scratch)}")


def _prepare(scratch: Path, sock: Path, user: str) -> None:
    sock.mkdir()
    for path in (scratch, sock):
        path.chmod(0o700)
        give_to(path, user)


def _role(source: PgBackRestSource) -> str:
    if source.dsn:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(source.dsn).get("user") or source.os_user)
    return source.os_user


def _promoted_marks(connect: Connect, conninfo: str, scratch: Path,
                    timeout: float) -> list[marker.Mark]:  # fmt: skip
    """Wait for recovery to reach its target and promote; then the marker rows it holds."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with connect(conninfo) as conn:
                if not conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"]:
                    return marker.up_to(conn, None)
        except Exception as exc:
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "No such file" in last or "Connection refused" in last:
                reason = _log_reason(scratch)
                if "FATAL" in reason or "PANIC" in reason:
                    raise BackupError(f"recovery failed: {reason}") from None
        time.sleep(0.5)
    raise BackupError(f"recovery did not finish within {timeout:.0f} s ({last or 'waiting'}); "
                      f"{_log_reason(scratch)}")  # fmt: skip


def _judge(marks: list[marker.Mark], truth: list[marker.Mark] | None, until: datetime,
           connect: Connect, conninfo: str) -> str:  # fmt: skip
    if truth is not None:
        missing = sorted({m.id for m in truth} - {m.id for m in marks})
        if missing:
            raise BackupError(f"marker rows the source wrote before the target are missing "
                              f"from the restore: {missing[:5]}")  # fmt: skip
    late = [m for m in marks if m.at > until]
    if late:
        raise BackupError(f"the restore went past its target: a marker row of "
                          f"{late[0].at.isoformat()} is there")  # fmt: skip
    if not marks:
        raise BackupError("the restored cluster holds no marker row: nothing proves the time "
                          "it reached (is the target before the first backup?)")  # fmt: skip
    with connect(conninfo) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datallowconn")
        found = {r["datname"] for r in rows}
    wanted = set(marks[-1].databases)
    if not wanted <= found:
        raise BackupError(
            f"databases missing from the restore: {', '.join(sorted(wanted - found))}"
        )
    return (f"{len(marks)} marker rows (the newest of "
            f"{marks[-1].at.isoformat(timespec='seconds')}), none after "
            f"{until.isoformat(timespec='seconds')}, {len(found)} databases")  # fmt: skip


def _queries(queries: Sequence[str], connect: Connect, conninfo: str) -> str:
    """Each query must answer true on the restored cluster."""
    with connect(conninfo) as conn:
        for query in queries:
            try:
                row = conn.execute(query).fetchone()
            except BackupError:
                raise
            except Exception as exc:
                raise BackupError(f"verify query {query!r} failed: {exc}") from None
            answer = next(iter(row.values())) if row else None
            if answer is not True:
                raise BackupError(f"verify query {query!r} answered {answer!r}, not true")
    return f"; {len(queries)} verify queries true" if queries else ""


def _log_reason(scratch: Path) -> str:
    try:
        lines = (scratch / "log").read_text(errors="replace").splitlines()
    except OSError:
        return "no server log"
    bad = [ln for ln in lines if any(w in ln for w in ("FATAL", "PANIC", "ERROR"))]
    chosen = bad[-1] if bad else (lines[-1] if lines else "an empty server log")
    return chosen.split("]", 1)[-1].strip()[:300]
