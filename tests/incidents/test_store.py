"""The store: migrations on first use, refusals, and concurrent writers losing nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from opsbook.errors import StoreError
from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.severity import SeverityPolicy
from opsbook.store.engine import make_engine, store_url
from opsbook.store.migrate import HEAD, MIGRATIONS, current_revision, ensure_schema
from opsbook.store.open import open_store
from opsbook.store.tables import incidents, timeline
from tests.conftest import run_opsbook
from tests.support.servers import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


def test_head_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_the_default_store_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert store_url(None, env) == f"sqlite:///{tmp_path}/.local/share/opsbook/opsbook.db"
    assert store_url(None, {**env, "XDG_DATA_HOME": "/x"}) == "sqlite:////x/opsbook/opsbook.db"
    assert store_url("postgresql://db/ops", env) == "postgresql://db/ops"
    assert store_url("postgresql://db/ops", {"OPSBOOK_STORE": "sqlite:////y.db"}) == (
        "sqlite:////y.db"
    )


def test_first_use_creates_and_migrates_the_store(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "OPSBOOK_USER": "alice"}
    env.pop("OPSBOOK_STORE", None)
    env.pop("XDG_DATA_HOME", None)
    proc = run_opsbook("incident", "open", "--sev", "3", "--title", "first", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"INC-\d{4}-\d\d-\d\d-1\n", proc.stdout)
    db = tmp_path / ".local/share/opsbook/opsbook.db"
    assert db.exists()
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_store_upgrade_and_status(store_url: str) -> None:
    env = {"OPSBOOK_STORE": store_url}
    up = run_opsbook("store", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert f"to revision {HEAD}" in up.stdout
    again = run_opsbook("store", "upgrade", env=env)
    assert f"already at schema revision {HEAD}" in again.stdout
    status = run_opsbook("store", "status", env=env)
    assert "(up to date)" in status.stdout
    assert "pg-super-Secr3t" not in status.stdout + up.stdout


def test_a_newer_schema_is_refused(store_url: str) -> None:
    engine = open_store(store_url).engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="schema revision 9999, newer than this opsbook"):
        ensure_schema(engine, describe="test store")
    engine.dispose()
    proc = run_opsbook("incident", "list", env={"OPSBOOK_STORE": store_url})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "newer than this opsbook knows" in proc.stderr


def test_a_failed_migration_leaves_nothing_half_done(store_url: str) -> None:
    engine = make_engine(store_url)
    with engine.begin() as conn:  # something in the way of the first migration
        conn.execute(text("CREATE TABLE action_items (id INTEGER PRIMARY KEY)"))
    with pytest.raises(StoreError, match="failed and was rolled back"):
        ensure_schema(engine, describe="test store")
    with engine.connect() as conn:
        assert current_revision(conn) is None
        from sqlalchemy import inspect

        names = set(inspect(conn).get_table_names())
    engine.dispose()
    assert "incidents" not in names  # created before the failure, rolled back with it
    assert "timeline" not in names
    assert "action_items" in names


def test_two_processes_on_a_fresh_store_migrate_it_once(store_url: str) -> None:
    code = (
        "import sys; from opsbook.store.open import open_store; open_store(sys.argv[1]); "
        "print('ok')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, store_url], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(3)
    ]  # fmt: skip
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    """Writer processes (the daemon's part) and CLI processes write at the same time."""
    setup = open_store(store_url).engine
    service = Incidents(setup, SeverityPolicy.from_config({}))
    shared = service.open(title="shared", severity=2, service="s", actor="setup").id
    setup.dispose()
    writers, notes, opens = 4, 40, 5
    env = {**os.environ, "OPSBOOK_STORE": store_url, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.writer", store_url, shared, str(notes),
             str(opens), f"w{n}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        for n in range(writers)
    ]  # fmt: skip
    cli = [
        subprocess.Popen(
            [sys.executable, "-m", "opsbook", "incident", "note", shared, f"cli {n}",
             "--as", "cli"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for n in range(3)
    ]  # fmt: skip
    opened: list[str] = []
    for proc in procs + cli:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        if proc in procs:
            opened += out.split()
    engine = make_engine(store_url)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(timeline).where(timeline.c.incident_id == shared)
        ).scalar_one()
        ids = [row.id for row in conn.execute(select(incidents.c.id))]
    engine.dispose()
    assert count == 1 + writers * notes + 3  # the opening, every note, every CLI note
    assert len(opened) == writers * opens
    assert len(ids) == len(set(ids)) == 1 + writers * opens
    numbers = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert numbers == list(range(1, len(ids) + 1))  # no gaps, no duplicates
    assert Counter(i.rsplit("-", 1)[0] for i in ids).most_common(1)[0][1] == len(ids)


def test_a_stopped_database_is_one_clear_line(pg_fresh: PostgresServer, tmp_path: Path) -> None:
    url = pg_fresh.dsn()
    env = {"OPSBOOK_STORE": url, "OPSBOOK_USER": "alice"}
    opened = run_opsbook("incident", "open", "--sev", "2", "--title", "x", env=env)
    assert opened.returncode == 0, opened.stderr
    pg_fresh.stop()
    proc = run_opsbook("incident", "list", env=env)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("opsbook: cannot open the store postgresql://postgres:***@127.0.0.1:")
    assert "Connection refused" in line or "connection refused" in line
    assert "pg-super-Secr3t" not in proc.stderr


def test_a_sqlite_store_is_private_to_its_owner(tmp_path: Path) -> None:
    from opsbook.store.open import open_store

    path = tmp_path / "new" / "opsbook.db"
    store = open_store(f"sqlite:///{path}")
    store.engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
    path.chmod(0o644)  # one made by an older opsbook
    open_store(f"sqlite:///{path}").engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600


def test_opening_the_store_again_in_a_process_loses_none_of_its_writes(tmp_path: Path) -> None:
    """The daemon opens its SQLite store again for the backup and job checks. Closing any
    descriptor of the file drops the process's POSIX locks on it; a CLI command reading the
    store meanwhile then took itself for the last connection, checkpointed and deleted the
    WAL under the daemon, and the daemon's next writes failed or vanished."""
    path = tmp_path / "opsbook.db"
    url = f"sqlite:///{path}"
    daemon = open_store(url).engine
    with daemon.begin() as conn:  # a pooled connection keeps the WAL open, as serve's do
        conn.execute(text("CREATE TABLE marks (n INTEGER)"))
    poll = """
import sys, time, sqlite3
end = time.monotonic() + 3
while time.monotonic() < end:
    c = sqlite3.connect(sys.argv[1]); c.execute('select count(*) from marks').fetchall()
    c.close(); time.sleep(0.02)
"""
    reader = subprocess.Popen([sys.executable, "-c", poll, str(path)])
    try:
        for n in range(30):
            if n % 3 == 0:  # a check opening the store in the same process
                again = open_store(url).engine
                with again.connect() as conn:
                    conn.execute(text("SELECT count(*) FROM marks")).all()
                again.dispose()
            with daemon.begin() as conn:
                conn.execute(text("INSERT INTO marks VALUES (:n)"), {"n": n})
            time.sleep(0.05)
    finally:
        reader.wait(10)
    daemon.dispose()
    fresh = make_engine(url)
    with fresh.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM marks")).scalar() == 30
    fresh.dispose()
