"""The commented opsbook.yaml that ``opsbook init`` writes, with the runbook's alert tiers:

- critical, immediate response: application down, database unreachable, more than 5 % 5xx,
  certificate expiring in under 30 days, disk under 10 % free;
- warning, review within hours: memory over 90 %, P95 over 2 s, connection pool near capacity,
  unusual traffic;
- informational, review daily: recorded as SEV-4 alerts (`opsbook alerts`), never paged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from opsbook.setup.calendar import jobs_section
from opsbook.setup.containment import actions_section, container_checks, procedures_section
from opsbook.setup.discover import APP_PORTS, Discovery, Target

PG_FALLBACK = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_FALLBACK = "redis://127.0.0.1:6379/0"
# The checks init writes, in order; the summary says which of them are live.
CHECKS = ("app", "app_metrics", "db", "db-health", "db-stats", "pool", "cache", "disk", "memory",
          "cpu", "diskio", "network", "cert", "api-traffic", "new-errors")  # fmt: skip


def _block(lines: list[str], enabled: bool) -> list[str]:
    """A check's lines, or the same commented at their own indentation: deleting the ``# ``
    gives back a block that is valid where it stands (under ``checks:``)."""
    return lines if enabled else [ln[:2] + "# " + ln[2:] for ln in lines]


def _where(target: Target | None, default_port: int) -> str:
    return target.origin if target else f"nothing listening on 127.0.0.1:{default_port}"


def _address(var: str, target: Target | None, fallback: str) -> list[str]:
    """``${VAR:-address}``: the environment wins at run time; never a password in the file."""
    written = target.written if target else fallback
    line = json.dumps(f"${{{var}:-{written}}}")
    note = []
    if target and target.has_secret:
        also = " (or ~/.pgpass)" if var == "DATABASE_URL" else ""
        note = [f"    # its password is not written here: set {var}{also} where opsbook runs"]
    return [line, *note]


def render(found: Discovery, *, service: str, host: str) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    app_url = found.app.written if found.app else "http://127.0.0.1:8000/health"
    metrics_url = found.metrics_url or app_url.rsplit("/", 1)[0] + "/metrics"
    if found.app:
        app_note = f"{found.app.written} {found.app.origin}"
    else:
        ports = ", ".join(str(p) for p in APP_PORTS)
        app_note = f"nothing answered /health on 127.0.0.1 ports {ports}; set the URL and uncomment"
    out = [
        f"# opsbook.yaml, written by `opsbook init` on {today} on {host}.",
        "# Every key is described in docs/configuration.md; `opsbook config validate` checks",
        "# this file, `opsbook check` runs it once, `opsbook serve` watches it. Values may use",
        "# ${VAR} or ${VAR:-default} from the environment: keep passwords there, not here.",
        "# A check written commented out was not found here: delete the '# ' of its lines",
        "# (they keep their indentation) once it is there.",
        "#",
        "# Alert tiers, as the runbook sets them: critical (immediate response) opens SEV-1/SEV-2",
        "# incidents; warning (review within hours) opens SEV-3; informational is SEV-4, recorded",
        "# and listed by `opsbook alerts`, never paged.",
        f"service: {service}",
        "",
        "checks:",
        f"  # Critical: application down ({app_note}).",
    ]
    app_line, *app_note_lines = _address("OPSBOOK_HEALTH_URL", found.app, app_url)
    out += _block(
        [
            "  app:",
            "    type: http",
            f"    url: {app_line}",
            *app_note_lines,
            "    expect_status: 200",
            "    interval: 30s",
            "    severity: SEV-1",
        ],
        found.app is not None,
    )
    out += [
        "",
        "  # Critical: more than 5 % 5xx. Warning: P95 over 2 s, unusual traffic. From the app's",
        "  # own /metrics (adjust the metric names to what your app exports; "
        + ("found it)." if found.metrics_url else "none found yet)."),
    ]
    out += _block(
        [
            "  app_metrics:",
            "    type: prometheus",
            f"    url: {metrics_url}",
            "    interval: 30s",
            "    window: 5m",
            "    for: 2m",
            "    severity: {critical: SEV-1, warning: SEV-3}",
            "    signals:",
            "      errors_5xx: {kind: error_share, metric: http_requests_total, critical: 5%}",
            "      latency_p95:",
            "        {kind: quantile, metric: http_request_duration_seconds, q: 0.95, warning: 2s}",
            "      traffic: {kind: unusual_rate, metric: http_requests_total, min_history: 1h}",
        ],
        found.metrics_url is not None,
    )
    dsn, *dsn_note = _address("DATABASE_URL", found.postgres, PG_FALLBACK)
    out += [
        "",
        "  # Critical: database unreachable. Warning: connection pool near capacity "
        f"({_where(found.postgres, 5432)}).",
    ]
    out += _block(
        [
            "  db:",
            "    type: postgres",
            f"    dsn: {dsn}",
            *dsn_note,
            "    warning: 80%            # connections in use, of max_connections minus reserved",
            "    critical: 95%",
            "    severity: {critical: SEV-1, warning: SEV-3}",
        ],
        found.postgres is not None,
    )
    out += ["", "  # Wraparound, sequences near their column's limit, stuck horizons (opsbook db)."]
    out += _block(
        [
            "  db-health:",
            "    type: pgdiag",
            "    report: health",
            f"    dsn: {dsn}",
            "    severity: {critical: SEV-2, warning: SEV-3}",
        ],
        found.postgres is not None,
    )
    out += _db_metrics(found, dsn)
    url, *url_note = _address("REDIS_URL", found.redis, REDIS_FALLBACK)
    out += ["", f"  # Critical: cache unreachable ({_where(found.redis, 6379)})."]
    out += _block(
        [
            "  cache:",
            "    type: redis",
            f"    url: {url}",
            *url_note,
            "    severity: {critical: SEV-2, warning: SEV-3}",
        ],
        found.redis is not None,
    )
    out += [
        "",
        "  # Critical: disk under 10 % free (90 % used).",
        "  disk:",
        "    type: disk",
        "    path: /",
        "    warning: 80%",
        "    critical: 90%",
        "    severity: {critical: SEV-2, warning: SEV-3}",
        "",
        "  # Warning: memory over 90 %.",
        "  memory:",
        "    type: memory",
        "    warning: 90%",
        "    critical: 95%",
        "    severity: {critical: SEV-2, warning: SEV-3}",
        "",
        "  # Warning: CPU busy over 85 % (critical 95 %), iowait or steal high, for 5 minutes.",
        "  cpu:",
        "    type: cpu",
        "    severity: {critical: SEV-3, warning: SEV-4}",
        "",
        "  # Informational: a disk busy over 80 % or I/O taking over 100 ms; network errors.",
        "  diskio:",
        "    type: diskio",
        "    severity: SEV-4",
        "  network:",
        "    type: network",
        "    severity: SEV-4",
        "",
    ]
    cert_note = (
        f"found {found.cert_file}"
        if found.cert_file
        else "no /etc/letsencrypt/live/*/cert.pem here; "
        "point it at yours, or use host: example.com:443"
    )
    out += [f"  # Critical: certificate expiring in under 30 days ({cert_note})."]
    out += _block(
        [
            "  cert:",
            "    type: tls",
            f"    file: {found.cert_file or '/etc/letsencrypt/live/example.com/cert.pem'}",
            "    warning: 30d",
            "    critical: 7d",
            "    interval: 1h",
            "    severity: {critical: SEV-1, warning: SEV-2}",
        ],
        found.cert_file is not None,
    )
    out += [
        "",
        "  # Critical: more than 5 % 5xx; warning: P95 over 2 s, unusual traffic (from nginx's",
        "  # access log; add $request_time to its log_format for latency).",
    ]
    out += _block(
        [
            "  api-traffic:",
            "    type: log",
            f"    path: {found.access_log or '/var/log/nginx/access.log'}",
            "    window: 5m",
        ],
        found.access_log is not None,
    )
    out += ["", "  # Informational: error patterns never seen before (SEV-4, recorded, not paged)."]
    out += _block(
        [
            "  new-errors:",
            "    type: log_errors",
            f"    path: {found.error_log or '/var/log/nginx/error.log'}",
        ],
        found.error_log is not None,
    )
    out += container_checks(found)
    sections = _trends(found) + jobs_section(found) + actions_section(found)
    return "\n".join(out + sections + procedures_section(found)) + "\n"


def _db_metrics(found: Discovery, dsn: str) -> list[str]:
    """Deadlocks, timeouts and statement times; the connection pool, when PgBouncer is here."""
    log = (
        f"    log: {found.postgres_log}"
        if found.postgres_log
        else "    # log: /var/log/postgresql/postgresql-15-main.log  # counts statement timeouts"
    )
    out = ["", "  # Warning: deadlocks and timeouts; statement times kept for the weekly trend."]
    out += _block(
        [
            "  db-stats:",
            "    type: pgstats",
            f"    dsn: {dsn}",
            log,
            "    interval: 1m",
            "    severity: {critical: SEV-3, warning: SEV-3}",
        ],
        found.postgres is not None,
    )
    where = _where(found.pgbouncer, 6432)
    out += ["", f"  # Warning: connection pool near capacity, clients waiting ({where})."]
    out += _block(
        [
            "  pool:",
            "    type: pgbouncer",
            '    dsn: "${PGBOUNCER_URL:-postgresql://pgbouncer@127.0.0.1:6432/pgbouncer}"',
            "    warning: 80%",
            "    critical: 95%",
            "    severity: {critical: SEV-2, warning: SEV-3}",
        ],
        found.pgbouncer is not None,
    )
    return out


def _trends(found: Discovery) -> list[str]:
    """The informational tier over the stored history; rules on a check written commented
    out are commented too (a rule must name a check that exists)."""
    log, db = found.access_log is not None, found.postgres is not None

    def rule(line: str, live: bool) -> str:
        return line if live else "    # " + line.lstrip()

    return [
        "",
        "# Informational (SEV-4: recorded, in the digest, never paged): performance degradation",
        "# week over week, and resource usage spikes out of the band they usually keep.",
        "# `opsbook trends show` judges them now.",
        "trends:",
        "  degradation:",
        rule('    slower-routes: {check: api-traffic, metric: "route_*_p95", factor: 1.5, '
             "min_change: 0.05}", log),
        rule("    more-5xx: {check: api-traffic, metric: error_share, factor: 2, min_change: 0.5}",
             log),
        rule('    slower-queries: {check: db-stats, metric: "query_*_mean", factor: 2, '
             "min_change: 0.005}", db),
        "    busier-cpu: {check: cpu, factor: 1.5, min_change: 10}",
        "  spikes:",
        "    cpu: {check: cpu}",
        "    memory: {check: memory}",
        '    disk-io: {check: diskio, metric: "*_util"}',
    ]  # fmt: skip
