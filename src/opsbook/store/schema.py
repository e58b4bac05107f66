"""The one MetaData every table module registers on (tables, run_tables)."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
