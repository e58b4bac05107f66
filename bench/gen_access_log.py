"""Write a realistic nginx access log: combined + $request_time + $upstream_response_time.

    .venv/bin/python bench/gen_access_log.py OUT [--lines 1000000] [--seed 1]

Traffic shape: ~20,000 client IPs with a heavy-tailed share (a few busy clients, many rare
ones), routes of a GraphQL API server and its REST neighbours with numeric IDs, UUIDs and
hashes in paths, a status mix of ~93 % 2xx / 3 % 3xx / 3 % 4xx / 1 % 5xx, log-normal request
times (slower for some routes, slow tail on 5xx), a day of traffic with a daily rhythm, and a
few scanners probing /wp-login.php, /.env and /.git/config with bursts of 404s.
"""

from __future__ import annotations

import argparse
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time'
)
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
    "curl/8.5.0",
]
PROBES = ["/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/", "/admin.php", "/xmlrpc.php"]


def _route(rnd: random.Random) -> tuple[str, str, float]:
    """(method, path, median seconds)."""
    r = rnd.random()
    if r < 0.45:
        return "POST", "/graphql", 0.045
    if r < 0.60:
        return "GET", f"/api/orders/{rnd.randint(1, 900000)}", 0.030
    if r < 0.70:
        return "GET", f"/api/users/{uuid.UUID(int=rnd.getrandbits(128), version=4)}", 0.025
    if r < 0.78:
        return "GET", f"/static/app.{rnd.getrandbits(64):016x}.js", 0.002
    if r < 0.85:
        return "GET", "/health", 0.001
    if r < 0.90:
        q = rnd.choice(["shoes", "red+hat", "laptop", "chair"])
        return "GET", f"/api/search?q={q}&page={rnd.randint(1, 20)}", 0.180
    if r < 0.95:
        return "PUT", f"/api/orders/{rnd.randint(1, 900000)}/items/{rnd.randint(1, 50)}", 0.060
    return "GET", "/", 0.010


def _status(rnd: random.Random, method: str) -> int:
    r = rnd.random()
    if r < 0.93:
        return 201 if method == "PUT" and rnd.random() < 0.5 else 200
    if r < 0.96:
        return rnd.choice([301, 302, 304])
    if r < 0.99:
        return rnd.choice([400, 401, 403, 404, 404, 404, 429])
    return rnd.choice([500, 502, 503, 504])


def generate(out: Path, lines: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    ips = [
        f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
        for _ in range(20000)
    ]
    scanners = ["203.0.113.7", "198.51.100.23", "192.0.2.99"]
    start = datetime(2026, 11, 27, tzinfo=UTC)
    span = 86400.0
    t = 0.0
    mean_gap = span / lines
    with out.open("w", buffering=1 << 20) as f:
        for _ in range(lines):
            # Daily rhythm: busier in the afternoon than at night.
            rhythm = 1.0 + 0.6 * math.sin((t / span) * 2 * math.pi - math.pi / 2)
            t += rnd.expovariate(1.0 / (mean_gap / max(rhythm, 0.2)))
            when = start + timedelta(seconds=min(t, span - 1))
            stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
            if rnd.random() < 0.002:
                ip = rnd.choice(scanners)
                method, path, median = "GET", rnd.choice(PROBES), 0.001
                status = 404
            else:
                ip = ips[min(int(rnd.paretovariate(1.2)) - 1, len(ips) - 1)]
                if rnd.random() < 0.5:
                    ip = rnd.choice(ips)
                method, path, median = _route(rnd)
                status = _status(rnd, method)
            seconds = rnd.lognormvariate(math.log(median), 0.6)
            if status >= 500:
                seconds *= 8
            rt = f"{seconds:.3f}"
            upstream = "-" if path.startswith("/static") else f"{max(seconds - 0.001, 0):.3f}"
            size = 0 if status in (204, 304) else int(rnd.lognormvariate(7, 1.2))
            agent = rnd.choice(AGENTS)
            ref = "-" if rnd.random() < 0.7 else "https://example.com/"
            f.write(
                f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} '
                f'"{ref}" "{agent}" {rt} {upstream}\n'
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.lines, args.seed)


if __name__ == "__main__":
    main()
