"""Every check kind's model, for validating ``checks:`` (kinds defined in several modules)."""

from __future__ import annotations

from opsbook.config.checks import CHECK_MODELS as _CORE
from opsbook.config.checks import CheckBase
from opsbook.config.checks import CheckConfig as _CoreConfig
from opsbook.config.container_checks import ContainerCheck
from opsbook.config.db_checks import PgBouncerCheck, PgStatsCheck, SqlCheck, WalArchiveCheck
from opsbook.config.host_checks import CpuCheck, DiskIoCheck, NetworkCheck
from opsbook.config.jobs import JobCheck
from opsbook.config.log_checks import LogCheck, LogErrorsCheck
from opsbook.config.prometheus_checks import PrometheusCheck
from opsbook.results import CheckKind

CheckConfig = (
    _CoreConfig
    | PrometheusCheck
    | LogCheck
    | LogErrorsCheck
    | CpuCheck
    | DiskIoCheck
    | NetworkCheck
    | SqlCheck
    | PgStatsCheck
    | PgBouncerCheck
    | JobCheck
    | ContainerCheck
    | WalArchiveCheck
)
CHECK_MODELS: dict[CheckKind, type[CheckBase]] = {
    **_CORE,
    CheckKind.PROMETHEUS: PrometheusCheck,
    CheckKind.LOG: LogCheck,
    CheckKind.LOG_ERRORS: LogErrorsCheck,
    CheckKind.CPU: CpuCheck,
    CheckKind.DISKIO: DiskIoCheck,
    CheckKind.NETWORK: NetworkCheck,
    CheckKind.SQL: SqlCheck,
    CheckKind.PGSTATS: PgStatsCheck,
    CheckKind.PGBOUNCER: PgBouncerCheck,
    CheckKind.JOB: JobCheck,
    CheckKind.CONTAINER: ContainerCheck,
    CheckKind.WAL_ARCHIVE: WalArchiveCheck,
}
