"""A real Docker daemon (Debian's dockerd) on its own socket and data root, no bridge and no
iptables (the containers run with no network), and a busybox image made offline with
`docker import` from the static busybox (no registry is reachable)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

IMAGE = "opsbook-test/busybox:1"
APPLETS = ("sh", "sleep", "echo", "cat", "ls", "true", "false", "dd", "head", "touch", "rm",
           "test", "wget", "tail", "seq", "yes", "mkdir")  # fmt: skip


class DockerDaemon:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "docker.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> DockerDaemon:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        with (self.base / "dockerd.log").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [dockerd, "--data-root", str(self.base / "root"), "--exec-root",
                 str(self.base / "exec"), "--pidfile", str(self.base / "dockerd.pid"),
                 "-H", self.host, "--bridge=none", "--iptables=false", "--ip6tables=false"],
                stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while self.docker("info", check=False).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError((self.base / "dockerd.log").read_text()[-3000:])
            time.sleep(0.3)
        self._image()
        return self

    def _image(self) -> None:
        busybox = shutil.which("busybox") or "/bin/busybox"
        archive = self.base / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(busybox, arcname="bin/busybox")
            for applet in APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
            for directory in ("tmp", "dev/shm", "proc", "sys"):
                entry = tarfile.TarInfo(directory)
                entry.type, entry.mode = tarfile.DIRTYPE, 0o1777
                tar.addfile(entry)
        with archive.open("rb") as data:
            subprocess.run([self._cli(), "import", "-", IMAGE], stdin=data, env=self.env,
                           check=True, capture_output=True, timeout=60)  # fmt: skip

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def _cli(self) -> str:
        return shutil.which("docker") or "/usr/bin/docker"

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self._cli(), *args], env=self.env, capture_output=True,
                              text=True, check=check, timeout=60)  # fmt: skip

    def run(self, name: str, *command: str, options: tuple[str, ...] = (),
            labels: dict[str, str] | None = None) -> str:  # fmt: skip
        flags = [f"--label={k}={v}" for k, v in (labels or {}).items()]
        out = self.docker("run", "-d", "--name", name, "--network", "none", *flags, *options,
                          IMAGE, *command)  # fmt: skip
        return out.stdout.strip()

    def inspect(self, name: str) -> Any:
        import json

        return json.loads(self.docker("inspect", name).stdout)[0]

    def stop(self) -> None:
        if self.proc is None:
            return
        self.docker("rm", "-f", *self.docker("ps", "-aq").stdout.split(), check=False)
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.base / "root", ignore_errors=True)
