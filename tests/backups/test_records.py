"""Job locks and leases in the store: one run of a job at a time, and prune stays away from a
backup that is being read."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from opsbook.backups import records
from opsbook.store.open import open_store
from opsbook.store.tables import job_locks


def test_a_job_lock_is_held_once_released_and_taken_over_from_a_dead_process(
    tmp_path: Path,
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ops.db'}").engine
    assert records.claim(engine, "backup:db", timedelta(hours=1))
    assert not records.claim(engine, "backup:db", timedelta(hours=1))  # held (by us)
    assert records.claim(engine, "backup:other", timedelta(hours=1))  # other jobs are free
    records.release(engine, "backup:db")
    assert records.claim(engine, "backup:db", timedelta(hours=1))
    with engine.begin() as conn:  # as if a process on this host died holding it
        conn.execute(update(job_locks).values(holder=f"{socket.gethostname()}:999999999"))
    assert records.claim(engine, "backup:db", timedelta(hours=1))
    with engine.begin() as conn:  # another host's holder: only expiry frees it
        conn.execute(update(job_locks).values(holder="elsewhere:1"))
    assert not records.claim(engine, "backup:db", timedelta(hours=1))
    engine.dispose()


def test_a_lease_marks_a_backup_in_use_until_released(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ops.db'}").engine
    with records.lease(engine, "b1", "verify"):
        assert records.leased(engine) == {"b1"}
    assert records.leased(engine) == set()
    engine.dispose()
