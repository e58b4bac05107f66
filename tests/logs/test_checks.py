"""The log and log_errors check kinds: following files that rotate and truncate under them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.checks import log as log_check
from opsbook.checks import log_errors as log_errors_check
from opsbook.logs.follow import Follower
from tests.conftest import CliResult, Write

Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def fresh_watches() -> Iterator[None]:
    log_check.TRACKERS.forget()
    log_errors_check.TRACKERS.forget()
    yield
    log_check.TRACKERS.forget()
    log_errors_check.TRACKERS.forget()


def line(at: datetime, status: int = 200, rt: float = 0.05, path: str = "/graphql") -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'10.0.0.1 - - [{stamp}] "POST {path} HTTP/1.1" {status} 10 "-" "x" {rt:.3f} {rt:.3f}\n'


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def result(cli: Cli, cfg: Path, name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = cli("-c", str(cfg), "check", name, "--format", "json")
    assert out.code in (0, 1, 2, 3), out.err
    return out.code, json.loads(out.out)["checks"][0]


# --- the follower -------------------------------------------------------------------------


def test_follower_reads_only_new_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\ntwo\n")
    f = Follower(str(log))
    assert f.read().data == b"one\ntwo\n"
    append(log, "thr")
    assert f.read().data == b""  # a partial line waits for its newline
    append(log, "ee\nfour\n")
    assert f.read().data == b"three\nfour\n"
    f.close()


def test_follower_survives_rename_rotation_and_reads_the_old_files_last_lines(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text("a\n")
    f = Follower(str(log))
    assert f.read().data == b"a\n"
    with log.open("a") as writer:  # nginx holds the file open across the rename
        log.rename(tmp_path / "access.log.1")
        writer.write("b (written after the rename, before nginx reopened)\n")
    assert f.read().data == b"b (written after the rename, before nginx reopened)\n"
    log.write_text("c\n")  # nginx reopened: a new file at the old path
    got = f.read()
    assert got.rotated and got.data == b"c\n"
    append(log, "d\n")
    assert f.read().data == b"d\n"
    f.close()


def test_follower_keeps_reading_the_rotated_file_until_its_writer_moves_on(
    tmp_path: Path,
) -> None:
    """logrotate renames and creates the new file at once; nginx writes to the old one until
    it reopens on USR1 (seconds later): those lines count too."""
    log = tmp_path / "access.log"
    log.write_text("a\n")
    f = Follower(str(log))
    assert f.read().data == b"a\n"
    writer = log.open("a")  # nginx's handle
    log.rename(tmp_path / "access.log.1")
    log.write_text("")  # logrotate's create
    writer.write("b\n")
    writer.flush()
    got = f.read()
    assert got.rotated and got.data == b"b\n"
    writer.write("c (still the old file)\n")
    writer.flush()
    assert f.read().data == b"c (still the old file)\n"
    writer.close()  # nginx reopened
    append(log, "d\n")
    assert f.read().data == b"d\n"
    assert f._old is None  # the old file is let go once the new one grows and it is quiet
    f.close()


def test_follower_starts_over_after_copytruncate(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("old 1\nold 2\nold 3\n")
    f = Follower(str(log))
    f.read()
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, "new\n")
    got = f.read()
    assert got.truncated and got.data == b"new\n"
    f.close()


def test_follower_starts_near_the_end_of_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i:06d}\n" for i in range(100000)))
    f = Follower(str(log), tail_bytes=1000)
    data = f.read().data
    assert data.endswith(b"line 099999\n")
    assert data.startswith(b"line ") and len(data) <= 1000
    f.close()


def test_follower_on_a_missing_file_is_a_log_error(tmp_path: Path) -> None:
    from opsbook.errors import LogError

    with pytest.raises(LogError, match="no such file"):
        Follower(str(tmp_path / "nope.log")).read()


# --- the log check --------------------------------------------------------------------------


def log_config(write_config: Write, log: Path, extra: str = "") -> Path:
    return write_config(
        f"""
        checks:
          api-log:
            type: log
            path: {log}
            window: 5m
            {extra}
        """
    )


def test_5xx_share_and_p95_over_the_window(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    old = [line(now - timedelta(minutes=30), status=500) for _ in range(50)]  # outside the window
    recent = [line(now - timedelta(seconds=100 - i), rt=0.001 * (i + 1)) for i in range(94)]
    recent += [line(now - timedelta(seconds=5), status=502, rt=3.0) for _ in range(6)]
    log.write_text("".join(old + recent))
    cfg = log_config(write_config, log)
    code, check = result(cli, cfg, "api-log")
    assert code == 2  # 6 % 5xx is over the runbook's 5 %
    assert check["status"] == "CRITICAL"
    assert check["value"] == pytest.approx(6.0)
    assert "100 requests in 5m" in check["message"]
    p95 = next(m for m in check["metrics"] if m["name"] == "p95")
    times = sorted([0.001 * (i + 1) for i in range(94)] + [3.0] * 6)
    h = 0.95 * (len(times) - 1)
    want = times[int(h)] + (h - int(h)) * (times[int(h) + 1] - times[int(h)])
    assert p95["value"] == pytest.approx(want, abs=1e-6)


def test_the_busiest_routes_are_measured_alone(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    lines = [line(now - timedelta(seconds=60), path=f"/api/orders/{i}", rt=0.2) for i in range(30)]
    lines += [line(now - timedelta(seconds=50), path="/graphql", rt=0.01) for _ in range(20)]
    lines += [line(now - timedelta(seconds=40), path="/graphql", status=503, rt=0.01)]
    lines += [line(now - timedelta(seconds=30), path="/rare", rt=9.0)]
    log.write_text("".join(lines))
    _, check = result(cli, log_config(write_config, log, "routes: 2"), "api-log")
    got = {m["name"]: m["value"] for m in check["metrics"] if m["name"].startswith("route_")}
    assert got == {
        "route_/api/orders/:id_requests": 30, "route_/api/orders/:id_errors": 0,
        "route_/api/orders/:id_p95": pytest.approx(0.2),
        "route_/graphql_requests": 21, "route_/graphql_errors": 1,
        "route_/graphql_p95": pytest.approx(0.01),
    }  # fmt: skip


def test_a_window_reaching_into_the_rotated_file_counts_its_lines(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    """Rotated a minute ago: four of the window's five minutes are in access.log.1."""
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    (tmp_path / "access.log.1").write_text(
        "".join(line(now - timedelta(seconds=s)) for s in range(400, 60, -1))  # 340 lines
    )
    log.write_text("".join(line(now - timedelta(seconds=s)) for s in range(60, 0, -1)))
    _, check = result(cli, log_config(write_config, log), "api-log")
    # the window (300 s) holds 240 of the rotated file's lines and the 60 of the new one
    assert 298 <= check["details"]["requests"] <= 300, check["message"]  # not 60
    assert "(1.00/s)" in check["message"] or "(0.99/s)" in check["message"]


