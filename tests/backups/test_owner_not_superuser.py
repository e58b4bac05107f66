"""A database owner who is not a superuser (the usual app role with CREATEDB) backs up,
verifies and restores a database holding an extension only a superuser may create
(pg_stat_statements): the extension is left out and said, the rest restores and matches,
and no scratch database is left behind, even when a verify fails."""

from __future__ import annotations

import json
import uuid

from tests.backups.conftest import Cli, Env


def owner_env(env: Env) -> str:
    """An owner role with CREATEDB and the database it owns, with pg_stat_statements in it."""
    role = f"owner_{uuid.uuid4().hex[:8]}"
    env.server.psql(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD 'owner-Secr3t-pw'")
    env.server.psql(f"ALTER DATABASE {env.database} OWNER TO {role}")
    env.server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=env.database)
    env.server.psql(f"GRANT ALL ON ALL TABLES IN SCHEMA public, billing TO {role}",
                    db=env.database)  # fmt: skip
    env.server.psql(f"GRANT USAGE ON SCHEMA billing TO {role}", db=env.database)
    return f"postgresql://{role}:owner-Secr3t-pw@127.0.0.1:{env.server.port}/{env.database}"


def scratch_left(env: Env) -> list[str]:
    found = env.server.psql("SELECT datname FROM pg_database WHERE datname LIKE 'opsbook_verify_%'")
    return [line for line in found.splitlines() if line]


def test_an_owner_verifies_and_restores_leaving_out_what_needs_a_superuser(
    ops: Cli, env: Env
) -> None:
    dsn = owner_env(env)
    env.standard(source={"verify_dsn": dsn}, encryption="none")
    made = ops("backup", "run", "db", "-f", "json")
    assert made.code == 0, made.err
    backup_id = json.loads(made.out)["id"]
    before = scratch_left(env)
    verify = ops("backup", "verify", backup_id, "-f", "json")
    assert verify.code == 0, verify.out + verify.err
    said = json.loads(verify.out)
    assert said["ok"] and "pg_stat_statements" in said["detail"]
    assert "only a superuser may create" in said["detail"]
    assert scratch_left(env) == before  # the scratch database went
    target = dsn.rsplit("/", 1)[0] + f"/{env.database}_copy"
    restored = ops("backup", "restore", backup_id, "--to", target, "--yes", "-f", "json")
    assert restored.code == 0, restored.out + restored.err
    assert "pg_stat_statements" in json.loads(restored.out)["detail"]
    rows = env.sql("SELECT count(*) FROM orders", db=f"{env.database}_copy")
    assert rows == [(20000,)]
