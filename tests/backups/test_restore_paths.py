"""Restoring Redis and configuration-file backups to a path, proven the way it matters: a
redis-server started on the restored file has the keys; the files are byte for byte back."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import RedisServer

from .conftest import Cli, Env


@pytest.fixture
def spare_redis() -> Iterator[RedisServer]:
    """A redis-server not started yet: its data directory is where the restore goes."""
    server = RedisServer()
    yield server
    server.destroy()


def files_source(env: Env, etc: Path) -> None:
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: {{recipients: [{env.recipient}]}}
        sources:
          config:
            type: files
            paths: [{etc}]
    """)


def make_etc(env: Env) -> Path:
    etc = env.root / "etc" / "nginx"
    (etc / "sites").mkdir(parents=True)
    (etc / "nginx.conf").write_text("worker_processes auto;\n")
    (etc / "sites" / "api.conf").write_bytes(b"server { listen 443; }\n\x00\xff")
    return etc


def test_a_redis_backup_restored_to_a_file_starts_a_server_with_every_key(
    ops: Cli, env: Env, redis: RedisServer, spare_redis: RedisServer
) -> None:
    redis.cli("FLUSHALL")
    for i in range(250):
        redis.cli("SET", f"cart:{i}", f"items-{i}")
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: {{recipients: [{env.recipient}]}}
        sources:
          cache: {{type: redis, url: {redis.url()}}}
    """)
    backup_id = ops("backup", "run", "cache").out.strip()
    target = spare_redis.dir / "dump.rdb"
    done = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity),
               "-f", "json")  # fmt: skip
    assert done.code == 0, done.err
    assert "an RDB of 250 keys" in json.loads(done.out)["detail"]
    spare_redis.start()
    assert spare_redis.cli("DBSIZE") == "250"
    assert spare_redis.cli("GET", "cart:249") == "items-249"
    spare_redis.stop()
    again = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity))
    assert again.code == 1
    assert "exists; give --force to replace it" in again.err


def test_files_come_back_byte_for_byte_and_a_non_empty_directory_needs_force(
    ops: Cli, env: Env
) -> None:
    etc = make_etc(env)
    files_source(env, etc)
    backup_id = ops("backup", "run", "config").out.strip()
    target = env.root / "restored"
    done = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity))
    assert done.code == 0, done.err
    back = target / str(etc).lstrip("/")
    assert (back / "sites" / "api.conf").read_bytes() == b"server { listen 443; }\n\x00\xff"
    assert (back / "nginx.conf").read_text() == "worker_processes auto;\n"
    (back / "nginx.conf").write_text("changed\n")
    refused = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity))
    assert refused.code == 1 and "is not empty" in refused.err
    assert (back / "nginx.conf").read_text() == "changed\n"
    forced = ops("backup", "restore", backup_id, "--to", str(target), "--force",
                 "-i", str(env.identity))  # fmt: skip
    assert forced.code == 0, forced.err
    assert (back / "nginx.conf").read_text() == "worker_processes auto;\n"
    events = json.loads(ops("backup", "show", backup_id, "-f", "json").out)["events"]
    restores = [e for e in events if e["kind"] == "restore"]
    assert [e["ok"] for e in restores] == [True, True]  # the refused one changed nothing


def test_a_tampered_files_backup_leaves_the_target_untouched(ops: Cli, env: Env) -> None:
    etc = make_etc(env)
    files_source(env, etc)
    backup_id = ops("backup", "run", "config").out.strip()
    stored = env.root / "repo" / "config" / backup_id / "files.tar.zst.age"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    target = env.root / "restored"
    result = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity))
    assert result.code == 1
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert not target.exists()
    assert not any(p.name.endswith("opsbook-partial") for p in env.root.iterdir())


def test_restore_arguments_that_do_not_fit_the_backup_kind(ops: Cli, env: Env) -> None:
    files_source(env, make_etc(env))
    backup_id = ops("backup", "run", "config").out.strip()
    url = ops("backup", "restore", backup_id, "--to", "postgresql://x@h/db")
    assert url.code == 3 and "--to takes a path" in url.err
    clean = ops("backup", "restore", backup_id, "--to", str(env.root / "x"), "--clean")
    assert clean.code == 3 and "--clean is for PostgreSQL" in clean.err


def test_a_bgsave_backup_of_a_local_redis_restores_every_key(
    ops: Cli, env: Env, redis: RedisServer, spare_redis: RedisServer
) -> None:
    redis.cli("FLUSHALL")
    for i in range(120):
        redis.cli("HSET", f"user:{i}", "name", f"n{i}")
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: {{recipients: [{env.recipient}]}}
        sources:
          cache: {{type: redis, url: {redis.url()}, method: bgsave}}
    """)
    run = ops("backup", "run", "cache", "-f", "json")
    assert run.code == 0, run.err
    # again at once: a save that ends in the same second as the last one is still seen to end
    started = time.monotonic()
    run = ops("backup", "run", "cache", "-f", "json")
    assert run.code == 0, run.err
    assert time.monotonic() - started < 30
    backup_id = json.loads(run.out)["id"]
    shown = json.loads(ops("backup", "show", backup_id, "-f", "json").out)
    assert shown["tool_version"] == "BGSAVE + copy"
    target = spare_redis.dir / "dump.rdb"
    done = ops("backup", "restore", backup_id, "--to", str(target), "-i", str(env.identity))
    assert done.code == 0, done.err
    spare_redis.start()
    assert spare_redis.cli("DBSIZE") == "120"
    assert spare_redis.cli("HGET", "user:7", "name") == "n7"


