"""Every error opsbook raises on purpose.

Library errors (psycopg, ssl, socket, YAML, msgspec) are translated into these at the
seam where they happen (``raise TargetUnreachable(...) from exc``); only the CLI turns
them into messages and exit codes.

    OpsbookError                  anything opsbook knows how to explain in one line
    ├── ConfigError               opsbook.yaml is missing, unreadable or invalid (exit 3)
    ├── UsageError                a command-line argument is wrong (exit 3)
    ├── StoreError                the store cannot be opened or migrated (exit 1)
    ├── IncidentError             an illegal move or an unknown incident; nothing changed (exit 1)
    ├── BackupError               a backup, verify, restore or prune failed; says why (exit 1)
    │   ├── IntegrityError        stored data does not match its manifest's checksum
    │   └── DecryptError          no identity or passphrase given opens this backup
    ├── LogError                  a log file cannot be read, or a baseline is unknown (exit 1)
    └── CheckError                a check ran and got a bad answer; carries its Status
        ├── TargetUnreachable     CRITICAL: refused, timed out, DNS failure, TLS error,
        │                         auth failed, protocol error
        └── CheckUnavailable      UNKNOWN: the check cannot measure here (file missing,
                                  command not found, permission denied)

Messages never contain secrets: callers pass masked targets, and the check runner
scrubs every message through the config's redactor before it leaves.
"""

from __future__ import annotations

from opsbook.status import Status


class OpsbookError(Exception):
    """Base class: the message is the one line shown to the user."""

    exit_code: int = 1


class ConfigError(OpsbookError):
    """opsbook.yaml cannot be used. ``str()`` is ``file:line: key.path: what was expected``."""

    exit_code = 3

    def __init__(self, message: str, *, lines: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        # Several independent problems in one file are reported together, one per line.
        self.lines = lines or (message,)


class UsageError(OpsbookError):
    """A command-line argument is wrong; the message says what would be right."""

    exit_code = 3


class StoreError(OpsbookError):
    """The database cannot be reached, or its schema is not one this opsbook can use."""


class LogError(OpsbookError):
    """A log file cannot be opened or read, or a named baseline does not exist."""


class IncidentError(OpsbookError):
    """A move the incident's state does not allow, or an ID that does not exist."""


class BackupError(OpsbookError):
    """A backup operation failed; partial files are cleaned up before this is raised."""


class IntegrityError(BackupError):
    """Stored bytes differ from what the manifest recorded (corruption, truncation)."""


class DecryptError(BackupError):
    """The backup cannot be decrypted with the identity or passphrase given."""


class CheckError(OpsbookError):
    status: Status = Status.CRITICAL


class TargetUnreachable(CheckError):
    status = Status.CRITICAL


class CheckUnavailable(CheckError):
    status = Status.UNKNOWN
