"""Point-in-time recovery with pgBackRest (Debian's), on a cluster the test owns: set up
(archiving applied, a restart, stanza and check), a full and an incremental backup with WAL,
a row written, a time noted, the table damaged: a proof restored to the noted time holds
the row and not the damage; a backup is proved to its consistent point; a WAL segment
removed from the repository fails the proof, saying why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from opsbook.backups.pgbackrest import marker, physical
from opsbook.backups.records import EventKind, events
from opsbook.config.backups import Backups, BackupSettings, FilesystemRepo, PgBackRestSource
from opsbook.store.open import open_store
from tests.support.servers import PostgresServer, _chown_to_postgres


@pytest.fixture
def cluster(tmp_path: Path, pg_template: Path) -> Iterator[tuple[PostgresServer, Backups]]:
    pg = PostgresServer.create(pg_template)
    work = pg.base / "opsbook"  # reachable by the postgres user (the base is 0755)
    (work / "repo").mkdir(parents=True)
    _chown_to_postgres(work)
    source = PgBackRestSource(
        data_directory=str(pg.data), port=pg.port, socket_dir=str(pg.sockets),
        config_dir=str(work / "etc"), spool_dir=str(work / "spool"), archive_timeout=60,
        verify_after_full=False,
    )  # fmt: skip
    backups = Backups(repositories={"local": FilesystemRepo(path=str(work / "repo"))},
                      encryption=None, sources={"main": source},
                      settings=BackupSettings())  # fmt: skip
    pg.start()
    yield pg, backups
    pg.destroy()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    opened = open_store(f"sqlite:///{tmp_path / 'opsbook.db'}")
    yield opened.engine
    opened.engine.dispose()


def archiving(pg: PostgresServer, source: PgBackRestSource, backups: Backups) -> None:
    """Set up, restart for archive_mode, set up again: pgBackRest's check must pass."""
    physical.setup("main", source, backups, apply=True)
    pg.stop()
    pg.start()
    checked = physical.setup("main", source, backups, apply=False)
    assert checked.checked.startswith("ok"), checked.checked


def source_of(backups: Backups) -> PgBackRestSource:
    found = backups.sources["main"]
    assert isinstance(found, PgBackRestSource)
    return found


def test_a_restore_to_a_noted_time_has_the_row_and_not_the_damage(
    cluster: tuple[PostgresServer, Backups], store: Engine
) -> None:
    pg, backups = cluster
    source = source_of(backups)
    first = physical.setup("main", source, backups, apply=True)
    assert first.restart_needed and first.current["archive_mode"] == "off"
    assert "archive-push %p" in first.wanted["archive_command"]
    pg.stop()
    pg.start()  # archive_mode takes effect
    again = physical.setup("main", source, backups, apply=False)
    assert not again.restart_needed and again.checked.startswith("ok"), again.checked
    conf = Path(again.where.conf)
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    pg.psql("CREATE TABLE orders (id int PRIMARY KEY, total numeric)")
    pg.psql("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 500) g")
    full = physical.backup("main", source, backups, store, kind="full", actor="tester")
    assert full.ok and full.backup is not None and full.backup.kind == "full", full.error
    pg.psql("INSERT INTO orders VALUES (9001, 42)")
    with physical.connect(physical.dsn_of(source)) as conn:
        marker.write(conn, "the row is in")
    time.sleep(1.1)
    noted = datetime.now(UTC)
    time.sleep(1.1)
    pg.psql("UPDATE orders SET total = 0")  # the bad UPDATE at 14:38
    pg.psql("DELETE FROM orders WHERE id < 100")
    incr = physical.backup("main", source, backups, store, kind="incr", actor="tester")
    assert incr.ok and incr.backup is not None and incr.backup.kind == "incr", incr.error
    assert incr.backup.prior == full.backup.label
    info = physical.listing("main", source)
    assert [b.kind for b in info.backups] == ["full", "incr"]
    assert info.wal_min is not None and info.wal_max is not None and info.wal_max > info.wal_min
    truth = (
        "SELECT EXISTS (SELECT FROM orders WHERE id = 9001)",  # the row is back
        "SELECT count(*) = 501 FROM orders",  # the DELETE is not
        "SELECT bool_and(total > 0) FROM orders",
    )  # nor the UPDATE
    proof = physical.verify("main", source, store, noted, actor="tester", queries=truth)
    assert proof.ok, proof.detail
    assert "3 verify queries true" in proof.detail
    wrong = physical.verify("main", source, store, noted, actor="tester",
                            queries=("SELECT count(*) = 401 FROM orders",))  # fmt: skip
    assert not wrong.ok and "answered False" in wrong.detail
    assert proof.marks >= 2  # the one before the full, and "the row is in"
    latest = events(store, source="main", kind=EventKind.VERIFY)[1]  # newest first
    assert latest.ok and latest.backup_id == full.backup.label  # the newest before the time
    immediate = physical.verify("main", source, store, None, actor="tester",
                                backup=full.backup)  # fmt: skip
    assert immediate.ok, immediate.detail
    assert not list((Path(source.spool_dir) / "main").glob("proof-*"))  # scratch removed


