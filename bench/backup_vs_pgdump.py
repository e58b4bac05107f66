"""Backup and restore-test speed against the tools the runbook (and a DBA) would use.

One PostgreSQL cluster with WAL archiving (pgBackRest needs it), one database of several
tables shaped like the runbook's GraphQL API (users, orders, order items, events with JSON),
and in one run, the sides taking turns, several rounds (median):

  opsbook backup run          pg_dump -Z0 → zstd-3 → age → SHA-256 → manifest + row counts
  pg_dump -Fc                 the target: opsbook within 1.15x of this
  pg_dump | gzip              the runbook's backup
  pgbackrest backup --type=full (compress-type=zst)

and the restore test:

  opsbook backup verify       fetch, checksum, decrypt, pg_restore (2 jobs) into a scratch
                              database, compare every table's rows and maxima, drop it
  runbook                     createdb; gunzip -c | psql; SELECT count(*); dropdb

    apt-get install pgbackrest
    .venv/bin/python bench/backup_vs_pgdump.py [--scale 1.0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyrage import x25519  # noqa: E402
from tests.support.servers import PostgresServer, _as_postgres  # noqa: E402

OPSBOOK = [sys.executable, "-m", "opsbook"]

SCHEMA = """
CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, name text,
                    created_at timestamptz, updated_at timestamptz);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users, status text,
                     total numeric(12,2), created_at timestamptz, updated_at timestamptz);
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders,
                          sku text, quantity int, price numeric(10,2));
CREATE TABLE events (id bigint PRIMARY KEY, kind text, payload jsonb, created_at timestamptz);
CREATE INDEX ON orders (user_id);
CREATE INDEX ON order_items (order_id);
CREATE INDEX ON events (created_at);
"""


def fill(server: PostgresServer, db: str, scale: float) -> None:
    users, orders, items, events = (int(n * scale) for n in (200_000, 1_000_000, 3_000_000,
                                                             1_000_000))  # fmt: skip
    server.psql(SCHEMA, db=db)
    server.psql(f"""
INSERT INTO users SELECT g, 'user' || g || '@example.com', 'User ' || md5(g::text),
  now() - (g || ' minutes')::interval, now() - (g || ' seconds')::interval
  FROM generate_series(1, {users}) g;
INSERT INTO orders SELECT g, 1 + g % {users}, (ARRAY['new','paid','shipped','done'])[1 + g % 4],
  (g % 10000) / 7.0, now() - (g || ' seconds')::interval, now() - (g || ' ms')::interval
  FROM generate_series(1, {orders}) g;
INSERT INTO order_items SELECT g, 1 + g % {orders}, 'SKU-' || (g % 5000), 1 + g % 5,
  (g % 1000) / 3.0 FROM generate_series(1, {items}) g;
INSERT INTO events SELECT g, (ARRAY['login','view','order','logout'])[1 + g % 4],
  jsonb_build_object('user', g % {users}, 'path', '/api/v1/items/' || g, 'ms', g % 900),
  now() - (g || ' seconds')::interval FROM generate_series(1, {events}) g;
""", db=db)  # fmt: skip
    server.psql("VACUUM ANALYZE", db=db)


def alternating(
    sides: dict[str, Callable[[], object]], rounds: int, before: Callable[[], object]
) -> dict[str, float]:
    """Median per side, the sides taking turns (rotating who goes first) so that drift in
    the machine's state (checkpoints, caches) is shared rather than landing on one side."""
    runs: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            before()
            start = time.perf_counter()
            sides[name]()
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in runs.items()}


