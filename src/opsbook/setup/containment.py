"""The runbook's containment actions and recovery procedures, as `opsbook init` writes them
for what it found: a compose project's services (restart, scale up, roll back), the stack's
systemd units (restart); the rest written commented with what it waits for."""

from __future__ import annotations

from opsbook.setup.discover import Discovery


def _block(lines: list[str], enabled: bool) -> list[str]:
    return lines if enabled else [ln[:2] + "# " + ln[2:] for ln in lines]


def container_checks(found: Discovery) -> list[str]:
    """A container check per compose project found (the runbook's docker-compose ps)."""
    out: list[str] = []
    for project in found.compose:
        out += ["", f"  # Critical: a service of compose project {project} down, unhealthy,",
                "  # restarting in a loop or below its replicas (the runbook's docker-compose ps).",
                f"  {project}-containers:", "    type: container", f"    project: {project}",
                "    severity: {critical: SEV-1, warning: SEV-3}"]  # fmt: skip
    return out


def actions_section(found: Discovery) -> list[str]:
    out = [
        "",
        "# The runbook's containment steps, run from an incident (`opsbook incident act ID",
        "# ACTION`): they ask first, and who ran them goes on the timeline (docs/actions.md).",
        "actions:",
    ]
    for project, services in found.compose.items():
        check = f"{project}-containers"
        for service in services:
            compose = f"[docker, compose, -p, {project}"
            out += [
                f"  restart-{service}:",
                f"    description: restart {service} (docker-compose restart {service})",
                f"    command: {compose}, restart, {service}]",
                f"    suggest_for: [{check}]",
                f"  scale-{service}:",
                f"    description: a second {service} (docker-compose up -d --scale {service}=2)",
                f'    command: {compose}, up, -d, --no-recreate, --scale, "{service}=2", '
                f"{service}]",
                f"  # Roll {service} back: set its previous image tag in the compose file, then:",
                f"  # rollback-{service}: {{command: {compose}, up, -d, --no-deps, {service}]}}",
            ]
    for unit in found.units:
        out += [f"  restart-{unit}:", f"    description: systemctl restart {unit}",
                f"    command: [systemctl, restart, {unit}]"]  # fmt: skip
    if not found.compose:
        out += ["  # no compose project found here; the runbook's, for a compose stack:"]
        out += _block(["  restart-app:", "    description: restart the application",
                       "    command: [docker, compose, restart, fraiseql]",
                       "    suggest_for: [app]"], False)  # fmt: skip
    return out


def procedures_section(found: Discovery) -> list[str]:
    """The runbook's complete-system recovery, its `sleep 60`s made waits for checks; the
    database-only recovery waits for backups: (its restore step needs them)."""
    project = next(iter(found.compose), None)
    services = found.compose.get(project, ()) if project else ()
    db = next((s for s in services if s in ("db", "postgres", "postgresql")), None)
    app = next((s for s in services if s not in (db, "redis", "nginx")), None)
    live = bool(db and app and found.postgres and found.app)
    out = [
        "",
        "# Recovery, step by step (`opsbook run NAME --incident ID`; --resume after a fix).",
        "procedures:",
    ]
    if not live:
        out += ["  # (written commented: it needs a compose project with its database and app,",
                "  # and the db and app checks)"]  # fmt: skip
    first, then = (f"restart-{db}", f"restart-{app}") if live else ("restart-app", "restart-app")
    out += _block([
        "  complete-system-recovery:",
        "    description: the runbook's complete system recovery",
        "    steps:",
        f"      - action: {first}",
        "      - wait: {check: db, timeout: 5m}",
        f"      - action: {then}",
        "      - wait: {check: app, timeout: 5m}",
        "      - confirm: the application answers real requests (check a page by hand)",
    ], live)  # fmt: skip
    out += [
        "",
        "  # Database-only recovery: add backups: (docs/backups.md), then uncomment:",
        "  #  database-only-recovery:",
        "  #    steps:",
        f"  #      - action: stop-{app or 'fraiseql'}   # an action running docker compose stop",
        '  #      - restore: {backup: latest, source: db, to: "${DATABASE_URL}", clean: true}',
        '  #      - verify: {sql: "SELECT count(*), max(created_at) FROM orders", expect: "> 0"}',
        f"  #      - action: restart-{app or 'fraiseql'}",
    ]
    return out
