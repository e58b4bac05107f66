"""opsbook logs access: exact counts, shares, percentiles, routes and suspects on known logs."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from opsbook.logs.access import AccessQuery, analyse
from opsbook.output.logs import access_json
from tests.conftest import CliResult, Write
from tests.logs.conftest import Hit, write_log

Cli = Callable[..., CliResult]


def report(cli: Cli, *args: str) -> dict:  # type: ignore[type-arg]
    result = cli("logs", "access", *args, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def mixed_hits(n: int = 2000, seed: int = 7) -> list[Hit]:
    rnd = random.Random(seed)
    paths = ["/graphql", "/api/orders/17", "/api/orders/99182", "/health"]
    statuses = [200] * 90 + [201] * 3 + [302] * 2 + [404] * 3 + [500, 503]
    return [
        Hit(
            ip=f"10.0.{rnd.randint(0, 3)}.{rnd.randint(1, 50)}",
            at=i * 1.7,
            method="POST" if rnd.random() < 0.3 else "GET",
            path=rnd.choice(paths),
            status=rnd.choice(statuses),
            size=rnd.randint(0, 5000),
            rt=round(rnd.lognormvariate(-3, 1), 3),
        )
        for i in range(n)
    ]


def test_counts_shares_and_percentiles_match_a_direct_computation(cli: Cli, tmp_path: Path) -> None:
    hits = mixed_hits()
    data = report(cli, str(write_log(tmp_path / "access.log", hits)))
    assert data["requests"] == len(hits)
    assert data["unparsed"] == 0
    for cls in ("2xx", "3xx", "4xx", "5xx"):
        want = sum(1 for h in hits if str(h.status)[0] == cls[0])
        assert data["status_classes"][cls] == want
    assert data["shares"]["5xx"] == pytest.approx(
        sum(1 for h in hits if h.status >= 500) / len(hits), abs=1e-6
    )
    assert data["bytes"] == sum(h.size for h in hits)
    times = [h.rt for h in hits if h.rt is not None]
    q = statistics.quantiles(times, n=100, method="inclusive")
    lat = data["latency_seconds"]
    assert lat["p50"] == pytest.approx(statistics.median(times), abs=1e-9)
    assert lat["p95"] == pytest.approx(q[94], abs=1e-9)
    assert lat["p99"] == pytest.approx(q[98], abs=1e-9)
    assert lat["max"] == max(times)
    orders = next(
        r for r in data["routes"] if r["route"] == "/api/orders/:id" and r["method"] == "GET"
    )
    order_times = [
        h.rt for h in hits if h.path.startswith("/api/orders") and h.method == "GET" and h.rt
    ]
    assert orders["requests"] == len(order_times)
    assert orders["latency_seconds"]["p95"] == pytest.approx(
        statistics.quantiles(order_times, n=100, method="inclusive")[94], abs=1e-9
    )
    assert orders["5xx"] == sum(
        1
        for h in hits
        if h.path.startswith("/api/orders") and h.method == "GET" and h.status >= 500
    )


def test_paths_fold_to_routes(cli: Cli, tmp_path: Path) -> None:
    paths = {
        "/api/orders/123": "/api/orders/:id",
        "/api/orders/123/items/4": "/api/orders/:id/items/:id",
        "/api/users/123e4567-e89b-12d3-a456-426614174000": "/api/users/:uuid",
        "/static/app.0123456789abcdef.js": "/static/app.:hash.js",
        "/blob/da39a3ee5e6b4b0d3255bfef95601890afd80709": "/blob/:hash",
        "/search?q=12345": "/search",
        "/café/menü/7?lang=fr#top": "/café/menü/:id",  # cut at a byte, after multibyte text
        "/page#part?x=1": "/page",
        "/v1/status": "/v1/status",
        "/reports/2026.csv": "/reports/:id.csv",
    }
    data = report(cli, str(write_log(tmp_path / "a.log", [Hit(path=p) for p in paths])))
    assert {r["route"] for r in data["routes"]} == set(paths.values())


def test_scanners_bursts_and_credential_guessers_are_flagged_and_ordinary_404s_are_not(
    cli: Cli, tmp_path: Path
) -> None:
    hits = [Hit(ip="192.0.2.10", at=i, path="/") for i in range(50)]
    hits += [Hit(ip="192.0.2.10", at=60 + i, path="/missing", status=404) for i in range(3)]
    probes = ["/.env", "/wp-login.php", "/.git/config", "/.env"]
    hits += [Hit(ip="203.0.113.7", at=100 + i, path=p, status=404) for i, p in enumerate(probes)]
    hits.append(Hit(ip="203.0.113.8", at=200, path="/.env", status=200))  # answered!
    hits += [Hit(ip="198.51.100.5", at=300 + i, path=f"/x{i}", status=404) for i in range(25)]
    hits += [Hit(ip="198.51.100.9", at=400 + i * 61, path="/login", status=401) for i in range(12)]
    hits += [Hit(ip="198.51.100.9", at=1200, path="/login", status=200)]
    data = report(cli, str(write_log(tmp_path / "a.log", hits)))
    suspects = {s["ip"]: s for s in data["suspicious"]}
    assert set(suspects) == {"203.0.113.7", "203.0.113.8", "198.51.100.5", "198.51.100.9"}
    scanner = suspects["203.0.113.7"]
    assert {p["path"]: p["requests"] for p in scanner["probes"]} == {
        "/.env": 2,
        "/wp-login.php": 1,
        "/.git/config": 1,
    }
    assert scanner["first"].startswith("2026-11-27T10:01:40")
    assert scanner["last"].startswith("2026-11-27T10:01:43")
    assert suspects["203.0.113.8"]["probes"][0]["answered"] == 1
    assert data["suspicious"][0]["ip"] == "203.0.113.8"  # answered probes first
    assert "1 answered with 2xx/3xx" in suspects["203.0.113.8"]["reasons"][0]
    assert suspects["198.51.100.5"]["peak_denied_per_minute"] == 25
    # where the burst went: 25 different routes, the 10 most hit are kept
    routes = {h["route"]: h["requests"] for h in suspects["198.51.100.5"]["denied_routes"]}
    assert len(routes) == 10 and set(routes.values()) == {1}
    assert suspects["198.51.100.9"]["denied_routes"] == [
        {
            "method": "GET",
            "route": "/login",
            "requests": 12,
            "first": "2026-11-27T10:06:40+00:00",
            "last": "2026-11-27T10:17:51+00:00",
        }
    ]
    assert any("burst" in r for r in suspects["198.51.100.5"]["reasons"])
    assert any("denied 12 of 13" in r for r in suspects["198.51.100.9"]["reasons"])


def test_unparsed_lines_are_counted_and_shown_with_line_numbers(cli: Cli, tmp_path: Path) -> None:
    lines = [Hit(at=i).line() for i in range(5)]
    lines.insert(2, "this is not an access log line")
    lines.append("")  # blank lines are neither requests nor errors
    lines.append('10.0.0.9 - - [27/Nov/2026:10:00:09 +0000] "GET / HTTP/1.1" 2OO 5 "-" "x" 0.1 0.1')
    data = report(cli, str(write_log(tmp_path / "a.log", lines)))
    assert data["requests"] == 5
    assert data["unparsed"] == 2
    assert [(u["line"], u["text"][:8]) for u in data["unparsed_examples"]] == [
        (3, "this is "),
        (8, "10.0.0.9"),
    ]


def test_a_bad_request_line_still_counts_as_a_request(cli: Cli, tmp_path: Path) -> None:
    lines = [
        Hit().line(),
        '10.0.0.2 - - [27/Nov/2026:10:00:01 +0000] "-" 400 0 "-" "-" 0.000 -',
        '10.0.0.3 - - [27/Nov/2026:10:00:02 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-" 0.001 -',
    ]
    data = report(cli, str(write_log(tmp_path / "a.log", lines)))
    assert data["requests"] == 3
    assert data["unparsed"] == 0
    assert data["status_codes"] == {"200": 1, "400": 2}


def test_nothing_parsing_exits_non_zero(cli: Cli, tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", ["garbage one", "garbage two"])
    result = cli("logs", "access", str(log))
    assert result.code == 1
    assert "2 line(s) did not parse" in result.out


def test_combined_without_timing_says_so(cli: Cli, tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", [Hit(at=i) for i in range(3)], timed=False)
    data = report(cli, str(log))
    assert data["requests"] == 3
    assert data["latency_seconds"] is None
    assert data["latency_field"] is None
    assert any("no timing field" in n for n in data["notes"])
    table = cli("logs", "access", str(log))
    assert "no timing field" in table.out
    assert "over time" not in table.out  # three requests in one minute: no timeline
    assert data["routes"] and data["routes_by_time"] == []  # nothing to rank by


def test_routes_by_time_list_only_routes_that_took_time(tmp_path: Path) -> None:
    hits = [Hit(at=i, path="/slow", rt=0.250) for i in range(3)]
    hits += [Hit(at=i, path=f"/instant/{name}", rt=0.0) for i, name in enumerate("abc")]
    log = write_log(tmp_path / "a.log", hits)
    data = access_json(analyse(AccessQuery(files=(str(log),))))
    assert len(data["routes"]) == 4
    assert [r["route"] for r in data["routes_by_time"]] == ["/slow"]


def test_custom_log_format_and_upstream_times_summed(cli: Cli, tmp_path: Path) -> None:
    fmt = '$remote_addr [$time_iso8601] "$request" $status $upstream_response_time'
    log = write_log(
        tmp_path / "a.log",
        [
            '10.0.0.1 [2026-11-27T10:00:00+00:00] "GET /a HTTP/1.1" 200 0.010, 0.020',
            '10.0.0.1 [2026-11-27T10:00:01+00:00] "GET /a HTTP/1.1" 502 0.500 : 0.100',
            '10.0.0.1 [2026-11-27T10:00:02+00:00] "GET /a HTTP/1.1" 200 0.040',
        ],
    )
    data = report(cli, str(log), "--log-format", fmt)
    assert data["requests"] == 3
    assert data["latency_field"] == "upstream_time"
    assert data["latency_seconds"]["max"] == pytest.approx(0.6)
    assert data["latency_seconds"]["p50"] == pytest.approx(0.04)


def test_bad_log_format_is_one_line_exit_3(cli: Cli, tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", [Hit()])
    result = cli("logs", "access", str(log), "--log-format", "$remote_addr $body_bytes_sent")
    assert result.code == 3
    assert "lacks $status" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_missing_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("logs", "access", str(tmp_path / "nope.log"))
    assert result.code == 1
    assert "nope.log: no such file" in result.err
    assert "Traceback" not in result.err


def test_plain_rotated_and_gzipped_files_add_up(cli: Cli, tmp_path: Path) -> None:
    write_log(tmp_path / "access.log", [Hit(at=200 + i) for i in range(3)])
    write_log(tmp_path / "access.log.1", [Hit(at=100 + i, status=500) for i in range(4)])
    raw = write_log(tmp_path / "old", [Hit(at=i, status=404) for i in range(5)])
    with raw.open("rb") as src, gzip.open(tmp_path / "access.log.2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    # Renamed without .gz: still read as gzip, by its magic bytes.
    shutil.copy(tmp_path / "access.log.2.gz", tmp_path / "access.log.3")
    names = [
        str(tmp_path / n) for n in ("access.log", "access.log.1", "access.log.2.gz", "access.log.3")
    ]
    data = report(cli, *names)
    assert data["requests"] == 17
    assert data["status_classes"] == {"2xx": 3, "3xx": 0, "4xx": 10, "5xx": 4}


def test_reads_stdin(tmp_path: Path) -> None:
    text = "".join(Hit(at=i, status=503 if i % 2 else 200).line() + "\n" for i in range(10))
    proc = subprocess.run(
        [sys.executable, "-m", "opsbook", "logs", "access", "-", "--format", "json"],
        input=text, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["requests"] == 10
    assert data["status_classes"]["5xx"] == 5


def test_since_and_until_select_a_window(cli: Cli, tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", [Hit(at=i * 60) for i in range(10)])
    data = report(cli, str(log), "--since", "2026-11-27T10:03:00", "--until", "2026-11-27T10:06:00")
    assert data["requests"] == 3
    assert data["first"].startswith("2026-11-27T10:03:00")


def test_results_do_not_depend_on_how_the_file_is_chunked(tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", mixed_hits(3000, seed=3))
    whole = access_json(analyse(AccessQuery(files=(str(log),))))
    pieces = access_json(analyse(AccessQuery(files=(str(log),), chunk_bytes=4096)))
    assert pieces == whole


def test_route_percentiles_are_exact_when_each_millisecond_recurs_in_many_chunks(
    tmp_path: Path,
) -> None:
    """The per-route latencies reach the report stacked, not merged (a route's millisecond
    value once per chunk that saw it): the percentiles must be those of the raw list."""
    rnd = random.Random(11)
    hits = [
        Hit(
            at=i,
            path=rnd.choice(["/api/orders/1", "/api/cart", "/api/search"]),
            rt=rnd.choice([0.004, 0.010, 0.011, 0.250, 1.5]) if i % 7 else round(rnd.random(), 3),
        )
        for i in range(4000)
    ]
    log = write_log(tmp_path / "a.log", hits)
    data = access_json(analyse(AccessQuery(files=(str(log),), chunk_bytes=4096)))
    for route in data["routes"]:
        prefix = route["route"].removesuffix(":id")
        times = [h.rt for h in hits if h.path.startswith(prefix) and h.rt is not None]
        q = statistics.quantiles(times, n=100, method="inclusive")
        lat = route["latency_seconds"]
        assert route["requests"] == len(times)
        assert lat["p50"] == pytest.approx(statistics.median(times), abs=1e-9), route["route"]
        assert lat["p95"] == pytest.approx(q[94], abs=1e-9), route["route"]
        assert lat["p99"] == pytest.approx(q[98], abs=1e-9), route["route"]
        assert lat["max"] == max(times)


def test_a_route_and_a_referrer_that_climb_into_the_top_late_keep_their_names(
    tmp_path: Path,
) -> None:
    """Merges let go of the text of rows no ranking can show yet; a row seen once early and
    again only at the end must still be named, with its exact count."""

    def line(n: int, path: str, referer: str) -> str:
        return (
            f"10.0.{n % 200}.{n % 250 + 1} - - [01/Dec/2026:10:{n // 60 % 60:02d}:{n % 60:02d} "
            f'+0000] "GET {path} HTTP/1.1" 200 10 "{referer}" "curl/8.5.0" 0.012 0.012'
        )

    late = ("/late/route", "https://late.example/x")
    steady = ("/steady", "https://steady.example/y")
    rows = [late, steady, steady, steady]
    rows += [(f"/noise/n{i}", f"https://noise.example/n{i}") for i in range(600)]
    rows += [late] * 5
    log = write_log(tmp_path / "a.log", [line(n, *row) for n, row in enumerate(rows)])
    whole = access_json(analyse(AccessQuery(files=(str(log),), top=2)))
    pieces = access_json(analyse(AccessQuery(files=(str(log),), top=2, chunk_bytes=1024)))
    assert pieces == whole
    assert [(r["route"], r["requests"]) for r in pieces["routes"]] == [
        ("/late/route", 6),
        ("/steady", 3),
    ]
    referrers = pieces["audience"]["referrers"]
    assert [(r["referrer"], r["requests"]) for r in referrers] == [
        ("https://late.example/x", 6),
        ("https://steady.example/y", 3),
    ]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)


def test_html_report_is_one_self_contained_page_with_charts(cli: Cli, tmp_path: Path) -> None:
    log = write_log(tmp_path / "a.log", mixed_hits(500))
    out = tmp_path / "report.html"
    result = cli("logs", "access", str(log), "--format", "html", "--output", str(out))
    assert result.code == 0, result.err
    page = out.read_text()
    parser = _Assets()
    parser.feed(page)
    assert parser.external == []
    assert "script" not in parser.tags
    assert parser.tags.count("svg") == 3  # rate, status shares, latency percentiles
    # one line for the rate, three for 3xx/4xx/5xx shares, three for p50/p95/p99
    assert parser.tags.count("polyline") == 7
    assert "/api/orders/:id" in page


def test_the_terminal_report_shows_traffic_over_time(cli: Cli, tmp_path: Path) -> None:
    hits = [Hit(at=m * 60, status=500 if m == 2 else 200) for m in range(5) for _ in range(4)]
    out = cli("logs", "access", str(write_log(tmp_path / "a.log", hits))).out
    timeline = out.split("over time")[1].split("top routes")[0]
    rows = [line for line in timeline.splitlines() if line.startswith("2026-")]
    assert len(rows) == 5
    assert "100.0%" in rows[2] and "0.0%" in rows[0]


def test_status_and_path_filters_narrow_the_whole_report(cli: Cli, tmp_path: Path) -> None:
    hits = mixed_hits(1500, seed=11)
    log = str(write_log(tmp_path / "a.log", hits))
    data = report(cli, log, "--status", "5xx", "--status", "404", "--path", "/api/")
    chosen = [
        h for h in hits if (h.status >= 500 or h.status == 404) and h.path.startswith("/api/")
    ]
    assert data["requests"] == len(chosen) > 0
    assert {r["route"] for r in data["routes"]} == {"/api/orders/:id"}
    assert data["status_classes"]["2xx"] == 0
    bad = cli("logs", "access", log, "--status", "5x")
    assert bad.code == 3 and "expected a code such as 404 or a class such as 5xx" in bad.err


def test_clients_from_x_forwarded_for_only_when_asked(cli: Cli, tmp_path: Path) -> None:
    fmt = '$remote_addr [$time_local] "$request" $status "$http_x_forwarded_for"'
    stamp = "27/Nov/2026:10:00:00 +0000"
    log = write_log(
        tmp_path / "a.log",
        [
            f'10.0.0.2 [{stamp}] "GET / HTTP/1.1" 200 "198.51.100.7, 10.0.0.9"',
            f'10.0.0.2 [{stamp}] "GET / HTTP/1.1" 200 "198.51.100.7"',
            f'10.0.0.3 [{stamp}] "GET / HTTP/1.1" 200 "-"',
        ],
    )
    direct = report(cli, str(log), "--log-format", fmt)
    assert {c["ip"]: c["requests"] for c in direct["clients"]} == {"10.0.0.2": 2, "10.0.0.3": 1}
    behind = report(cli, str(log), "--log-format", fmt, "--forwarded-for")
    assert {c["ip"]: c["requests"] for c in behind["clients"]} == {
        "198.51.100.7": 2,
        "10.0.0.3": 1,
    }


def test_a_giant_line_without_newline_is_one_unparsed_line(tmp_path: Path) -> None:
    from opsbook.logs import reader

    log = tmp_path / "a.log"
    with log.open("w") as f:
        f.write(Hit().line() + "\n")
        f.write("x" * (reader.MAX_LINE * 2 + 5))  # no newline anywhere
        f.write("\n" + Hit(at=1).line() + "\n")
    got = analyse(AccessQuery(files=(str(log),), chunk_bytes=1 << 20))
    assert got.requests == 2
    assert got.unparsed >= 1
    assert got.unparsed_examples[0].line == 2


def test_a_window_with_nothing_in_it_says_where_the_log_is(cli: Cli, tmp_path: Path) -> None:
    log = str(write_log(tmp_path / "a.log", [Hit(at=i) for i in range(3)]))
    out = cli("logs", "access", log, "--since", "2026-11-28")
    assert out.code == 0
    assert out.out.startswith(f"no requests in {log}")
    assert "none of the 3 requests read is in the selection" in out.out
    assert "from 2026-11-27T10:00:00+00:00 to 2026-11-27T10:00:02+00:00" in out.out


def test_configured_probe_paths_flag_their_clients(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    log = str(write_log(tmp_path / "a.log", [Hit(ip="192.0.2.50", path="/old-admin/login")]))
    plain = report(cli, log)
    assert plain["suspicious"] == []
    cfg = write_config("logs:\n  probe_paths: ['^/old-admin/', '\\\\.bak$']\n")
    flagged = report(cli, "-c", str(cfg), log)
    assert [s["ip"] for s in flagged["suspicious"]] == ["192.0.2.50"]
    bad = write_config("logs:\n  probe_paths: ['(unclosed']\n")
    out = cli("-c", str(bad), "logs", "access", log)
    assert out.code == 3
    assert "logs.probe_paths: '(unclosed' is not a regular expression" in out.err
    assert len(out.err.strip().splitlines()) == 1


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 2048])
def test_a_line_cut_short_inside_a_quote_swallows_no_other_line(
    tmp_path: Path, chunk_bytes: int
) -> None:
    # A line nginx never finished (a full disk, a crash): its open quote would make the CSV
    # reader take the next line as part of it; the columns no longer line up with the lines,
    # and the chunk is read line by line instead.
    hits = mixed_hits(60, seed=3)
    lines = [h.line(True) for h in hits]
    cut = lines[30][: lines[30].index('"') + 10]  # inside the request line's quotes
    log = write_log(tmp_path / "access.log", [*lines[:30], cut, *lines[30:]])
    got = analyse(AccessQuery(files=(str(log),), chunk_bytes=chunk_bytes))
    assert (got.requests, got.unparsed) == (60, 1)
    assert [(e.line, e.text) for e in got.unparsed_examples] == [(31, cut)]
