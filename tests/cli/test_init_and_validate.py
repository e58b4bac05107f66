"""``opsbook init`` and ``opsbook config validate``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from opsbook import aio
from opsbook.config.checks import HttpCheck, PgdiagCheck, PostgresCheck, RedisCheck, TlsCheck
from opsbook.config.loader import parse_config
from opsbook.results import CheckKind, above
from opsbook.setup.discover import discover
from opsbook.setup.template import render
from tests.conftest import CliResult, Write
from tests.support import certs
from tests.support.servers import HttpApp, PostgresServer, RedisServer, closed_port

Cli = Callable[..., CliResult]


def test_init_enables_what_it_finds_listening(
    tmp_path: Path, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    live = tmp_path / "live" / "example.com"
    live.mkdir(parents=True)
    certs.write(live / "cert.pem", certs.issue("example.com", days=60))
    (tmp_path / "access.log").write_text("")
    (tmp_path / "error.log").write_text("")
    (tmp_path / "pg-15-main.log").write_text("")
    found = aio.run(
        discover(postgres_port=pg.port, redis_port=redis.port,
                 app_ports=(closed_port(), app.port), cert_glob=str(tmp_path / "live/*/cert.pem"),
                 access_log=str(tmp_path / "access.log"), error_log=str(tmp_path / "error.log"),
                 pgbouncer_port=pg.port, postgres_logs=str(tmp_path / "pg-*-main.log"))
    )  # fmt: skip
    assert found.app is not None and found.app.address == app.url()
    text = render(found, service="fraiseql", host="test")
    checks = parse_config(text, "opsbook.yaml", env={}).config.checks
    assert list(checks) == [
        "app",
        "app_metrics",
        "db",
        "db-health",
        "db-stats",
        "pool",
        "cache",
        "disk",
        "memory",
        "cpu",
        "diskio",
        "network",
        "cert",
        "api-traffic",
        "new-errors",
        "job-morning-report",
        "job-log-retention",
        "job-security-updates",
        "job-db-maintenance",
        "job-weekly-report",
        "job-monthly-report",
        "job-capacity-review",
        "job-security-audit",
    ]
    assert checks["api-traffic"].path == str(tmp_path / "access.log")  # type: ignore[attr-defined]
    assert checks["new-errors"].severity.critical == 4  # informational
    assert checks["app"].severity.critical == 1  # the runbook: application down is critical
    assert checks["app_metrics"].signals["errors_5xx"].critical.range == above(5)  # type: ignore[attr-defined]
    assert checks["disk"].severity.critical == 2
    db = checks["db"]
    assert isinstance(db, PostgresCheck)
    assert db.dsn == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    assert isinstance(checks["db-health"], PgdiagCheck)
    assert checks["db-health"].dsn == db.dsn and checks["db-health"].report == "health"
    assert checks["db-stats"].dsn == db.dsn  # type: ignore[attr-defined]
    assert str(checks["db-stats"].log) == str(tmp_path / "pg-15-main.log")  # type: ignore[attr-defined]
    trends = parse_config(text, "opsbook.yaml", env={}).config.trends
    assert set(trends.degradation) == {"slower-routes", "more-5xx", "slower-queries", "busier-cpu"}
    assert trends.degradation["slower-routes"].metric == "route_*_p95"
    assert set(trends.spikes) == {"cpu", "memory", "disk-io"}
    assert checks["pool"].kind == "pgbouncer"
    assert isinstance(checks["cache"], RedisCheck)
    assert isinstance(checks["app"], HttpCheck)
    assert isinstance(checks["cert"], TlsCheck)
    # ${VAR:-default}: the environment still wins when set
    env_checks = parse_config(text, "f", env={"DATABASE_URL": "postgresql://x@h/d"}).config.checks
    assert env_checks["db"].dsn == "postgresql://x@h/d"  # type: ignore[union-attr]


def test_init_comments_out_what_is_not_there(tmp_path: Path) -> None:
    found = aio.run(
        discover(postgres_port=closed_port(), redis_port=closed_port(),
                 app_ports=(closed_port(),), cert_glob=str(tmp_path / "none/*.pem"),
                 access_log=str(tmp_path / "none.log"), error_log=str(tmp_path / "none.log"),
                 pgbouncer_port=closed_port(), postgres_logs=str(tmp_path / "none-*.log"))
    )  # fmt: skip
    text = render(found, service="svc", host="test")
    checks = parse_config(text, "opsbook.yaml", env={}).config.checks
    calendar = [
        "job-morning-report",
        "job-log-retention",
        "job-security-updates",
        "job-weekly-report",
        "job-monthly-report",
        "job-capacity-review",
        "job-security-audit",
    ]  # no database here: no db-maintenance
    assert list(checks) == ["disk", "memory", "cpu", "diskio", "network", *calendar]
    assert "  # db-maintenance:" in text and "  # restore-drill: {action" in text
    trends = parse_config(text, "opsbook.yaml", env={}).config.trends
    assert set(trends.degradation) == {"busier-cpu"}  # the rest name checks written commented
    assert "  # db:" in text and "  # api-traffic:" in text and "  # pool:" in text
    assert "nothing listening on 127.0.0.1:5432" in text


def test_init_writes_a_valid_file_and_never_overwrites(cli: Cli, tmp_path: Path) -> None:
    first = cli("init", "--service", "fraiseql")
    assert first.code == 0, first.err
    written = tmp_path / "opsbook.yaml"
    content = written.read_text()
    assert "service: fraiseql" in content
    assert cli("config", "validate").code == 0
    again = cli("init")
    assert again.code == 3  # a wrong argument, as for backup keygen
    assert "already exists; not overwriting it" in again.err
    assert written.read_text() == content


def test_init_to_stdout(cli: Cli) -> None:
    result = cli("init", "-o", "-")
    assert result.code == 0
    assert result.out.startswith("# opsbook.yaml, written by `opsbook init`")


def test_validate_prints_what_it_understood_with_secrets_masked(
    cli: Cli, write_config: Write
) -> None:
    path = write_config(
        """
        service: fraiseql
        checks:
          db:
            type: postgres
            dsn: ${DATABASE_URL}
          app:
            type: http
            url: http://127.0.0.1:8000/health
            headers: {Authorization: Bearer tok-XYZ-123}
            timeout: 5s
        """
    )
    env = {"DATABASE_URL": "postgresql://app:pw-ABC-987@db:5432/app"}
    result = cli("config", "validate", "-c", str(path), env=env)
    assert result.code == 0
    assert f"{path}: valid, 2 checks" in result.out
    assert "dsn: postgresql://app:***@db:5432/app" in result.out
    assert "warning: 80%" in result.out  # a default, filled in
    assert "timeout: 5s" in result.out
    assert "pw-ABC-987" not in result.out
    assert "tok-XYZ-123" not in result.out
    doc = json.loads(cli("config", "validate", "-c", str(path), "-f", "json", env=env).out)
    assert doc["valid"] is True
    assert doc["checks"]["app"]["headers"] == {"Authorization": "***"}


def test_validate_reports_errors_with_exit_3(cli: Cli, write_config: Write) -> None:
    path = write_config("checks:\n  x:\n    type: nope\n")
    result = cli("config", "validate", "-c", str(path))
    assert result.code == 3
    assert result.err.startswith(f"opsbook: {path}:2: checks.x: unknown check type 'nope'")


EVERY_KIND_AND_SECTION = """
service: fraiseql
timezone: Europe/Paris
server: {listen: "127.0.0.1:9184", watch_config: true}
intake: {token: "${INTAKE_TOKEN}"}
retention: {raw: 30d}
severities:
  SEV-2: {response: 30m}
