"""The container check against a real Docker daemon: stopped, unhealthy, restarting in a
loop, OOM-killed, a compose-style project below its declared replicas, and a healthy one."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from tests.conftest import CliResult
from tests.support.docker import DockerDaemon


def _check(cli: CliResult, tmp_path: Path, checks: str) -> dict[str, dict[str, object]]:
    path = tmp_path / "opsbook.yaml"
    path.write_text(f"checks:\n{checks}")
    out = cli("check", "-f", "json", "--config", str(path)).out
    return {c["name"]: c for c in json.loads(out)["checks"]}


def test_each_way_a_container_goes_wrong_is_reported(
    docker: DockerDaemon, tmp_path: Path, cli: CliResult
) -> None:
    p = uuid.uuid4().hex[:6]
    docker.run(
        f"web-{p}",
        "sleep",
        "300",
        options=("--health-cmd", "true", "--health-interval", "1s", "-m", "64m"),
    )
    docker.run(
        f"sick-{p}",
        "sleep",
        "300",
        options=(
            "--health-cmd",
            "echo db unreachable; false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ),
    )
    docker.run(f"loop-{p}", "sh", "-c", "echo starting; exit 3", options=("--restart", "always"))
    docker.run(
        f"oom-{p}",
        "dd",
        "if=/dev/zero",
        "of=/dev/shm/fill",
        "bs=1M",
        "count=64",
        options=("-m", "8m", "--memory-swap", "8m", "--shm-size", "128m"),
    )
    docker.run(f"done-{p}", "sh", "-c", "exit 0")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = docker.inspect(f"sick-{p}")["State"].get("Health", {}).get("Status")
        restarts = docker.inspect(f"loop-{p}")["RestartCount"]
        if (
            health == "unhealthy"
            and restarts >= 3
            and docker.inspect(f"web-{p}")["State"]["Health"]["Status"] == "healthy"
            and not docker.inspect(f"oom-{p}")["State"]["Running"]
        ):
            break
        time.sleep(0.3)
    sock = docker.socket
    found = _check(
        cli,
        tmp_path,
        "".join(
            f"  {n}: {{type: container, name: {n}-{p}, socket: {sock}}}\n"
            for n in ("web", "sick", "loop", "oom", "done", "gone")
        ),
    )
    assert found["web"]["status"] == "OK", found["web"]
    assert f"web-{p} up" in str(found["web"]["message"])
    assert "of 64.0 MiB" in str(found["web"]["message"])
    assert found["sick"]["status"] == "CRITICAL"
    assert "unhealthy: db unreachable" in str(found["sick"]["message"])
    assert found["loop"]["status"] == "CRITICAL"
    assert "restarting in a loop" in str(found["loop"]["message"])
    assert found["oom"]["status"] == "CRITICAL"
    oom = str(found["oom"]["message"])
    # the kernel killed it; whether Docker caught the cgroup's OOM event decides which is said
    said = "(OOM-killed)" if docker.inspect(f"oom-{p}")["State"]["OOMKilled"] else "SIGKILL"
    assert "exited (exit 137" in oom and said in oom, oom
    assert found["done"]["status"] == "CRITICAL" and "exited (exit 0)" in str(
        found["done"]["message"]
    )
    assert found["gone"]["status"] == "CRITICAL"
    assert str(found["gone"]["message"]).startswith(f"no container gone-{p}")


def test_a_compose_project_below_its_declared_replicas(
    docker: DockerDaemon, tmp_path: Path, cli: CliResult
) -> None:
    p = f"shop{uuid.uuid4().hex[:6]}"
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  api:\n    deploy: {replicas: 2}\n  worker: {}\n")
    labels = {"com.docker.compose.project": p, "com.docker.compose.service": "api"}
    docker.run(f"{p}-api-1", "sleep", "300", labels=labels)
    found = _check(cli, tmp_path,
                   f"  shop: {{type: container, project: {p}, compose_file: {compose}, "
                   f"socket: {docker.socket}}}\n")  # fmt: skip
    assert found["shop"]["status"] == "CRITICAL"
    message = str(found["shop"]["message"])
    assert (
        "api: 1 of 2 replicas running" in message and "worker: 0 of 1 replicas running" in message
    )
    docker.run(f"{p}-api-2", "sleep", "300", labels=labels)
    docker.run(
        f"{p}-worker-1", "sleep", "300", labels={**labels, "com.docker.compose.service": "worker"}
    )
    found = _check(cli, tmp_path,
                   f"  shop: {{type: container, project: {p}, compose_file: {compose}, "
                   f"socket: {docker.socket}}}\n")  # fmt: skip
    assert found["shop"]["status"] == "OK", found["shop"]["message"]
    assert str(found["shop"]["message"]).startswith("3 of 3 running")


def test_no_socket_is_one_clear_unknown(tmp_path: Path, cli: CliResult) -> None:
    found = _check(
        cli, tmp_path, f"  web: {{type: container, name: web, socket: {tmp_path / 'none.sock'}}}\n"
    )
    assert found["web"]["status"] == "UNKNOWN"
    assert "no Docker socket at" in str(found["web"]["message"])


def test_opsbook_logs_reads_a_container_s_stream(
    docker: DockerDaemon, tmp_path: Path, cli: CliResult
) -> None:
    name = f"nginx-{uuid.uuid4().hex[:6]}"
    access = [f'10.0.0.{i} - - [03/Dec/2026:01:0{i}:00 +0000] "GET /api/orders HTTP/1.1" '
              f'{500 if i == 3 else 200} 512 "-" "curl/8.0"' for i in range(5)]  # fmt: skip
    error = "2026/12/03 01:03:00 [error] 7#7: *3 upstream timed out while reading response header"
    script = "; ".join([f"echo '{line}'" for line in access] + [f"echo '{error}' >&2"])
    docker.run(name, "sh", "-c", script + "; sleep 300")
    deadline = time.monotonic() + 20  # until the container has written its lines
    while "upstream timed out" not in docker.docker("logs", name).stderr:
        assert time.monotonic() < deadline, "the container wrote no logs"
        time.sleep(0.1)
    path = tmp_path / "opsbook.yaml"
    path.write_text("checks:\n  mem: {type: memory}\n")
    report = cli("logs", "access", "--container", name, "--docker-socket", str(docker.socket),
                 "-f", "json", "--config", str(path))  # fmt: skip
    assert report.code == 0, report.err
    doc = json.loads(report.out)
    assert doc["requests"] == 5 and doc["status_codes"]["500"] == 1
    errors = cli("logs", "errors", "--container", name, "--docker-socket", str(docker.socket),
                 "-f", "json", "--config", str(path))  # fmt: skip
    assert "upstream timed out" in errors.out
    missing = cli("logs", "access", "--container", "nope", "--docker-socket",
                  str(docker.socket), "--config", str(path))  # fmt: skip
    assert missing.code == 1 and "No such container: nope" in missing.err


def test_init_proposes_containment_for_the_compose_project_it_finds(
    docker: DockerDaemon, tmp_path: Path
) -> None:
    from opsbook import aio
    from opsbook.config.loader import parse_config
    from opsbook.setup.discover import discover
    from opsbook.setup.template import render
    from tests.support.servers import closed_port

    p = f"fr{uuid.uuid4().hex[:6]}"
    for service in ("db", "fraiseql"):
        docker.run(
            f"{p}-{service}-1",
            "sleep",
            "300",
            labels={"com.docker.compose.project": p, "com.docker.compose.service": service},
        )
    found = aio.run(discover(postgres_port=closed_port(), redis_port=closed_port(),
                             app_ports=(closed_port(),), docker_socket=str(docker.socket),
                             unit_dir=str(tmp_path / "none")))  # fmt: skip
    assert found.compose[p] == ("db", "fraiseql")
    text = render(found, service="svc", host="test")
    config = parse_config(text, "opsbook.yaml", env={}).config
    assert {"restart-db", "restart-fraiseql", "scale-fraiseql"} <= set(config.actions)
    assert config.actions["restart-fraiseql"].argv == ["docker", "compose", "-p", p, "restart",
                                                        "fraiseql"]  # fmt: skip
    assert config.actions["restart-fraiseql"].suggest_for == (f"{p}-containers",)
    assert config.checks[f"{p}-containers"].project == p  # type: ignore[attr-defined]
    assert f"  # rollback-fraiseql: {{command: [docker, compose, -p, {p}" in text
