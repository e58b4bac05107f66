"""The console in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser). Sign in, watch a real Redis go down on the board, act on the incident and see it
on the CLI, see a CLI change arrive live, a viewer without buttons, a form without its CSRF
token refused, and pages that fit a phone. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon
from tests.support.servers import RedisServer

# Debian's chromium (scripts/dev-setup installs it): never a downloaded browser
CHROMIUM = "/usr/lib/chromium/chromium"
ARTIFACTS = Path(os.environ.get("OPSBOOK_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
PASSWORD = "correct horse battery"


def opsbook(d: Daemon, *args: str, stdin: str | None = None) -> str:
    done = d.run(*args, user="cli-user", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Daemon, RedisServer]]:
    redis = RedisServer()
    redis.start()
    d = Daemon(
        tmp_path,
        f"""\
        people:
          alice: {{email: alice@example.com}}
          bob: {{email: bob@example.com}}
        schedules:
          primary: {{timezone: UTC, rotation: weekly, handoff: "monday 09:00",
                     members: [alice, bob]}}
        escalation:
          - who: [primary]
        checks:
          cache:
            type: redis
            url: redis://127.0.0.1:{redis.port}/0
            interval: 1s
            for: 0s
            severity: SEV-2
          mem: {{type: memory, interval: 2s}}
        """,
    )
    try:
        d.start()
        for name, role in (("alice", "responder"), ("vera", "viewer")):
            opsbook(d, "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
        yield d, redis
    finally:
        d.close()
        redis.stop()


def sign_in(browser: Any, d: Daemon, name: str, width: int = 1280) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"http://127.0.0.1:{d.port}/")
    assert "/login" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"http://127.0.0.1:{d.port}/")
    return page


def no_horizontal_overflow(page: Any) -> bool:
    root = "document.documentElement"
    return bool(page.evaluate(f"{root}.scrollWidth <= {root}.clientWidth"))


def shoot(page: Any, name: str) -> None:
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"), full_page=True)


def test_a_stopped_redis_shows_on_the_board_with_its_incident_and_is_handled_from_the_page(
    browser: Any, stack: tuple[Daemon, RedisServer]
) -> None:
    d, redis = stack
    page = sign_in(browser, d, "alice")
    row = page.locator("tr", has=page.get_by_role("link", name="cache", exact=True))
    row.locator(".badge", has_text="OK").wait_for(timeout=15_000)
    page.wait_for_selector("body[data-connected]", timeout=10_000)  # the live stream is open
    redis.stop()
    # no reload: the board updates itself over server-sent events
    row.locator(".badge", has_text="CRITICAL").wait_for(timeout=15_000)
    card = page.locator(".card", has_text="cache")
    card.wait_for(timeout=15_000)
    shoot(page, "board-1280")
    assert no_horizontal_overflow(page)
    card.get_by_role("link").click()
    page.wait_for_url("**/incidents/INC-*")
    incident = page.url.rsplit("/", 1)[1]
    page.get_by_role("heading", name="Evidence").wait_for()  # the result that fired
    page.locator("details summary").first.click()
    shown = page.locator("pre.evidence").first.inner_text()
    assert '"check": "cache"' in shown and "CRITICAL" in shown
    page.get_by_role("button", name="Acknowledge").click()
    page.locator(".incident-head .ack").wait_for()
    page.get_by_label("Note").fill("redis restarted by hand")
    page.get_by_role("button", name="Add note").click()
    page.locator(".timeline").get_by_text("redis restarted by hand").wait_for()
    page.get_by_label("Severity").select_option("1")
    page.get_by_label("Why", exact=True).fill("every cart is lost")
    page.get_by_role("button", name="Change severity").click()
    page.locator(".incident-head").get_by_text("SEV-1").wait_for()
    shoot(page, "incident-1280")
    page.get_by_label("How it was resolved").fill("redis back")
    page.once("dialog", lambda dialog: dialog.accept())  # "Resolve INC-…?"
    page.get_by_role("button", name="Resolve").click()
    page.locator(".phase").get_by_text("resolved").wait_for()
    shown = json.loads(opsbook(d, "incident", "show", incident, "-f", "json"))
    assert shown["acknowledged_by"] == "alice" and shown["severity"] == "SEV-1"
    assert shown["phase"] == "resolved"
    assert any(e["body"] == "redis restarted by hand" and e["actor"] == "alice"
               for e in shown["timeline"])  # fmt: skip
    page.close()


def test_a_change_from_the_cli_appears_on_the_open_page_without_a_reload(
    browser: Any, stack: tuple[Daemon, RedisServer]
) -> None:
    d, _ = stack
    incident = opsbook(d, "incident", "open", "--sev", "3", "--title", "slow search").strip()
    page = sign_in(browser, d, "alice")
    page.goto(f"http://127.0.0.1:{d.port}/incidents/{incident}")
    page.wait_for_selector("body[data-connected]", timeout=10_000)
    page.evaluate("window.notReloaded = true")
    opsbook(d, "incident", "note", incident, "found the slow query")
    page.locator(".timeline").get_by_text("found the slow query").wait_for(timeout=5_000)
    assert page.evaluate("window.notReloaded") is True  # updated in place
    page.get_by_role("button", name="Alerts").click()  # the timeline filter
    assert not page.locator(".timeline").get_by_text("found the slow query").is_visible()
    page.close()


def test_a_viewer_has_no_buttons_and_a_form_stripped_of_its_csrf_token_is_refused(
    browser: Any, stack: tuple[Daemon, RedisServer]
) -> None:
    d, _ = stack
    incident = opsbook(d, "incident", "open", "--sev", "2", "--title", "queue stuck").strip()
    viewer = sign_in(browser, d, "vera")
    viewer.goto(f"http://127.0.0.1:{d.port}/incidents/{incident}")
    assert viewer.get_by_role("button", name="Acknowledge").count() == 0
    assert viewer.get_by_label("Note").count() == 0
    viewer.close()
    page = sign_in(browser, d, "alice")
    page.goto(f"http://127.0.0.1:{d.port}/incidents/{incident}")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("CSRF").wait_for()
    shown = json.loads(opsbook(d, "incident", "show", incident, "-f", "json"))
    assert shown["acknowledged_at"] is None
    page.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/incidents",
        "/incidents/{id}",
        "/stats",
        "/account",
        "/oncall",
        "/alerts",
        "/checks/mem",
        "/backups",
    ],
)
def test_pages_fit_a_phone_and_a_desktop_without_horizontal_scrolling(
    browser: Any, stack: tuple[Daemon, RedisServer], path: str
) -> None:
    d, _ = stack
    incident = opsbook(d, "incident", "open", "--sev", "2", "--title",
                       "a long title " * 8).strip()  # fmt: skip
    for width in (1280, 390):
        page = sign_in(browser, d, "alice", width)
        page.goto(f"http://127.0.0.1:{d.port}{path.format(id=incident)}")
        name = path.strip("/").replace("/", "-").replace("{id}", "incident") or "board"
        shoot(page, f"{name}-{width}")
        assert no_horizontal_overflow(page), f"{path} overflows at {width} px"
        page.close()


def test_an_override_made_on_the_calendar_changes_who_the_cli_says_is_on_call(
    browser: Any, stack: tuple[Daemon, RedisServer]
) -> None:
    d, _ = stack
    before = json.loads(opsbook(d, "oncall", "now", "-f", "json"))[0]["person"]
    other = "bob" if before == "alice" else "alice"
    page = sign_in(browser, d, "alice")
    page.goto(f"http://127.0.0.1:{d.port}/oncall")
    page.locator(".calendar .day.today").wait_for()  # drawn in the viewer's zone
    assert page.locator(".calendar .day").count() == 28
    page.get_by_label("Who covers").select_option(other)
    page.get_by_label("From (your time)").fill(
        page.evaluate("new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3)"
                      ".toISOString().slice(0, 16)"))  # fmt: skip
    page.get_by_label("To (your time)").fill(
        page.evaluate("new Date(Date.now() + 7200e3 - new Date().getTimezoneOffset() * 60e3)"
                      ".toISOString().slice(0, 16)"))  # fmt: skip
    page.get_by_label("Why").fill("swap for the dentist")
    page.get_by_role("button", name="Add override").click()
    page.locator(".calendar .override").first.wait_for()
    now = json.loads(opsbook(d, "oncall", "now", "-f", "json"))[0]
    assert now["person"] == other and now["override"] is not None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    page.get_by_text("None.").first.wait_for()
    assert json.loads(opsbook(d, "oncall", "now", "-f", "json"))[0]["person"] == before
    page.close()