maintenance:
  - {name: sunday, checks: [app], every: sunday, at: "02:00", duration: 1h}
heartbeat:
  - {url: "https://hc.example.com/ping/abc"}
people:
  alice: {email: alice@example.com}
schedules:
  primary: {rotation: weekly, handoff: "monday 09:00", start: 2026-01-05, members: [alice]}
escalation:
  - {who: [primary]}
channels:
  mail: {type: email, host: smtp.example.com, from: opsbook@example.com, password: "${SMTP_PW}"}
backups:
  repositories:
    local: {type: filesystem, path: /var/backups/opsbook}
  encryption: none
  sources:
    cache: {type: redis, url: "redis://127.0.0.1:6379", schedule: "30 3 * * *"}
logs:
  access: [/var/log/nginx/access.log]
jobs:
  weekly: {action: db-maintenance, schedule: "0 3 * * 0", target: db}
actions:
  restart-app: {command: [docker, compose, restart, fraiseql], suggest_for: [app]}
procedures:
  recover: {steps: [{action: restart-app}, {wait: {check: app}}]}
checks:
  app: {type: http, url: "http://127.0.0.1:8000/health"}
  db: {type: postgres, dsn: "postgresql://app:pw-SECRET@127.0.0.1/app"}
  db-health: {type: pgdiag, dsn: "postgresql://app:pw-SECRET@127.0.0.1/app"}
  cache: {type: redis, url: "redis://127.0.0.1:6379"}
  disk: {type: disk}
  memory: {type: memory}
  load: {type: load}
  cert: {type: tls, host: example.com}
  port: {type: tcp, host: "127.0.0.1:16379", warning: 200ms}
  plugin: {type: command, command: [/usr/lib/nagios/plugins/check_dummy, "0"]}
  metrics:
    type: prometheus
    url: http://127.0.0.1:8000/metrics
    signals:
      errors: {kind: error_share, metric: http_requests_total, critical: 5%}
      p95: {kind: quantile, metric: http_request_duration_seconds, labels: {route: /graphql}}
  traffic: {type: log, path: /var/log/nginx/access.log}
  errors: {type: log_errors, path: /var/log/nginx/error.log}
  cpu: {type: cpu}
  io: {type: diskio, devices: [vda]}
  net: {type: network}
  stats: {type: pgstats, dsn: "postgresql://app:pw-SECRET@127.0.0.1/app"}
  pool: {type: pgbouncer, dsn: "postgresql://stats:pw-SECRET@127.0.0.1:6432/pgbouncer"}
  web: {type: container, name: fraiseql}
  archive: {type: wal_archive, dsn: "postgresql://app:pw-SECRET@127.0.0.1/app"}
  signups: {type: sql, dsn: "postgresql://app:pw-SECRET@127.0.0.1/app", query: "SELECT 1",
            warning: {below: 1}}
