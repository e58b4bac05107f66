"""Scale: 10,000 HTTP checks every 10 s against a local nginx, on this machine.

Reports the daemon's scheduling lag (p50/p99, from its own /health), its CPU (share of one
core) and its memory (RSS) over a measured stretch after warm-up. Targets: lag p99 < 1 s,
memory < 300 MB. nginx (one worker) shares the machine, as the app would.

    apt-get install nginx-light
    .venv/bin/python bench/scale.py [--checks 10000] [--interval 10] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port, wait_for_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def start_nginx(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location /health {{ return 200 '{{"status":"ok"}}'; }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for_port(port)
    return proc, port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60, help="measured stretch")
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("bench: nginx not found; apt-get install nginx-light")
    work = Path(tempfile.mkdtemp(prefix="opsbook-scale-"))
    nginx, app_port = start_nginx(work)
    port = free_port()
    lines = [f"store: sqlite:///{work / 'opsbook.db'}",
             f"server: {{listen: 127.0.0.1:{port}, concurrency: 500}}", "checks:"]  # fmt: skip
    for i in range(args.checks):
        lines.append(f"  h{i}: {{type: http, url: 'http://127.0.0.1:{app_port}/health', "
                     f"interval: {args.interval}s}}")  # fmt: skip
    (work / "opsbook.yaml").write_text("\n".join(lines) + "\n")
    exe = Path(sys.executable).parent / "opsbook"
    log = (work / "daemon.log").open("ab")
    daemon = subprocess.Popen([str(exe), "serve", "-c", str(work / "opsbook.yaml")],
                              stdout=log, stderr=log)  # fmt: skip
    try:
        wait_for_port(port, timeout=120)
        time.sleep(args.interval * 2 + 10)  # first runs spread, caches warm
        cpu0, t0 = cpu_seconds(daemon.pid), time.monotonic()
        peak = 0.0
        end = t0 + args.seconds
        while time.monotonic() < end:
            peak = max(peak, rss_mb(daemon.pid))
            time.sleep(1)
        cpu = (cpu_seconds(daemon.pid) - cpu0) / (time.monotonic() - t0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            health = json.loads(r.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            runs = sum(
                float(line.split()[-1]) for line in r.read().decode().splitlines()
                if line.startswith("opsbook_check_runs_total{")
            )  # fmt: skip
    finally:
        daemon.terminate()
        daemon.wait(60)
        nginx.terminate()
        nginx.wait(10)
    lag = health["scheduler_lag_seconds"]
    print(
        f"{args.checks} HTTP checks every {args.interval} s ({args.checks / args.interval:.0f}/s)"
        f" on {os.cpu_count()} CPUs, measured for {args.seconds} s after warm-up:"
    )
    print(
        f"  scheduling lag p50 {lag['p50'] * 1000:.0f} ms, p99 {lag['p99'] * 1000:.0f} ms "
        f"(target p99 < 1000 ms)"
    )
    print(f"  daemon CPU {cpu * 100:.0f}% of one core, peak RSS {peak:.0f} MB (target < 300 MB)")
    print(
        f"  {runs:.0f} check runs in all; backlog {health['results_backlog']}, "
        f"store {health['store']}"
    )


if __name__ == "__main__":
    main()
