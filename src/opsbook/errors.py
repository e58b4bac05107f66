"""Every error opsbook raises on purpose.

Library errors (psycopg, boto3, ssl, socket, YAML, msgspec) are translated into these at the
seam where they happen, one module per external system under ``clients/``
(``raise DatabaseError(...) from exc``); only the CLI turns them into messages and exit
codes (3 for config and usage errors, 1 for the rest; a check's own status for checks).

    OpsbookError                  anything opsbook knows how to explain in one line
    ├── ConfigError               opsbook.yaml is missing, unreadable or invalid (exit 3)
    ├── UsageError                a command-line argument is wrong (exit 3)
    ├── StoreError                opsbook's own store cannot be opened, migrated or written
    │   └── NotLeader             a leader-only write by an instance whose lease has passed
    │                             to another (fencing); it steps down
    ├── DatabaseError             a PostgreSQL server opsbook watches or backs up refused or
    │                             failed (clients/postgres.py); .reason is its first line
    ├── RedisReplyError           a Redis server answered -ERR (clients/resp.py)
    ├── RemoteStorageError        object storage (S3) refused or failed (clients/s3.py)
    ├── DockerError               the Docker (or Podman) Engine API refused or failed
    │                             (clients/docker.py)
    ├── DeliveryError             a notification was not delivered; .permanent: retrying won't
    │                             help (clients/smtp.py, clients/webhooks.py)
    ├── IntakeError               an alert delivered to the intake cannot be accepted (HTTP 400)
    ├── IncidentError             an illegal move or an unknown incident; nothing changed
    ├── BackupError               a backup, verify, restore or prune failed; says why
    │   ├── IntegrityError        stored data does not match its manifest's checksum
    │   └── DecryptError          no identity or passphrase given opens this backup
    ├── JobBusy                   another run of the same job (a backup, verify, prune or a
    │                             calendar job) holds its lock
    ├── LogError                  a log file cannot be read, or a baseline is unknown
    ├── ResourceExhausted         opsbook itself is short of file descriptors or memory: its own
    │                             degradation, never counted as the target's outage
    └── CheckError                a check ran and got a bad answer; carries its Status
        ├── TargetUnreachable     CRITICAL: refused, timed out, DNS failure, TLS error,
        │                         auth failed, protocol error
        └── CheckUnavailable      UNKNOWN: the check cannot measure here (file missing,
                                  command not found, permission denied)

Messages never contain secrets: callers pass masked targets, and the check runner
scrubs every message through the config's redactor before it leaves.
"""

from __future__ import annotations

import errno

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


class NotLeader(StoreError):
    """This instance's lease is gone (expired, or taken by another after a pause): the
    leader-only write was refused before it changed anything."""


class DatabaseError(OpsbookError):
    """A PostgreSQL server refused or failed; the message is its first line, secrets masked.

    ``reason`` is that line alone, for callers that add their own context; the flags say
    what kind of failure it was, so nobody has to match on the text.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        connecting: bool = False,
        canceled: bool = False,
        denied: bool = False,
        sqlstate: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate  # PostgreSQL's error code (55000 …), when the server sent one
        # the server's DETAIL ("Key (name)=(x) is duplicated."), secrets masked: for the
        # commands a DBA runs by hand, not for alert text
        self.detail = detail
        self.reason = reason or message
        self.connecting = connecting  # the connection itself failed
        self.canceled = canceled  # statement_timeout or a cancel ended the query
        self.denied = denied  # insufficient privilege


class RedisReplyError(OpsbookError):
    """An error reply (``-ERR ...``) from a Redis server."""


class RemoteStorageError(OpsbookError):
    """Object storage refused or failed; the message is the service's own reason."""


class DockerError(OpsbookError):
    """The Docker (or Podman) Engine API refused or failed; .status is its HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DeliveryError(OpsbookError):
    """A notification did not reach its receiver; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class IntakeError(OpsbookError):
    """A delivery that cannot be accepted; the reason goes back to the sender as a 400."""


class ResourceExhausted(OpsbookError):
    """opsbook ran out of something of its own (descriptors, memory): not the target's fault."""


SHORTAGE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_SHORTAGE_TEXT = ("too many open files", "cannot allocate memory", "no buffer space")


def is_shortage(exc: BaseException) -> bool:
    """An error that says this process is out of a resource, not that the far side failed."""
    if isinstance(exc, OSError) and exc.errno in SHORTAGE_ERRNOS:
        return True
    return any(text in str(exc).lower() for text in _SHORTAGE_TEXT)


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


class JobBusy(OpsbookError):
    """Another run of the same job holds its lock."""


class CheckError(OpsbookError):
    status: Status = Status.CRITICAL


class TargetUnreachable(CheckError):
    status = Status.CRITICAL


class CheckUnavailable(CheckError):
    status = Status.UNKNOWN
