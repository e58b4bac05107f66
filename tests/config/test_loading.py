"""opsbook.yaml: the issue's file works as written; every error class gives file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.config.checks import HttpCheck, PostgresCheck, RedisCheck, TlsCheck
from opsbook.config.loader import load_config, parse_config
from opsbook.errors import ConfigError

RUNBOOK_FILE = """\
service: fraiseql
checks:
  app:
    type: http
    url: http://127.0.0.1:8000/health
    expect_status: 200
    timeout: 5s
  db:
    type: postgres
    dsn: ${DATABASE_URL}
  cache:
    type: redis
    url: redis://127.0.0.1:6379/0
  disk:
    type: disk
    path: /
    warning: 80%
    critical: 90%
  memory:
    type: memory
    warning: 90%
    critical: 95%
  cert:
    type: tls
    file: /etc/letsencrypt/live/example.com/cert.pem   # or  host: example.com:443
    warning: 30d
    critical: 7d
"""


def errors_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "opsbook.yaml", env=env or {})
    return list(info.value.lines)


def test_the_runbook_file_loads_as_written() -> None:
    loaded = parse_config(
        RUNBOOK_FILE, "opsbook.yaml", env={"DATABASE_URL": "postgresql://app:pw@db/app"}
    )
    checks = loaded.config.checks
    assert loaded.config.service == "fraiseql"
    assert list(checks) == ["app", "db", "cache", "disk", "memory", "cert"]
    app = checks["app"]
    assert isinstance(app, HttpCheck)
    assert app.expected_statuses == (200,)
    assert app.timeout == 5.0
    db = checks["db"]
    assert isinstance(db, PostgresCheck)
    assert db.dsn == "postgresql://app:pw@db/app"
    assert isinstance(checks["cache"], RedisCheck)
    cert = checks["cert"]
    assert isinstance(cert, TlsCheck)
    assert cert.warning == 30 * 86400
    assert cert.critical == 7 * 86400
    assert checks["disk"].warning == 80.0  # type: ignore[union-attr]


def test_environment_variables_interpolate_with_defaults_and_escapes() -> None:
    text = """\
        service: ${SERVICE:-fallback}
        checks:
          app:
            type: http
            url: http://${HOST}:${PORT-8000}/health
            description: "costs $${NOT_A_VAR}"
    """
    loaded = parse_config(
        text.replace("        ", "", 1).replace("\n        ", "\n"), "f.yaml", env={"HOST": "web"}
    )
    app = loaded.config.checks["app"]
    assert loaded.config.service == "fallback"
    assert isinstance(app, HttpCheck)
    assert app.url == "http://web:8000/health"
    assert app.description == "costs ${NOT_A_VAR}"


def test_a_missing_environment_variable_is_named_with_its_line() -> None:
    [line] = errors_of(RUNBOOK_FILE)
    assert line.startswith("opsbook.yaml:10: checks.db.dsn:")
    assert "DATABASE_URL is not set" in line


def test_yaml_syntax_errors_give_the_line() -> None:
    [line] = errors_of("checks:\n  db:\n    type: postgres\n   dsn: x\n")
    assert line.startswith("opsbook.yaml:4: YAML syntax error")


def test_unknown_keys_are_rejected_with_a_suggestion() -> None:
    [line] = errors_of(
        "checks:\n  app:\n    type: http\n    url: http://x/\n    expect_stauts: 200\n"
    )
    assert line.startswith("opsbook.yaml:5: checks.app.expect_stauts: unknown key")
    assert "did you mean 'expect_status'" in line


def test_unknown_top_level_key() -> None:
    [line] = errors_of("service: x\nchekcs: {}\n")
    assert line.startswith("opsbook.yaml:2: chekcs: unknown key")
    assert "'checks'" in line


def test_wrong_types_say_what_was_expected() -> None:
    [line] = errors_of(
        "checks:\n  app:\n    type: http\n    url: http://x/\n    verify_tls: maybe\n"
    )
    assert line.startswith("opsbook.yaml:5: checks.app.verify_tls:")
    assert line.endswith("expected true or false, got 'maybe'")


def test_bad_durations_name_the_accepted_forms() -> None:
    lines = errors_of("checks:\n  app:\n    type: http\n    url: http://x/\n    timeout: 5\n")
    assert lines[0].startswith("opsbook.yaml:5: checks.app.timeout:")
    assert "a bare number has no unit; write 5s" in lines[0]


def test_unknown_check_types_list_the_known_ones() -> None:
    [line] = errors_of("checks:\n  cache:\n    type: redsi\n")
    assert line.startswith("opsbook.yaml:2: checks.cache: unknown check type 'redsi'")
    assert "redis" in line


def test_thresholds_in_the_wrong_order_are_rejected() -> None:
    [line] = errors_of("checks:\n  disk:\n    type: disk\n    warning: 95%\n    critical: 90%\n")
    assert "checks.disk:" in line
    assert "warning (95) must not be above critical (90)" in line


def test_several_problems_are_all_reported_in_file_order() -> None:
    text = "checks:\n  a:\n    type: memory\n    warning: lots\n"
    text += "  b:\n    type: disk\n    critcal: 1%\n"
    lines = errors_of(text)
    assert [line.split(":")[1] for line in lines] == ["4", "7"]


def test_duplicate_keys_are_an_error_not_a_silent_override() -> None:
    [line] = errors_of("checks:\n  a:\n    type: memory\n  a:\n    type: disk\n")
    assert line.startswith("opsbook.yaml:4: checks.a: key given twice (first at line 2)")


def test_config_errors_never_echo_passwords() -> None:
    lines = errors_of(
        "checks:\n  db:\n    type: postgres\n    dsn: postgresql://app:hunter2hunter@db/app\n"
        "    role: primray\n"
    )
    assert all("hunter2hunter" not in line for line in lines)


def test_yaml_merge_keys_work_for_shared_settings() -> None:
    text = (
        "x-common: &common\n  timeout: 2s\n"
        "checks:\n  app:\n    <<: *common\n    type: http\n    url: http://x/\n"
    )
    with pytest.raises(ConfigError, match="x-common: unknown key"):
        parse_config(text, "f.yaml", env={})
    text = "checks:\n  a: &a {type: memory, timeout: 2s}\n  b:\n    <<: *a\n    timeout: 3s\n"
    checks = parse_config(text, "f.yaml", env={}).config.checks
    assert checks["b"].timeout == 3.0


def test_lookup_order_is_flag_then_environment_then_working_directory(tmp_path: Path) -> None:
    (tmp_path / "opsbook.yaml").write_text("service: from-cwd\n")
    env_file = tmp_path / "env.yaml"
    env_file.write_text("service: from-env\n")
    flag_file = tmp_path / "flag.yaml"
    flag_file.write_text("service: from-flag\n")
    env = {"OPSBOOK_CONFIG": str(env_file)}
    assert load_config(str(flag_file), env=env, cwd=tmp_path).config.service == "from-flag"
    assert load_config(None, env=env, cwd=tmp_path).config.service == "from-env"
    assert load_config(None, env={}, cwd=tmp_path).config.service == "from-cwd"
    defaults = load_config(None, env={}, cwd=tmp_path / "nowhere")
    assert defaults.source == "embedded defaults"


def test_a_missing_config_file_names_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file \(given by \$OPSBOOK_CONFIG\)"):
        load_config(None, env={"OPSBOOK_CONFIG": str(tmp_path / "gone.yaml")}, cwd=tmp_path)


def test_embedded_defaults_add_the_stack_named_in_the_environment(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://u:pw123@h/d", "REDIS_URL": "redis://h:6379/0"}
    loaded = load_config(None, env=env, cwd=tmp_path)
    assert set(loaded.config.checks) == {"db", "cache", "disk", "memory", "load"}
    assert any("$DATABASE_URL = postgresql://u:***@h/d" in note for note in loaded.notes)
    assert all("pw123" not in note for note in loaded.notes)
