"""Incident tests run against both backends (store_url, engine and clock come from
tests/support/store.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.records import ActionItems
from opsbook.incidents.severity import SeverityPolicy
from tests.support.store import FakeClock


@pytest.fixture
def policy() -> SeverityPolicy:
    return SeverityPolicy.from_config({})


@pytest.fixture
def service(engine: Engine, policy: SeverityPolicy, clock: FakeClock) -> Incidents:
    return Incidents(engine, policy, clock=clock)


@pytest.fixture
def actions(engine: Engine, clock: FakeClock) -> ActionItems:
    return ActionItems(engine, clock=clock)
