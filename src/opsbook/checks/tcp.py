"""tcp: the port accepts a connection, and how fast."""

from __future__ import annotations

from opsbook.clients.net import open_connection
from opsbook.config.checks import TcpCheck
from opsbook.config.types import split_host_port
from opsbook.results import Metric, Phase, Reading, Unit, above, rising
from opsbook.units import format_duration


def describe(check: TcpCheck) -> str:
    return check.host


async def run(check: TcpCheck, phase: Phase) -> Reading:
    host, port = split_host_port(check.host)
    conn = await open_connection(host, port, phase)
    await conn.close()
    took = conn.timings.connect
    status = rising(took, check.warning, check.critical)
    metric = Metric(
        "connect_time", round(took, 6), Unit.SECONDS, above(check.warning), above(check.critical), 0
    )
    message = f"{conn.address} accepted in {format_duration(took)}"
    return Reading(status, message, round(took, 6), Unit.SECONDS, (metric,))
