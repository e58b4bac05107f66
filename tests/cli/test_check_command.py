"""``opsbook check`` end to end: exit codes, the three formats, secrets, defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import APP_PASSWORD, CliResult, Write, run_opsbook
from tests.support.servers import HttpApp, PostgresServer, RedisServer, closed_port

Cli = Callable[..., CliResult]


def stack_config(write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp,
                 extra: str = "") -> Path:  # fmt: skip
    return write_config(
        f"""
        service: fraiseql
        checks:
          app:
            type: http
            url: {app.url()}
            expect_status: 200
            timeout: 5s
          db:
            type: postgres
            dsn: ${{DATABASE_URL}}
          cache:
            type: redis
            url: {redis.url()}
          disk:
            type: disk
            path: /
            warning: 99%
            critical: 100%
        {extra}
        """
    )


def test_a_healthy_stack_exits_0_with_a_table(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    path = stack_config(write_config, pg, redis, app)
    result = cli("check", "--config", str(path), env={"DATABASE_URL": pg.dsn("app", APP_PASSWORD)})
    assert result.code == 0, result.out + result.err
    for name in ("app", "db", "cache", "disk"):
        assert re.search(rf"^{name}\s+OK\s", result.out, re.MULTILINE), result.out
    assert "fraiseql: OK — 4 ok" in result.out


def test_exit_code_is_the_worst_status(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    warn = f"""
          slowish:
            type: http
            url: {app.url("/slow?s=0.3")}
            warning: 100ms
    """
    path = stack_config(write_config, pg, redis, app, warn)
    env = {"DATABASE_URL": pg.dsn()}
    assert cli("check", "-c", str(path), env=env).code == 1
    down = (
        warn
        + f"""
          gone:
            type: tcp
            host: 127.0.0.1:{closed_port()}
    """
    )
    path = stack_config(write_config, pg, redis, app, down)
    result = cli("check", "-c", str(path), env=env)
    assert result.code == 2
    assert "1 critical (gone), 1 warning (slowish), 4 ok" in result.out


def test_unknown_outranks_warning_but_not_critical(cli: Cli, write_config: Write) -> None:
    path = write_config(
        """
        checks:
          tired:
            type: command
            command: [sh, -c, "echo tired; exit 1"]
          lost:
            type: command
            command: [/no/such/plugin]
        """
    )
    assert cli("check", "-c", str(path)).code == 3


def test_json_output_has_the_documented_shape(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    path = stack_config(write_config, pg, redis, app)
    result = cli("check", "-c", str(path), "--format", "json", env={"DATABASE_URL": pg.dsn()})
    doc = json.loads(result.out)
    assert doc["status"] == "OK"
    assert doc["service"] == "fraiseql"
    first = doc["checks"][0]
    assert set(first) >= {"name", "type", "status", "value", "unit", "message", "duration_ms"}
    assert [c["name"] for c in doc["checks"]] == ["app", "db", "cache", "disk"]
    assert {c["type"] for c in doc["checks"]} == {"http", "postgres", "redis", "disk"}
    assert all(isinstance(c["duration_ms"], float) for c in doc["checks"])


def test_nagios_output_follows_the_plugin_guidelines(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    path = stack_config(write_config, pg, redis, app)
    result = cli("check", "-c", str(path), "-f", "nagios", env={"DATABASE_URL": pg.dsn()})
    first, *rest = result.out.splitlines()
    assert re.match(r"^FRAISEQL OK: 4 ok \| ", first)
    perf = first.split(" | ", 1)[1]
    assert re.search(r"(^| )disk_used=[\d.]+%;99;100;0;100( |$)", perf)
    assert re.search(r"(^| )app_time=[\d.]+s;;;0( |$)", perf)
    assert rest[0].startswith("[OK] app: HTTP 200")
    assert all("|" not in line for line in rest)


def test_only_the_named_checks_run(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    path = stack_config(write_config, pg, redis, app)
    result = cli("check", "cache", "app", "-c", str(path), "-f", "json",
                 env={"DATABASE_URL": pg.dsn()})  # fmt: skip
    assert [c["name"] for c in json.loads(result.out)["checks"]] == ["cache", "app"]


def test_an_unknown_check_name_is_a_usage_error(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    path = stack_config(write_config, pg, redis, app)
    result = cli("check", "cahce", "-c", str(path), env={"DATABASE_URL": pg.dsn()})
    assert result.code == 3
    assert "no check named 'cahce'" in result.err
    assert "did you mean 'cache'?" in result.err


def test_nagios_format_says_unknown_on_stdout_when_it_cannot_check(
    cli: Cli, write_config: Write
) -> None:
    # Nagios reads stdout only: an error on stderr alone shows as "(No output)".
    path = write_config("checks:\n  x: {type: nope}\n  y: {type: disk, warning: 300}\n")
    bad = cli("check", "-c", str(path), "-f", "nagios")
    assert bad.code == 3
    assert bad.out.startswith(f"UNKNOWN: {path}:2: checks.x: unknown check type 'nope'")
    assert bad.out.rstrip().endswith("(and 1 more)") and len(bad.out.splitlines()) == 1
    path = write_config("checks:\n  disk: {type: disk}\n")
    unknown = cli("check", "dsik", "-c", str(path), "-f", "nagios")
    assert unknown.code == 3
    assert unknown.out == (
        f"UNKNOWN: no check named 'dsik' in {path}; did you mean 'disk'? checks are: disk\n"
    )


def test_no_secret_reaches_any_output(
    cli: Cli, write_config: Write, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    secret = "Leak-Me-Not-7781"
    path = write_config(
        f"""
        checks:
          good:
            type: postgres
            dsn: ${{DATABASE_URL}}
          bad:
            type: postgres
            dsn: postgresql://app:{secret}@127.0.0.1:{pg.port}/app
          kw:
            type: postgres
            dsn: host=127.0.0.1 port={pg.port} user=app password={secret} dbname=app
          cache:
            type: redis
            url: redis://:{secret}@127.0.0.1:{redis.port}/0
          app:
            type: http
            url: {app.url("/echo-headers")}
            headers: {{X-Api-Key: {secret}}}
            expect_body: {secret}
        """
    )
    env = {"DATABASE_URL": pg.dsn("app", APP_PASSWORD, "app")}
    for fmt in ("table", "json", "nagios"):
        result = cli("check", "-c", str(path), "-f", fmt, env=env)
        output = result.out + result.err
        assert result.code == 2, output
        assert secret not in output, f"{fmt} output leaks the secret"
        assert APP_PASSWORD not in output, f"{fmt} output leaks $DATABASE_URL's password"
    validated = cli("config", "validate", "-c", str(path), env=env)
    assert validated.code == 0
    assert secret not in validated.out + validated.err
    assert APP_PASSWORD not in validated.out


def test_embedded_defaults_run_with_no_config_and_say_so(cli: Cli) -> None:
    result = cli("check")
    assert result.code in (0, 1, 2)  # this machine's real disk/memory/load decide
    assert "no opsbook.yaml found; using embedded defaults" in result.out
    for name in ("disk", "memory", "load"):
        assert re.search(rf"^{name}\s+(OK|WARNING|CRITICAL)\s", result.out, re.MULTILINE)


def test_embedded_defaults_pick_up_the_stack_from_the_environment(
    cli: Cli, pg: PostgresServer, redis: RedisServer, app: HttpApp
) -> None:
    env = {"DATABASE_URL": pg.dsn(), "REDIS_URL": redis.url(), "OPSBOOK_HEALTH_URL": app.url()}
    result = cli("check", "-f", "json", env=env)
    doc = json.loads(result.out)
    statuses = {c["name"]: c["status"] for c in doc["checks"]}
    assert statuses["app"] == statuses["db"] == statuses["cache"] == "OK"
    assert doc["config"] == "embedded defaults"
    assert "$DATABASE_URL" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checks:\n  db:\n    type: postgres\n   dsn: x\n", ":4: YAML syntax error"),
        ("checks:\n  m:\n    type: memory\n    warn: 5%\n", ":4: checks.m.warn: unknown key"),
        ("checks:\n  m:\n    type: memory\n    warning: [1]\n", ":4: checks.m.warning: expected"),
        ("checks:\n  h:\n    type: http\n    url: http://x/\n    timeout: 5\n",
         ":5: checks.h.timeout: expected a duration"),
        ("checks:\n  c:\n    type: redsi\n", ":2: checks.c: unknown check type 'redsi'"),
        ("checks:\n  d:\n    type: postgres\n    dsn: ${NO_SUCH_VAR_X}\n",
         ":4: checks.d.dsn: environment variable NO_SUCH_VAR_X is not set"),
    ],
    ids=["yaml-syntax", "unknown-key", "wrong-type", "bad-duration", "unknown-type", "missing-env"],
)  # fmt: skip
def test_every_config_error_class_exits_3_with_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(text)
    proc = run_opsbook("check", "--config", str(path))
    assert proc.returncode == 3
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"opsbook: {path}{expected}"), line


def test_bad_config_exits_3_with_file_and_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text("checks:\n  app:\n    type: http\n    url: http://x/\n    timeout: soon\n")
    proc = run_opsbook("check", "--config", str(path))
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        f"opsbook: {path}:5: checks.app.timeout: expected a duration such as 500ms, 5s, 2m, "
        "1h or 30d, got 'soon'"
    )
    assert "Traceback" not in proc.stderr


def test_bad_arguments_exit_3_with_one_line() -> None:
    proc = run_opsbook("check", "--format", "xml")
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'xml' is not one of 'table', 'json', 'nagios'" in lines[0]


def test_config_option_works_before_the_command_too(cli: Cli, write_config: Write) -> None:
    path = write_config("service: early\nchecks:\n  m:\n    type: memory\n    critical: 100%\n")
    result = cli("--config", str(path), "check", "-f", "json")
    assert json.loads(result.out)["service"] == "early"


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    proc = run_opsbook("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("opsbook, version ")
