"""`opsbook backup` on a pgbackrest source, end to end as a user runs it: setup (with
--apply, then after the restart), full and incremental runs, the list with WAL ranges beside
logical backups, a proof to a moment, and bad input said in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.servers import PostgresServer, _as_postgres, _chown_to_postgres, free_port


def opsbook(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsbook", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "OPSBOOK_USER": "tester"})  # fmt: skip


def yaml_for(pg: PostgresServer, tmp_path: Path, work: Path, encryption: str, repos: str,
             extra: str) -> str:  # fmt: skip
    """opsbook.yaml with one pgbackrest source `main` on ``pg``."""
    return f"""\
store: sqlite:///{tmp_path / "opsbook.db"}
checks:
  mem: {{type: memory}}
backups:
  {encryption}
  repositories:
{repos}  sources:
    main:
      type: pgbackrest
      data_directory: {pg.data}
      port: {pg.port}
      socket_dir: {pg.sockets}
      config_dir: {work / "etc"}
      spool_dir: {work / "spool"}
{extra}"""


@pytest.fixture
def setup(tmp_path: Path, pg_template: Path) -> Iterator[tuple[PostgresServer, Path]]:
    pg = PostgresServer.create(pg_template)
    work = pg.base / "opsbook"
    (work / "repo").mkdir(parents=True)
    (work / "dumps").mkdir()
    _chown_to_postgres(work)
    config = tmp_path / "opsbook.yaml"
    repos = f"    local: {{type: filesystem, path: {work / 'repo'}}}\n"
    config.write_text(yaml_for(pg, tmp_path, work, "encryption: none", repos,
                               "      verify_after_full: false\n"))  # fmt: skip
    pg.start()
    yield pg, config
    pg.destroy()


def test_setup_run_list_and_prove_a_moment_from_the_cli(
    setup: tuple[PostgresServer, Path],
) -> None:
    pg, config = setup
    first = opsbook(config, "backup", "setup", "main", "--apply")
    assert first.returncode == 0, first.stderr
    assert "restart PostgreSQL" in first.stdout and "archive_mode" in first.stdout
    pg.stop()
    pg.start()
    again = opsbook(config, "backup", "setup", "main")
    assert again.returncode == 0 and "pgbackrest check: ok" in again.stdout, again.stdout
    full = opsbook(config, "backup", "run", "main")
    assert full.returncode == 0, full.stderr
    label = full.stdout.strip().splitlines()[-1]
    assert label.endswith("F") and "full backup" in full.stderr
    pg.psql("CREATE TABLE orders (id int)")
    pg.psql("INSERT INTO orders VALUES (1)")
    time.sleep(1.1)
    noted = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    time.sleep(1.1)
    pg.psql("DROP TABLE orders")
    incr = opsbook(config, "backup", "run", "main", "--type", "incr", "-f", "json")
    assert incr.returncode == 0, incr.stderr
    made = json.loads(incr.stdout)
    assert made["type"] == "incr" and made["ok"] and made["label"].startswith(label)
    listed = json.loads(opsbook(config, "backup", "list", "-f", "json").stdout)
    assert [b["kind"] for b in listed] == ["pgbackrest-full", "pgbackrest-incr"]
    assert listed[0]["wal"]["start"] <= listed[1]["wal"]["stop"]
    assert listed[0]["recoverable_from"] is not None
    assert listed[0]["recoverable_until"] > listed[0]["finished_at"]  # WAL after the full
    text = opsbook(config, "backup", "list").stdout
    assert "recoverable from" in text and "until about" in text and label in text
    proved = opsbook(config, "backup", "verify", "main", "--to-time", noted)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert "proved by restore" in proved.stdout
    listed = json.loads(opsbook(config, "backup", "list", "-f", "json").stdout)
    assert listed[0]["verified"] is True  # the full one served the proof
    future = opsbook(config, "backup", "verify", "main", "--to-time", "2999-01-01 00:00")
    assert future.returncode == 3 and "future" in future.stderr
    assert "Traceback" not in future.stderr
    garbage = opsbook(config, "backup", "verify", "main", "--to-time", "yesterday-ish")
    assert garbage.returncode == 3 and "expected a time" in garbage.stderr
    running = opsbook(config, "backup", "restore", "main", "--to-time", noted, "--in-place",
                      "--yes")  # fmt: skip
    assert running.returncode == 3 and "is running: stop it first" in running.stderr
    incident = opsbook(config, "incident", "open", "--sev", "2", "--title", "orders dropped")
    incident_id = incident.stdout.strip()
    restored = pg.base / "restored"
    done = opsbook(config, "backup", "restore", "main", "--to-time", noted, "--to",
                   str(restored), "--yes", "--incident", incident_id)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"from backup {label}" in done.stderr and "MiB of data to copy" in done.stderr
    port = free_port()
    subprocess.run([*_as_postgres(), str(pg.bindir / "pg_ctl"), "-D", str(restored), "-l",
                    str(pg.base / "restored.log"), "-o", f"-p {port} -k {pg.sockets}", "-w",
                    "start"], check=True, capture_output=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # recovery to the target, then promotion
            ask = subprocess.run([str(pg.bindir / "psql"), "-h", str(pg.sockets), "-p", str(port),
                                  "-U", "postgres", "-XAtc", "SELECT pg_is_in_recovery()"],
                                 capture_output=True, text=True, check=False)  # fmt: skip
            if ask.stdout.strip() == "f":
                break
            time.sleep(0.5)
        rows = subprocess.run([str(pg.bindir / "psql"), "-h", str(pg.sockets), "-p", str(port),
                               "-U", "postgres", "-XAtc", "SELECT id FROM orders"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert rows.stdout.strip() == "1", rows.stderr  # the table dropped after the moment
    finally:
        subprocess.run([*_as_postgres(), str(pg.bindir / "pg_ctl"), "-D", str(restored), "-m",
                        "immediate", "stop"], capture_output=True, check=False)  # fmt: skip
    shown = json.loads(opsbook(config, "incident", "show", incident_id, "-f", "json").stdout)
    assert any(e["body"].startswith("recovery: main restored to") and e["actor"] == "tester"
               for e in shown["timeline"])  # fmt: skip
    again = opsbook(config, "backup", "restore", "main", "--to-time", noted, "--to",
                    str(restored), "--yes")  # fmt: skip
    assert again.returncode == 3 and "is not empty" in again.stderr


def test_a_pgbackrest_source_on_plain_http_s3_or_with_age_keys_alone_is_refused_where_written(
    tmp_path: Path,
) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text("""\
checks:
  mem: {type: memory}
