"""pgBackRest, run as the cluster's OS user (it must read the data directory and write the
repository as that user): directly when opsbook already is that user, through ``runuser``
when opsbook runs as root. Its errors become one BackupError line: pgBackRest's own
``ERROR: [code]: message``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Sequence

from opsbook.backups.pgbackrest.conf import Layout
from opsbook.errors import BackupError

_ERROR = re.compile(r"ERROR: \[(\d+)\]: (.*)")


def as_user(user: str) -> list[str]:
    """The prefix that runs a program as ``user``."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        raise BackupError(f"no OS user {user!r} (os_user: the cluster's)") from None
    if os.geteuid() == uid:
        return []
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--"]
    raise BackupError(
        f"pgBackRest must run as {user}, the cluster's OS user: run opsbook as root or as {user}"
    )


def binary() -> str:
    found = shutil.which("pgbackrest")
    if found is None:
        raise BackupError("pgbackrest is not installed (apt-get install pgbackrest)")
    return found


def run(
    where: Layout, user: str, args: Sequence[str], *, timeout: float = 3600.0
) -> subprocess.CompletedProcess[str]:
    """``pgbackrest --config … --stanza … ARGS``; raises BackupError when it fails."""
    argv = [*as_user(user), binary(), f"--config={where.conf}", f"--stanza={where.stanza}",
            *args]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BackupError(f"pgbackrest {args[0]} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise BackupError(f"pgbackrest {args[0]} failed: {said(done.stdout + done.stderr)}")
    return done


def said(output: str) -> str:
    """pgBackRest's error line (the first), or its last line."""
    for line in output.splitlines():
        found = _ERROR.search(line)
        if found:
            return f"[{found.group(1)}] {found.group(2).strip()}"
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
