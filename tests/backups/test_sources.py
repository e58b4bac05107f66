"""Redis and configuration files go through the same pipeline, and are proven the same way;
the backups: section explains what is wrong with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import RedisServer

from .conftest import Cli, Env

REDIS_PASSWORD = "redis-Secr3t-pw"


@pytest.fixture
def guarded_redis() -> Iterator[RedisServer]:
    server = RedisServer(password=REDIS_PASSWORD)
    server.start()
    yield server
    server.destroy()


def test_redis_snapshot_round_trip_with_a_password(
    ops: Cli, env: Env, guarded_redis: RedisServer
) -> None:
    for i in range(300):
        guarded_redis.cli("SET", f"session:{i}", "x" * 100)
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption:
          passphrase: correct-horse-battery
        sources:
          cache:
            type: redis
            url: {guarded_redis.url()}
    """)
    run = ops("backup", "run", "cache", "-f", "json")
    assert run.code == 0, run.err
    made = json.loads(run.out)
    assert REDIS_PASSWORD not in run.out + run.err
    verify = ops("backup", "verify", made["id"], "-f", "json")
    assert verify.code == 0, verify.out + verify.err
    assert "300 keys, checked by redis-check-rdb" in json.loads(verify.out)["detail"]
    shown = json.loads(ops("backup", "show", made["id"], "-f", "json").out)
    assert shown["encryption"]["mode"] == "passphrase"
    assert shown["artifacts"][0]["format"] == "rdb"
    assert REDIS_PASSWORD not in json.dumps(shown)


def test_config_files_round_trip_and_exclusions(ops: Cli, env: Env) -> None:
    etc = env.root / "etc" / "nginx"
    (etc / "sites").mkdir(parents=True)
    (etc / "nginx.conf").write_text("worker_processes auto;\n")
    (etc / "sites" / "api.conf").write_text("server { listen 443; }\n")
    (etc / "sites" / "api.conf.swp").write_text("junk")
    env.write(f"""
        repositories:
          local: {{type: filesystem, path: {env.root / "repo"}}}
        encryption: none
        sources:
          config:
            type: files
            paths: [{etc}]
            exclude: ["*.swp"]
    """)
    made = json.loads(ops("backup", "run", "config", "-f", "json").out)
    verify = ops("backup", "verify", made["id"], "-f", "json")
    assert verify.code == 0, verify.out
    assert "files: 4 files" in json.loads(verify.out)["detail"]  # 2 dirs + 2 files, .swp left out
    stored = next((env.root / "repo" / "config").iterdir()) / "files.tar.zst.age"
    assert not stored.read_bytes().startswith(b"age-encryption")  # encryption: none, as asked


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("repositories: {local: {type: filesystem, path: /tmp/x}}\n"
         "sources: {db: {type: postgres, dsn: 'postgresql://a@h/d'}}",
         "backups.encryption: missing: give recipients: [age1…] (or passphrase_file:), or write "
         "encryption: none to store backups unencrypted"),
        ("repositories: {local: {type: filesystem, path: /tmp/x}}\nencryption: none\n"
         "sources: {db: {type: postgres, dsn: 'x', repositories: [offsite]}}",
         "backups.sources.db.repositories: unknown repository 'offsite' (repositories: local)"),
        ("repositories: {local: {type: filesystem, path: /tmp/x}}\nencryption: none\n"
         "sources: {db: {type: postgres, dsn: 'x', schedule: 'every hour'}}",
         "backups.sources.db.schedule: 'every hour' is not a cron expression; expected five "
         "fields such as '0 3 * * *' (03:00 daily) or '0 * * * *' (hourly)"),
        ("repositories: {local: {type: ftp}}\nencryption: none",
         "backups.repositories.local.type: expected one of: filesystem, s3, got 'ftp'"),
        ("repositories: {local: {type: filesystem, path: /x}}\n"
         "encryption: {recipients: [ssh-ed25519 AAAA]}",
         "backups.encryption.recipients: 'ssh-ed25519 AAAA' is not an age public key (age1…)"),
    ],
)  # fmt: skip
def test_a_wrong_backups_section_is_one_clear_line(
    cli: Cli, tmp_path: Path, section: str, expected: str
) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text("backups:\n" + "".join(f"  {line}\n" for line in section.splitlines()))
    result = cli("config", "validate", "-c", str(config))
    assert result.code == 3
    assert expected in result.err, result.err


def test_backup_commands_without_a_backups_section_say_what_to_add(
    cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text("checks: {}\n")
    result = cli("backup", "list", "-c", str(config))
    assert result.code == 3
    assert result.err.strip() == (
        f"opsbook: {config}: no backups: section; add repositories:, encryption: and sources: "
        "(see docs/configuration.md, Backups)"
    )