"""


def test_validate_shows_every_check_kind_and_every_section(cli: Cli, write_config: Write) -> None:
    path = write_config(EVERY_KIND_AND_SECTION)
    env = {"INTAKE_TOKEN": "tok-INTAKE-1-long-enough", "SMTP_PW": "smtp-PW-2"}
    table = cli("config", "validate", "-c", str(path), env=env)
    assert table.code == 0, table.err
    assert "valid, 23 checks" in table.out  # 20 written + backup-cache and job-weekly, added
    assert "host: 127.0.0.1:16379" in table.out  # a tcp target, as written
    assert "metric: http_request_duration_seconds" in table.out
    assert "route: /graphql" in table.out
    for secret in ("pw-SECRET", "tok-INTAKE-1", "smtp-PW-2"):
        assert secret not in table.out
    doc = json.loads(cli("config", "validate", "-c", str(path), "-f", "json", env=env).out)
    checks = doc["checks"]
    kinds = {c["type"] for c in checks.values()}
    assert kinds == {k.value for k in CheckKind}
    assert checks["port"]["host"] == "127.0.0.1:16379"
    assert checks["metrics"]["signals"]["errors"]["kind"] == "error_share"
    assert checks["metrics"]["signals"]["errors"]["critical"] == {"above": 5}
    assert checks["metrics"]["signals"]["p95"]["labels"] == {"route": "/graphql"}
    # watch: means something for redis, postgres and tcp only
    assert "watch" in checks["cache"] and "watch" in checks["port"]
    assert "watch" not in checks["disk"] and "watch" not in checks["memory"]
    assert doc["jobs"]["weekly"]["action"] == "db-maintenance"
    for secret in ("pw-SECRET", "tok-INTAKE-1", "smtp-PW-2"):
        assert secret not in json.dumps(doc)


def test_validate_names_a_misspelt_key_at_its_own_line(cli: Cli, write_config: Write) -> None:
    path = write_config(
        """
        checks:
          cache:
            tpye: redis
            url: redis://127.0.0.1:6379
          metrics:
            type: prometheus
            url: http://127.0.0.1:8000/metrics
            signals:
              ok: {kind: rate, metric: a_total}
              requests: {kind: rate, metrc: http_requests_total}
        """
    )
    err = cli("config", "validate", "-c", str(path)).err.splitlines()
    assert err[0] == (
        f"opsbook: {path}:4: checks.cache.tpye: unknown key 'tpye'; did you mean 'type'? "
        "(http, postgres, redis, disk, memory, load, tls, tcp, command, prometheus, pgdiag, "
        "backup, log, log_errors, cpu, diskio, network, sql, pgstats, pgbouncer, job, container, "
        "wal_archive)"
    )
    # inside a signal: the signal's own keys, at the signal's line
    assert err[1].startswith(
        f"opsbook: {path}:11: checks.metrics.signals.requests.metrc: unknown key 'metrc'; "
        "did you mean 'metric'? expected one of: critical,"
    )
    assert "auto_resolve" not in err[1]


def uncomment_every_block(text: str) -> str:
    """What a user does to a block init wrote commented: delete the '# ' of its lines."""
    out, inside = [], False
    for line in text.splitlines():
        if re.fullmatch(r"  # [a-z_-]+:", line):
            inside = True
        elif not line.strip():
            inside = False
        out.append(line[:2] + line[4:] if inside and line.startswith("  # ") else line)
    return "\n".join(out) + "\n"


def test_init_takes_the_stack_from_options_and_the_environment(
    cli: Cli, tmp_path: Path, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    pg_dsn = f"postgresql://postgres:pw-DB-SECRET@127.0.0.1:{pg.port}/postgres"
    env = {"DATABASE_URL": pg_dsn, "REDIS_URL": redis.url(), "OPSBOOK_HEALTH_URL": app.url()}
    from_env = cli("init", "-o", "env.yaml", env=env)
    assert from_env.code == 0, from_env.err
    # (then the cert and nginx logs, when this machine has them)
    assert from_env.out.splitlines()[0].startswith(
        "wrote env.yaml: live checks: app, app_metrics, db, db-health, db-stats, cache, disk, "
        "memory, cpu, diskio, network"
    )
    written = (tmp_path / "env.yaml").read_text()
    assert "pw-DB-SECRET" not in written + from_env.out  # never a password in the file
    assert (
        f'dsn: "${{DATABASE_URL:-postgresql://postgres@127.0.0.1:{pg.port}/postgres}}"' in written
    )
    assert "from $DATABASE_URL" in written and "from $OPSBOOK_HEALTH_URL" in written
    # options win over the environment
    other = closed_port()
    options = ["--postgres", f"postgresql://app@127.0.0.1:{other}/app",
               "--redis", f"redis://127.0.0.1:{other}/2", "--http", app.url("/text")]  # fmt: skip
    by_option = cli("init", "-o", "opt.yaml", *options, env=env)
    assert by_option.code == 0, by_option.err
    text = (tmp_path / "opt.yaml").read_text()
    assert f"postgresql://app@127.0.0.1:{other}/app" in text and "from --postgres" in text
    assert f"redis://127.0.0.1:{other}/2" in text and app.url("/text") in text
    bad = cli("init", "-o", "x.yaml", "--redis", "http://127.0.0.1:6379")
    assert bad.code == 3
    assert bad.err == (
        "opsbook: --redis: expected a URL starting with redis:// or rediss:// or unix://, "
        "got 'http://127.0.0.1:6379'\n"
    )
    assert not (tmp_path / "x.yaml").exists()


def test_every_block_init_comments_out_is_valid_once_uncommented(cli: Cli, tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{closed_port()}"
    made = cli("init", "-o", "-", "--postgres", f"postgresql://postgres@{nowhere}/postgres",
               "--redis", f"redis://{nowhere}/0", "--http", f"http://{nowhere}/health")  # fmt: skip
    assert made.code == 0, made.err
    text = uncomment_every_block(made.out)
    assert re.findall(r"^  # [a-z_-]+:$", made.out, flags=re.M)  # there were blocks to open
    assert not re.findall(r"^  # [a-z_-]+:$", text, flags=re.M)
    path = tmp_path / "all.yaml"
    path.write_text(text)
    store = {"OPSBOOK_STORE": f"sqlite:///{tmp_path / 'ops.db'}"}  # the job checks read it
    checked = cli("check", "-c", str(path), "-f", "json", env=store)
    assert checked.err == ""  # no config error: it ran
    names = [c["name"] for c in json.loads(checked.out)["checks"]]
    assert names == ["app", "app_metrics", "db", "db-health", "db-stats", "pool", "cache", "disk",
                     "memory", "cpu", "diskio", "network", "cert", "api-traffic",
                     "new-errors", "job-morning-report", "job-log-retention",
                     "job-security-updates", "job-db-maintenance", "job-weekly-report",
                     "job-monthly-report", "job-capacity-review",
                     "job-security-audit"]  # fmt: skip
