"""What incident commands share: config, store, services, the actor, the time zone."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opsbook.cli.options import config_path
from opsbook.cli.startup import quietly

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from opsbook.config.loader import LoadedConfig
    from opsbook.incidents.lifecycle import Incidents
    from opsbook.incidents.records import ActionItems
    from opsbook.incidents.severity import SeverityPolicy


def actor(as_: str | None) -> str:
    """Who is acting: --as, else $OPSBOOK_USER, else the OS user."""
    if as_ and as_.strip():
        return as_.strip()
    if os.environ.get("OPSBOOK_USER"):
        return os.environ["OPSBOOK_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"


def as_option(func: F) -> F:
    return click.option(
        "--as",
        "as_",
        metavar="PERSON",
        help="Who is doing this (default: $OPSBOOK_USER, else the OS user).",
    )(func)


@dataclass(frozen=True)
class Opened:
    """What a store-backed command opens: the config, the store, the domains, the time zone."""

    loaded: LoadedConfig
    engine: Engine
    policy: SeverityPolicy
    incidents: Incidents
    actions: ActionItems
    tz: tzinfo

    def now(self) -> datetime:
        return self.incidents.clock()


def policy_for(ctx: click.Context) -> tuple[LoadedConfig, SeverityPolicy]:
    with quietly():
        from opsbook.config.loader import load_config
        from opsbook.incidents.severity import SeverityPolicy

    loaded = load_config(config_path(ctx))
    return loaded, SeverityPolicy.from_config(loaded.config.severities)


def opened(ctx: click.Context) -> Opened:
    with quietly():  # SQLAlchemy and the domains
        from opsbook.incidents.lifecycle import Incidents
        from opsbook.incidents.records import ActionItems
        from opsbook.store.open import open_store
        from opsbook.timefmt import zone

    loaded, policy = policy_for(ctx)
    store = open_store(loaded.config.store)
    ctx.call_on_close(store.engine.dispose)  # close pooled connections when the command ends
    incidents = Incidents(store.engine, policy)
    return Opened(
        loaded=loaded,
        engine=store.engine,
        policy=policy,
        incidents=incidents,
        actions=ActionItems(store.engine, clock=incidents.clock),
        tz=zone(loaded.config.timezone),
    )