def test_a_wal_segment_missing_from_the_repository_fails_the_proof_and_says_why(
    cluster: tuple[PostgresServer, Backups], store: Engine
) -> None:
    pg, backups = cluster
    source = source_of(backups)
    archiving(pg, source, backups)
    pg.psql("CREATE TABLE t (id int)")
    assert physical.backup("main", source, backups, store, kind="full", actor="t").ok
    for _ in range(3):
        pg.psql("INSERT INTO t SELECT count(*) FROM t")
        pg.psql("SELECT pg_switch_wal()")
    with physical.connect(physical.dsn_of(source)) as conn:
        marker.write(conn, "after the backup")
    time.sleep(1.1)
    target = datetime.now(UTC)
    pg.psql("INSERT INTO t VALUES (99)")
    pg.switch_and_archive()
    info = physical.listing("main", source)
    archive = Path(backups.repositories["local"].path) / "pgbackrest" / "archive" / "main"  # type: ignore[union-attr]
    segments = sorted(p for p in archive.rglob("0000000100000000*") if p.is_file())
    after_backup = [p for p in segments if p.name[:24] > info.backups[-1].wal_stop]
    assert after_backup, [p.name for p in segments]
    after_backup[0].unlink()
    proof = physical.verify("main", source, store, target, actor="t")
    assert not proof.ok
    assert "recovery" in proof.detail or "marker" in proof.detail, proof.detail
    [event] = events(store, source="main", kind=EventKind.VERIFY)
    assert not event.ok


