"""Running checks concurrently, each bounded by its own timeout.

A check that hangs, raises, or reports a library error becomes a Result like any other:
CRITICAL with the reason when the target is unreachable, UNKNOWN when the check could not
measure. Nothing a check does can stop the others or outlive its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from opsbook.checks import module_for
from opsbook.config.checks import CheckBase
from opsbook.errors import CheckError, ResourceExhausted, is_shortage
from opsbook.results import Phase, Reading, Result
from opsbook.secrets import Redactor
from opsbook.status import Status
from opsbook.units import format_duration

DEFAULT_CONCURRENCY = 64


async def run_check(name: str, check: CheckBase, redact: Redactor) -> Result:
    kind = check.kind
    module = module_for(kind)
    phase = Phase(name)
    started_at = datetime.now(UTC)
    start = time.monotonic()
    deadline = asyncio.timeout(check.timeout)
    try:
        async with deadline:
            reading = await module.run(check, phase)
    except TimeoutError:
        if not deadline.expired():
            reading = Reading(Status.CRITICAL, "timed out" + _phase(phase))
        else:
            reading = Reading(
                Status.CRITICAL, f"timed out after {format_duration(check.timeout)}" + _phase(phase)
            )
    except CheckError as exc:
        reading = Reading(exc.status, str(exc))
    except ResourceExhausted as exc:
        reading = Reading(Status.UNKNOWN, f"not measured: {exc}", local_fault=True)
    except ConnectionError as exc:  # a connection dropped where a check did not expect it
        reason = exc.strerror or type(exc).__name__
        reading = Reading(Status.CRITICAL, f"connection lost: {reason[0].lower()}{reason[1:]}")
    except Exception as exc:  # a bug in one check must not take the run down
        if is_shortage(exc):  # EMFILE from a file or socket the check opened itself
            reading = Reading(Status.UNKNOWN, f"not measured: opsbook: {exc}", local_fault=True)
        else:
            reading = Reading(
                Status.UNKNOWN, f"internal error in {kind.value} check: {type(exc).__name__}: {exc}"
            )
    duration = time.monotonic() - start
    return Result(
        name=name,
        kind=kind,
        target=redact(module.describe(check)),
        status=reading.status,
        message=redact(reading.message),
        value=reading.value,
        unit=reading.unit,
        duration=duration,
        started_at=started_at,
        metrics=reading.metrics,
        details=reading.details,
        local_fault=reading.local_fault,
    )


def _phase(phase: Phase) -> str:
    return f" {phase.current}" if phase.current else ""


def import_modules(checks: Iterable[CheckBase]) -> None:
    """Every module these checks need (and its client library), before any clock starts: an
    import inside a running check would stall the event loop and inflate the others' timings."""
    for kind in {check.kind for check in checks}:
        module_for(kind)


async def run_checks(
    checks: Mapping[str, CheckBase] | Iterable[tuple[str, CheckBase]],
    redact: Redactor,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[Result]:
    """All checks at once (at most ``concurrency`` in flight), results in the given order."""
    items = list(checks.items()) if isinstance(checks, Mapping) else list(checks)
    import_modules(check for _, check in items)
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str, check: CheckBase) -> Result:
        async with gate:
            return await run_check(name, check, redact)

    return list(await asyncio.gather(*(one(name, check) for name, check in items)))
