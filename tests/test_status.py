from __future__ import annotations

from opsbook.status import Status, worst


def test_worst_ranks_critical_above_unknown_above_warning() -> None:
    assert worst([Status.OK, Status.WARNING]) is Status.WARNING
    assert worst([Status.WARNING, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.CRITICAL, Status.OK]) is Status.CRITICAL
    assert worst([]) is Status.OK


def test_status_values_are_the_nagios_exit_codes() -> None:
    assert [int(s) for s in Status] == [0, 1, 2, 3]
