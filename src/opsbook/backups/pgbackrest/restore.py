"""The runbook's database-only recovery on a pgbackrest source: a cluster restored to a
moment, into a new data directory or in place (the cluster stopped first, as the runbook
says), after a plan that says which backup, which WAL, how much data and where.

The new directory's copy never archives into the source's repository (archive_mode off: it
is a copy); an in-place restore keeps archiving (it is the cluster, on a new timeline).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsbook.backups.pgbackrest.command import as_user, run
from opsbook.backups.pgbackrest.conf import give_to, layout
from opsbook.backups.pgbackrest.info import PhysicalBackup, read
from opsbook.backups.pgbackrest.proof import target_text
from opsbook.config.backups import PgBackRestSource
from opsbook.errors import UsageError
from opsbook.identity import alive


@dataclass(frozen=True)
class Plan:
    source: str
    backup: PhysicalBackup
    target: datetime | None  # None: the end of the archived WAL
    destination: Path
    in_place: bool
    wal_from: str
    wal_to: str | None  # the newest archived segment

    def lines(self) -> list[str]:
        to = self.target.isoformat(timespec="seconds") if self.target else "the newest WAL"
        where = f"into {self.destination} (a new cluster, archiving off)"
        if self.in_place:
            where = f"in place, over {self.destination} (the cluster must be stopped)"
        return [
            f"restore {self.source} to {to}",
            f"  from backup {self.backup.label} ({self.backup.kind}, ended "
            f"{self.backup.finished_at.isoformat(timespec='seconds')})",
            f"  then WAL {self.wal_from} … {self.wal_to or '?'} replayed up to the target",
            f"  {self.backup.size / 1048576:.0f} MiB of data to copy, {where}",
        ]


def plan(name: str, source: PgBackRestSource, target: datetime | None, destination: Path,
         in_place: bool) -> Plan:  # fmt: skip
    info = read(layout(name, source), source.os_user)
    usable = [b for b in info.backups if target is None or b.finished_at <= target]
    if not usable:
        first = info.earliest_recoverable
        said = f"; the earliest is {first.isoformat(timespec='seconds')}" if first else ""
        raise UsageError(f"no backup of {name} ends before {target}{said}")
    if in_place:
        if _running(Path(source.data_directory)):
            raise UsageError(
                f"the cluster in {source.data_directory} is running: stop it first "
                "(systemctl stop postgresql), then restore in place"
            )
    elif destination.exists() and any(destination.iterdir()):
        raise UsageError(f"{destination} is not empty: restore into a new or empty directory, "
                         "or --in-place over the stopped cluster")  # fmt: skip
    chosen = usable[-1]
    return Plan(name, chosen, target, destination, in_place, chosen.wal_start, info.wal_max)


def _running(data: Path) -> bool:
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return alive(pid)


def execute(the_plan: Plan, source: PgBackRestSource) -> float:
    """Run the restore; seconds taken."""
    where = layout(the_plan.source, source)
    began = time.monotonic()
    args = ["restore", f"--set={the_plan.backup.label}", "--target-action=promote",
            "--log-level-console=warn"]  # fmt: skip
    if the_plan.target is not None:
        args += ["--type=time", f"--target={target_text(the_plan.target)}"]
    if the_plan.in_place:
        args.append("--delta")  # only what differs is copied
    else:
        the_plan.destination.mkdir(parents=True, exist_ok=True, mode=0o700)
        _own(the_plan.destination, source.os_user)
        args += [f"--pg1-path={the_plan.destination}", "--archive-mode=off"]
    run(where, source.os_user, args, timeout=float(source.restore_timeout))
    return time.monotonic() - began


def _own(path: Path, user: str) -> None:
    as_user(user)  # opsbook must be root or the cluster's user to make a cluster it owns
    give_to(path, user)
    path.chmod(0o700)