backups:
  encryption: {recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}
  repositories:
    s3: {type: s3, bucket: b, endpoint: "http://127.0.0.1:9000"}
  sources:
    main: {type: pgbackrest, data_directory: /var/lib/postgresql/15/main}
""")
    done = opsbook(config, "config", "validate")
    assert done.returncode == 3
    assert "HTTPS only" in done.stderr and "cipher_pass_file" in done.stderr


def ready(pg: PostgresServer, config: Path) -> None:
    assert opsbook(config, "backup", "setup", "main", "--apply").returncode == 0
    pg.stop()
    pg.start()
    done = opsbook(config, "backup", "setup", "main")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_killed_backup_leaves_nothing_listed_and_the_next_one_runs(
    setup: tuple[PostgresServer, Path],
) -> None:
    import signal

    pg, config = setup
    ready(pg, config)
    pg.psql("CREATE TABLE filler AS SELECT g, md5(g::text) FROM generate_series(1, 300000) g")
    proc = subprocess.Popen([sys.executable, "-m", "opsbook", "backup", "run", "main",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    ours = f"pgbackrest --config={pg.base / 'opsbook' / 'etc' / 'main.conf'}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # pgBackRest is copying
        found = subprocess.run(["pgrep", "-f", f"{ours}.*backup --type=full"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        if found.stdout.strip():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # opsbook and the pgBackRest it started
    proc.communicate()
    # only this test's pgBackRest: other tests' stanzas are named main too
    subprocess.run(["pkill", "-9", "-f", f"{ours}.*backup"], check=False)
    listed = json.loads(opsbook(config, "backup", "list", "-f", "json").stdout)
    assert listed == []  # a half-made backup is not a backup
    again = opsbook(config, "backup", "run", "main")
    assert again.returncode == 0, again.stderr  # the lock and pgBackRest's leftovers cleared
    after = json.loads(opsbook(config, "backup", "list", "-f", "json").stdout)
    assert [b["kind"] for b in after] == ["pgbackrest-full"]


def test_a_corrupted_backup_file_fails_the_proof(setup: tuple[PostgresServer, Path]) -> None:
    pg, config = setup
    ready(pg, config)
    pg.psql("CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 50000) g")
    assert opsbook(config, "backup", "run", "main").returncode == 0
    repo = pg.base / "opsbook" / "repo" / "pgbackrest" / "backup" / "main"
    files = sorted((p for p in repo.rglob("*.zst") if p.stat().st_size > 1000),
                   key=lambda p: p.stat().st_size)  # fmt: skip
    victim = files[-1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    proved = opsbook(config, "backup", "verify", "main")
    assert proved.returncode == 1 and "FAILED" in proved.stdout, proved.stdout + proved.stderr
    listed = json.loads(opsbook(config, "backup", "list", "-f", "json").stdout)
    assert listed[0]["verified"] is False


def test_an_encrypted_s3_repository_on_moto_over_https(tmp_path: Path, pg_template: Path) -> None:
    from tests.support.servers import S3Server

    s3 = S3Server(tls=True)
    s3.start()
    pg = PostgresServer.create(pg_template)
    try:
        bucket = s3.bucket("pitr")
        work = pg.base / "opsbook"
        work.mkdir()
        _chown_to_postgres(work)
        config = tmp_path / "opsbook.yaml"
        repos = (
            f"    offsite:\n      type: s3\n      bucket: {bucket}\n      prefix: prod\n"
            f"      endpoint: {s3.endpoint}\n      access_key_id: {S3Server.ACCESS_KEY}\n"
            f"      secret_access_key: {S3Server.SECRET_KEY}\n      ca_file: {s3.cert}\n"
        )
        encryption = "encryption: {passphrase: a-long-test-passphrase-for-pgbackrest}"
        config.write_text(yaml_for(pg, tmp_path, work, encryption, repos, ""))
        pg.start()
        ready(pg, config)
        pg.psql("CREATE TABLE t AS SELECT generate_series(1, 1000) AS id")
        full = opsbook(config, "backup", "run", "main", "-f", "json")
        assert full.returncode == 0, full.stderr
        made = json.loads(full.stdout)
        assert made["ok"] and made["proof"]["ok"], made  # verify_after_full: proved from S3
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys and all(k.startswith("prod/pgbackrest/") for k in keys)
        info = s3.client().get_object(Bucket=bucket, Key="prod/pgbackrest/backup/main/backup.info")
        assert info["Body"].read().startswith(b"Salted__")  # encrypted at rest
        assert S3Server.SECRET_KEY not in full.stdout + full.stderr
    finally:
        pg.destroy()
        s3.stop()


def test_an_in_place_restore_over_the_stopped_cluster_undoes_the_damage(
    setup: tuple[PostgresServer, Path],
) -> None:
    pg, config = setup
    ready(pg, config)
    pg.psql("CREATE TABLE accounts (id int, balance int)")
    pg.psql("INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g")
    assert opsbook(config, "backup", "run", "main").returncode == 0
    time.sleep(1.1)
    noted = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    time.sleep(1.1)
    pg.psql("UPDATE accounts SET balance = 0")  # the bad UPDATE
    pg.switch_and_archive()
    pg.stop()
    done = opsbook(config, "backup", "restore", "main", "--to-time", noted, "--in-place", "--yes")
    assert done.returncode == 0, done.stderr
    assert "in place, over" in done.stderr
    pg.start()
    deadline = time.monotonic() + 60
    while pg.psql("SELECT pg_is_in_recovery()") == "t" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pg.psql("SELECT sum(balance) FROM accounts") == "1000"
