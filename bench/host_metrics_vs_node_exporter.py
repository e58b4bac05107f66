"""The cost of collecting host metrics every second: opsbook serve vs node_exporter scraped
every second by Prometheus.

opsbook: `opsbook serve` with the cpu, diskio, network, memory, load and disk checks at
`interval: 1s`, every result and measurement stored (SQLite, the default store). Peer:
Debian's prometheus-node-exporter (default collectors) scraped every 1 s by Debian's
prometheus, which stores every sample in its TSDB. Both run at the same time for the same
span on this machine; each side's CPU time (user + system, from /proc) and its resident
memory at the end (and peak) are compared. The peer's cost is node_exporter + Prometheus
together, as a team would run them.

    apt-get install prometheus prometheus-node-exporter
    .venv/bin/python bench/host_metrics_vs_node_exporter.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port, wait_for_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Usage:
    cpu: float  # seconds, user + system
    rss: int  # bytes now
    peak: int  # bytes, VmHWM


def usage(pid: int) -> Usage:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )  # fmt: skip
    return Usage(
        cpu, int(status["VmRSS"].split()[0]) * 1024, int(status["VmHWM"].split()[0]) * 1024
    )


def opsbook_config(work: Path, port: int) -> Path:
    path = work / "opsbook.yaml"
    path.write_text(f"""\
service: bench
store: sqlite:///{work}/opsbook.db
server: {{listen: "127.0.0.1:{port}"}}
checks:
  cpu: {{type: cpu, interval: 1s}}
  diskio: {{type: diskio, interval: 1s}}
  network: {{type: network, interval: 1s}}
  memory: {{type: memory, interval: 1s}}
  load: {{type: load, interval: 1s}}
  disk: {{type: disk, path: /, interval: 1s}}
""")
    return path


def start_peer(work: Path) -> tuple[list[subprocess.Popen[bytes]], int]:
    exporter, prom = free_port(), free_port()
    (work / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{exporter}"]}}]
""")
    procs = [
        subprocess.Popen(["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{exporter}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                          f"--storage.tsdb.path={work}/tsdb",
                          f"--web.listen-address=127.0.0.1:{prom}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    wait_for_port(exporter)
    wait_for_port(prom)
    return procs, prom


def peer_samples(prom: int) -> int:
    """What Prometheus says of itself on its own /metrics (it does not scrape itself here)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{prom}/metrics", timeout=5) as r:
        text = r.read().decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("prometheus_tsdb_head_samples_appended_total")))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    for binary in ("prometheus", "prometheus-node-exporter"):
        if shutil.which(binary) is None:
            sys.exit(
                f"bench: {binary} not found; apt-get install prometheus prometheus-node-exporter"
            )
    exe = ROOT / ".venv" / "bin" / "opsbook"
    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-hostmetrics-"))
    port = free_port()
    config = opsbook_config(work, port)
    # the store exists before the daemon starts, as it does from the second start on (the
    # first start of all also imports Alembic to create it: ~8 MiB more, once)
    subprocess.run([str(exe), "store", "upgrade", "-c", str(config)], check=True,
                   capture_output=True)  # fmt: skip
    daemon = subprocess.Popen([str(exe), "serve", "-c", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    peers, prom = start_peer(work)
    wait_for_port(port)
    start = {p.pid: usage(p.pid) for p in [daemon, *peers]}  # start-up is not the steady cost
    began = time.monotonic()
    try:
        time.sleep(args.minutes * 60)
        end = {p.pid: usage(p.pid) for p in [daemon, *peers]}
        span = time.monotonic() - began
        samples = peer_samples(prom)
    finally:
        for p in [daemon, *peers]:
            p.send_signal(signal.SIGTERM)
        for p in [daemon, *peers]:
            p.wait(30)
    with sqlite3.connect(work / "opsbook.db") as db:
        results = db.execute("SELECT count(*) FROM check_results").fetchone()[0]
        measured = db.execute("SELECT count(*) FROM check_metrics").fetchone()[0]
    shutil.rmtree(work, ignore_errors=True)

    def cpu(pids: list[int]) -> float:
        return sum(end[p].cpu - start[p].cpu for p in pids)

    ours, theirs = [daemon.pid], [p.pid for p in peers]
    ours_cpu, theirs_cpu = cpu(ours), cpu(theirs)
    ours_rss, theirs_rss = end[daemon.pid].rss, sum(end[p].rss for p in theirs)
    ours_peak, theirs_peak = end[daemon.pid].peak, sum(end[p].peak for p in theirs)
    mib = 1 << 20
    print(f"span: {span / 60:.1f} min, collecting every 1 s on both sides")
    print(f"opsbook serve: {results} results and {measured} measurements stored")
    print(f"node_exporter + prometheus: {samples} samples appended to the TSDB")
    print(f"{'':28}{'CPU s':>10}{'CPU %':>8}{'RSS MiB':>10}{'peak MiB':>10}")
    print(f"{'opsbook serve':28}{ours_cpu:10.1f}{100 * ours_cpu / span:8.2f}"
          f"{ours_rss / mib:10.1f}{ours_peak / mib:10.1f}")  # fmt: skip
    for p, name in zip(peers, ("node_exporter", "prometheus"), strict=True):
        c = end[p.pid].cpu - start[p.pid].cpu
        print(f"{name:28}{c:10.1f}{100 * c / span:8.2f}{end[p.pid].rss / mib:10.1f}"
              f"{end[p.pid].peak / mib:10.1f}")  # fmt: skip
    print(f"{'node_exporter + prometheus':28}{theirs_cpu:10.1f}{100 * theirs_cpu / span:8.2f}"
          f"{theirs_rss / mib:10.1f}{theirs_peak / mib:10.1f}")  # fmt: skip
    print(f"ratio (peer / opsbook): CPU {theirs_cpu / ours_cpu:.2f}x, "
          f"RSS {theirs_rss / ours_rss:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
