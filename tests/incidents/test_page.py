"""A page of incidents filtered in the database, on both stores: text (with LIKE's wildcards
taken literally), severity, open, and the total beside the page."""

from __future__ import annotations

from sqlalchemy import Engine

from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.severity import SeverityPolicy
from tests.support.store import FakeClock


def test_a_page_filters_in_the_store_and_counts_every_match(
    engine: Engine, clock: FakeClock
) -> None:
    incidents = Incidents(engine, SeverityPolicy.from_config({}), clock=clock)
    made = []
    for n in range(7):
        clock.advance(minutes=1)
        title = "disk at 50% on db" if n == 3 else f"checkout_{n} slow"
        made.append(incidents.open(title=title, severity=2 if n % 2 else 3, service="api",
                                   actor="tester").id)  # fmt: skip
    incidents.resolve(made[0], "fixed", "tester")
    page, total = incidents.page(limit=2, offset=1)
    assert total == 7 and [i.id for i in page] == [made[5], made[4]]  # newest first
    assert incidents.page(text="50%", limit=10)[1] == 1
    assert incidents.page(text="%", limit=10)[1] == 1  # a literal percent sign, not "all"
    assert incidents.page(text="T_1", limit=10)[1] == 1  # case-blind; _ is literal
    assert incidents.page(severities=[2], limit=10)[1] == 3
    assert incidents.page(open_only=True, limit=10)[1] == 6
    assert incidents.page(text=made[6].lower(), limit=10)[0][0].id == made[6]
