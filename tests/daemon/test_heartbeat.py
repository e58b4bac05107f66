"""The dead man's switch: a real daemon pings a real receiver; degraded is /fail with the
reasons; after kill -9 the pings stop (which is what makes the outside service page)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import run_opsbook
from tests.support.daemon import Daemon
from tests.support.receivers import HttpReceiver


def paths(receiver: HttpReceiver) -> list[str]:
    return [r.path for r in receiver.got]


def test_start_pings_fail_while_degraded_and_silence_after_kill_9(tmp_path: Path) -> None:
    switch = HttpReceiver()
    d = Daemon(tmp_path, f"""
heartbeat:
  - url: "{switch.url}/ping/abc"
    interval: 1s
people:
  bob: {{email: bob@example.com}}
escalation:
  - {{who: [bob]}}
checks:
  mem: {{type: memory, interval: 60s}}
""")  # fmt: skip
    try:
        d.start()
        d.wait_for(lambda: "/hook/ping/abc/start" in paths(switch), "the start ping")
        d.wait_for(lambda: "/hook/ping/abc" in paths(switch), "a healthy ping", timeout=15)
        # bob can be reached by nothing: the page is NOT DELIVERED and the daemon degraded
        done = run_opsbook("incident", "open", "--sev", "1", "--title", "down", "--config",
                           str(d.config))  # fmt: skip
        assert done.returncode == 0, done.stderr
        fail = d.wait_for(lambda: [r for r in switch.got if r.path.endswith("/fail")],
                          "a fail ping", timeout=20)  # fmt: skip
        assert b"a page reached nobody" in fail[0].body
        alive = len(switch.got)
        d.wait_for(lambda: len(switch.got) >= alive + 2, "pings every second", timeout=10)
        d.kill9()
        settled = len(switch.got)
        deadline = time.monotonic() + 3  # three intervals: a live daemon would have pinged
        while time.monotonic() < deadline:
            time.sleep(0.25)
        assert len(switch.got) <= settled + 1  # at most one already in flight
    finally:
        d.close()
        switch.stop()


def test_heartbeat_test_says_how_each_url_answered(tmp_path: Path) -> None:
    up, down = HttpReceiver(), HttpReceiver(respond=lambda r: 500)
    try:
        config = tmp_path / "opsbook.yaml"
        config.write_text(f"heartbeat:\n  - url: {up.url}\n  - url: {down.url}/x\n")
        done = run_opsbook("heartbeat", "test", "--config", str(config))
        assert done.returncode == 1
        assert f"{up.url}: ok (HTTP 200)" in done.stdout
        assert f"{down.url}/x: FAILED (HTTP 500)" in done.stdout
        assert paths(up) == ["/hook"]
    finally:
        up.stop()
        down.stop()