def test_bgsave_with_an_unreadable_rdb_path_says_what_to_do(
    ops: Cli, env: Env, redis: RedisServer
) -> None:
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: none
        sources:
          cache: {{type: redis, url: {redis.url()}, method: bgsave, rdb_path: /nonexistent/x.rdb}}
    """)
    run = ops("backup", "run", "cache")
    assert run.code == 1
    assert "cannot read /nonexistent/x.rdb: /nonexistent does not exist here" in run.err
    assert "method: sync" in run.err
    assert json.loads(ops("backup", "list", "-f", "json").out) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to other owners")
def test_a_files_restore_as_root_keeps_owners_and_modes(ops: Cli, env: Env) -> None:
    etc = make_etc(env)
    secret = etc / ".env"
    secret.write_text("DB_PASSWORD=x\n")
    os.chown(secret, 65534, 65534)  # nobody:nogroup
    secret.chmod(0o600)
    os.chown(etc / "nginx.conf", 1234, 4321)
    (etc / "nginx.conf").chmod(0o640)
    files_source(env, etc)
    backup_id = ops("backup", "run", "config").out.strip()
    for target, extra in ((env.root / "fresh", ()), (env.root / "existing", ("--force",))):
        if extra:
            target.mkdir()
            (target / "placeholder").write_text("x")
        done = ops("backup", "restore", backup_id, "--to", str(target), *extra,
                   "-i", str(env.identity))  # fmt: skip
        assert done.code == 0, done.err
        back = target / str(etc).lstrip("/")
        for name, owner, mode in ((".env", (65534, 65534), 0o600),
                                  ("nginx.conf", (1234, 4321), 0o640)):  # fmt: skip
            st = (back / name).stat()
            assert ((st.st_uid, st.st_gid), st.st_mode & 0o777) == (owner, mode), (target, name)


def test_a_redis_restore_never_writes_through_a_planted_link(
    ops: Cli, env: Env, redis: RedisServer
) -> None:
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: none
        sources:
          cache: {{type: redis, url: "{redis.url()}"}}
    """)
    backup_id = ops("backup", "run", "cache").out.strip()
    victim = env.root / "victim.txt"
    victim.write_text("precious")
    target = env.root / "data" / "dump.rdb"
    target.parent.mkdir()
    for name in (f".{target.name}.opsbook-partial", f".{target.name}.partial"):
        (target.parent / name).symlink_to(victim)  # the paths an attacker could guess
    done = ops("backup", "restore", backup_id, "--to", str(target))
    assert done.code == 0, done.err
    assert victim.read_text() == "precious"
    assert target.read_bytes()[:5] == b"REDIS"
