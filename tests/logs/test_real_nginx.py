"""`opsbook logs access` on a log written by a real nginx: scanners, a credential stuffer and
busy users; garbage request lines; Basic-auth users with spaces; escaped user agents. Every
figure is checked against what the test itself sent."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.support.nginx import TIMED, Nginx

Cli = Callable[..., CliResult]
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0 Safari/537.36")  # fmt: skip
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")  # fmt: skip
FAST_SCANNER, SLOW_SCANNER, STUFFER, BUSY = "203.0.113.5", "203.0.113.9", "198.51.100.7", "10.0.1.1"
PROBES = ["/.env", "/wp-login.php", "/phpmyadmin/", "/actuator/health", "/.git/config",
          "/owa/", "/solr/admin", "/cgi-bin/test.cgi", "/.aws/credentials", "/server-status",
          "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/HNAP1/", "/console/",
          "/manager/html", "/xmlrpc.php", "/.htpasswd", "/backup.sql", "/admin.php"]  # fmt: skip
APP = ["/api/orders/{n}", "/api/actuators/{n}/state", "/api/console/status", "/shop/index.jsp",
       "/static/app.css", "/graphql", "/favicon.ico"]  # fmt: skip


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = Nginx(tmp_path_factory.mktemp("nginx"), TIMED).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def traffic(nginx: Nginx) -> dict[str, object]:
    """What was sent, counted here, independently of opsbook."""
    sent: Counter[str] = Counter()
    visitors: set[tuple[str, str]] = set()

    def get(ip: str, path: str, agent: str = CHROME, method: str = "GET", **kw: str) -> None:
        nginx.request(method, path, ip=ip, agent=agent, **kw)
        sent[ip] += 1
        visitors.add((ip, agent))

    for c in range(30):  # ordinary users of every app route, Actuator-like and .jsp included
        ip, agent = f"10.0.0.{c + 1}", (CHROME, FIREFOX, IPHONE)[c % 3]
        for i, route in enumerate(APP):
            get(ip, route.format(n=c * 10 + i), agent, referer="https://news.example.org/item?id=7")
    for i in range(300):  # a busy client: 20 404s in a minute among 300 requests
        get(BUSY, f"/api/orders/{i}" if i % 15 else "/orders/missing", "okhttp/4.12.0")
    for path in PROBES:
        get(FAST_SCANNER, path, "zgrab/0.x")
    get(FAST_SCANNER, "/.git/HEAD", "zgrab/0.x")  # answered: the line that matters most
    for path in ("/.env", "/.aws/credentials", "/config.php", "/.git/config", "/backup.sql"):
        get(SLOW_SCANNER, "/api/orders/1", FIREFOX)
        get(SLOW_SCANNER, path, FIREFOX)
    for _ in range(76):
        get(STUFFER, "/login", "python-requests/2.32.3", method="POST")
    user = base64.b64encode(b"john doe:secret").decode()
    weird = base64.b64encode(b"a] [b:secret").decode()
    get("10.0.2.1", "/api/orders/5", CHROME, auth=user)
    get("10.0.2.2", "/api/orders/6", CHROME, auth=weird)
    get("10.0.2.3", "/api/orders/7", 'Mozilla/5.0 "quoted" agent')
    nginx.send(b"HELLO WORLD\r\n\r\n")
    nginx.send(bytes.fromhex("16030100f8010000f40303") + b"\x00" * 40)  # TLS to a plain port
    total = sum(sent.values()) + 2
    lines = nginx.flushed(total)
    assert len(lines) == total, f"nginx wrote {len(lines)} of {total} lines"
    return {"sent": sent, "visitors": visitors, "total": total, "lines": lines}


def report(cli: Cli, nginx: Nginx, *args: str) -> CliResult:
    out = cli("logs", "access", str(nginx.access_log), "--log-format", TIMED, *args)
    assert out.code == 0, out.err
    return out


def test_every_line_nginx_wrote_is_counted_even_the_odd_ones(
    cli: Cli, nginx: Nginx, traffic: dict[str, object]
) -> None:
    doc = json.loads(report(cli, nginx, "-f", "json").out)
    assert (doc["requests"], doc["unparsed"]) == (traffic["total"], 0)
    lines = traffic["lines"]
    assert isinstance(lines, list)
    assert any(" - john doe [" in line for line in lines)  # nginx logs the user with its space
    malformed = [r for r in doc["routes"] if r["route"] == "(malformed)"]
    assert [r["requests"] for r in malformed] == [2]  # one route, not HELLO/WORLD and TLS bytes
    agents = {a["agent"] for a in doc["user_agents"]}
    assert 'Mozilla/5.0 "quoted" agent' in agents  # nginx's \x22 read back
    assert not any("\\x22" in a for a in agents)


def test_scanners_and_the_stuffer_are_the_top_suspects_and_app_routes_flag_nobody(
    cli: Cli, nginx: Nginx, traffic: dict[str, object]
) -> None:
    doc = json.loads(report(cli, nginx, "-f", "json", "--top", "5").out)
    ranked = [s["ip"] for s in doc["suspicious"]]
    assert ranked[0] == FAST_SCANNER  # it got an answer: first
    assert set(ranked[:3]) == {FAST_SCANNER, SLOW_SCANNER, STUFFER}
    assert doc["suspicious_total"] == 3  # no ordinary user, not the busy client
    stuffer = next(s for s in doc["suspicious"] if s["ip"] == STUFFER)
    assert "denied 76 of 76 requests (401/403)" in stuffer["reasons"]
    slow = next(s for s in doc["suspicious"] if s["ip"] == SLOW_SCANNER)
    assert {p["path"] for p in slow["probes"]} == {
        "/.env",
        "/.aws/credentials",
        "/config.php",
        "/.git/config",
        "/backup.sql",
    }
    [answered] = doc["answered_probes"]
    assert (answered["ip"], answered["path"], answered["status"]) == (
        FAST_SCANNER,
        "/.git/HEAD",
        200,
    )


def test_every_answered_probe_path_is_in_the_table_and_the_html(
    cli: Cli, nginx: Nginx, traffic: dict[str, object], tmp_path: Path
) -> None:
    table = report(cli, nginx).out
    assert "probe paths this server ANSWERED (2xx/3xx): 1" in table
    assert "/.git/HEAD" in table
    assert "suspicious clients (3), most suspect first" in table
    page = tmp_path / "r.html"
    report(cli, nginx, "-f", "html", "-o", str(page))
    html = page.read_text()
    assert "Probe paths this server answered (1)" in html and "/.git/HEAD" in html
    assert f'<td class="ip"><code>{FAST_SCANNER}</code></td>' in html


def test_goaccess_panels_match_what_was_sent(
    cli: Cli, nginx: Nginx, traffic: dict[str, object]
) -> None:
    doc = json.loads(report(cli, nginx, "-f", "json", "--top", "50").out)["audience"]
    visitors = traffic["visitors"]
    assert isinstance(visitors, set)
    people = len(visitors) + 1  # and the garbage lines' one visitor: 127.0.0.1, agent "-"
    assert doc["visitors"] == people
    assert sum(d["visitors"] for d in doc["days"]) >= people
    assert sum(d["hits"] for d in doc["days"]) == traffic["total"]
    assert doc["referring_sites"] == [{"site": "news.example.org", "requests": 30 * len(APP)}]
    browsers = {b["browser"]: b["requests"] for b in doc["browsers"]}
    assert browsers["Chrome"] >= 10 * len(APP) and browsers["Firefox"] >= 10 * len(APP)
    assert browsers["Safari"] == 10 * len(APP)  # the iPhone users
    systems = {s["system"]: s["requests"] for s in doc["operating_systems"]}
    assert systems["iOS"] == 10 * len(APP) and systems["Windows"] >= 10 * len(APP)
    crawlers = {c["crawler"] for c in doc["crawlers"]}
    assert {"zgrab", "python-requests", "okhttp"} <= crawlers
    assert doc["static"]["requests"] == 30 * 2  # app.css and favicon.ico per ordinary user
    assert sum(doc["hours"]) == traffic["total"]
    not_found = {n["path"]: n["requests"] for n in doc["not_found"]}
    assert not_found["/orders/missing"] == 20  # unfolded, as requested
    assert not_found["/.env"] == 2