def test_the_wal_archive_check_says_off_working_and_failing(
    cluster: tuple[PostgresServer, Backups],
) -> None:
    from opsbook.checks.wal_archive import assess, fetch
    from opsbook.config.db_checks import WalArchiveCheck
    from opsbook.status import Status

    pg, backups = cluster
    source = source_of(backups)
    check = WalArchiveCheck(dsn=source.conninfo, archive_timeout=60, rpo=300)
    off = assess(check, fetch(check))
    assert off.status is Status.CRITICAL and "archive_mode is off" in off.message
    archiving(pg, source, backups)
    pg.psql("CREATE TABLE t AS SELECT generate_series(1, 1000) AS id")
    pg.switch_and_archive()
    working = assess(check, fetch(check))
    assert working.status is Status.OK, working.message
    pg.psql("ALTER SYSTEM SET archive_command = 'false'")
    pg.psql("SELECT pg_reload_conf()")
    pg.psql("INSERT INTO t SELECT generate_series(1, 1000)")
    pg.psql("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 30
    failing = assess(check, fetch(check))
    while failing.status is not Status.CRITICAL and time.monotonic() < deadline:
        time.sleep(0.5)
        failing = assess(check, fetch(check))
    assert failing.status is Status.CRITICAL and "archiving is failing" in failing.message


def test_unarchived_bytes_count_from_the_end_of_the_last_archived_segment() -> None:
    from opsbook.checks.wal_archive import unarchived_bytes

    seg = 16 * 1024 * 1024
    row = {"current_lsn": "0/6000000", "last_archived_wal": "000000010000000000000005",
           "seg_bytes": seg}  # fmt: skip
    assert unarchived_bytes(row) == 0  # right after a switch: nothing at risk
    assert unarchived_bytes({**row, "current_lsn": "0/6000100"}) == 0x100
    assert unarchived_bytes({**row, "current_lsn": "1/00000010",
                             "last_archived_wal": "0000000100000000000000FF"}) == 0x10  # fmt: skip
    assert unarchived_bytes({**row, "last_archived_wal": None}) == 0x6000000


def test_incremental_chains_expire_whole_once_their_newest_is_old_and_fulls_stay(
    cluster: tuple[PostgresServer, Backups], store: Engine
) -> None:
    from datetime import timedelta

    from opsbook.backups.pgbackrest.conf import layout
    from opsbook.backups.pgbackrest.info import read

    pg, backups = cluster
    source = source_of(backups)
    archiving(pg, source, backups)
    pg.psql("CREATE TABLE t AS SELECT 1 AS id")
    for kind in ("full", "incr", "incr"):
        assert physical.backup("main", source, backups, store, kind=kind, actor="t").ok
    where = layout("main", source)
    now = datetime.now(UTC)
    assert physical.expire_incrementals(where, source, now) == []  # all young: kept
    later = now + timedelta(days=8)
    gone = physical.expire_incrementals(where, source, later)
    kinds = [b.kind for b in read(where, source.os_user).backups]
    assert len(gone) == 1 and kinds == ["full"]  # the chain went, its full stayed
    proof = physical.verify("main", source, store, None, actor="t")
    assert proof.ok, proof.detail  # what a restore needs is still there


def test_a_random_recent_moment_lies_inside_what_the_archive_covers() -> None:
    import random
    from datetime import timedelta

    from opsbook.backups.pgbackrest.info import PhysicalBackup, StanzaInfo

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    full = PhysicalBackup("20261203-010000F", "full", now - timedelta(hours=11),
                          now - timedelta(hours=10), 1, 1, 1, "a", "b", None, 1)  # fmt: skip
    info = StanzaInfo("main", "ok", (full,), "a", "b", "none")
    archived = now - timedelta(minutes=2)
    rng = random.Random(7)
    picks = [physical.recent_moment(info, archived, now, rng) for _ in range(200)]
    assert all(p is not None and full.finished_at <= p <= archived for p in picks)
    assert physical.recent_moment(info, full.finished_at, now, rng) is None  # nothing after


def test_serve_schedules_the_full_the_incrementals_and_the_daily_proof() -> None:
    from opsbook.daemon.backup_jobs import jobs_of

    source = PgBackRestSource(data_directory="/var/lib/postgresql/15/main")
    backups = Backups(repositories={"local": FilesystemRepo(path="/srv")}, encryption=None,
                      sources={"main": source}, settings=BackupSettings())  # fmt: skip
    planned = {(j.kind, j.cron) for j in jobs_of(backups) if j.source == "main"}
    assert planned == {("backup", "0 1 * * *"), ("incr", "0 * * * *"), ("proof", "30 5 * * *")}


def test_the_backup_check_of_a_physical_source_wants_an_incremental_every_two_periods() -> None:
    from opsbook.config.backups import backup_checks

    source = PgBackRestSource(data_directory="/var/lib/postgresql/15/main")
    backups = Backups(repositories={"local": FilesystemRepo(path="/srv")}, encryption=None,
                      sources={"main": source}, settings=BackupSettings())  # fmt: skip
    checks = backup_checks(backups, {}, None)
    assert float(checks["backup-main"].max_age) == 2 * 3600 + 600  # hourly incrementals
    assert set(checks) == {"backup-main", "backup-main-wal"}
