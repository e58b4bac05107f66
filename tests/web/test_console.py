"""The web console over HTTP on a real daemon: sign-in, sessions and their cookie, CSRF on
every form, roles, login limits, acts reaching the CLI, the report download, the public
status page, the live stream, and serving refused beyond loopback without TLS."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.daemon import Daemon
from tests.support.servers import PostgresServer, free_port

PASSWORD = "correct horse battery"
CONFIG = """\
people:
  alice: {email: alice@example.com}
  bob: {email: bob@example.com}
schedules:
  primary: {timezone: UTC, rotation: weekly, handoff: "monday 09:00", members: [alice, bob]}
escalation:
  - who: [primary]
checks:
  mem: {type: memory, interval: 1s}
  api-db:
    type: tcp
    host: 127.0.0.1:1
    interval: 1s
    public: true
    public_name: Checkout
    group: Shop
  internal-secret-host:
    type: tcp
    host: db-internal-7.corp.example:1
    interval: 1s
"""


def opsbook(d: Daemon, *args: str, stdin: str | None = None) -> str:
    done = d.run(*args, user="cli-user", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


OPENED: list[httpx.Client] = []


def client_of(base: str, **kwargs: Any) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=kwargs.pop("timeout", 10), **kwargs)
    OPENED.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def sign_in(d: Daemon, name: str, password: str = PASSWORD) -> httpx.Client:
    client = client_of(f"http://127.0.0.1:{d.port}")
    form = client.get("/login")
    answer = client.post("/login", data={"csrf": csrf_of(form.text), "name": name,
                                         "password": password, "next": "/"})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path, CONFIG, server="status_page: true")
    d.start()
    for name, role in (("alice", "responder"), ("vera", "viewer")):
        opsbook(d, "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
    yield d
    d.close()


def test_pages_need_a_session_and_the_cookie_is_httponly_and_lax(console: Daemon) -> None:
    anonymous = client_of(f"http://127.0.0.1:{console.port}")
    answer = anonymous.get("/incidents?open=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fincidents%3Fopen%3D1"
    form = anonymous.get("/login")
    fields = {"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORD}
    answer = anonymous.post("/login", data={**fields, "next": "/incidents"})
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents"
    cookie = answer.headers["set-cookie"]
    assert "opsbook_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    board = anonymous.get("/")
    assert board.status_code == 200 and "Open incidents" in board.text
    csp = board.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert not re.search(r'(src|href)="(https?:)?//', board.text)  # nothing from elsewhere
    logout = anonymous.post("/logout", data={"csrf": csrf_of(board.text)})
    assert logout.status_code == 303
    assert anonymous.get("/").status_code == 303  # signed out: back to the login page


def test_an_open_redirect_after_login_is_refused(console: Daemon) -> None:
    client = client_of(f"http://127.0.0.1:{console.port}")
    form = client.get("/login?next=//evil.example/x")
    fields = {"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORD}
    answer = client.post("/login", data={**fields, "next": "https://evil.example"})
    assert answer.headers["location"] == "/"


def test_acts_from_the_page_reach_the_cli_under_the_users_name(console: Daemon) -> None:
    incident = opsbook(console, "incident", "open", "--sev", "2", "--title", "checkout 502")
    incident = incident.strip()
    alice = sign_in(console, "alice")
    page = alice.get(f"/incidents/{incident}")
    assert page.status_code == 200 and "checkout 502" in page.text
    token = csrf_of(page.text)
    for verb, data in (("ack", {}), ("note", {"text": "rolled back deploy 4812"}),
                       ("severity", {"level": "1", "why": "all checkouts fail"}),
                       ("assign", {"person": "bob"}),
                       ("action", {"text": "alert on 502 rate", "owner": "bob", "due": "7d",
                                   "kind": "monitoring"}),
                       ("edit", {"summary": "a bad deploy", "root_cause": "config typo"}),
                       ("resolve", {"why": "rolled back"})):  # fmt: skip
        answer = alice.post(f"/incidents/{incident}/{verb}", data={"csrf": token, **data})
        assert answer.status_code == 303, (verb, answer.text)
    doc = json.loads(opsbook(console, "incident", "show", incident, "-f", "json"))
    assert doc["acknowledged_by"] == "alice" and doc["severity"] == "SEV-1"
    assert doc["commander"] == "bob" and doc["phase"] == "resolved"
    assert doc["report"]["root_cause"] == "config typo"
    notes = [e for e in doc["timeline"] if e["kind"] == "note"]
    assert notes[-1]["body"] == "rolled back deploy 4812" and notes[-1]["actor"] == "alice"
    assert doc["actions"][0]["owner"] == "bob" and doc["actions"][0]["kind"] == "monitoring"
    again = alice.post(f"/incidents/{incident}/resolve", data={"csrf": token, "why": "x"})
    assert again.status_code == 409 and "resolved" in again.text  # said, not a traceback
    bad = alice.post(f"/incidents/{incident}/severity", data={"csrf": token, "level": "9",
                                                              "why": "x"})  # fmt: skip
    assert bad.status_code in (400, 409)
    report = alice.get(f"/incidents/{incident}/report.md")
    assert report.status_code == 200 and "config typo" in report.text
    assert report.headers["content-disposition"] == f'attachment; filename="{incident}.md"'
    html = alice.get(f"/incidents/{incident}/report.html")
    assert html.text.lstrip().lower().startswith("<!doctype html")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(console: Daemon) -> None:
    incident = opsbook(console, "incident", "open", "--sev", "2", "--title", "x").strip()
    alice = sign_in(console, "alice")
    for data in ({}, {"csrf": "forged"}):
        answer = alice.post(f"/incidents/{incident}/ack", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert json.loads(opsbook(console, "incident", "show", incident, "-f", "json"))[
        "acknowledged_at"] is None  # fmt: skip


def test_a_viewer_sees_no_buttons_and_is_refused_when_posting(console: Daemon) -> None:
    incident = opsbook(console, "incident", "open", "--sev", "2", "--title", "x").strip()
    vera = sign_in(console, "vera")
    page = vera.get(f"/incidents/{incident}")
    assert page.status_code == 200 and "Acknowledge" not in page.text
    answer = vera.post(f"/incidents/{incident}/ack", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 403 and "viewer" in answer.text


def test_password_guessing_is_limited_per_address_then_the_account_locks(
    console: Daemon,
) -> None:
    client = client_of(f"http://127.0.0.1:{console.port}", timeout=30)
    codes = []
    for _ in range(6):
        form = client.get("/login")
        fields = {"csrf": csrf_of(form.text), "name": "alice", "password": "wrong guess 123"}
        codes.append(client.post("/login", data=fields).status_code)
    assert codes == [401] * 6
    form = client.get("/login")
    # five failures locked alice for 15 minutes: the right password does not open it now
    locked = client.post("/login", data={"csrf": csrf_of(form.text), "name": "alice",
                                         "password": PASSWORD})  # fmt: skip
    assert locked.status_code == 401
    for _ in range(4):
        form = client.get("/login")
        client.post("/login", data={"csrf": csrf_of(form.text), "name": "nobody",
                                    "password": "x"})  # fmt: skip
    form = client.get("/login")
    limited = client.post("/login", data={"csrf": csrf_of(form.text), "name": "vera",
                                          "password": PASSWORD})  # fmt: skip
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_a_login_post_without_the_forms_cookie_is_refused(console: Daemon) -> None:
    client = client_of(f"http://127.0.0.1:{console.port}")
    answer = client.post("/login", data={"csrf": "x", "name": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert "opsbook_session" not in answer.headers.get("set-cookie", "")


def test_changing_the_password_ends_the_other_sessions(console: Daemon) -> None:
    first, second = sign_in(console, "alice"), sign_in(console, "alice")
    page = first.get("/account")
    new = "a much longer passphrase"
    answer = first.post("/account", data={"csrf": csrf_of(page.text), "old": PASSWORD,
                                          "new": new, "again": new})  # fmt: skip
    assert answer.status_code == 200 and "Password changed" in answer.text
    assert first.get("/").status_code == 200  # this browser goes on
    assert second.get("/").status_code == 303  # the other was signed out
    sign_in(console, "alice", new)


def test_the_status_page_shows_public_checks_and_leaks_nothing_internal(
    console: Daemon,
) -> None:
    console.wait_for(lambda: len(console.incidents()) >= 2, "both tcp checks to open incidents")
    page = httpx.get(f"http://127.0.0.1:{console.port}/status", timeout=10)
    assert page.status_code == 200
    assert "Checkout" in page.text and "Shop" in page.text and "outage" in page.text
    for secret in ("api-db", "127.0.0.1:1", "db-internal-7", "internal-secret-host",
                   "connection refused", "mem", "INC-"):  # fmt: skip
        assert secret not in page.text, secret
    assert "An incident is being handled" in page.text  # the public check's own


def test_the_status_page_is_off_unless_asked(tmp_path: Path) -> None:
    d = Daemon(tmp_path, "checks:\n  mem: {type: memory, interval: 1s}\n")
    try:
        d.start()
        assert d.get("/status")[0] == 404
    finally:
        d.close()


def test_the_live_stream_tells_an_open_page_of_a_change_made_from_the_cli(
    console: Daemon,
) -> None:
    alice = sign_in(console, "alice")
    incident = opsbook(console, "incident", "open", "--sev", "3", "--title", "x").strip()
    with alice.stream("GET", "/events", timeout=20) as events:
        lines = events.iter_lines()
        assert next(lines).startswith("retry:")
        opsbook(console, "incident", "note", incident, "seen from the CLI")
        seen = []
        for line in lines:
            seen.append(line)
            if line == "data: store":
                break
        assert "event: change" in seen
    fragment = alice.get(f"/incidents/{incident}?fragment=1")
    assert "seen from the CLI" in fragment.text and "<html" not in fragment.text


def test_serving_beyond_loopback_without_tls_or_a_proxy_is_refused(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "opsbook.yaml"
    config.write_text(f"store: sqlite:///{tmp_path / 's.db'}\nserver:\n  listen: 0.0.0.0:{port}\n"
                      "checks:\n  mem: {type: memory}\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "opsbook", "serve", "--config", str(config)],
                          check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("opsbook:")]
    assert len(lines) == 1 and "server.tls" in lines[0] and "behind_proxy" in lines[0]
    assert "Traceback" not in done.stderr


def test_tls_serves_https_and_marks_the_cookie_secure(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   capture_output=True)  # fmt: skip
    d = Daemon(tmp_path / "d", "checks:\n  mem: {type: memory, interval: 1s}\n",
               server=f"tls: {{cert: {cert}, key: {key}}}")  # fmt: skip
    d.config.write_text(d.config.read_text().replace("127.0.0.1:", "0.0.0.0:", 1))
    with d.log.open("ab") as log:
        d.proc = subprocess.Popen([sys.executable, "-m", "opsbook", "serve", "--config",
                                   str(d.config)], stdout=log, stderr=log)  # fmt: skip
    try:
        base = f"https://127.0.0.1:{d.port}"
        trust = ssl.create_default_context(cafile=str(cert))
        d.wait_for(lambda: _answers(base, trust), "HTTPS to answer", 20)
        opsbook(d, "user", "add", "alice", "--password-stdin", stdin=PASSWORD)
        client = client_of(base, verify=trust)
        form = client.get("/login")
        answer = client.post("/login", data={"csrf": csrf_of(form.text), "name": "alice",
                                             "password": PASSWORD})  # fmt: skip
        assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]
    finally:
        d.close()


def _answers(base: str, trust: ssl.SSLContext) -> bool:
    try:
        return httpx.get(f"{base}/health", verify=trust, timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def test_an_admin_manages_users_and_tokens_from_the_page_and_others_cannot(
    console: Daemon,
) -> None:
    opsbook(console, "user", "add", "root", "--role", "admin", "--password-stdin",
            stdin=PASSWORD)  # fmt: skip
    alice = sign_in(console, "alice")
    assert alice.get("/admin").status_code == 403  # a responder
    admin = sign_in(console, "root")
    page = admin.get("/admin")
    assert page.status_code == 200 and "vera" in page.text
    token = csrf_of(page.text)
    made = admin.post("/admin/user-add", data={"csrf": token, "name": "carol",
                                               "role": "viewer", "password": "x" * 12})  # fmt: skip
    assert made.status_code == 303
    assert "carol" in opsbook(console, "user", "list")
    short = admin.post("/admin/user-add", data={"csrf": token, "name": "dave",
                                                "role": "viewer", "password": "short"})  # fmt: skip
    assert short.status_code == 400 and "12 characters" in short.text
    created = admin.post("/admin/token-create", data={"csrf": token, "name": "grafana",
                                                      "role": "viewer"})  # fmt: skip
    shown = re.search(r"obk_[A-Za-z0-9_-]+", created.text)
    assert created.status_code == 200 and shown
    api = httpx.get(f"http://127.0.0.1:{console.port}/api/v1/checks", timeout=10,
                    headers={"Authorization": f"Bearer {shown.group(0)}"})  # fmt: skip
    assert api.status_code == 200
    assert shown.group(0) not in admin.get("/admin").text  # shown once
    listed = json.loads(opsbook(console, "token", "list", "-f", "json"))["tokens"]
    [grafana] = [t for t in listed if t["name"] == "grafana"]
    revoked = admin.post("/admin/token-revoke", data={"csrf": token, "id": str(grafana["id"])})
    assert revoked.status_code == 303
    fresh = {"csrf": token, "name": "alice", "password": "a brand new passphrase"}
    reset = admin.post("/admin/user-password", data=fresh)
    assert reset.status_code == 303
    assert alice.get("/").status_code == 303  # her session ended with her old password
    removed = admin.post("/admin/user-remove", data={"csrf": token, "name": "carol"})
    assert removed.status_code == 303 and "carol" not in opsbook(console, "user", "list")
    assert admin.post("/admin/user-remove", data={"csrf": token, "name": "root"}).status_code == 400


def test_a_containment_action_runs_from_the_incident_page_under_the_users_name(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "restarted"
    d = Daemon(tmp_path / "d", CONFIG + f"""\
