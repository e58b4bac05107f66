"""What `opsbook db vacuum` and `reindex` will do, decided before anything runs: which tables
this role may maintain (PostgreSQL's own rules, so VACUUM never "succeeds" at work it
silently skipped), and which indexes a rebuild would really shrink."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from opsbook.clients import postgres as pg
from opsbook.clients.postgres import Conn
from opsbook.errors import UsageError
from opsbook.postgres.indexes import INVALID
from opsbook.postgres.maintenance import Step
from opsbook.postgres.names import find_relation, qualified

MAY_MAINTAIN = """
SELECT n.nspname AS schema, c.relname AS name,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR pg_has_role(c.relowner, 'MEMBER')
       OR ({vacuum} AND NOT c.relisshared AND pg_has_role(
             (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER'))
       OR {maintain} AS allowed
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
  AND (%(schema)s::text IS NULL OR (n.nspname = %(schema)s AND c.relname = %(name)s))
ORDER BY 1, 2
"""


def maintainable(
    conn: Conn, *, vacuum: bool, schema: str | None = None, name: str | None = None
) -> list[tuple[str, str, bool]]:
    """(schema, table, may this role maintain it) for one table or every user table.

    PostgreSQL's own rules: the owner (or a member of its role), a superuser, for VACUUM and
    ANALYZE the database's owner (not shared catalogs), and from 17 whoever holds MAINTAIN
    (pg_maintain holds it everywhere). VACUUM skips the rest with a mere warning, so
    opsbook asks first instead of reporting "ok" for work that was never done.
    """
    maintain = (
        sql.SQL("has_table_privilege(c.oid, 'MAINTAIN')")
        if pg.server_major(conn) >= 17
        else sql.SQL("false")  # the privilege does not exist before 17: naming it is an error
    )
    query = sql.SQL(MAY_MAINTAIN).format(
        vacuum=sql.SQL("true" if vacuum else "false"), maintain=maintain
    )
    rows = conn.execute(query, {"schema": schema, "name": name}).fetchall()
    return [(str(r["schema"]), str(r["name"]), bool(r["allowed"])) for r in rows]


def vacuum_plan(conn: Conn, tables: Sequence[str], *, analyze: bool, full: bool) -> list[Step]:
    options = [sql.SQL("ANALYZE")] if analyze else []
    if full:
        options.append(sql.SQL("FULL"))
    head = (
        sql.SQL("VACUUM ({}) ").format(sql.SQL(", ").join(options))
        if options
        else sql.SQL("VACUUM ")
    )
    database = conn.info.dbname
    if not tables:
        every = maintainable(conn, vacuum=True)
        allowed = [(s, n) for s, n, ok in every if ok]
        if every and not allowed:
            raise UsageError(
                f"this role may vacuum none of the {len(every)} tables of {database}: "
                "maintenance needs the tables' owner, the database's owner, a superuser, "
                "or pg_maintain (PostgreSQL 17)"
            )
        if len(allowed) == len(every):
            whole = (
                sql.SQL("VACUUM ({})").format(sql.SQL(", ").join(options))
                if options
                else sql.SQL("VACUUM")
            )
            return [Step("vacuum", f"database {database}", whole)]
        return [
            Step(
                "vacuum",
                qualified(s, n),
                head + sql.Identifier(s, n),
                skip="" if ok else "this role may not vacuum it",
                relation=(s, n),
            )
            for s, n, ok in every
        ]
    steps = []
    for name in tables:
        schema, table = find_relation(conn, name, "rmp")
        _may_maintain(conn, schema, table, vacuum=True)
        statement = head + sql.Identifier(schema, table)
        steps.append(Step("vacuum", qualified(schema, table), statement, relation=(schema, table)))
    return steps


def _may_maintain(conn: Conn, schema: str, name: str, *, vacuum: bool) -> None:
    [(_, _, allowed)] = maintainable(conn, vacuum=vacuum, schema=schema, name=name) or [
        (schema, name, False)
    ]
    if not allowed:
        who = "the table's owner, the database's owner" if vacuum else "the table's owner"
        raise UsageError(
            f"{qualified(schema, name)}: maintenance needs {who}, a superuser, or "
            "pg_maintain (PostgreSQL 17); pg_monitor is enough for the diagnostics only"
        )


def reindex_plan(
    conn: Conn,
    *,
    indexes: Sequence[str] = (),
    bloated_over: float | None = None,
    invalid: bool = False,
    database: bool = False,
    system: bool = False,
) -> list[Step]:
    steps: list[Step] = []
    chosen: dict[tuple[str, str], str] = {}
    for name in indexes:
        chosen[find_relation(conn, name, "iI")] = "asked for"
    if invalid:
        for row in conn.execute(INVALID).fetchall():
            chosen[(str(row["schema"]), str(row["index"]))] = "invalid"
    if bloated_over is not None:
        chosen.update(bloated_indexes(conn, bloated_over))
    for (schema, index), why in chosen.items():
        table = conn.execute(
            "SELECT n.nspname AS schema, t.relname AS name FROM pg_index AS i "
            "JOIN pg_class AS t ON t.oid = i.indrelid JOIN pg_namespace AS n "
            "ON n.oid = t.relnamespace WHERE i.indexrelid = %s::regclass",
            (qualified(schema, index),),
        ).fetchone()
        if table is not None:
            _may_maintain(conn, str(table["schema"]), str(table["name"]), vacuum=False)
        steps.append(
            Step(
                "reindex",
                qualified(schema, index),
                sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(sql.Identifier(schema, index)),
                why,
                relation=(schema, index),
            )
        )
    if database:
        steps.append(
            Step(
                "reindex",
                f"database {conn.info.dbname}",
                sql.SQL("REINDEX DATABASE CONCURRENTLY {}").format(
                    sql.Identifier(conn.info.dbname)
                ),
                "asked for (--database)",
            )
        )
    if system:
        steps.append(
            Step(
                "reindex",
                f"system catalogs of {conn.info.dbname}",
                sql.SQL("REINDEX SYSTEM {}").format(sql.Identifier(conn.info.dbname)),
                "asked for (--system)",
            )
        )
    return steps


BTREE_INDEXES = """
SELECT ic.oid, n.nspname AS schema, ic.relname AS index,
       coalesce((regexp_match(array_to_string(ic.reloptions, ','),
                              'fillfactor=(\\d+)'))[1]::int, 90) AS fillfactor
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
JOIN pg_am AS am ON am.oid = ic.relam AND am.amname = 'btree'
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND i.indisvalid
ORDER BY pg_relation_size(ic.oid) DESC
"""


def bloated_indexes(conn: Conn, over: float) -> dict[tuple[str, str], str]:
    """B-tree indexes a rebuild would shrink by at least ``over`` percent, measured with
    pgstatindex (leaf density against the fillfactor it packs to); indexes only, never the
    tables, and never one so small that a rebuild gives nothing back."""
    from opsbook.postgres.bloat import measure_index

    if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone():
        raise UsageError(
            "--bloated-over measures with pgstatindex: CREATE EXTENSION pgstattuple; first"
        )
    setting = conn.execute("SELECT current_setting('block_size')::int AS b").fetchone()
    block = int(setting["b"]) if setting else 8192
    chosen = {}
    for row in conn.execute(BTREE_INDEXES).fetchall():
        measured = measure_index(conn, row["oid"], int(row["fillfactor"]), block)
        pct, wasted = measured["exact_bloat_pct"], int(measured["exact_bloat_bytes"])
        if pct is not None and wasted > 0 and pct >= over:
            chosen[(str(row["schema"]), str(row["index"]))] = (
                f"{pct:.0f}% bloated ({wasted // 1024} kB a rebuild gives back)"
            )
    return chosen