def test_serve_follows_appends_rotation_and_truncation(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    """Trackers persist in-process between runs, as in opsbook serve."""
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    log.write_text("".join(line(now - timedelta(seconds=60)) for _ in range(40)))
    cfg = log_config(write_config, log, "min_requests: 10")
    code, check = result(cli, cfg, "api-log")
    assert (code, check["details"]["requests"]) == (0, 40)
    append(log, "".join(line(now - timedelta(seconds=30), status=503) for _ in range(10)))
    code, check = result(cli, cfg, "api-log")
    assert (code, check["details"]["requests"], check["details"]["5xx"]) == (2, 50, 10)
    log.rename(tmp_path / "access.log.1")  # logrotate
    log.write_text("".join(line(now - timedelta(seconds=10)) for _ in range(50)))
    code, check = result(cli, cfg, "api-log")
    assert (check["details"]["requests"], check["details"]["5xx"]) == (100, 10)
    assert code == 2  # 10 % 5xx
    with log.open("r+") as handle:  # copytruncate
        handle.truncate(0)
    append(log, "".join(line(now - timedelta(seconds=5)) for _ in range(150)))
    code, check = result(cli, cfg, "api-log")
    assert (check["details"]["requests"], check["details"]["5xx"]) == (250, 10)
    assert code == 1  # 4 %: over the 2 % warning, under the 5 % critical


def test_few_requests_are_not_judged(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    log.write_text(line(now, status=502) + line(now) + line(now))
    code, check = result(cli, log_config(write_config, log), "api-log")
    assert code == 0
    assert "not judged" in check["message"]


def test_traffic_outside_the_learnt_band_is_unusual(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    log = tmp_path / "access.log"
    history = []
    for minute in range(90, 5, -1):  # 85 minutes of 60-66 requests per minute
        at = now - timedelta(minutes=minute)
        history += [line(at + timedelta(seconds=s % 60)) for s in range(60 + minute % 7)]
    burst = [line(now - timedelta(seconds=200 - i // 10)) for i in range(2000)]
    log.write_text("".join(history + burst))
    code, check = result(cli, log_config(write_config, log), "api-log")
    assert code == 1
    assert "unusual traffic" in check["message"]
    low, high = check["details"]["band"]
    assert 0.5 < low < 1.0 < high < 1.5  # about one request a second is usual here


def test_traffic_that_drops_away_is_unusual(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    log = tmp_path / "access.log"
    history = []
    for minute in range(70, 5, -1):  # about one request a second for an hour
        at = now - timedelta(minutes=minute)
        history += [line(at + timedelta(seconds=s)) for s in range(60)]
    trickle = [line(now - timedelta(seconds=290 - 10 * i)) for i in range(25)]  # 0.08/s
    log.write_text("".join(history + trickle))
    code, check = result(cli, log_config(write_config, log), "api-log")
    assert code == 1
    assert "unusual traffic" in check["message"]
    assert check["details"]["band"][0] > 0.5


def test_usual_traffic_is_ok(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    log = tmp_path / "access.log"
    lines = []
    for minute in range(90, -1, -1):
        at = now - timedelta(minutes=minute)
        lines += [
            line(at + timedelta(seconds=s))
            for s in range(0, 60, 1)
            if at + timedelta(seconds=s) <= now
        ]
    log.write_text("".join(lines))
    code, check = result(cli, log_config(write_config, log), "api-log")
    assert code == 0, check["message"]
    assert "unusual" not in check["message"]


def test_missing_log_is_unknown(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    code, check = result(cli, log_config(write_config, tmp_path / "gone.log"), "api-log")
    assert code == 3
    assert "no such file" in check["message"]


def test_bad_log_check_config_is_one_line(cli: Cli, tmp_path: Path, write_config: Write) -> None:
    cfg = log_config(
        write_config,
        tmp_path / "a.log",
        "error_share_warning: 9%\n            error_share_critical: 5%",
    )
    out = cli("-c", str(cfg), "check")
    assert out.code == 3
    assert "5xx share: warning (9) must not be above critical (5)" in out.err


# --- the log_errors check -------------------------------------------------------------------


def nginx_error(at: datetime, text: str) -> str:
    return f"{at:%Y/%m/%d %H:%M:%S} [error] 7#7: *1 {text}\n"


REFUSED = (
    "connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.{n}"
)
DISK = 'open() "/var/cache/nginx/{n}" failed (28: No space left on device)'


def errors_config(write_config: Write, tmp_path: Path, log: Path, extra: str = "") -> Path:
    return write_config(
        f"""
        store: sqlite:///{tmp_path}/store.db
        checks:
          app-errors:
            type: log_errors
            path: {log}
            window: 10m
            {extra}
        """
    )


def test_a_new_error_template_is_flagged_and_history_is_not(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    now = datetime.now(UTC)
    log = tmp_path / "error.log"
    log.write_text(
        "".join(
            nginx_error(now - timedelta(minutes=60 - i), REFUSED.format(n=i)) for i in range(20)
        )
    )
    cfg = errors_config(write_config, tmp_path, log)
    code, check = result(cli, cfg, "app-errors")
    assert (code, check["status"]) == (0, "OK")
    append(log, nginx_error(now - timedelta(seconds=20), REFUSED.format(n=99)))
    append(log, nginx_error(now - timedelta(seconds=10), DISK.format(n=1)))
    append(log, nginx_error(now - timedelta(seconds=5), DISK.format(n=2)))
    code, check = result(cli, cfg, "app-errors")
    assert code == 1
    assert "1 new error template(s)" in check["message"]
    assert "No space left on device" in check["message"] and "(x2)" in check["message"]
    assert "Connection refused" not in check["message"]


def test_log_errors_against_a_saved_baseline_in_a_fresh_process(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    now = datetime.now(UTC)
    known = tmp_path / "last-week.log"
    known.write_text(
        "".join(nginx_error(now - timedelta(days=7), REFUSED.format(n=i)) for i in range(5))
    )
    cfg = errors_config(write_config, tmp_path, tmp_path / "error.log", "baseline: lastweek")
    assert (
        cli("-c", str(cfg), "logs", "errors", str(known), "--baseline", "lastweek", "--save").code
        == 0
    )
    log = tmp_path / "error.log"
    log.write_text(
        nginx_error(now - timedelta(seconds=30), REFUSED.format(n=42))
        + nginx_error(now - timedelta(seconds=20), DISK.format(n=3))
    )
    code, check = result(cli, cfg, "app-errors")
    assert code == 1
    assert "No space left on device" in check["message"]
    assert "Connection refused" not in check["message"]


def test_log_errors_on_a_log_without_times_learns_from_what_is_already_there(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"ERROR worker {i} lost its connection\n" for i in range(10)))
    cfg = errors_config(write_config, tmp_path, log)
    code, check = result(cli, cfg, "app-errors")
    assert (code, check["message"]) == (0, "no new error templates in 10m")
    append(log, "ERROR worker 11 lost its connection\nERROR payment provider returned 502\n")
    code, check = result(cli, cfg, "app-errors")
    assert code == 1
    assert "payment provider" in check["message"] and "lost its connection" not in check["message"]


def test_an_empty_window_says_when_the_last_request_was(
    cli: Cli, tmp_path: Path, write_config: Write
) -> None:
    log = tmp_path / "access.log"
    log.write_text(line(datetime.now(UTC) - timedelta(hours=3)))
    code, check = result(cli, log_config(write_config, log), "api-log")
    assert code == 0
    assert "0 requests in 5m (0.00/s), the last 3h" in check["message"]
