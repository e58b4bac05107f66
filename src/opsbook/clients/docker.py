"""The Docker Engine API over its unix socket (Podman's compatible socket too): the few calls
the container check, `opsbook logs --container` and incident evidence need. http.client on
an AF_UNIX socket: no Docker SDK, no extra dependency; errors become DockerError here."""

from __future__ import annotations

import http.client
import json
import socket
import struct
from typing import Any
from urllib.parse import quote, urlencode

from opsbook.errors import DockerError

DEFAULT_SOCKET = "/var/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


class Docker:
    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _get(self, path: str, query: dict[str, str] | None = None) -> bytes:
        url = path + ("?" + urlencode(query) if query else "")
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", url, headers={"Host": "docker"})
            response = conn.getresponse()
            body = response.read()
        except FileNotFoundError:
            raise DockerError(f"no Docker socket at {self.socket_path} (is the daemon running?)"
                              ) from None  # fmt: skip
        except PermissionError:
            raise DockerError(f"{self.socket_path}: permission denied (add the user to the "
                              "docker group, or give the Podman socket)") from None  # fmt: skip
        except (OSError, http.client.HTTPException) as exc:
            raise DockerError(f"{self.socket_path}: {exc}") from None
        finally:
            conn.close()
        if response.status >= 400:
            message = _message(body) or f"HTTP {response.status}"
            raise DockerError(message, response.status)
        return body

    def _json(self, path: str, query: dict[str, str] | None = None) -> Any:
        try:
            return json.loads(self._get(path, query))
        except ValueError:
            raise DockerError(f"{path}: the Docker API answered something not JSON") from None

    def containers(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        """Every container (running or not) matching the filters (name, label…)."""
        found: list[dict[str, Any]] = self._json(
            "/containers/json", {"all": "1", "filters": json.dumps(filters)}
        )
        return found

    def inspect(self, ref: str) -> dict[str, Any]:
        found: dict[str, Any] = self._json(f"/containers/{quote(ref)}/json")
        return found

    def stats(self, ref: str) -> dict[str, Any]:
        """One sample, with the previous one in it (CPU is a difference of the two)."""
        found: dict[str, Any] = self._json(f"/containers/{quote(ref)}/stats", {"stream": "0"})
        return found

    def logs(self, ref: str, *, tail: int | None = 100, since: int | None = None,
             tty: bool = False) -> list[tuple[str, str]]:  # fmt: skip
        """(stream, line) of the container's last lines (``tail=None``: all of them): stdout
        and stderr, in order."""
        query = {"stdout": "1", "stderr": "1", "tail": "all" if tail is None else str(tail),
                 "timestamps": "0"}  # fmt: skip
        if since is not None:
            query["since"] = str(since)
        raw = self._get(f"/containers/{quote(ref)}/logs", query)
        if tty:  # one raw stream, no frames
            return [("stdout", line) for line in raw.decode("utf-8", "replace").splitlines()]
        return list(_frames(raw))


def _frames(raw: bytes) -> list[tuple[str, str]]:
    """The multiplexed stream: an 8-byte header (stream, 0, 0, 0, size) before each frame."""
    out: list[tuple[str, str]] = []
    pending = {"stdout": "", "stderr": ""}
    at = 0
    while at + 8 <= len(raw):
        kind, size = raw[at], struct.unpack(">I", raw[at + 4 : at + 8])[0]
        name = "stderr" if kind == 2 else "stdout"
        text = pending[name] + raw[at + 8 : at + 8 + size].decode("utf-8", "replace")
        *lines, pending[name] = text.split("\n")
        out += [(name, line) for line in lines]
        at += 8 + size
    out += [(name, rest) for name, rest in pending.items() if rest]
    return out


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")[:200]
