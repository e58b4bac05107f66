"""Failover: the leader dies mid-escalation; how soon does another instance page, and is any
page doubled or lost? Side by side, two Alertmanagers in an HA cluster.

opsbook: two `opsbook serve` on one PostgreSQL store (failover: 10s), a SEV-1 incident whose
ladder pages four people 3 s apart through a webhook. After level 1 is delivered the leader is
killed: by kill -9 on even rounds (same host: the follower sees the process is gone) and by
SIGSTOP on odd rounds (as a host that dies or freezes: the follower waits for the lease to
expire). Measured: from the fault to the follower leading, and to the next page it delivers
past its due time; pages per level counted at the receiver by idempotency key.

Peer: two Debian prometheus-alertmanager in one cluster (--cluster.peer), both sent the same
alert as Prometheus does, one webhook receiver; one of the two is killed (-9) right after the
first notification arrives (as a host dying at the worst moment). Counted: notifications per
alert (1 expected; 2 is the duplicate its users complain of).

    apt-get install prometheus-alertmanager
    .venv/bin/python bench/failover.py [--rounds 20] [--am-rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import PostgresServer, free_port, wait_for_port  # noqa: E402

LEVELS = ("alice", "carol", "erin", "frank")


class Receiver:
    """Webhook deliveries: (time, idempotency key or alert name)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, str, dict[str, Any]]] = []  # (when, key, body)
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("X-Opsbook-Delivery") or self.path
                outer.got.append((time.time(), key, body))
                outer.paths.append(self.path)
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def get(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return dict(json.loads(r.read()))
    except (OSError, ValueError):
        return None


def wait(condition: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return None


def opsbook_config(store: str, port: int, name: str, hook: int) -> str:
    people = "\n".join(f"  {p}: {{}}" for p in LEVELS)
    groups = "\n".join(f"  g{p}: ['channel:{p}']" for p in LEVELS)
    ladder = "\n".join(f"  - {{who: [g{p}], after: 3s}}" for p in LEVELS)
    channels = "\n".join(f"  {p}: {{type: webhook, url: 'http://127.0.0.1:{hook}/{p}'}}"
                         for p in LEVELS)  # fmt: skip
    return (f"store: {store}\nserver: {{listen: '127.0.0.1:{port}', instance: {name}}}\n"
            f"people:\n{people}\nstakeholders:\n{groups}\nescalation:\n{ladder}\n"
            f"communication: {{SEV-1: []}}\npaging: {{max_repeats: 0}}\n"
            f"channels:\n{channels}\n"
            "checks:\n  mem: {type: memory, interval: 60s}\n")  # fmt: skip


def opsbook_round(pg: PostgresServer, work: Path, n: int, receiver: Receiver) -> dict[str, Any]:
    db = f"failover_{n}"
    pg.psql(f"CREATE DATABASE {db}")
    store = pg.dsn(db=db)
    exe = ROOT / ".venv" / "bin" / "opsbook"
    procs, ports = [], []
    for name in ("a", "b"):
        port = free_port()
        cfg = work / f"{db}-{name}.yaml"
        cfg.write_text(opsbook_config(store, port, f"inst-{name}", receiver.port))
        log = (work / f"{db}-{name}.log").open("ab")
        procs.append(subprocess.Popen([str(exe), "serve", "-c", str(cfg)], stdout=log,
                                      stderr=log))  # fmt: skip
        ports.append(port)
        wait_for_port(port)
        time.sleep(0.5)  # a leads, b follows
    try:
        return _scenario(work, db, n, receiver, exe, procs, ports)
    finally:  # nothing left running, whatever went wrong
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(10)


Procs = list[subprocess.Popen[bytes]]


def _scenario(work: Path, db: str, n: int, receiver: Receiver, exe: Path, procs: Procs,
              ports: list[int]) -> dict[str, Any]:  # fmt: skip
    role = lambda i: (get(f"http://127.0.0.1:{ports[i]}/health") or {}).get("role")  # noqa: E731
    found = wait(lambda: [i + 1 for i in (0, 1) if role(i) == "leader"], 20)
    if not found:
        sys.exit(f"bench: no leader; see {work}/{db}-*.log")
    leader = found[0] - 1
    other = 1 - leader
    start = len(receiver.got)
    subprocess.run([str(exe), "incident", "open", "--sev", "1", "--title", "bench",
                    "-c", str(work / f"{db}-a.yaml")], check=True, capture_output=True)  # fmt: skip
    mine = lambda: receiver.got[start:]  # noqa: E731
    wait(lambda: "/alice" in receiver.paths[start:], 30)
    kill9 = n % 2 == 0
    fault = time.time()
    if kill9:
        procs[leader].kill()
        procs[leader].wait()  # reaped, as its service manager would
    else:
        procs[leader].send_signal(signal.SIGSTOP)
    took = wait(lambda: role(other) == "leader" and time.time(), 30)
    wait(lambda: len({k for _, k, _ in mine()}) >= len(LEVELS), 40)
    time.sleep(2)
    got = mine()
    keys = Counter(k for _, k, _ in got)
    after = [t for t, k, _ in got if t > fault]
    if not kill9:
        procs[leader].send_signal(signal.SIGCONT)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
    return {
        "fault": "kill -9" if kill9 else "SIGSTOP",
        "takeover": (took - fault) if took else None,
        "first_page_after_fault": (min(after) - fault) if after else None,
        "duplicates": sum(c - 1 for c in keys.values() if c > 1),
        "missing": len(LEVELS) - len(keys),
    }


def am_config(path: Path, hook: int) -> None:
    path.write_text(
        "route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1h, "
        "repeat_interval: 4h}\n"
        f"receivers:\n- name: hook\n  webhook_configs: [{{url: 'http://127.0.0.1:{hook}/am'}}]\n"
    )


def am_round(work: Path, n: int, receiver: Receiver) -> dict[str, Any]:
    cfg = work / "am.yml"
    am_config(cfg, receiver.port)
    web = [free_port(), free_port()]
    mesh = [free_port(), free_port()]
    procs = []
    for i in (0, 1):
        peer = f"--cluster.peer=127.0.0.1:{mesh[1 - i]}"
        procs.append(subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={cfg}",
             f"--storage.path={work / f'am{n}-{i}'}", f"--web.listen-address=127.0.0.1:{web[i]}",
             f"--cluster.listen-address=127.0.0.1:{mesh[i]}", peer],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    for port in web:
        wait_for_port(port)
    time.sleep(2)  # the two find each other
    name = f"BenchDown{n}"
    alert = json.dumps([{"labels": {"alertname": name, "severity": "critical"},
                         "annotations": {"summary": "bench"}}]).encode()  # fmt: skip
    start = len(receiver.got)
    for port in web:  # as Prometheus does: every alert to every Alertmanager
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", data=alert,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        urllib.request.urlopen(req, timeout=5).close()
    wait(lambda: len(receiver.got) > start, 30)
    first = receiver.got[start]
    fault = time.time()
    procs[0].kill()  # at the worst moment: the notification just sent, its gossip maybe not
    time.sleep(20)  # past the peer timeout (15 s): a duplicate would have been sent by now
    got = [g for g in receiver.got[start:]
           if any(a["labels"]["alertname"] == name for a in g[2].get("alerts", []))]  # fmt: skip
    for p in procs:
        p.kill()
        p.wait(10)
    return {"notifications": len(got), "first_at": first[0], "fault": fault}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--am-rounds", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-failover-"))
    receiver = Receiver()
    pg = PostgresServer.create()
    pg.start()
    ours = []
    try:
        for n in range(args.rounds):
            r = opsbook_round(pg, work, n, receiver)
            ours.append(r)
            print(f"opsbook round {n + 1}: {r}", flush=True)
    finally:
        pg.destroy()
    theirs = []
    if shutil.which("prometheus-alertmanager") and args.am_rounds:
        for n in range(args.am_rounds):
            r = am_round(work, n, receiver)
            theirs.append(r)
            print(f"alertmanager round {n + 1}: {r['notifications']} notification(s)", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    def q(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    print()
    for fault in ("kill -9", "SIGSTOP"):
        rs = [r for r in ours if r["fault"] == fault]
        take = [r["takeover"] for r in rs if r["takeover"] is not None]
        if take:
            p50 = statistics.median(take)
            print(f"opsbook {fault:8} {len(rs)} rounds: takeover p50 {p50:.2f} s, "
                  f"p99 {q(take, 99):.2f} s (failover: 10s)")  # fmt: skip
    print(f"opsbook: {sum(r['duplicates'] for r in ours)} duplicate pages, "
          f"{sum(r['missing'] for r in ours)} missing, in {len(ours)} rounds")  # fmt: skip
    if theirs:
        dup = sum(r["notifications"] - 1 for r in theirs if r["notifications"] > 1)
        lost = sum(1 for r in theirs if r["notifications"] == 0)
        print(f"alertmanager HA pair: {dup} duplicate notifications, {lost} missing, "
              f"in {len(theirs)} rounds")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
