"""A real PgBouncer (Debian's) in front of the suite's PostgreSQL, on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.servers import (
    SUPERUSER_PASSWORD,
    PostgresServer,
    ServerMissing,
    _as_postgres,
    _chown_to_postgres,
    free_port,
    wait_for_port,
)

BINARY = "/usr/sbin/pgbouncer"
STATS_PASSWORD = "stats-Secr3t-pw"


class PgBouncer:
    def __init__(self, pg: PostgresServer, *, pool_size: int = 2) -> None:
        if not Path(BINARY).exists():
            raise ServerMissing("pgbouncer not found; run scripts/dev-setup to install it")
        self.pg = pg
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="opsbook-pgbouncer-"))
        self.dir.chmod(0o755)
        (self.dir / "users.txt").write_text(
            f'"postgres" "{SUPERUSER_PASSWORD}"\n"stats" "{STATS_PASSWORD}"\n'
        )
        (self.dir / "pgbouncer.ini").write_text(f"""\
[databases]
app = host=127.0.0.1 port={pg.port} dbname=postgres pool_size={pool_size}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = plain
auth_file = {self.dir}/users.txt
stats_users = stats
admin_users = postgres
pool_mode = transaction
max_client_conn = 100
logfile = {self.dir}/pgbouncer.log
pidfile = {self.dir}/pgbouncer.pid
""")
        _chown_to_postgres(self.dir)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*_as_postgres(), BINARY, str(self.dir / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:  # runuser's child too: the whole group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def admin_dsn(self) -> str:
        return f"postgresql://stats:{STATS_PASSWORD}@127.0.0.1:{self.port}/pgbouncer"

    def app_dsn(self) -> str:
        return f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/app"
