"""`opsbook db vacuum` and `reindex` as a DBA found them: privileges checked the way PostgreSQL
checks them, names pasted back as reports print them, plans that measure only what they
must, and failures that say what PostgreSQL said."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest

from opsbook.postgres.statements import preloaded, slow_queries
from opsbook.status import Status
from tests.conftest import CliResult
from tests.support.servers import PostgresServer

from .conftest import Database, role

Cli = Callable[..., CliResult]


def test_vacuum_of_the_database_by_a_role_that_may_vacuum_nothing_is_refused(
    ops: Cli, database: Database
) -> None:
    database.sql("CREATE TABLE customers (id int)", "CREATE TABLE orders (id int)")
    nobody = role(database, "nobody")
    refused = ops("db", "vacuum", "--dsn", nobody)
    assert refused.code == 3
    assert f"this role may vacuum none of the 2 tables of {database.name}" in refused.err
    log = json.loads(ops("db", "maintenance-log", "-f", "json").out)
    assert log == []  # nothing ran, nothing is recorded as done


def test_a_role_owning_some_tables_vacuums_those_and_the_rest_are_failed_not_ok(
    ops: Cli, database: Database
) -> None:
    some = role(database, "some_owner")
    database.sql("CREATE TABLE customers (id int)", "CREATE TABLE orders (id int)",
                 "ALTER TABLE orders OWNER TO some_owner")  # fmt: skip
    result = ops("db", "vacuum", "--dsn", some, "-f", "json")
    assert result.code == 1
    outcomes = {o["object"]: o for o in json.loads(result.out)}
    assert outcomes["public.orders"]["ok"] is True
    assert outcomes["public.customers"]["ok"] is False
    assert outcomes["public.customers"]["detail"] == "skipped: this role may not vacuum it"


def test_the_database_owner_may_vacuum_a_table_it_does_not_own(
    ops: Cli, database: Database
) -> None:
    owner = role(database, "db_owner")
    database.sql(
        "CREATE TABLE customers (id int)", f"ALTER DATABASE {database.name} OWNER TO db_owner"
    )
    result = ops("db", "vacuum", "--table", "customers", "--dsn", owner, "-f", "json")
    assert result.code == 0, result.err
    [done] = json.loads(result.out)
    assert (done["object"], done["ok"]) == ("public.customers", True)


def test_a_name_as_a_report_prints_it_can_be_pasted_back(ops: Cli, database: Database) -> None:
    database.sql('CREATE TABLE "Order Items" (id int)', 'CREATE TABLE "select" (id int)',
                 'INSERT INTO "Order Items" SELECT generate_series(1, 10)')  # fmt: skip
    for given in ("Order Items", 'public."Order Items"', '"Order Items"', "public.Order Items"):
        result = ops("db", "vacuum", "--table", given, "--dsn", database.dsn, "-f", "json")
        assert result.code == 0, (given, result.err)
        assert json.loads(result.out)[0]["object"] == 'public."Order Items"'  # quoted as needed
    reserved = ops("db", "vacuum", "--table", "select", "--dsn", database.dsn, "-f", "json")
    assert json.loads(reserved.out)[0]["object"] == 'public."select"'
    missing = ops("db", "vacuum", "--table", "Order Itemz", "--dsn", database.dsn)
    assert missing.code == 3
    assert (
        missing.err
        == "opsbook: no table 'Order Itemz' in this database (opsbook db bloat lists them)\n"
    )


def test_reindex_bloated_over_plans_what_a_rebuild_shrinks_and_reads_no_table(
    ops: Cli, database: Database
) -> None:
    for statement in (
        "CREATE EXTENSION IF NOT EXISTS pgstattuple",
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        "CREATE TABLE orders (id int, note text)",
        "INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 100000) g",
        "CREATE INDEX orders_id ON orders (id)", "CREATE INDEX orders_note ON orders (note)",
        "CREATE TABLE tiny (id int)", "INSERT INTO tiny SELECT generate_series(1, 100)",
        "CREATE INDEX tiny_id ON tiny (id)",
        "DELETE FROM orders WHERE id % 20 <> 0", "DELETE FROM tiny WHERE id % 50 <> 0",
        "VACUUM orders", "VACUUM tiny", "SELECT pg_stat_statements_reset()",
    ):  # fmt: skip
        database.sql(statement)
    with database.connect() as conn:
        truth = {
            name: conn.execute(
                "SELECT leaf_pages, avg_leaf_density FROM pgstatindex(%s)", (name,)
            ).fetchone()
            for name in ("orders_id", "tiny_id")
        }
    plan = json.loads(ops("db", "reindex", "--bloated-over", "30%", "--dry-run", "--dsn",
                          database.dsn, "-f", "json").out)["plan"]  # fmt: skip
    planned = {p["object"]: p["why"] for p in plan}
    assert "public.orders_id" in planned  # ~5 % dense after VACUUM: a rebuild gives back ~90 %
    assert truth["orders_id"] is not None and truth["orders_id"]["avg_leaf_density"] < 20
    assert "public.tiny_id" not in planned  # one leaf page, sparse: nothing to give back
    assert truth["tiny_id"] is not None and truth["tiny_id"]["leaf_pages"] == 1
    with database.connect() as conn:
        reads = conn.execute(
            "SELECT query FROM pg_stat_statements WHERE query LIKE %s", ("%pgstattuple(%",)
        ).fetchall()
    assert reads == []  # indexes measured with pgstatindex; no table read in a dry run


def test_a_failed_reindex_keeps_postgresqls_detail(ops: Cli, database: Database) -> None:
    database.sql("CREATE TABLE users (name text)", "INSERT INTO users VALUES ('ann'), ('ann')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        database.sql("CREATE UNIQUE INDEX CONCURRENTLY users_name ON users (name)")
    result = ops("db", "reindex", "--invalid", "--dsn", database.dsn, "-f", "json")
    assert result.code == 1
    [outcome] = json.loads(result.out)
    assert "could not create unique index" in outcome["detail"]
    assert "Key (name)=(ann) is duplicated" in outcome["detail"]


def test_a_lock_timeout_names_the_session_it_waited_for(ops: Cli, database: Database) -> None:
    database.sql("CREATE TABLE accounts (id int)", "CREATE INDEX accounts_id ON accounts (id)")
    holder = database.connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
    holder.execute("SET application_name = 'billing-batch'")
    pid = holder.info.backend_pid
    try:
        result = ops("db", "vacuum", "--table", "accounts", "--lock-timeout", "500ms",
                     "--dsn", database.dsn, "-f", "json")  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    [outcome] = json.loads(result.out)
    assert "lock timeout" in outcome["detail"]
    assert (
        f"waited on pid {pid} (postgres, billing-batch, idle in transaction" in (outcome["detail"])
    )


def test_shared_preload_libraries_is_read_however_it_is_written() -> None:
    assert preloaded("'$libdir/pg_stat_statements'") is True
    assert preloaded("auto_explain, pg_stat_statements.so") is True
    assert preloaded("auto_explain") is False
    assert preloaded(None) is None  # a role that may not read the setting


def test_slow_queries_on_a_server_preloading_by_libdir_path(pg_template: object) -> None:
    from pathlib import Path

    server = PostgresServer.create(Path(str(pg_template)))
    server.preload = "$libdir/pg_stat_statements"
    server.start()
    try:
        server.psql("CREATE EXTENSION pg_stat_statements")
        nobody = "nosettings"
        server.psql(f"CREATE ROLE {nobody} LOGIN PASSWORD 'ns-pw-123'")
        dsn = server.dsn(user=nobody, password="ns-pw-123")
        with psycopg.connect(dsn, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
            report = slow_queries(conn, "test")  # type: ignore[arg-type]
    finally:
        server.destroy()
    assert report.status is Status.OK, report.summary  # loaded: the view answered
    assert report.facts["extension_version"]
