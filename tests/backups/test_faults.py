"""Faults a backup tool must survive: corruption, the wrong key, a killed run, pg_dump
failing, a full disk. Each leaves nothing listed that is not whole, and says why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pyrage import x25519

from .conftest import Cli, Env


def _partial(env: Env) -> list[Path]:
    folder = env.root / "repo" / ".partial"
    return list(folder.iterdir()) if folder.exists() else []


def test_a_flipped_byte_is_caught_by_verify_and_named(ops: Cli, env: Env) -> None:
    env.standard()
    backup_id = ops("backup", "run", "db").out.strip()
    dump = env.root / "repo" / "db" / backup_id / "dump.zst.age"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    result = ops("backup", "verify", backup_id, "-i", str(env.identity))
    assert result.code == 1
    assert f"backup {backup_id} dump.zst.age in local" in result.out
    assert "does not match its checksum" in result.out and "corrupt" in result.out
    listed = json.loads(ops("backup", "list", "-f", "json").out)
    assert listed[0]["verified"] is False
    assert "checksum" in listed[0]["verify_detail"]


def test_the_wrong_key_or_no_key_is_a_clear_error(ops: Cli, env: Env) -> None:
    env.standard()
    ops("backup", "run", "db")
    other = env.root / "other.txt"
    other.write_text(str(x25519.Identity.generate()))
    wrong = ops("backup", "verify", "latest", "-i", str(other))
    assert wrong.code == 1
    assert "the identity given is not one of this backup's recipients (sha256:" in wrong.out
    missing = ops("backup", "verify", "latest")
    assert missing.code == 1
    assert "give --identity FILE or set $OPSBOOK_AGE_IDENTITY" in missing.out
    garbage = env.root / "garbage.txt"
    garbage.write_text("not a key\n")
    bad = ops("backup", "verify", "latest", "-i", str(garbage))
    assert bad.code == 3
    assert (
        bad.err.strip()
        == f"opsbook: {garbage}: not an age identity (expected AGE-SECRET-KEY-1… lines)"
    )


@pytest.fixture
def table_lock(env: Env) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Holds ACCESS EXCLUSIVE on orders: pg_dump starts, then waits for it."""
    conn = psycopg.connect(env.dsn)
    conn.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    yield conn
    conn.close()


def _wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _pg_dump_waiting(env: Env) -> bool:
    rows = env.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                   "AND wait_event_type = 'Lock'", db="postgres")  # fmt: skip
    return rows == [(1,)]


def test_a_run_killed_mid_dump_leaves_nothing_listed_and_the_next_run_cleans_up(
    ops: Cli, env: Env, table_lock: psycopg.Connection[tuple[object, ...]]
) -> None:
    env.standard()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbook", "backup", "run", "db", "--config", str(env.config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for(lambda: _pg_dump_waiting(env) and _partial(env))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    table_lock.rollback()  # pg_dump goes on, into a pipe nobody reads: it dies
    assert json.loads(ops("backup", "list", "-f", "json").out) == []
    assert len(_partial(env)) == 1
    again = ops("backup", "run", "db", "-f", "json")
    assert again.code == 0, again.err
    assert _partial(env) == []
    assert [b["id"] for b in json.loads(ops("backup", "list", "-f", "json").out)] == [
        json.loads(again.out)["id"]
    ]


def test_pg_dump_failing_publishes_nothing_and_says_why(
    ops: Cli, env: Env, table_lock: psycopg.Connection[tuple[object, ...]]
) -> None:
    env.standard()

    def kill_pg_dump() -> None:
        _wait_for(lambda: _pg_dump_waiting(env))
        env.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'pg_dump'", db="postgres")  # fmt: skip

    killer = threading.Thread(target=kill_pg_dump)
    killer.start()
    result = ops("backup", "run", "db")
    killer.join()
    assert result.code == 1
    assert result.err.startswith("opsbook: pg_dump failed: ")
    assert "terminating connection due to administrator command" in result.err
    assert "pg-super-Secr3t" not in result.err
    assert json.loads(ops("backup", "list", "-f", "json").out) == []
    assert _partial(env) == []


@pytest.fixture
def tiny_disk(env: Env) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = env.root / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_repository_disk_fails_cleanly(ops: Cli, env: Env, tiny_disk: Path) -> None:
    env.standard(repos={"local": f"{{type: filesystem, path: {tiny_disk}}}"})
    result = ops("backup", "run", "db")
    assert result.code == 1
    assert "no repository could store the backup" in result.err
    assert f"repository local ({tiny_disk}): writing dump.zst.age failed after" in result.err
    assert "no space left on device" in result.err
    assert json.loads(ops("backup", "list", "-f", "json").out) == []
    assert list((tiny_disk / ".partial").iterdir()) == []


def test_one_full_repository_does_not_stop_the_other(
    ops: Cli, env: Env, tiny_disk: Path, s3: object
) -> None:
    from tests.support.servers import S3Server

    assert isinstance(s3, S3Server)
    bucket = s3.bucket(f"full-{env.database.replace('_', '-')}")
    offsite = (f"{{type: s3, endpoint: '{s3.endpoint}', bucket: {bucket}, "
               f"access_key_id: {s3.ACCESS_KEY}, secret_access_key: {s3.SECRET_KEY}}}")  # fmt: skip
    env.standard(repos={"local": f"{{type: filesystem, path: {tiny_disk}}}", "offsite": offsite})
    result = ops("backup", "run", "db", "-f", "json")
    assert result.code == 1
    made = json.loads(result.out)
    assert made["repositories"] == ["offsite"]
    assert "no space left on device" in made["failed_repositories"]["local"]
    assert s3.SECRET_KEY not in result.out + result.err
    listed = json.loads(ops("backup", "list", "-f", "json").out)
    assert [(b["id"], b["repositories"]) for b in listed] == [(made["id"], ["offsite"])]


def test_an_s3_error_is_one_line_naming_the_repository_never_a_traceback(
    ops: Cli, env: Env, s3: object
) -> None:
    from tests.support.servers import S3Server

    assert isinstance(s3, S3Server)
    offsite = (f"{{type: s3, endpoint: '{s3.endpoint}', bucket: no-such-bucket, "
               f"access_key_id: {s3.ACCESS_KEY}, secret_access_key: {s3.SECRET_KEY}}}")  # fmt: skip
    env.standard(repos={"offsite": offsite})
    for args in (("backup", "list"), ("backup", "run", "db")):
        result = ops(*args)
        assert result.code == 1, (args, result.out, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert "repository offsite (s3://no-such-bucket/" in lines[0]
        assert "NoSuchBucket" in lines[0] or "does not exist" in lines[0]
        assert "Traceback" not in result.err
        assert s3.SECRET_KEY not in result.out + result.err
