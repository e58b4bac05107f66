"""Two and three real `opsbook serve` on one PostgreSQL store: one leads; kill -9, SIGSTOP and
a clean stop of the leader hand the escalation to another, every level paged exactly once."""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from opsbook.errors import StoreError
from tests.support.daemon import Daemon
from tests.support.receivers import SmtpReceiver
from tests.support.servers import PostgresServer

TOKEN = "intake-token-0123456789abcdef"
LADDER = ["alice@example.com", "carol@example.com", "erin@example.com", "frank@example.com"]


def config(smtp: SmtpReceiver, after: str) -> str:
    return f"""
intake:
  token: {TOKEN}
people:
  alice: {{email: alice@example.com}}
  carol: {{email: carol@example.com}}
  erin: {{email: erin@example.com}}
  frank: {{email: frank@example.com}}
schedules:
  primary: {{timezone: UTC, rotation: daily, handoff: "00:00", members: [alice]}}
stakeholders:
  management: [carol]
  executives: [erin]
  crisis: [frank]
escalation:
  - {{who: [primary], after: {after}}}
  - {{who: [management], after: {after}}}
  - {{who: [executives], after: {after}}}
  - {{who: [crisis], after: {after}}}
paging:
  max_repeats: 0
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp.port}, starttls: false, from: ops@example.com}}
checks:
  mem: {{type: memory, interval: 60s}}
"""


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.stop()


@pytest.fixture
def deployment(tmp_path: Path, pg_fresh: PostgresServer, smtp: SmtpReceiver
               ) -> Iterator[Callable[..., list[Daemon]]]:  # fmt: skip
    made: list[Daemon] = []

    def start(n: int, after: str = "3s") -> list[Daemon]:
        for i in range(n):
            d = Daemon(tmp_path / f"i{i}", config(smtp, after), store=pg_fresh.dsn(),
                       server=f"instance: opsbook-{'abc'[i]}\nfailover: 4s")  # fmt: skip
            made.append(d)
            d.start()
        return made

    yield start
    for d in made:
        d.close()


