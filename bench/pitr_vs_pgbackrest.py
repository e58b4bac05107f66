"""Point-in-time recovery on pgBackRest, measured: a ~1 GB pgbench database under write load.

Prints, side by side:
- RPO under load: how far the newest archived WAL trails now (sampled every 2 s while pgbench
  writes), against the target archive_timeout (60 s);
- an hourly-style incremental against a full: time and bytes stored;
- `opsbook backup run` (a full, via opsbook) against `pgbackrest backup --type=full` alone;
- a restore with opsbook's proof (`opsbook backup verify`: restore, start, recover, check,
  remove) against `pgbackrest restore` alone: the proof's overhead;
- a logical `opsbook backup run` (pg_dump, zstd) of the same database against pgBackRest full.

    apt-get install pgbackrest postgresql
    .venv/bin/python bench/pitr_vs_pgbackrest.py [--scale 60] [--load-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import PostgresServer, _as_postgres, _chown_to_postgres  # noqa: E402

EXE = ROOT / ".venv" / "bin" / "opsbook"


def opsbook(cfg: Path, *args: str) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run([str(EXE), *args, "-c", str(cfg)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode not in (0,):
        sys.exit(f"opsbook {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return time.monotonic() - began, done.stdout


def pgbackrest(conf: Path, *args: str) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run([*_as_postgres(), "pgbackrest", f"--config={conf}", "--stanza=main",
                           *args], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"pgbackrest {args[0]} failed: {done.stdout[-300:]} {done.stderr[-300:]}")
    return time.monotonic() - began, done.stdout


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def config(pg: PostgresServer, work: Path) -> str:
    return f"""\
store: sqlite:///{work / "opsbook.db"}
checks:
  mem: {{type: memory}}
backups:
  encryption: none
  repositories:
    local: {{type: filesystem, path: {work / "repo"}}}
  sources:
    main:
      type: pgbackrest
      data_directory: {pg.data}
      port: {pg.port}
      socket_dir: {pg.sockets}
      config_dir: {work / "etc"}
      spool_dir: {work / "spool"}
      verify_after_full: false
      verify_queries: ["SELECT count(*) > 0 FROM pgbench_accounts"]
    dump:
      type: postgres
      dsn: {pg.dsn()}
"""


def rpo_under_load(pg: PostgresServer, seconds: int) -> list[float]:
    """Sample now() - last_archived_time while pgbench writes."""
    load = subprocess.Popen(["pgbench", "-h", str(pg.sockets), "-p", str(pg.port), "-U",
                             "postgres", "-c", "4", "-j", "2", "-T", str(seconds), "-N",
                             "-R", "300", "postgres"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            lag = pg.psql("SELECT extract(epoch FROM now() - last_archived_time) "
                          "FROM pg_stat_archiver")  # fmt: skip
            if lag:
                samples.append(float(lag))
            stop.wait(2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    load.wait()
    stop.set()
    sampler.join()
    return samples


def main() -> None:  # noqa: PLR0915  (one run, read top to bottom)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=60, help="pgbench scale (60: ~0.9 GB)")
    parser.add_argument("--load-seconds", type=int, default=60)
    args = parser.parse_args()
    if shutil.which("pgbackrest") is None:
        sys.exit("install pgbackrest first: apt-get install pgbackrest")
    pg = PostgresServer.create(max_connections=60)
    work = pg.base / "opsbook"
    (work / "repo").mkdir(parents=True)
    _chown_to_postgres(work)
    cfg = work / "opsbook.yaml"
    cfg.write_text(config(pg, work))
    pg.start()
    try:
        began = time.monotonic()
        subprocess.run(["pgbench", "-h", str(pg.sockets), "-p", str(pg.port), "-U", "postgres",
                        "-i", "-q", "-s", str(args.scale), "postgres"], check=True,
                       capture_output=True)  # fmt: skip
        size = int(pg.psql("SELECT pg_database_size('postgres')"))
        print(f"pgbench scale {args.scale}: {size / 1e9:.2f} GB in "
              f"{time.monotonic() - began:.0f} s")  # fmt: skip
        opsbook(cfg, "backup", "setup", "main", "--apply")
        pg.stop()
        pg.start()
        opsbook(cfg, "backup", "setup", "main")
        conf = work / "etc" / "main.conf"
        repo = work / "repo" / "pgbackrest"
        rows = []

        t, _ = opsbook(cfg, "backup", "run", "main")
        full_stored = du(repo / "backup")
        rows.append(
            ("full backup, opsbook backup run", f"{t:.1f} s", f"{full_stored / 1e6:.0f} MB")
        )
        before = du(repo / "backup")
        t, _ = pgbackrest(conf, "backup", "--type=full")
        rows.append(("full backup, pgbackrest alone", f"{t:.1f} s",
                     f"{(du(repo / 'backup') - before) / 1e6:.0f} MB"))  # fmt: skip

        lags = sorted(rpo_under_load(pg, args.load_seconds))
        p50 = lags[len(lags) // 2] if lags else float("nan")
        rows.append((f"RPO under pgbench load ({len(lags)} samples)",
                     f"p50 {p50:.1f} s, max {max(lags, default=float('nan')):.1f} s",
                     "target < 60 s (archive_timeout)"))  # fmt: skip

        before = du(repo / "backup")
        t, out = opsbook(cfg, "backup", "run", "main", "--type", "incr", "-f", "json")
        incr = json.loads(out)
        rows.append(("incremental after the load", f"{t:.1f} s",
                     f"{(du(repo / 'backup') - before) / 1e6:.0f} MB "
                     f"({incr['copied_bytes'] / 1e6:.0f} MB copied)"))  # fmt: skip

        t, out = opsbook(cfg, "backup", "verify", "main", "-f", "json")
        proof = json.loads(out)
        rows.append(("restore + proof, opsbook backup verify", f"{t:.1f} s",
                     "ok" if proof["ok"] else f"FAILED: {proof['detail']}"))  # fmt: skip
        target = work / "plain-restore"
        target.mkdir(mode=0o700)
        _chown_to_postgres(target)
        t, _ = pgbackrest(conf, "restore", f"--pg1-path={target}", "--archive-mode=off",
                          "--type=immediate", "--target-action=promote")  # fmt: skip
        rows.append(("restore alone, pgbackrest restore (no start, no check)", f"{t:.1f} s", ""))
        shutil.rmtree(target)

        t, out = opsbook(cfg, "backup", "run", "dump", "-f", "json")
        dumped = json.loads(out)
        rows.append(("logical, opsbook backup run (pg_dump, zstd)", f"{t:.1f} s",
                     f"{dumped['stored_bytes'] / 1e6:.0f} MB"))  # fmt: skip

        width = max(len(r[0]) for r in rows)
        print()
        for name, when, what in rows:
            print(f"{name:{width}}  {when:>24}  {what}")
    finally:
        pg.destroy()


if __name__ == "__main__":
    main()
