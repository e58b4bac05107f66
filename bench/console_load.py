"""The console and the API under load: 10,000 incidents (1,000,000 timeline entries) and
1,000 checks (a day of results) in a PostgreSQL store, read by 100 keep-alive clients.

Two loads, each on the incidents API list page (GET /api/v1/incidents?limit=50, a token) and
on the board (GET /, a session cookie):

- paced: 100 clients each asking once a second (100 people with the page open and reloading,
  or a hundred dashboards polling): latency p50/p99 against the targets (list p99 < 50 ms,
  board p99 < 150 ms);
- saturated: wrk (Debian's) with 100 connections asking as fast as they can: the most this
  2-core machine serves, and the latency then (a closed loop: latency = 100 / throughput).

Peers: Uptime Kuma's own issue threads report its dashboard taking 10-15 s to load with
1,400 monitors (louislam/uptime-kuma#5641), 15 s with 882 (#6181) and 45 s per action with
700 (#7079); Grafana OnCall's alert-group list had mobile-app timeouts (grafana/oncall#1780).
Neither runs here (no network), so their figures are quoted, not measured.

    apt-get install wrk
    .venv/bin/python bench/console_load.py [--incidents 10000] [--entries 100] [--checks 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import PostgresServer, free_port, wait_for_port  # noqa: E402

EXE = ROOT / ".venv" / "bin" / "opsbook"
PASSWORD = "bench password 1234"  # noqa: S105  (a throwaway user of a throwaway store)


def config(store: str, port: int, checks: int) -> str:
    lines = [
        f"service: shop\nstore: {store}\nserver:\n  listen: 127.0.0.1:{port}\n",
        "people:\n  alice: {email: alice@example.com}\n  bob: {email: bob@example.com}\n",
        "schedules:\n  primary: {timezone: UTC, rotation: weekly, handoff: 'monday 09:00',"
        " members: [alice, bob]}\n",
        "escalation:\n  - who: [primary]\n",
        "checks:\n",
    ]
    lines += [f"  mem-{i:04d}: {{type: memory, interval: 60s}}\n" for i in range(checks)]
    return "".join(lines)


def copy(conn: object, table: str, columns: str, rows: io.StringIO) -> None:
    rows.seek(0)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:  # type: ignore[attr-defined]
        while chunk := rows.read(1 << 20):
            cp.write(chunk)


def fill(dsn: str, incidents: int, entries: int, checks: int) -> str:
    """Incidents over a year (the newest few open), their timelines, a day of results."""
    import psycopg

    now = datetime.now(UTC)
    inc, tl, res = io.StringIO(), io.StringIO(), io.StringIO()
    kinds = ["alert", "page", "delivery", "note", "escalation", "acknowledged"]
    for n in range(incidents):
        opened = now - timedelta(minutes=52 * (incidents - n))
        iid = f"INC-{opened:%Y-%m-%d}-{n}"
        open_ = n >= incidents - 5
        phase = "investigating" if open_ else "resolved"
        resolved = "\\N" if open_ else (opened + timedelta(minutes=40)).isoformat()
        inc.write(f"{iid}\tcheckout {n} returns 502 on /graphql\tshop\t{1 + n % 4}\t{phase}\t"
                  f"{opened.isoformat()}\topsbook\t{(opened + timedelta(hours=1)).isoformat()}\t"
                  f"{resolved}\n")  # fmt: skip
        for k in range(entries):
            at = opened + timedelta(seconds=20 * k)
            tl.write(f"{iid}\t{at.isoformat()}\topsbook\t{kinds[k % len(kinds)]}\t"
                     f"entry {k} of {iid}: something happened to the checkout\n")  # fmt: skip
    for c in range(checks):
        for step in range(288):  # a day, every 5 minutes
            at = now - timedelta(minutes=5 * step)
            res.write(f"mem-{c:04d}\t{at.isoformat()}\t{1 if step % 97 == 0 else 0}\t"
                      f"{40 + (c + step) % 30}\t0.2\tok\n")  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        copy(conn, "incidents", "id, title, service, severity, phase, opened_at, opened_by, "
             "response_due_at, resolved_at", inc)  # fmt: skip
        copy(conn, "timeline", "incident_id, at, actor, kind, body", tl)
        copy(conn, "check_results", "check_name, at, status, value, duration_ms, message", res)
        conn.execute("ANALYZE")
    return iid  # the newest


def read_health(base: str) -> dict[str, object]:
    try:
        body = urllib.request.urlopen(f"{base}/health").read()
    except urllib.error.HTTPError as exc:  # 503 while degraded: the body says the same
        body = exc.read()
    return dict(json.loads(body or b"{}"))


def opsbook(cfg: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(EXE), *args, "-c", str(cfg)], capture_output=True, text=True,
                          input=stdin, check=True)  # fmt: skip
    return done.stdout


def session_cookie(base: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    data = f"csrf={token}&name=alice&password={PASSWORD.replace(' ', '+')}&next=/".encode()
    cookies = opener.handlers  # the jar holds the login form's cookie and, after, the session
    opener.open(f"{base}/login", data=data).read()
    jar = next(h.cookiejar for h in cookies if hasattr(h, "cookiejar"))
    return next(c.value for c in jar if c.name == "opsbook_session")


async def paced(port: int, path: str, header: str, clients: int, seconds: float) -> list[float]:
    """``clients`` keep-alive connections, each one request a second (staggered)."""
    latencies: list[float] = []
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{header}\r\nAccept-Encoding: gzip\r\n\r\n"
    ).encode()  # as a browser asks

    async def client(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(i / clients)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - start)))
        writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000


def saturated(port: int, path: str, header: str, seconds: int) -> str:
    if shutil.which("wrk") is None:
        return "wrk not installed (apt-get install wrk)"
    out = subprocess.run(["wrk", "-t2", "-c100", f"-d{seconds}s", "--latency", "-H", header,
                          "-H", "Accept-Encoding: gzip",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=False).stdout  # fmt: skip
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (f"{float(rps.group(1)) if rps else 0:.0f} req/s, p50 {p50.group(1) if p50 else '?'}"
            f", p99 {p99.group(1) if p99 else '?'}"
            f"{', non-2xx ' + errors.group(1) if errors else ''}")  # fmt: skip


def main() -> None:  # noqa: PLR0915  (one run, read top to bottom)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=100, help="timeline entries each")
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", default="", help="run the targets whose name has this")
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-console-"))
    pg = PostgresServer.create(max_connections=100)
    pg.start()
    proc = None
    try:
        pg.psql("CREATE DATABASE console")
        port = free_port()
        cfg = work / "opsbook.yaml"
        cfg.write_text(config(pg.dsn(db="console"), port, args.checks))
        opsbook(cfg, "store", "upgrade")
        began = time.monotonic()
        newest = fill(pg.dsn(db="console"), args.incidents, args.entries, args.checks)
        print(
            f"filled: {args.incidents} incidents, {args.incidents * args.entries} timeline "
            f"entries, {args.checks} checks x 288 results in {time.monotonic() - began:.0f} s"
        )
        opsbook(cfg, "user", "add", "alice", "--role", "responder", "--password-stdin",
                stdin=PASSWORD)  # fmt: skip
        token = opsbook(cfg, "token", "create", "bench", "--role", "viewer").strip()
        log = (work / "serve.log").open("ab")
        proc = subprocess.Popen([str(EXE), "serve", "-c", str(cfg)], stdout=log, stderr=log)
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every check has a result on the board
            health = read_health(base)
            if health.get("checks_reporting", 0) >= args.checks:
                break
            time.sleep(1)
        cookie = f"Cookie: opsbook_session={session_cookie(base)}"
        bearer = f"Authorization: Bearer {token}"
        targets = [("API list", "/api/v1/incidents?limit=50", bearer, 50.0),
                   ("API list, text search", "/api/v1/incidents?limit=50&q=checkout%20999",
                    bearer, 50.0),
                   ("board, page load", "/", cookie, 150.0),
                   ("board, live part", "/?fragment=1", cookie, 150.0),
                   ("incident page", f"/incidents/{newest}", cookie, 150.0)]  # fmt: skip
        targets = [t for t in targets if args.only in t[0]]
        print(
            f"\n100 clients, one request a second each, {args.seconds:.0f} s "
            "(p99 target in brackets):"
        )
        for name, path, header, target in targets:
            got = asyncio.run(paced(port, path, header, 100, args.seconds))
            verdict = "met" if pct(got, 99) < target else "MISSED"
            print(f"  {name:24} {len(got):5d} requests  p50 {pct(got, 50):6.1f} ms  "
                  f"p99 {pct(got, 99):6.1f} ms  (< {target:.0f} ms: {verdict})")  # fmt: skip
        if args.no_wrk:
            return
        print("\nwrk, 100 connections as fast as they go, 10 s:")
        for name, path, header, _ in targets:
            print(f"  {name:24} {saturated(port, path, header, 10)}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