def wait(what: str, condition: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def role(d: Daemon) -> str | None:
    health = d.health() if d.proc is not None else None
    return None if health is None else str(health["role"])


def leader_of(daemons: list[Daemon]) -> Daemon:
    leading = wait("one leader", lambda: [d for d in daemons if role(d) == "leader"])
    assert len(leading) == 1, [role(d) for d in daemons]
    return leading[0]


def opsbook(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return d.run(*args)


def paged(smtp: SmtpReceiver, incident: str = "INC-") -> dict[str, int]:
    """Pages of the incident (not stakeholder updates) per person, each delivery by its
    idempotency key: a page sent twice arrives twice with the same key."""
    keys = {who: [str(m["X-Opsbook-Delivery"]) for m in smtp.to(who)] for who in LADDER}
    return {who: sum(k.startswith(incident) and ":page:" in k for k in found)
            for who, found in keys.items()}  # fmt: skip


def test_exactly_one_of_three_leads_and_cluster_status_says_which(
    deployment: Callable[..., list[Daemon]],
) -> None:
    daemons = deployment(3)
    leader = leader_of(daemons)
    time.sleep(1.5)  # a few rounds of everyone trying
    assert [role(d) for d in daemons].count("leader") == 1
    assert leader.metric("opsbook_leader", instance=leader.health()["instance"]) == 1  # type: ignore[index]
    follower = next(d for d in daemons if d is not leader)
    assert follower.health()["leader"] == leader.health()["instance"]  # type: ignore[index]
    shown = opsbook(follower, "cluster", "status", "-f", "json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["leader"]["instance"] == leader.health()["instance"]  # type: ignore[index]
    assert sorted(m["state"] for m in status["members"]) == ["follower", "follower", "leader"]
    table = opsbook(follower, "cluster", "status")
    assert "leader: opsbook-" in table.stdout and "follower" in table.stdout


@pytest.mark.parametrize("fault", ["kill -9", "SIGSTOP", "SIGTERM", "pg_terminate_backend"])
def test_the_escalation_goes_on_from_another_instance_each_level_paged_once(
    deployment: Callable[..., list[Daemon]], smtp: SmtpReceiver, fault: str,
    pg_fresh: PostgresServer,
) -> None:  # fmt: skip
    daemons = deployment(2, after="4s")
    leader = leader_of(daemons)
    other = next(d for d in daemons if d is not leader)
    opened = opsbook(other, "incident", "open", "--sev", "1", "--title", "checkout returns 502")
    assert opened.returncode == 0, opened.stderr
    first = opened.stdout.strip()
    name = leader.health()["instance"]  # type: ignore[index]
    wait("alice paged", lambda: smtp.to("alice@example.com"))
    assert leader.proc is not None
    if fault == "kill -9":
        leader.kill9()
    elif fault == "SIGSTOP":
        leader.proc.send_signal(signal.SIGSTOP)
    elif fault == "SIGTERM":
        assert leader.stop() == 0
    else:  # every store connection of both instances cut by the server
        pg_fresh.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    if fault == "pg_terminate_backend":  # both reconnect: whichever leads, the ladder goes on
        wait("every level paged", lambda: all(paged(smtp, first).values()), timeout=40)
        time.sleep(2)
        assert paged(smtp, first) == dict.fromkeys(LADDER, 1)
        assert [role(d) for d in daemons].count("leader") == 1
        return
    wait("the other instance to lead", lambda: role(other) == "leader", timeout=20)
    wait("every level paged", lambda: all(paged(smtp, first).values()), timeout=40)
    if fault == "SIGSTOP":
        leader.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
        wait("the old leader to follow", lambda: role(leader) == "follower", timeout=20)
        assert role(other) == "leader"
    time.sleep(2)  # anything doubled would arrive now
    assert paged(smtp, first) == dict.fromkeys(LADDER, 1)
    keys = [str(m["X-Opsbook-Delivery"]) for who in LADDER for m in smtp.to(who)]
    assert len(keys) == len(set(keys)), keys  # stakeholder updates were not doubled either
    incident = next(i for i in other.incidents() if i.id == first)
    assert incident.severity == 1
    took = [e.body for e in other.timeline(first) if "took over from" in e.body]
    assert took == [f"opsbook instance {other.health()['instance']} took over from {name} "  # type: ignore[index]
                    f"(lease token 2): checks, alerts and paging go on from here"]  # fmt: skip
    if fault == "kill -9":  # the deployment lost its spare: an alert, not a page at 3 a.m.
        gone = wait("the gone instance's alert", lambda: other.alert(
            f"opsbook:instance:{name}"), timeout=30)  # fmt: skip
        assert gone.state == "firing" and gone.severity == 3


def test_a_second_daemon_on_a_sqlite_store_is_refused_in_one_line(tmp_path: Path) -> None:
    first = Daemon(tmp_path / "a", "checks:\n  mem: {type: memory}\n",
                   store=f"sqlite:///{tmp_path / 'shared.db'}")  # fmt: skip
    second = Daemon(tmp_path / "b", "checks:\n  mem: {type: memory}\n",
                    store=f"sqlite:///{tmp_path / 'shared.db'}")  # fmt: skip
    try:
        first.start()
        proc = subprocess.run(
            [sys.executable, "-m", "opsbook", "serve", "--config", str(second.config)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "another opsbook serve" in lines[0], proc.stderr
        assert "SQLite serves one instance" in lines[0] and "docs/ha.md" in lines[0]
        assert first.health()["role"] == "leader"  # type: ignore[index]
    finally:
        first.close()


def test_alerts_posted_to_a_follower_open_one_incident_through_the_leader(
    deployment: Callable[..., list[Daemon]],
) -> None:
    from tests.daemon.test_intake import am_payload, post

    daemons = deployment(2)
    leader = leader_of(daemons)
    follower = next(d for d in daemons if d is not leader)
    payload = am_payload()
    code, _ = post(follower, "/api/v1/intake/alertmanager", payload, token=TOKEN)
    assert code == 200  # stored at once: the sender need not retry
    assert post(leader, "/api/v1/intake/alertmanager", payload, token=TOKEN)[0] == 200
    [incident] = wait("the incident", leader.incidents)
    time.sleep(2)  # the relayed copy is processed by now, and changed nothing
    assert [i.id for i in leader.incidents()] == [incident.id]
    with leader.engine.connect() as conn:
        from sqlalchemy import func, select

        from opsbook.store.tables import intake_queue

        assert conn.execute(select(func.count()).select_from(intake_queue)).scalar_one() == 0


def test_the_store_gone_for_20_s_mid_escalation_pages_nobody_twice(
    deployment: Callable[..., list[Daemon]], smtp: SmtpReceiver, pg_fresh: PostgresServer
) -> None:
    daemons = deployment(2, after="4s")
    leader = leader_of(daemons)
    opened = opsbook(leader, "incident", "open", "--sev", "1", "--title", "checkout returns 502")
    assert opened.returncode == 0, opened.stderr
    first = opened.stdout.strip()
    wait("alice paged", lambda: smtp.to("alice@example.com"))
    pg_fresh.stop()  # every instance cut off from the store: a partition from it
    time.sleep(20)
    pg_fresh.start()
    wait("every level paged", lambda: all(paged(smtp, first).values()), timeout=60)
    wait("one leader again", lambda: [role(d) for d in daemons].count("leader") == 1)
    time.sleep(2)
    assert paged(smtp, first) == dict.fromkeys(LADDER, 1)
    assert [role(d) for d in daemons].count("leader") == 1


def test_a_scheduled_backup_runs_once_across_instances_and_goes_on_after_failover(
    tmp_path: Path, pg_fresh: PostgresServer
) -> None:
    from sqlalchemy import select

    from opsbook.store.tables import backup_events

    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "app.env").write_text("WORKERS=4\n")
    text = f"""
backups:
  repositories:
    local: {{type: filesystem, path: {tmp_path / "repo"}}}
  encryption: none
  sources:
    config: {{type: files, paths: [{etc}], schedule: '* * * * * */2'}}
"""
    daemons = [Daemon(tmp_path / f"i{i}", text, store=pg_fresh.dsn(),
                      server=f"instance: backup-{i}\nfailover: 4s") for i in (0, 1)]  # fmt: skip
    try:
        for d in daemons:
            d.start()
        leader = leader_of(daemons)
        other = next(d for d in daemons if d is not leader)
        time.sleep(5)
        leader.kill9()
        killed_at = time.time()
        wait("the other to lead", lambda: role(other) == "leader", timeout=20)
        time.sleep(6)
        with other.engine.connect() as conn:
            runs = conn.execute(
                select(backup_events.c.started_at, backup_events.c.actor)
                .where(backup_events.c.kind == "backup", backup_events.c.ok.is_(True))
                .order_by(backup_events.c.started_at)
            ).all()
    finally:
        for d in daemons:
            d.close()
    starts = [r.started_at.timestamp() for r in runs]
    assert len(starts) >= 4, runs
    assert any(t > killed_at for t in starts)  # the new leader took the schedule over
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) > 1.0, runs  # no slot backed up twice (every 2 s, one instance at a time)


def test_a_store_upgraded_past_this_opsbook_is_led_by_nobody_until_it_matches(
    deployment: Callable[..., list[Daemon]], pg_fresh: PostgresServer
) -> None:
    daemons = deployment(2)
    leader_of(daemons)
    from opsbook.store.migrate import HEAD

    pg_fresh.psql("UPDATE alembic_version SET version_num = '9999'")  # a newer opsbook's
    wait("nobody leading", lambda: all(role(d) == "follower" for d in daemons), timeout=20)
    health = daemons[0].health()
    assert health is not None and health["status"] == "degraded"
    assert any("schema is revision 9999" in p for p in health["problems"]), health
    import psycopg

    with psycopg.connect(pg_fresh.dsn(), autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (HEAD,))
    leader_of(daemons)


def test_host_checks_run_on_every_instance_and_remote_ones_on_the_leader_only(
    tmp_path: Path, pg_fresh: PostgresServer
) -> None:
    from sqlalchemy import func, select

    from opsbook.store.tables import check_results

    text = """
checks:
  full: {type: disk, path: /, warning: 1%, critical: 2%, interval: 1s, for: 0s}
  remote: {type: tcp, host: "127.0.0.1:9", interval: 1s, for: 0s}
"""
    daemons = [Daemon(tmp_path / f"i{i}", text, store=pg_fresh.dsn(),
                      server=f"instance: host-{i}\nfailover: 4s") for i in (0, 1)]  # fmt: skip
    try:
        for d in daemons:
            d.start()
        leader = leader_of(daemons)
        both = {"check:full@host-0", "check:full@host-1"}
        firing = lambda fp: (a := leader.alert(fp)) is not None and a.state == "firing"  # noqa: E731
        wait("a disk alert per host", lambda: all(firing(fp) for fp in both))
        wait("the remote check's alert", lambda: leader.alert("check:remote"))
        with leader.engine.connect() as conn:
            name = check_results.c.check_name
            names = dict(conn.execute(select(name, func.count()).group_by(name)).all())  # type: ignore[arg-type]
        titles = sorted(i.title.split(":")[0] for i in leader.incidents())
    finally:
        for d in daemons:
            d.close()
    assert set(names) == {"full@host-0", "full@host-1", "remote"}, names
    assert titles == ["full@host-0", "full@host-1", "remote"]  # one incident each, not doubled


def test_a_pending_timer_resumes_on_the_new_leader_where_the_store_says(
    tmp_path: Path, pg_fresh: PostgresServer
) -> None:
    text = """
checks:
  remote: {type: tcp, host: "127.0.0.1:9", interval: 1s, for: 10s, watch: false}
"""
    daemons = [Daemon(tmp_path / f"i{i}", text, store=pg_fresh.dsn(),
                      server=f"instance: t-{i}\nfailover: 4s") for i in (0, 1)]  # fmt: skip
    try:
        for d in daemons:
            d.start()
        leader = leader_of(daemons)
        other = next(d for d in daemons if d is not leader)
        pending = wait("the alert pending", lambda: (a := leader.alert("check:remote")) is not None
                       and a.state == "pending" and a)  # fmt: skip
        time.sleep(6)  # 6 of its 10 s pending: the new leader must not start them again
        leader.kill9()
        fired = wait("the alert firing", lambda: (a := other.alert("check:remote")) is not None
                     and a.state == "firing" and a, timeout=30)  # fmt: skip
    finally:
        for d in daemons:
            d.close()
    assert fired.pending_since == pending.pending_since  # the same episode, carried over
    # its 10 s counted from when it began: a timer started afresh at the takeover would fire
    # 16 s or more after the first failure
    assert (fired.firing_since - pending.pending_since).total_seconds() < 14.5


def test_a_leader_frozen_while_renewing_its_lease_cannot_keep_it(
    pg_fresh: PostgresServer,
) -> None:
    # SIGSTOP, a VM pause or a stalled disk can freeze the leader inside its renewal, with
    # the lease row locked FOR UPDATE and its connection alive: the server must end that
    # session, or no other instance can ever take the lease (and nobody is paged).
    from opsbook.cluster.lease import claim
    from opsbook.store.engine import make_engine
    from opsbook.store.open import open_store

    ttl = 2.0
    store = open_store(pg_fresh.dsn())
    assert claim(store.engine, "a", ttl)[0] is not None
    frozen, thaw = threading.Event(), threading.Event()
    engine_a = make_engine(pg_fresh.dsn())

    @event.listens_for(engine_a, "after_cursor_execute")
    def _freeze(*args: object) -> None:
        if "FOR UPDATE" in str(args[2]):  # the row locked; then nothing more is sent
            frozen.set()
            thaw.wait(60)

    def renew() -> None:
        with contextlib.suppress(StoreError):  # its session ended under it
            claim(engine_a, "a", ttl)

    renewal = threading.Thread(target=renew)
    renewal.start()
    try:
        assert frozen.wait(10)
        took = None
        deadline = time.monotonic() + 20
        while took is None and time.monotonic() < deadline:
            with contextlib.suppress(StoreError):  # lock_timeout: the next round
                took = claim(store.engine, "b", ttl)[0]
            time.sleep(0.2)
        assert took is not None and took.taken_from == "a"
    finally:
        thaw.set()
        renewal.join(30)
        engine_a.dispose()
        store.engine.dispose()
