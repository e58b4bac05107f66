"""opsbook logs errors: templates, tracebacks, and new patterns against a saved baseline."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbook.logs.errorlog import Level, entries, parse_line
from tests.conftest import CliResult, Write

Cli = Callable[..., CliResult]

REFUSED = (
    "2026/11/27 10:00:{s:02d} [error] 1234#1234: *{c} connect() failed (111: Connection refused) "
    'while connecting to upstream, client: 10.0.0.{ip}, server: api, request: "GET /x/{c} '
    'HTTP/1.1", upstream: "http://127.0.0.1:8000/x", host: "api"'
)
TIMEOUT = (
    "2026/11/27 10:01:{s:02d} [error] 1234#1234: *{c} upstream timed out (110: Connection timed "
    "out) while reading response header from upstream, client: 10.0.0.{ip}, "
    'request: "GET / HTTP/1.1"'
)
DISK = (
    '2026/11/27 10:02:{s:02d} [crit] 1234#1234: *{c} pwrite() "/var/cache/nginx/{c}" failed '
    "(28: No space left on device)"
)


def lines(template: str, n: int, start: int = 0) -> list[str]:
    return [template.format(s=(start + i) % 60, c=1000 + start + i, ip=start + i) for i in range(n)]


def run_json(cli: Cli, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = cli("logs", "errors", *args, "--format", "json")
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def config(write_config: Write, tmp_path: Path) -> str:
    return str(write_config(f"store: sqlite:///{tmp_path}/store.db\n"))


def test_variable_parts_are_masked_into_one_template(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("\n".join(lines(REFUSED, 20) + lines(TIMEOUT, 5)) + "\n")
    code, data = run_json(cli, str(log))
    assert code == 0
    assert data["entries"] == 25
    counts = sorted(t["count"] for t in data["templates"])
    assert counts == [5, 20]
    refused = next(t for t in data["templates"] if t["count"] == 20)
    assert "10.0.0." not in refused["template"]
    assert "<IP>" in refused["template"] and "<STR>" in refused["template"]
    assert refused["levels"] == {"error": 20}
    assert refused["first"].startswith("2026-11-27T10:00:00")
    assert len(refused["examples"]) == 3


def test_a_new_template_after_a_saved_baseline_is_flagged_and_old_ones_are_not(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    cfg = config(write_config, tmp_path)
    before = tmp_path / "before.log"
    before.write_text("\n".join(lines(REFUSED, 30) + lines(TIMEOUT, 10)) + "\n")
    saved = cli("-c", cfg, "logs", "errors", str(before), "--baseline", "week48", "--save")
    assert saved.code == 0, saved.err
    assert "saved 2 template(s) as baseline 'week48'" in saved.out
    # Same kinds of messages with other numbers and addresses, and one never seen.
    after = tmp_path / "after.log"
    after.write_text(
        "\n".join(lines(REFUSED, 30, 30) + lines(TIMEOUT, 10, 10) + lines(DISK, 2)) + "\n"
    )
    code, data = run_json(cli, "-c", cfg, str(after), "--baseline", "week48")
    assert code == 1
    assert (data["new"], data["jumped"]) == (1, 0)
    new = [t for t in data["templates"] if t["novelty"] == "new"]
    assert len(new) == 1 and "No space left on device" in new[0]["template"]
    assert new[0]["levels"] == {"critical": 2}
    assert {t["novelty"] for t in data["templates"] if t is not new[0]} == {"known"}
    # And the unchanged log compared with its own baseline flags nothing.
    code, data = run_json(cli, "-c", cfg, str(before), "--baseline", "week48")
    assert code == 0
    assert data["new"] == data["jumped"] == 0


def test_a_template_whose_rate_jumped_is_flagged(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    cfg = config(write_config, tmp_path)
    before = tmp_path / "before.log"
    before.write_text("\n".join(lines(REFUSED, 50) + lines(TIMEOUT, 2)) + "\n")
    assert cli("-c", cfg, "logs", "errors", str(before), "--baseline", "b", "--save").code == 0
    after = tmp_path / "after.log"
    after.write_text("\n".join(lines(REFUSED, 20) + lines(TIMEOUT, 30)) + "\n")
    code, data = run_json(cli, "-c", cfg, str(after), "--baseline", "b")
    assert code == 1
    jumped = [t for t in data["templates"] if t["novelty"] == "jumped"]
    assert len(jumped) == 1 and "timed out" in jumped[0]["template"]
    assert jumped[0]["baseline_count"] == 2
    assert jumped[0]["rate_ratio"] > 3


def test_unknown_baseline_and_save_without_name_are_one_line(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    cfg = config(write_config, tmp_path)
    log = tmp_path / "e.log"
    log.write_text(lines(REFUSED, 1)[0] + "\n")
    missing = cli("-c", cfg, "logs", "errors", str(log), "--baseline", "nope")
    assert missing.code == 1
    assert "no baseline named 'nope'" in missing.err
    assert len(missing.err.strip().splitlines()) == 1
    unnamed = cli("-c", cfg, "logs", "errors", str(log), "--save")
    assert unnamed.code == 3
    assert "--save needs --baseline NAME" in unnamed.err
    bad_level = cli("-c", cfg, "logs", "errors", str(log), "--level", "loud")
    assert bad_level.code == 3 and "unknown level 'loud'" in bad_level.err


def test_baselines_are_listed(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    cfg = config(write_config, tmp_path)
    log = tmp_path / "e.log"
    log.write_text("\n".join(lines(REFUSED, 3)) + "\n")
    assert cli("-c", cfg, "logs", "errors", str(log), "--baseline", "first", "--save").code == 0
    listed = json.loads(cli("-c", cfg, "logs", "baselines", "--format", "json").out)
    assert [(b["name"], b["entries"], b["templates"]) for b in listed] == [("first", 3, 1)]


def test_tracebacks_stay_with_their_entry_and_their_exception_names_the_template() -> None:
    text = """2026-11-27 10:00:00,001 ERROR app.views: request failed
