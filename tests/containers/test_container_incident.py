"""A container that stops opens an incident with its last log lines as evidence (secrets
masked); the suggested action starts it again from the incident, and the timeline says so."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.daemon import Daemon
from tests.support.docker import DockerDaemon

SECRET = "pw-Container-77"


def test_a_stopped_container_is_restarted_from_its_incident(
    docker: DockerDaemon, tmp_path: Path
) -> None:
    name = f"fraiseql-{uuid.uuid4().hex[:6]}"
    db = f"postgresql://app:{SECRET}@127.0.0.1:1/app"
    docker.run(name, "sh", "-c", f"echo 'connecting to {db}'; echo ready; sleep 600")
    d = Daemon(
        tmp_path,
        f"""
actions:
  restart-app:
    description: the runbook's docker-compose restart fraiseql
    command: [docker, restart, "{name}"]
    env: {{DOCKER_HOST: "{docker.host}"}}
    suggest_for: [app]
checks:
  app: {{type: container, name: {name}, socket: {docker.socket}, interval: 1s, for: 0s,
         severity: SEV-2}}
  pg: {{type: postgres, dsn: "{db}", interval: 1h, severity: SEV-4}}
""",
    )
    try:
        d.start()
        d.wait_for(lambda: d.runs("app", "OK"), "the app seen running", 20)
        docker.docker("stop", "-t", "0", name)
        [incident] = d.wait_for(lambda: [i for i in d.incidents() if i.title.startswith("app")],
                                "the app's incident", 30)  # fmt: skip
        fired = next(e for e in d.timeline(incident.id) if e.kind == "alert")
        evidence = fired.data["evidence"]["containers"]["containers"][0]
        assert evidence["name"] == name and evidence["status"] == "exited"
        assert "ready" in evidence["logs"]
        assert any("connecting to postgresql://app:***@" in line for line in evidence["logs"])
        assert SECRET not in str(fired.data)
        ran = subprocess.run([sys.executable, "-m", "opsbook", "incident", "act", incident.id,
                              "restart-app", "--yes", "--config", str(d.config)],
                             capture_output=True, text=True, timeout=60, check=False,
                             env={**os.environ, "OPSBOOK_USER": "alice"})  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert docker.inspect(name)["State"]["Running"]
        done = [e.body for e in d.timeline(incident.id) if e.kind == "action_run"]
        assert done[0].startswith(f"alice runs restart-app: docker restart {name}")
        assert done[1].startswith("restart-app OK (exit 0)")
        d.wait_for(lambda: d.alert("check:app").state == "inactive", "the app OK again", 30)
    finally:
        d.close()
