"""The ``container`` check's keys: which containers (a name, a compose project and service,
or a label), through which Engine API socket, and what counts as trouble."""

from __future__ import annotations

import msgspec

from opsbook.config.checks import CheckBase
from opsbook.config.types import Duration, Percent
from opsbook.results import CheckKind

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"


class ContainerCheck(CheckBase, frozen=True, kw_only=True, tag="container"):
    """The runbook's `docker-compose ps` and `docker stats --no-stream`, as a check."""

    kind = CheckKind.CONTAINER
    connectivity = True  # a container down is the service down
    socket: str = "/var/run/docker.sock"  # Podman: /run/podman/podman.sock
    name: str | None = None
    project: str | None = None  # a compose project: every service, or only `service`
    service: str | None = None
    label: str | None = None  # key=value
    # declared replicas per service (default: compose_file's deploy.replicas, else 1)
    replicas: dict[str, int] = msgspec.field(default_factory=dict)
    compose_file: str | None = None  # where declared replicas are read (deploy.replicas)
    memory_warning: Percent = Percent(80)  # of the container's memory limit
    memory_critical: Percent = Percent(95)
    cpu_warning: Percent | None = Percent(90)  # of its CPU limit (of the host's without one)
    timeout: Duration = Duration(10.0)  # a stats sample takes the daemon about a second
    restarts: int = 3  # this many restarts within `window`: restarting in a loop (CRITICAL)
    window: Duration = Duration(600.0)

    def __post_init__(self) -> None:
        self._base_checks()
        chosen = [k for k in ("name", "project", "label") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError("give one of name:, project: (with service: or not), label:")
        if self.service and not self.project:
            raise ValueError("service: goes with project:")
        if self.label and "=" not in self.label:
            raise ValueError(f"label: expected key=value, got {self.label!r}")
        if (self.replicas or self.compose_file) and not self.project:
            raise ValueError("replicas: and compose_file: go with project:")
        self._rising(self.memory_warning, self.memory_critical, "memory")
        if self.restarts < 1:
            raise ValueError("restarts: expected 1 or more")

    def filters(self) -> dict[str, list[str]]:
        if self.name:
            return {"name": [f"^/{self.name}$"]}
        if self.label:
            return {"label": [self.label]}
        labels = [f"{COMPOSE_PROJECT}={self.project}"]
        if self.service:
            labels.append(f"{COMPOSE_SERVICE}={self.service}")
        return {"label": labels}

    def describe(self) -> str:
        if self.name:
            return f"container {self.name}"
        if self.label:
            return f"containers labelled {self.label}"
        return f"compose {self.project}" + (f"/{self.service}" if self.service else "")
