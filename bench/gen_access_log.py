"""Write an nginx access log that looks like a real site's: combined + $request_time +
$upstream_response_time.

    .venv/bin/python bench/gen_access_log.py OUT [--lines 1000000] [--seed 1] [--stress]
        [--layout timed|combined|vhost]

What makes it look real (and not what suits a parser): ~30,000 clients with a heavy-tailed
share, each keeping its own user agent from ~3,000 distinct strings (browsers x versions x
systems, phones, crawlers, scripts); tens of thousands of distinct URLs (product and blog
slugs, numeric IDs and UUIDs in paths, query strings with search terms, pages and sorts,
fingerprinted assets); referrers from the site itself and from hundreds of other sites;
a status mix of ~92 % 2xx / 4 % 3xx / 3 % 4xx / 1 % 5xx; log-normal request times (slower
for search, a slow tail on 5xx, "-" upstream time for static files); a day of traffic with
a daily rhythm; and scanners, a credential stuffer and crawlers among the clients.

A shop has a catalogue: 40,000 products and 3,000 blog posts, each with one slug, and 60
fingerprinted static files; a browser sends another site only its origin as the referrer
(the default policy since 2020). ``--stress`` gives every product, post and static file
request a fresh name and every referrer a path instead: ~300,000 distinct routes and
~450,000 referrer URLs, far past what a site has, to show how both tools hold up when a
log's cardinality runs away.
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
# The layouts a site writes: nginx's combined (no timing), combined with the timings (the
# default here), and a virtual-host one (the host first, as a shared log of several sites
# has it); each with its nginx log_format (None: opsbook detects it).
LAYOUTS: dict[str, str | None] = {
    "timed": None,
    "combined": None,
    "vhost": f"$host {LOG_FORMAT}",
}
_WORDS = (
    "red blue green black white large small classic modern vintage wool cotton leather "
    "summer winter running trail city travel office garden kitchen kids pro lite max mini "
    "shoes jacket chair lamp table bag watch phone case cable desk shirt dress coat boots"
)
WORDS = _WORDS.split()
SYSTEMS = [
    "Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
    "X11; Ubuntu; Linux x86_64", "Windows NT 6.1; Win64; x64", "Macintosh; Intel Mac OS X 14_1",
]  # fmt: skip
CRAWLERS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1", "okhttp/4.12.0",
    "UptimeRobot/2.0 (http://www.uptimerobot.com/)",
]  # fmt: skip
PROBES = ["/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/", "/admin.php", "/xmlrpc.php",
          "/.aws/credentials", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
          "/cgi-bin/luci", "/boaform/admin/formLogin", "/.DS_Store", "/backup.sql"]  # fmt: skip


def _agents(rnd: random.Random, n: int = 3000) -> list[str]:
    out = []
    for _ in range(n):
        r = rnd.random()
        system = rnd.choice(SYSTEMS)
        if r < 0.45:
            major = rnd.randint(100, 131)
            out.append(f"Mozilla/5.0 ({system}) AppleWebKit/537.36 (KHTML, like Gecko) "
                       f"Chrome/{major}.0.{rnd.randint(1000, 6999)}.{rnd.randint(10, 200)} "
                       "Safari/537.36")  # fmt: skip
        elif r < 0.60:
            v = rnd.randint(100, 133)
            out.append(f"Mozilla/5.0 ({system}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
        elif r < 0.80:
            ios = f"{rnd.randint(15, 18)}_{rnd.randint(0, 6)}"
            out.append(f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) "
                       f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios[:2]}.0 "
                       "Mobile/15E148 Safari/604.1")  # fmt: skip
        elif r < 0.92:
            model = rnd.choice(["SM-G991B", "Pixel 7", "SM-A536B", "M2101K6G", "CPH2211"])
            out.append(f"Mozilla/5.0 (Linux; Android {rnd.randint(10, 14)}; {model}) "
                       f"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rnd.randint(100, 131)}"
                       ".0.0.0 Mobile Safari/537.36")  # fmt: skip
        else:
            v = rnd.randint(100, 131)
            out.append(
                f"Mozilla/5.0 ({system}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{rnd.randint(1000, 2999)}.0"
            )
    return out + CRAWLERS


def _slug(rnd: random.Random) -> str:
    return "-".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 4)))


class Catalogue:
    """The shop's products and blog posts: one slug each (None: a fresh slug per request)."""

    def __init__(self, rnd: random.Random, stress: bool) -> None:
        self.stress = stress
        self.products = [f"{_slug(rnd)}-{n}" for n in range(1, 40001)]
        self.posts = [
            f"{rnd.randint(2019, 2026)}/{rnd.randint(1, 12):02d}/{_slug(rnd)}" for _ in range(3000)
        ]
        self.assets = [self._asset(rnd) for _ in range(60)]  # this deploy's fingerprinted files

    @staticmethod
    def _asset(rnd: random.Random) -> str:
        ext = rnd.choice(["js", "css", "woff2", "png", "svg", "webp"])
        name = rnd.choice(["app", "vendor", "chunk", "img"])
        return f"/static/{name}.{rnd.getrandbits(40):010x}.{ext}"

    def asset(self, rnd: random.Random) -> str:
        return self._asset(rnd) if self.stress else rnd.choice(self.assets)

    def product(self, rnd: random.Random) -> str:
        if self.stress:
            return f"{_slug(rnd)}-{rnd.randint(1, 40000)}"
        return rnd.choice(self.products)

    def post(self, rnd: random.Random) -> str:
        if self.stress:
            return f"{rnd.randint(2019, 2026)}/{rnd.randint(1, 12):02d}/{_slug(rnd)}"
        return rnd.choice(self.posts)


