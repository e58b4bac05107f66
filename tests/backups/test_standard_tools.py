"""The formats are standard: a backup restores with age, zstd and pg_restore alone, as
docs/backups.md says, using a key made by `opsbook backup keygen`."""

from __future__ import annotations

import json
import stat
import subprocess

from .conftest import Cli, Env


def test_keygen_then_restore_without_opsbook(ops: Cli, env: Env) -> None:
    key = env.root / "made.txt"
    made = ops("backup", "keygen", "-o", str(key))
    assert made.code == 0, made.err
    public = made.out.strip()
    assert public.startswith("age1")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert ops("backup", "keygen", "-o", str(key)).code == 3  # never overwrites a key
    env.recipient = public
    env.standard()
    backup_id = json.loads(ops("backup", "run", "db", "-f", "json").out)["id"]
    folder = env.root / "repo" / "db" / backup_id
    target = env.database + "_by_hand"
    env.sql(f"CREATE DATABASE {target}", db="postgres")
    pipeline = (f"age -d -i {key} {folder / 'dump.zst.age'} | zstd -d | "
                f"pg_restore --no-owner -d '{env.server.dsn(db=target)}'")  # fmt: skip
    subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], check=True, capture_output=True)
    assert env.sql("SELECT count(*), max(updated_at)::text FROM orders", db=target) == env.sql(
        "SELECT count(*), max(updated_at)::text FROM orders"
    )
    decrypt = f"age -d -i {key} {folder / 'globals.sql.zst.age'} | zstd -d"
    globals_sql = subprocess.run(
        ["bash", "-o", "pipefail", "-c", decrypt],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "CREATE ROLE postgres;" in globals_sql
    assert "SCRAM-SHA-256" not in globals_sql  # no password hashes unless role_passwords: true
