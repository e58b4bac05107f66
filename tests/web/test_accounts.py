"""Users and tokens in the store (both backends): Argon2 passwords, lockout after five wrong
ones, tokens that work once made and stop when revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from opsbook.accounts import tokens, users
from opsbook.config.actions import Role
from opsbook.errors import UsageError
from opsbook.store.tables import api_tokens
from opsbook.store.tables import users as users_table
from tests.support.store import FakeClock


def test_a_password_logs_in_and_five_wrong_ones_lock_the_account(
    engine: Engine, clock: FakeClock
) -> None:
    users.add(engine, "alice", Role.RESPONDER, "correct horse battery", clock())
    with pytest.raises(UsageError, match="12 characters"):
        users.add(engine, "bob", Role.VIEWER, "short", clock())
    with engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert users.login(engine, "alice", "correct horse battery", clock()) is not None
    assert users.login(engine, "nobody", "correct horse battery", clock()) is None
    for _ in range(5):
        assert users.login(engine, "alice", "wrong guess here", clock()) is None
    assert users.login(engine, "alice", "correct horse battery", clock()) is None  # locked
    clock.advance(minutes=16)
    found = users.login(engine, "alice", "correct horse battery", clock())
    assert found is not None and found.role is Role.RESPONDER


def test_a_token_is_stored_hashed_and_stops_when_revoked(engine: Engine, clock: FakeClock) -> None:
    made = tokens.create(engine, "bot", Role.VIEWER, clock())
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert made.startswith("obk_") and made not in stored and len(stored) == 64
    found = tokens.authenticate(engine, made, clock() + timedelta(seconds=5))
    assert found is not None and found.role is Role.VIEWER and found.name == "bot"
    assert tokens.authenticate(engine, made + "x", clock()) is None
    tokens.revoke(engine, found.id, clock())
    assert tokens.authenticate(engine, made, clock()) is None
    with pytest.raises(UsageError, match="no live token"):
        tokens.revoke(engine, found.id, clock())
