"""A real `opsbook serve` process for tests: start, query over HTTP, stop, kill -9, restart."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, select

from opsbook.store.tables import alerts, incidents, timeline
from tests.support.servers import free_port


class Daemon:
    def __init__(
        self, workdir: Path, config: str, *, store: str | None = None, server: str = ""
    ) -> None:
        """``server``: more keys of its server: section, e.g. ``failover: 4s``."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.store = store or f"sqlite:///{workdir / 'opsbook.db'}"
        self.config = workdir / "opsbook.yaml"
        extra = "".join(f"  {line}\n" for line in server.splitlines() if line.strip())
        head = (f"service: fraiseql\nstore: {self.store}\nserver:\n"
                f"  listen: 127.0.0.1:{self.port}\n{extra}")  # fmt: skip
        self.config.write_text(head + textwrap.dedent(config))
        self.log = workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._engine: Engine | None = None

    # ------------------------------------------------------------------ process

    def run(
        self, *args: str, user: str = "tester", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``opsbook ARGS --config`` this daemon's file, as ``user`` (OPSBOOK_USER)."""
        return subprocess.run(
            [sys.executable, "-m", "opsbook", *args, "--config", str(self.config)],
            capture_output=True, text=True, check=False, timeout=60, input=stdin,
            env={**os.environ, "OPSBOOK_USER": user},
        )  # fmt: skip

    def start(self, env: dict[str, str] | None = None, *, nofile: int | None = None) -> Daemon:
        """``nofile``: the daemon's RLIMIT_NOFILE, soft and hard (it cannot raise it)."""

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "opsbook", "serve", "--config", str(self.config)],
                stdout=log, stderr=log, cwd=self.workdir, env={**os.environ, **(env or {})},
                preexec_fn=limit if nofile is not None else None,  # noqa: PLW1509
            )  # fmt: skip
        self.wait_for(lambda: self.health() is not None, "the daemon to answer /health", 20)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
        if self._engine is not None:
            self._engine.dispose()

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # ------------------------------------------------------------------ HTTP

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def health(self) -> dict[str, Any] | None:
        try:
            _, body = self.get("/health")
        except OSError:
            return None
        return dict(json.loads(body))

    def metric(self, name: str, **labels: str) -> float | None:
        _, body = self.get("/metrics")
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return None

    def runs(self, check: str, status: str | None = None) -> float:
        """How many times a check has run (opsbook_check_runs_total), of one status or all."""
        _, body = self.get("/metrics")
        return sum(
            sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
            if sample.name == "opsbook_check_runs_total"
            and sample.labels.get("check") == check
            and status in (None, sample.labels.get("status"))
        )

    def wait_runs(
        self, check: str, more: int, status: str | None = None, timeout: float = 20
    ) -> None:
        """Until the check has run ``more`` more times: evaluations, not seconds, pass."""
        start = self.runs(check, status)
        self.wait_for(lambda: self.runs(check, status) >= start + more,
                      f"{more} more runs of {check}", timeout)  # fmt: skip

    # ------------------------------------------------------------------ store

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = self.store.replace("postgresql://", "postgresql+psycopg://", 1)
            self._engine = create_engine(url)
        return self._engine

    def incidents(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(incidents).order_by(incidents.c.opened_at)))

    def timeline(self, incident_id: str) -> list[Any]:
        with self.engine.connect() as conn:
            query = select(timeline).where(timeline.c.incident_id == incident_id)
            return list(conn.execute(query.order_by(timeline.c.id)))

    def alert(self, fingerprint: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(alerts).where(alerts.c.fingerprint == fingerprint)).first()

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = condition()
            except Exception:
                value = None
            if value:
                return value
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.logs()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; daemon log:\n{self.logs()[-4000:]}")