Traceback (most recent call last):
  File "/app/views.py", line 10, in get
    raise ValueError("bad id 17")
ValueError: bad id 17
2026-11-27 10:00:01,002 ERROR app.views: request failed
Traceback (most recent call last):
  File "/app/views.py", line 12, in get
    db.fetch()
psycopg.OperationalError: connection is bad
2026-11-27 10:00:02,003 INFO app: started
"""
    found = list(entries(text.splitlines()))
    assert [e.line for e in found] == [1, 6, 11]
    assert found[0].message.endswith("| ValueError: bad id 17")
    assert found[1].message.endswith("| psycopg.OperationalError: connection is bad")
    assert found[0].level is Level.ERROR and found[2].level is Level.INFO
    assert found[0].raw.count("\n") == 4


def test_application_log_shapes_give_time_level_and_message() -> None:
    at, level, msg = parse_line('{"level":"error","time":"2026-11-27T10:00:00Z","msg":"db down"}')
    assert (at is not None and at.minute == 0, level, msg) == (True, Level.ERROR, "db down")
    at, level, msg = parse_line('time=2026-11-27T10:00:00Z level=warn msg="slow query" ms=1200')
    assert (level, msg) == (Level.WARNING, "slow query ms=1200")
    at, level, msg = parse_line("2026-11-27T10:00:00.123Z [ERROR] worker: job 42 failed")
    assert level is Level.ERROR and msg == "worker: job 42 failed"
    at, level, msg = parse_line("just some text")
    assert (at, level, msg) == (None, None, "just some text")


def test_level_filter_drops_milder_entries(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "e.log"
    notice = "2026/11/27 10:05:00 [notice] 1#1: signal process started"
    log.write_text("\n".join([*lines(REFUSED, 4), notice]) + "\n")
    _, everything = run_json(cli, str(log))
    _, errors_only = run_json(cli, str(log), "--level", "error")
    assert (everything["entries"], errors_only["entries"]) == (5, 4)


def test_making_a_miner_logs_nothing_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """drain3 said "Starting Drain3 template miner" for every log_errors run."""
    from opsbook.logs.templates import miner_for

    with caplog.at_level(logging.INFO):
        miner_for(None)
        miner_for(None)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("drain3")] == []


def test_nginx_error_times_are_in_the_servers_zone_not_utc(
    tmp_path: Path, cli: Cli, write_config: Write
) -> None:
    """nginx writes its error log in local time: --since 1h on a New York server."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.conftest import run_opsbook

    new_york = ZoneInfo("America/New_York")
    now = datetime.now(new_york)
    log = tmp_path / "error.log"
    log.write_text("".join(
        f"{(now - timedelta(minutes=m)):%Y/%m/%d %H:%M:%S} [error] 7#7: *1 upstream timed out "
        f"(110: Connection timed out) while reading response header from upstream\n"
        for m in (90, 30, 10)
    ))  # fmt: skip
    by_tz = run_opsbook("logs", "errors", str(log), "--since", "1h", "-f", "json",
                        env={"TZ": "America/New_York"}, cwd=tmp_path)  # fmt: skip
    assert by_tz.returncode == 0, by_tz.stderr
    assert json.loads(by_tz.stdout)["entries"] == 2  # the ones 30 and 10 minutes ago
    path = write_config("timezone: America/New_York\n")
    by_config = cli("-c", str(path), "logs", "errors", str(log), "--since", "1h", "-f", "json")
    assert json.loads(by_config.out)["entries"] == 2
