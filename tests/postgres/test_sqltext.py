"""Query text in the record: PostgreSQL's own lexer decides what a literal is, so no quoting
trick keeps a secret in it, and a literal cut short is masked to the end."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest

from opsbook.alerts.evidence import postgres_snapshot
from opsbook.config.model import validate
from opsbook.postgres.sqltext import shape, without_passwords
from opsbook.secrets import Redactor
from tests.support.servers import PostgresServer

SECRET = "S3CRET-value"

TRICKS = [
    f"SELECT E'it\\'s {SECRET}'",  # a backslash-escaped quote
    f"SELECT $${SECRET}$$",  # dollar quoting
    f"SELECT $tag${SECRET} 'still inside' $tag$",
    f"SELECT U&'{SECRET}'",
    f"SELECT 'a''b {SECRET}'",  # a doubled quote
    f"SELECT 1 /* {SECRET} */",
    f"SELECT 1 -- {SECRET}",
    f"SELECT 4111111111111111, 3.14 AS {SECRET[:0]}x",  # numbers are data too
    f"SELECT * FROM t WHERE note = '{SECRET} and the literal was cut",  # noqa: S608 - cut
    f"ALTER ROLE app PASSWORD E'{SECRET}\\''",
]


@pytest.mark.parametrize("query", TRICKS)
def test_no_literal_survives_in_the_shape(query: str) -> None:
    shaped = shape(query)
    assert SECRET not in shaped and "4111111111111111" not in shaped, shaped
    assert shaped.startswith(("SELECT", "ALTER ROLE"))


def test_the_shape_keeps_the_query_readable_and_bounded() -> None:
    assert shape("SELECT  a,\n  b FROM orders WHERE id = 42 AND sku = 'x'") == (
        "SELECT a, b FROM orders WHERE id = … AND sku = '…'"
    )
    assert len(shape("SELECT " + ", ".join(f"c{i}" for i in range(500)), 200)) == 200


def test_dba_reports_mask_only_the_password() -> None:
    assert without_passwords(f"ALTER ROLE app PASSWORD E'it\\'s {SECRET}'") == (
        "ALTER ROLE app PASSWORD '***'"
    )
    assert without_passwords(f"ALTER ROLE app PASSWORD '{SECRET}") == (
        "ALTER ROLE app PASSWORD '…'"  # cut inside the password
    )
    assert without_passwords("SELECT 'visible'") == "SELECT 'visible'"


def test_incident_evidence_from_a_real_server_holds_no_literal(pg_fresh: PostgresServer) -> None:
    """The queries really running, as pg_stat_activity has them, through the snapshot."""
    running = [
        f"SELECT pg_sleep(30), E'it\\'s {SECRET}'",
        f"SELECT pg_sleep(30), $q${SECRET}$q$",
        "SELECT pg_sleep(30), '" + "x" * 3000 + SECRET + "'",  # cut at the evidence's limit
    ]
    conns = [psycopg.connect(pg_fresh.dsn(), autocommit=True) for _ in running]

    def run(conn: psycopg.Connection, query: str) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.execute(query)  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=pair, daemon=True)
               for pair in zip(conns, running, strict=True)]  # fmt: skip
    for t in threads:
        t.start()
    try:
        config, _ = validate({"checks": {"db": {"type": "postgres", "dsn": pg_fresh.dsn()}}})
        assert config is not None
        for _ in range(50):
            snap = postgres_snapshot(config.checks["db"], Redactor([]))  # type: ignore[arg-type]
            if len(snap.get("longest_queries", [])) >= len(running):
                break
            time.sleep(0.1)
        texts = [q["query"] for q in snap["longest_queries"]]
        assert len(texts) >= len(running), snap
        assert all(SECRET not in t and "pg_sleep" in t for t in texts), texts
    finally:
        for conn in conns:
            conn.cancel_safe()
        for t in threads:
            t.join(5)
        for conn in conns:
            conn.close()
