"""Time to incident: Redis dies; how long until the incident exists?

opsbook: `opsbook serve` with a redis check every 1 s (`for: 0s`); the clock stops when the
incident is in the store and when /metrics shows it. `--no-watch` measures the interval alone,
without the idle watch connection that notices a dead server at once.

Peer: Prometheus + redis_exporter + Alertmanager (Debian's packages) on the same machine,
tuned as far as they go: 1 s scrape, 1 s rule evaluation, `for: 0s`, Alertmanager
group_wait 0s; the clock stops when Alertmanager's webhook reaches a local receiver.
`--common` also runs the peer at the usual 15 s scrape / 15 s evaluation / 30 s group_wait.

Both watch the same Redis, which is killed with SIGKILL; several rounds, medians printed.

    apt-get install prometheus prometheus-alertmanager prometheus-redis-exporter
    .venv/bin/python bench/time_to_incident.py [--rounds 5] [--common]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from tests.support.servers import RedisServer, free_port, wait_for_port  # noqa: E402

from opsbook.store.tables import incidents  # noqa: E402

BINARIES = ("prometheus", "prometheus-alertmanager", "prometheus-redis-exporter")


class Receiver:
    """One webhook target for both sides: remembers when each firing notification (from
    Alertmanager) and each page (from opsbook) arrived."""

    def __init__(self) -> None:
        self.firing: list[float] = []
        self.pages: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("status") == "firing":
                    outer.firing.append(time.time())
                if body.get("kind") == "page":
                    outer.pages.append(time.time())
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_peer(work: Path, redis: RedisServer, receiver: Receiver, *, scrape: str,
               evaluate: str, group_wait: str) -> list[subprocess.Popen[bytes]]:  # fmt: skip
    exporter, prom, am = free_port(), free_port(), free_port()
    (work / "rules.yml").write_text(
        "groups:\n- name: redis\n  rules:\n  - alert: RedisDown\n    expr: redis_up == 0\n"
        "    for: 0s\n    labels: {severity: critical}\n"
    )
    (work / "prometheus.yml").write_text(
        f"global: {{scrape_interval: {scrape}, evaluation_interval: {evaluate}}}\n"
        f"rule_files: [{work / 'rules.yml'}]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am}']}}]}}]}}\n"
        "scrape_configs:\n- job_name: redis\n"
        f"  static_configs: [{{targets: ['127.0.0.1:{exporter}']}}]\n"
    )
    (work / "alertmanager.yml").write_text(
        f"route: {{receiver: hook, group_wait: {group_wait}, group_interval: 1s, "
        "repeat_interval: 1h}\n"
        f"receivers:\n- name: hook\n  webhook_configs: [{{url: 'http://127.0.0.1:{receiver.port}/'}}]\n"
    )
    log = (work / "peer.log").open("ab")
    procs = [
        subprocess.Popen(["prometheus-redis-exporter", f"--redis.addr=redis://127.0.0.1:{redis.port}",
                          f"--web.listen-address=127.0.0.1:{exporter}"], stdout=log, stderr=log),
        subprocess.Popen(["prometheus-alertmanager", f"--config.file={work / 'alertmanager.yml'}",
                          f"--storage.path={work / 'am'}", f"--web.listen-address=127.0.0.1:{am}",
                          "--cluster.listen-address="], stdout=log, stderr=log),
        subprocess.Popen(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                          f"--storage.tsdb.path={work / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{prom}"], stdout=log, stderr=log),
    ]  # fmt: skip
    for port in (exporter, am, prom):
        wait_for_port(port)
    query = f"http://127.0.0.1:{prom}/api/v1/query?query=redis_up"
    deadline = time.time() + 60
    while time.time() < deadline:  # until Prometheus has scraped Redis as up
        with urllib.request.urlopen(query) as r:
            result = json.loads(r.read())["data"]["result"]
        if result and result[0]["value"][1] == "1":
            break
        time.sleep(0.2)
    return procs


def start_opsbook(work: Path, redis: RedisServer, watch: bool,
                  receiver: Receiver) -> tuple[subprocess.Popen[bytes], str, int]:  # fmt: skip
    """A fresh daemon and store per round: killing Redis every few seconds is, rightly,
    flapping to opsbook, which would then keep one incident open instead of a new one."""
    port = free_port()
    work = Path(tempfile.mkdtemp(dir=work))
    db = work / "opsbook.db"
    (work / "opsbook.yaml").write_text(
        f"store: sqlite:///{db}\nserver: {{listen: 127.0.0.1:{port}}}\n"
        f"checks:\n  cache:\n    type: redis\n    url: redis://127.0.0.1:{redis.port}/0\n"
        "    interval: 1s\n    for: 0s\n    severity: SEV-1\n    auto_resolve: 1s\n"
        f"    watch: {'true' if watch else 'false'}\n"
        # the page: the on-call person's only contact point is a webhook on the receiver
        "people:\n  oncall: {}\nstakeholders:\n  pager: ['channel:hook']\n"
        "escalation:\n  - {who: [pager]}\n"
        f"channels:\n  hook: {{type: webhook, url: 'http://127.0.0.1:{receiver.port}/opsbook'}}\n"
    )
    exe = Path(sys.executable).parent / "opsbook"
    log = (work / "opsbook.log").open("ab")
    proc = subprocess.Popen([str(exe), "serve", "-c", str(work / "opsbook.yaml")],
                            stdout=log, stderr=log)  # fmt: skip
    wait_for_port(port)
    deadline = time.time() + 30
    while metrics_status(port) != 0.0 and time.time() < deadline:  # its first run is spread
        time.sleep(0.05)
    return proc, f"sqlite:///{db}", port


def metrics_status(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        for line in r.read().decode().splitlines():
            if line.startswith('opsbook_check_status{check="cache"'):
                return float(line.split()[-1])
    return None


def open_incidents(engine_url: str) -> int:
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).select_from(incidents).where(incidents.c.phase == "triage")
            ).scalar_one())  # fmt: skip
    finally:
        engine.dispose()


def metrics_open(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        for line in r.read().decode().splitlines():
            if line.startswith('opsbook_incidents_open{severity="SEV-1"}'):
                return float(line.split()[-1])
    return 0.0


def round_trip(redis: RedisServer, receiver: Receiver, store: str, port: int,
               peer: bool) -> tuple[float, float, float | None, float]:  # fmt: skip
    seen = len(receiver.firing)
    paged = len(receiver.pages)
    assert open_incidents(store) == 0
    killed = time.time()
    assert redis.proc is not None
    redis.proc.send_signal(signal.SIGKILL)
    redis.proc.wait()
    redis.proc = None
    in_store = in_metrics = None
    deadline = killed + 120
    while time.time() < deadline:
        now = time.time()
        if in_store is None and open_incidents(store):
            in_store = now - killed
        if in_metrics is None and metrics_open(port) >= 1:
            in_metrics = now - killed
        peer_done = not peer or len(receiver.firing) > seen
        page_done = len(receiver.pages) > paged
        if in_store is not None and in_metrics is not None and peer_done and page_done:
            break
        time.sleep(0.01)
    peer_time = receiver.firing[seen] - killed if peer and len(receiver.firing) > seen else None
    assert in_store is not None and in_metrics is not None and len(receiver.pages) > paged
    return in_store, in_metrics, peer_time, receiver.pages[paged] - killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--common", action="store_true", help="also the 15s/15s/30s peer")
    parser.add_argument("--no-watch", action="store_true", help="opsbook without watch connections")
    args = parser.parse_args()
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        sys.exit(f"bench: missing {', '.join(missing)}; apt-get install {' '.join(BINARIES)}")
    work = Path(tempfile.mkdtemp(prefix="opsbook-tti-"))
    redis = RedisServer()
    redis.start()
    receiver = Receiver()
    configs = [("tuned 1s/1s/0s", "1s", "1s", "0s")]
    if args.common:
        configs.append(("common 15s/15s/30s", "15s", "15s", "30s"))
    ops, ops_metrics, peers = [], [], {name: [] for name, *_ in configs}  # type: ignore[var-annotated]
    procs: list[subprocess.Popen[bytes]] = []
    pages: list[float] = []
    daemon = None
    try:
        for name, scrape, evaluate, group_wait in configs:
            peer_dir = work / name.split()[0]
            peer_dir.mkdir()
            procs = start_peer(peer_dir, redis, receiver, scrape=scrape, evaluate=evaluate,
                               group_wait=group_wait)  # fmt: skip
            rounds = args.rounds if name.startswith("tuned") else 1
            for _ in range(rounds):
                daemon, store, port = start_opsbook(work, redis, not args.no_watch, receiver)
                time.sleep(3 + random.random())  # both see Redis up; the kill at a random phase
                a, b, c, page = round_trip(redis, receiver, store, port, peer=True)
                pages.append(page)
                ops.append(a)
                ops_metrics.append(b)
                if c is not None:
                    peers[name].append(c)
                daemon.terminate()
                daemon.wait(10)
                daemon = None
                redis.start()
                time.sleep(int(scrape.rstrip("s")) * 2 + 2)  # the peer sees it up again
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            procs = []
    finally:
        for proc in procs:
            proc.kill()
        if daemon is not None:
            daemon.terminate()
            daemon.wait(10)
        redis.destroy()
    report(ops, ops_metrics, peers, args.no_watch)
    print(
        f"fault to page: opsbook's webhook page after {statistics.median(pages):.2f} s; the "
        "peer's page is its Alertmanager webhook above"
    )


def report(ops: list[float], ops_metrics: list[float], peers: dict[str, list[float]],
           no_watch: bool) -> None:  # fmt: skip
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, medians:")
    mode = "interval only" if no_watch else "with watch connection"
    print(
        f"opsbook (1 s interval, {mode}): incident in the store {statistics.median(ops):.2f} s, "
        f"in /metrics {statistics.median(ops_metrics):.2f} s  ({len(ops)} rounds)"
    )
    for name, times in peers.items():
        if times:
            med = statistics.median(times)
            print(
                f"Prometheus + redis_exporter + Alertmanager, {name}: webhook after {med:.2f} s "
                f"({len(times)} rounds) -> opsbook is {med / statistics.median(ops):.1f}x faster"
            )


if __name__ == "__main__":
    main()
