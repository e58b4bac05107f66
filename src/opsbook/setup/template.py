"""The commented opsbook.yaml that ``opsbook init`` writes."""

from __future__ import annotations

from datetime import UTC, datetime

from opsbook.setup.discover import APP_PORTS, Discovery


def _block(lines: list[str], enabled: bool) -> list[str]:
    return lines if enabled else [("# " + ln[2:]) if ln.startswith("  ") else ln for ln in lines]


def render(found: Discovery, *, service: str, host: str) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    out = [
        f"# opsbook.yaml, written by `opsbook init` on {today} on {host}.",
        "# Every key is described in docs/configuration.md; `opsbook config validate` checks",
        "# this file and `opsbook check` runs it. Values may use ${VAR} or ${VAR:-default}",
        "# from the environment: keep passwords there, not here.",
        f"service: {service}",
        "",
        "checks:",
    ]
    if found.app_url:
        note = f"found: {found.app_url} answered HTTP {found.app_status}"
    else:
        ports = ", ".join(str(p) for p in APP_PORTS)
        note = f"nothing answered /health on 127.0.0.1 ports {ports}; set the URL and uncomment"
    out += [f"  # The application's health endpoint ({note})."]
    out += _block(
        [
            "  app:",
            "    type: http",
            f"    url: ${{OPSBOOK_HEALTH_URL:-{found.app_url or 'http://127.0.0.1:8000/health'}}}",
            "    expect_status: 200",
            "    timeout: 5s",
            "    critical: 2s            # the runbook's alert: responses slower than 2 s",
        ],
        found.app_url is not None,
    )
    out += [
        "",
        f"  # PostgreSQL: connects and queries, counts connections ({_seen(found.postgres)}).",
    ]
    out += _block(
        [
            "  db:",
            "    type: postgres",
            "    dsn: ${DATABASE_URL:-postgresql://postgres@"
            f"{found.postgres or '127.0.0.1:5432'}/postgres}}",
            "    warning: 80%            # connections in use, of max_connections minus reserved",
            "    critical: 95%",
        ],
        found.postgres is not None,
    )
    out += ["", f"  # Redis: PING, memory and clients against their limits ({_seen(found.redis)})."]
    out += _block(
        [
            "  cache:",
            "    type: redis",
            f"    url: ${{REDIS_URL:-redis://{found.redis or '127.0.0.1:6379'}/0}}",
        ],
        found.redis is not None,
    )
    out += [
        "",
        "  # Disk space of the root filesystem; the runbook pages below 10 % free.",
        "  disk:",
        "    type: disk",
        "    path: /",
        "    warning: 80%",
        "    critical: 90%",
        "",
        "  # Memory used, counted as free(1) does (total minus available).",
        "  memory:",
        "    type: memory",
        "    warning: 90%",
        "    critical: 95%",
        "",
    ]
    cert_note = (
        f"found {found.cert_file}"
        if found.cert_file
        else "no /etc/letsencrypt/live/*/cert.pem here; "
        "point it at yours, or use host: example.com:443"
    )
    out += [f"  # TLS certificate expiry ({cert_note})."]
    out += _block(
        [
            "  cert:",
            "    type: tls",
            f"    file: {found.cert_file or '/etc/letsencrypt/live/example.com/cert.pem'}",
            "    warning: 30d",
            "    critical: 7d",
        ],
        found.cert_file is not None,
    )
    return "\n".join(out) + "\n"


def _seen(address: str | None) -> str:
    return f"found listening on {address}" if address else "nothing listening on its default port"
