"""Running PostgreSQL's own tools (pg_dump, pg_dumpall, pg_restore) safely.

The password never goes on a command line (``ps`` shows those to every user): the DSN is
split by ``clients.postgres.for_child`` into a password-free connection string and
``PGPASSWORD`` in the child's environment. The binary is the one matching the server's major
version where Debian's layout has it (``/usr/lib/postgresql/<major>/bin``), else the newest
installed, else ``$PATH``'s, and a pg_dump older than the server is refused before anything
starts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from opsbook.errors import BackupError
from opsbook.secrets import Redactor

DEBIAN_ROOT = Path("/usr/lib/postgresql")
_VERSION = re.compile(r"\)\s*(\d+)")  # "pg_dump (PostgreSQL) 15.18 (Debian …)" -> 15


def tool(name: str, server_major: int | None = None) -> Path:
    """The pg_dump / pg_restore / pg_dumpall to use with a server of this major version."""
    candidates: list[Path] = []
    if server_major is not None:
        candidates.append(DEBIAN_ROOT / str(server_major) / "bin" / name)
    if DEBIAN_ROOT.is_dir():
        versions = sorted(
            (int(p.name) for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()), reverse=True
        )
        candidates += [DEBIAN_ROOT / str(v) / "bin" / name for v in versions]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise BackupError(
        f"{name} not found: install the PostgreSQL client (Debian: apt-get install "
        f"postgresql-client{'-' + str(server_major) if server_major else ''})"
    )


def tool_version(path: Path) -> tuple[str, int]:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
    text = out.stdout.strip() or out.stderr.strip()
    match = _VERSION.search(text)
    if match is None:
        raise BackupError(f"cannot tell the version of {path}: {text!r}")
    return text, int(match.group(1))


def dump_tool(name: str, server_major: int) -> tuple[Path, str]:
    path = tool(name, server_major)
    text, major = tool_version(path)
    if major < server_major:
        raise BackupError(
            f"{path} is version {major} but the server is {server_major}: pg_dump must be at "
            f"least the server's version (install postgresql-client-{server_major})"
        )
    return path, text


class StderrTail:
    """Collects a child's stderr in a thread (so its pipe never fills), keeping the end."""

    def __init__(self, stream: IO[bytes], on_line: Callable[[str], None] | None = None) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._on_line = on_line
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._stream:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode(errors="replace").rstrip()
                if self._on_line is not None:
                    self._on_line(line)
                self.lines.append(line)
                del self.lines[:-50]

    def text(self, redact: Redactor) -> str:
        self._thread.join(timeout=5)
        useful = [ln for ln in self.lines if ln.strip()]
        errors = [ln for ln in useful if "error" in ln.lower() or "fatal" in ln.lower()]
        return redact(" / ".join((errors or useful)[-3:]))