actions:
  restart-app:
    description: restart the application
    command: [sh, -c, "echo restarting; touch {marker}; echo done"]
    suggest_for: [api-db]
  restart-nginx:
    command: [sh, -c, "echo no"]
    roles: [admin]
""")  # fmt: skip
    try:
        d.start()
        for name, role in (("alice", "responder"), ("vera", "viewer")):
            opsbook(d, "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD)
        opened = lambda: [i.id for i in d.incidents() if i.title.startswith("api-db")]  # noqa: E731
        [incident] = d.wait_for(opened, "api-db's incident")
        alice = sign_in(d, "alice")
        page = alice.get(f"/incidents/{incident}")
        assert "suggested" in page.text and "touch" in page.text
        assert "Run restart-nginx" not in page.text  # an admin's action: no button
        token = csrf_of(page.text)
        unconfirmed = alice.post(f"/incidents/{incident}/run/restart-app", data={"csrf": token})
        assert unconfirmed.status_code == 400 and not marker.exists()
        nginx = alice.post(f"/incidents/{incident}/run/restart-nginx",
                           data={"csrf": token, "confirmed": "yes"})  # fmt: skip
        assert nginx.status_code == 403 and "admin" in nginx.text
        ran = alice.post(f"/incidents/{incident}/run/restart-app",
                         data={"csrf": token, "confirmed": "yes"})  # fmt: skip
        assert ran.status_code == 303
        d.wait_for(marker.exists, "the action to run")

        def finished() -> list[str]:
            doc = json.loads(opsbook(d, "incident", "show", incident, "-f", "json"))
            return [e["body"] for e in doc["timeline"]
                    if e["kind"] == "action_run" and e["actor"] == "alice"]  # fmt: skip

        bodies = d.wait_for(lambda: len(finished()) >= 2 and finished(), "both entries")
        assert "alice runs restart-app" in bodies[0] and "OK (exit 0)" in bodies[-1]
        vera = sign_in(d, "vera")
        form = {"csrf": csrf_of(vera.get("/").text), "confirmed": "yes"}
        refused = vera.post(f"/incidents/{incident}/run/restart-app", data=form)
        assert refused.status_code == 403
        bot = opsbook(d, "token", "create", "chatops", "--role", "responder").strip()
        api = httpx.post(
            f"http://127.0.0.1:{d.port}/api/v1/incidents/{incident}/actions/restart-app",
            headers={"Authorization": f"Bearer {bot}"},
            timeout=10,
        )
        assert api.status_code == 202

        def by_bot() -> bool:
            doc = json.loads(opsbook(d, "incident", "show", incident, "-f", "json"))
            return any(e["actor"] == "chatops" and e["kind"] == "action_run"
                       for e in doc["timeline"])  # fmt: skip

        d.wait_for(by_bot, "the run the API asked for")
        admin_only = httpx.post(f"http://127.0.0.1:{d.port}/api/v1/incidents/{incident}/actions/"
                                "restart-nginx", headers={"Authorization": f"Bearer {bot}"},
                                timeout=10)  # fmt: skip
        assert admin_only.status_code == 403
    finally:
        d.close()


def test_pages_say_the_store_is_unreachable_instead_of_failing(
    tmp_path: Path, pg_fresh: PostgresServer
) -> None:
    d = Daemon(tmp_path, CONFIG, store=pg_fresh.dsn())
    try:
        d.start()
        opsbook(d, "user", "add", "alice", "--role", "responder", "--password-stdin",
                stdin=PASSWORD)  # fmt: skip
        alice = sign_in(d, "alice")
        assert alice.get("/incidents").status_code == 200
        pg_fresh.stop()
        down = alice.get("/incidents")
        assert down.status_code == 503 and "cannot reach its store" in down.text
        assert "Traceback" not in down.text
        stranger = client_of(f"http://127.0.0.1:{d.port}")
        form = stranger.get("/login")
        assert form.status_code == 200  # the form itself needs no store
        fields = {"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORD}
        answer = stranger.post("/login", data=fields)
        assert answer.status_code == 503 and "Cannot sign in now" in answer.text
        pg_fresh.start()
        d.wait_for(lambda: alice.get("/incidents").status_code == 200, "the store back")
    finally:
        d.close()


def test_users_kept_in_opsbook_yaml_sign_in_and_go_when_removed_from_it(tmp_path: Path) -> None:
    made = subprocess.run([sys.executable, "-m", "opsbook", "user", "hash", "--password-stdin"],
                          input=PASSWORD, capture_output=True, text=True, check=True)  # fmt: skip
    digest = made.stdout.strip()
    assert digest.startswith("$argon2id$") and PASSWORD not in made.stdout
    kept = f'users:\n  carol: {{role: viewer, password_hash: "{digest}"}}\n'
    d = Daemon(tmp_path, CONFIG + kept)
    try:
        d.start()
        carol = sign_in(d, "carol")
        assert carol.get("/").status_code == 200
        refused = subprocess.run([sys.executable, "-m", "opsbook", "user", "passwd", "carol",
                                  "--password-stdin", "--config", str(d.config)], input="x" * 20,
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert refused.returncode == 3 and "defined in opsbook.yaml" in refused.stderr
        listed = json.loads(opsbook(d, "user", "list", "-f", "json"))["users"]
        assert [u["source"] for u in listed if u["name"] == "carol"] == ["opsbook.yaml"]
        d.config.write_text(d.config.read_text().replace(kept, ""))
        opsbook(d, "serve", "reload")
        d.wait_for(lambda: carol.get("/").status_code == 303, "carol's session to end")
        gone = client_of(f"http://127.0.0.1:{d.port}")
        form = gone.get("/login")
        fields = {"csrf": csrf_of(form.text), "name": "carol", "password": PASSWORD}
        assert gone.post("/login", data=fields).status_code == 401
    finally:
        d.close()


def test_a_password_in_place_of_a_hash_is_refused_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "opsbook.yaml"
    config.write_text("checks:\n  mem: {type: memory}\nusers:\n  carol: {password_hash: hunter2}\n")
    done = subprocess.run([sys.executable, "-m", "opsbook", "config", "validate", "--config",
                           str(config)], capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 3 and "users.carol.password_hash" in done.stderr
    assert "opsbook user hash" in done.stderr and "hunter2" not in done.stderr


def test_an_open_live_stream_ends_when_the_daemon_stops_without_an_error(
    console: Daemon,
) -> None:
    alice = sign_in(console, "alice")
    with alice.stream("GET", "/events", timeout=30) as events:
        lines = events.iter_lines()
        assert next(lines).startswith("retry:")
        assert console.stop() == 0  # SIGTERM: the stream is ended, not cancelled mid-send
        assert list(lines) == [] or all(not line.startswith("event:") for line in lines)
    assert "Traceback" not in console.logs()
    assert "Exception in ASGI application" not in console.logs()


def test_hostile_text_is_shown_escaped_in_the_page_and_its_rendered_report(
    console: Daemon,
) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    incident = opsbook(console, "incident", "open", "--sev", "3", "--title", evil).strip()
    opsbook(console, "incident", "note", incident, f"note {evil}")
    opsbook(console, "incident", "edit", incident, "--root-cause", f"rc {evil}")
    page = sign_in(console, "alice").get(f"/incidents/{incident}").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="rendered"' in page and "rc &lt;script&gt;" in page  # the report, escaped