def _route(rnd: random.Random, shop: Catalogue) -> tuple[str, str, float]:
    """(method, path, median seconds), over tens of thousands of distinct URLs."""
    r = rnd.random()
    if r < 0.22:
        return "POST", "/graphql", 0.045
    if r < 0.36:
        return "GET", f"/products/{shop.product(rnd)}", 0.030
    if r < 0.44:
        return (
            "GET",
            f"/api/v2/users/{rnd.randint(1, 900000)}/orders?page={rnd.randint(1, 9)}",
            0.040,
        )
    if r < 0.50:
        return "GET", f"/api/users/{uuid.UUID(int=rnd.getrandbits(128), version=4)}", 0.025
    if r < 0.62:
        return "GET", shop.asset(rnd), 0.002
    if r < 0.67:
        return "GET", "/health", 0.001
    if r < 0.75:
        q = "+".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 3)))
        sort = rnd.choice(["price", "new", "popular", "rating"])
        return "GET", f"/search?q={q}&page={rnd.randint(1, 20)}&sort={sort}", 0.180
    if r < 0.81:
        return "GET", f"/blog/{shop.post(rnd)}", 0.020
    if r < 0.86:
        cat = rnd.choice(WORDS)
        return "GET", f"/category/{cat}?color={rnd.choice(WORDS)}&size={rnd.randint(36, 46)}", 0.050
    if r < 0.92:
        return "PUT", f"/api/orders/{rnd.randint(1, 900000)}/items/{rnd.randint(1, 50)}", 0.060
    if r < 0.95:
        return "GET", f"/images/products/{rnd.randint(1, 40000)}/{rnd.randint(1, 8)}.jpg", 0.003
    return "GET", "/", 0.010


def _status(rnd: random.Random, method: str) -> int:
    r = rnd.random()
    if r < 0.92:
        return 201 if method == "PUT" and rnd.random() < 0.5 else 200
    if r < 0.96:
        return rnd.choice([301, 302, 304, 304])
    if r < 0.99:
        return rnd.choice([400, 401, 403, 404, 404, 404, 429])
    return rnd.choice([500, 502, 503, 504])


def _referer(rnd: random.Random, sites: list[str], shop: Catalogue) -> str:
    r = rnd.random()
    if r < 0.55:
        return "-"
    if r < 0.85:
        return f"https://shop.example.com/products/{shop.product(rnd)}"
    if shop.stress:
        return f"https://{rnd.choice(sites)}/{_slug(rnd)}"
    return f"https://{rnd.choice(sites)}/"  # another site: its origin only


def generate(
    out: Path, lines: int, seed: int = 1, stress: bool = False, layout: str = "timed"
) -> None:
    rnd = random.Random(seed)
    shop = Catalogue(rnd, stress)
    ips = [
        f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
        for _ in range(30000)
    ]
    agents = _agents(rnd)
    own_agent = {ip: rnd.choice(agents) for ip in ips}
    sites = [
        f"www.{_slug(rnd)}.{rnd.choice(['com', 'org', 'net', 'io', 'de'])}" for _ in range(400)
    ]
    sites += ["www.google.com", "www.bing.com", "t.co", "www.facebook.com", "duckduckgo.com"] * 20
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
            r = rnd.random()
            if r < 0.002:
                ip, agent = rnd.choice(scanners), "Mozilla/5.0 zgrab/0.x"
                method, path, median, status = "GET", rnd.choice(PROBES), 0.001, 404
            elif r < 0.0025:
                ip, agent = "198.51.100.77", "python-requests/2.31.0"
                method, path, median, status = "POST", "/api/login", 0.080, 401
            else:
                ip = ips[min(int(rnd.paretovariate(1.2)) - 1, len(ips) - 1)]
                if rnd.random() < 0.5:
                    ip = rnd.choice(ips)
                agent = own_agent[ip]
                method, path, median = _route(rnd, shop)
                status = _status(rnd, method)
            seconds = rnd.lognormvariate(math.log(median), 0.6)
            if status >= 500:
                seconds *= 8
            rt = f"{seconds:.3f}"
            static = path.startswith(("/static", "/images"))
            upstream = "-" if static else f"{max(seconds - 0.001, 0):.3f}"
            size = 0 if status in (204, 304) else int(rnd.lognormvariate(7, 1.2))
            ref = _referer(rnd, sites, shop)
            line = (
                f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "{ref}" "{agent}"'
            )
            if layout == "combined":
                f.write(f"{line}\n")
                continue
            host = "api.example.com " if path.startswith("/api") else "shop.example.com "
            f.write(f"{host if layout == 'vhost' else ''}{line} {rt} {upstream}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stress", action="store_true", help="runaway cardinality (see above)")
    parser.add_argument("--layout", choices=list(LAYOUTS), default="timed")
    args = parser.parse_args()
    generate(args.out, args.lines, args.seed, args.stress, args.layout)


if __name__ == "__main__":
    main()