def sh(command: str, env: dict[str, str] | None = None, as_postgres: bool = False) -> None:
    args = ["bash", "-o", "pipefail", "-c", command]
    if as_postgres:
        args = [*_as_postgres(), *args]
    subprocess.run(args, check=True, env={**os.environ, **(env or {})},
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def main() -> None:  # noqa: PLR0915  (one run, read top to bottom)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("pgbackrest") is None:
        sys.exit("install pgbackrest first: apt-get install pgbackrest")
    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-backup-"))
    work.chmod(0o777)
    server = PostgresServer.create()
    # Restore tests run on a second, plain server (no WAL archiving): the runbook's restore
    # test runs on a server like that, and pgBackRest's archive-push on the first one would
    # compete for the CPUs with whichever restore happens to generate more WAL per second.
    scratch = PostgresServer.create()
    scratch.start()
    pgbr = work / "pgbackrest"
    pgbr.mkdir()
    (pgbr / "repo").mkdir()
    (pgbr / "log").mkdir()
    conf = pgbr / "pgbackrest.conf"
    conf.write_text(
        f"[global]\nrepo1-path={pgbr / 'repo'}\nlog-path={pgbr / 'log'}\nlock-path={pgbr}\n"
        "compress-type=zst\ncompress-level=3\nprocess-max=2\nstart-fast=y\n"
        "log-level-console=warn\n\n"
        f"[bench]\npg1-path={server.data}\npg1-port={server.port}\n"
        f"pg1-socket-path={server.sockets}\n"
    )
    shutil.chown(pgbr, "postgres")
    for path in pgbr.rglob("*"):
        shutil.chown(path, "postgres")
    with (server.data / "postgresql.auto.conf").open("a") as auto:
        auto.write("archive_mode = on\n"
                   f"archive_command = 'pgbackrest --config={conf} --stanza=bench "
                   "archive-push %p'\n"
                   "wal_level = replica\n")  # fmt: skip
    server.start()
    try:
        server.psql("CREATE DATABASE app")
        print(f"filling (scale {args.scale}) …", flush=True)
        fill(server, "app", args.scale)
        size = server.psql("SELECT pg_size_pretty(pg_database_size('app'))")
        dsn = server.dsn(db="app")
        env_pw = {"PGPASSWORD": "pg-super-Secr3t"}
        plain = f"host=127.0.0.1 port={server.port} user=postgres dbname=app"
        sh(f"pgbackrest --config={conf} --stanza=bench stanza-create", as_postgres=True)

        identity = x25519.Identity.generate()
        key = work / "key.txt"
        key.write_text(str(identity))
        config = work / "opsbook.yaml"
        config.write_text(
            f"store: sqlite:///{work / 'ops.db'}\nbackups:\n"
            f"  repositories:\n    local: {{type: filesystem, path: {work / 'repo'}}}\n"
            f"  encryption:\n    recipients: [{identity.to_public()}]\n"
            f"  sources:\n    db:\n      type: postgres\n      dsn: {dsn}\n"
            f"      verify_jobs: 2\n      verify_dsn: {scratch.dsn()}\n"
        )
        print(f"database: {size}; {args.rounds} rounds each, median", flush=True)

        def checkpoint() -> None:
            server.psql("CHECKPOINT")

        results = alternating({
            "pg_dump -Fc": lambda: sh(f"pg_dump -Fc -d '{plain}' -f {work / 'a.dump'}", env_pw),
            "pg_dump | gzip (runbook)":
                lambda: sh(f"pg_dump -d '{plain}' | gzip > {work / 'a.sql.gz'}", env_pw),
            "opsbook backup run": lambda: subprocess.run(
                [*OPSBOOK, "backup", "run", "db", "-c", str(config)], check=True,
                capture_output=True),
            "pgbackrest full (zst)": lambda: sh(
                f"pgbackrest --config={conf} --stanza=bench --type=full backup", as_postgres=True),
        }, args.rounds, checkpoint)  # fmt: skip
        rss = peak_rss(config)
        sizes = {
            "pg_dump -Fc": (work / "a.dump").stat().st_size,
            "pg_dump | gzip (runbook)": (work / "a.sql.gz").stat().st_size,
            "opsbook backup run": min(
                p.stat().st_size for p in (work / "repo").rglob("dump.zst.age")
            ),
        }  # fmt: skip
        verify_env = {"OPSBOOK_AGE_IDENTITY": str(key)}

        def runbook_test() -> None:
            where = f"-h 127.0.0.1 -p {scratch.port} -U postgres"
            sh(f"createdb {where} restore_test", env_pw)
            sh(f"gunzip -c {work / 'a.sql.gz'} | psql -q {where} restore_test", env_pw)
            sh(f"psql {where} -d restore_test -c 'SELECT count(*) FROM orders'", env_pw)
            sh(f"dropdb {where} restore_test", env_pw)

        def scratch_checkpoint() -> None:
            scratch.psql("CHECKPOINT")

        results |= alternating({
            "runbook restore test": runbook_test,
            "opsbook backup verify": lambda: subprocess.run(
                [*OPSBOOK, "backup", "verify", "latest", "-c", str(config)], check=True,
                capture_output=True, env={**os.environ, **verify_env}),
        }, args.rounds, scratch_checkpoint)  # fmt: skip
        report(results, sizes, rss, size)
    finally:
        server.destroy()
        scratch.destroy()
        shutil.rmtree(work, ignore_errors=True)


def peak_rss(config: Path) -> int:
    """Peak RSS of one `opsbook backup run` (the Python process; pg_dump is separate)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([*OPSBOOK, "backup", "run", "db", "-c", str(config)], check=True,
                   capture_output=True)  # fmt: skip
    return max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024


def report(results: dict[str, float], sizes: dict[str, int], rss: int, size: str) -> None:
    print()
    for name, seconds in results.items():
        stored = f"  {sizes[name] / 1e6:8.1f} MB" if name in sizes else ""
        print(f"{name:28} {seconds:7.2f} s{stored}")
    base = results["pg_dump -Fc"]
    ours = results["opsbook backup run"]
    print()
    print(f"opsbook backup run / pg_dump -Fc        = {ours / base:.2f}x  (target ≤ 1.15x)")
    gzip = results["pg_dump | gzip (runbook)"]
    print(f"opsbook backup run / pg_dump | gzip     = {ours / gzip:.2f}x")
    print(
        f"opsbook backup run / pgbackrest full    = {ours / results['pgbackrest full (zst)']:.2f}x"
    )
    verify = results["opsbook backup verify"] / results["runbook restore test"]
    print(f"opsbook backup verify / runbook test    = {verify:.2f}x  (target < 1)")
    print(f"peak RSS of opsbook backup run: {rss / 1e6:.0f} MB for a {size} database")
    print(json.dumps({"results": results, "sizes": sizes, "rss": rss}))


if __name__ == "__main__":
    main()
