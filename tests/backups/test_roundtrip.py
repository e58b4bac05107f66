"""backup → list → verify → restore, with the data compared, into a directory and into S3."""

from __future__ import annotations

import json
import os
import stat

from .conftest import Cli, Env

TABLES = {"public.orders": 20000, "billing.invoices": 500, "public.empty_table": 0}


def test_backup_list_verify_restore_round_trip_in_a_directory(ops: Cli, env: Env) -> None:
    env.standard()
    run = ops("backup", "run", "db", "-f", "json")
    assert run.code == 0, run.err
    made = json.loads(run.out)
    backup_id = made["id"]
    assert made["tables"] == 3 and made["rows"] == 20500
    assert made["stored_bytes"] < made["raw_bytes"]  # compressed

    listed = json.loads(ops("backup", "list", "-f", "json").out)
    assert [b["id"] for b in listed] == [backup_id]
    assert listed[0]["verified"] is None  # not verified yet

    shown = json.loads(ops("backup", "show", backup_id, "-f", "json").out)
    assert {f"{t['schema']}.{t['table']}": t["rows"] for t in shown["tables"]} == TABLES
    orders = next(t for t in shown["tables"] if t["table"] == "orders")
    assert orders["maxima"] == {
        "created_at": "2026-01-01 00:00:00+00",
        "updated_at": "2026-11-01 17:33:20+00",  # 12:00 + 20000 s
        "shipped": "2026-11-20",
    }
    assert shown["encryption"]["mode"] == "recipients"
    assert "pg-super-Secr3t" not in json.dumps(shown)
    assert shown["target"].endswith(f"127.0.0.1:{env.server.port}/{env.database}")

    verify = ops("backup", "verify", backup_id, "-i", str(env.identity), "-f", "json")
    assert verify.code == 0, verify.out + verify.err
    assert json.loads(verify.out)["rows"] == 20500
    assert env.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'opsbook_verify_%'",
                   db="postgres") == [(0,)]  # fmt: skip
    assert json.loads(ops("backup", "list", "-f", "json").out)[0]["verified"] is True

    target = env.server.dsn(db=env.database + "_restored")
    restored = ops("backup", "restore", backup_id, "--to", target, "-i", str(env.identity))
    assert restored.code == 0, restored.err
    assert "3 tables, 20500 rows, all matching the manifest" in restored.out
    copy = env.sql("SELECT count(*), max(updated_at)::text, sum(total)::text FROM orders "
                   "JOIN billing.invoices i ON i.order_id = orders.id",
                   db=env.database + "_restored")  # fmt: skip
    assert copy == env.sql("SELECT count(*), max(updated_at)::text, sum(total)::text FROM orders "
                           "JOIN billing.invoices i ON i.order_id = orders.id")  # fmt: skip

    again = ops("backup", "restore", backup_id, "--to", target, "-i", str(env.identity))
    assert again.code == 1
    assert "is not empty" in again.err and "--clean" in again.err
    clean = ops("backup", "restore", backup_id, "--to", target, "--clean",
                "-i", str(env.identity))  # fmt: skip
    assert clean.code == 0, clean.err


def test_files_are_private_and_the_dump_is_encrypted(ops: Cli, env: Env) -> None:
    env.standard()
    backup_id = ops("backup", "run", "db").out.strip()
    folder = env.root / "repo" / "db" / backup_id
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if path.name.endswith(".age"):
            assert path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    assert b"pg-super-Secr3t" not in (folder / "manifest.json").read_bytes()


def test_round_trip_through_s3_with_parallel_dump_and_restore(
    ops: Cli, env: Env, s3: object
) -> None:
    from tests.support.servers import S3Server

    assert isinstance(s3, S3Server)
    bucket = s3.bucket(f"b-{env.database.replace('_', '-')}")
    os.environ["AWS_ACCESS_KEY_ID"] = s3.ACCESS_KEY
    os.environ["AWS_SECRET_ACCESS_KEY"] = s3.SECRET_KEY
    try:
        offsite = f"{{type: s3, endpoint: '{s3.endpoint}', bucket: {bucket}, prefix: fraiseql/}}"
        env.standard(repos={"offsite": offsite}, source={"jobs": "2", "verify_jobs": "2"})
        run = ops("backup", "run", "db", "-f", "json")
        assert run.code == 0, run.err
        backup_id = json.loads(run.out)["id"]
        keys = sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"])
        assert keys == [f"fraiseql/db/{backup_id}/{name}" for name in
                        ("dump.zst.age", "globals.sql.zst.age", "manifest.json")]  # fmt: skip
        shown = json.loads(ops("backup", "show", backup_id, "-f", "json").out)
        assert shown["artifacts"][0]["format"] == "directory-tar"
        verify = ops("backup", "verify", "latest", "-i", str(env.identity))
        assert verify.code == 0, verify.out + verify.err
        target = env.server.dsn(db=env.database + "_from_s3")
        restored = ops("backup", "restore", backup_id, "--to", target, "--jobs", "2",
                       "-i", str(env.identity))  # fmt: skip
        assert restored.code == 0, restored.err
        assert env.sql("SELECT count(*) FROM orders", db=env.database + "_from_s3") == [(20000,)]
    finally:
        del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
