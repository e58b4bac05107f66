"""Relation names as a DBA reads and pastes them: printed quoted only where PostgreSQL needs
quotes (``public."Order Items"``), and read back from what a report printed, what psql would
accept, or the plain name with its spaces (``Order Items``), unambiguously or not at all."""

from __future__ import annotations

import re

from opsbook.errors import UsageError
from opsbook.postgres.connect import Conn

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
# Words that must be quoted as identifiers (a short list of the reserved ones people use).
_RESERVED_WORDS = (
    "all and any array as asc both case cast check collate column constraint create default "
    "desc distinct do else end except false for foreign from grant group having in initially "
    "intersect into leading limit not null offset on only or order placing primary references "
    "returning select some symmetric table then to trailing true union unique user using when "
    "where window with"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


def ident(name: str) -> str:
    if _PLAIN.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


KIND_WORDS = {"r": "table", "m": "materialized view", "p": "table", "i": "index", "I": "index"}

FIND = """
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = ANY (%(kinds)s)
  AND (c.oid = (SELECT to_regclass(%(text)s) WHERE %(parsable)s)
       OR (c.relname = %(text)s AND n.nspname = ANY (current_schemas(false)))
       OR (n.nspname || '.' || c.relname) = %(text)s)
"""


def find_relation(conn: Conn, text: str, kinds: str) -> tuple[str, str]:
    """(schema, name) of the one relation ``text`` names, as psql would read it or as a
    report printed it; a usage error when it names none, or more than one."""
    parsable = _parsable(text)
    rows = conn.execute(FIND, {"kinds": list(kinds), "text": text, "parsable": parsable}).fetchall()
    found = {(str(r["schema"]), str(r["name"])) for r in rows}
    what = KIND_WORDS.get(kinds[0], "relation")
    if not found:
        raise UsageError(f"no {what} {text!r} in this database (opsbook db bloat lists them)")
    if len(found) > 1:
        choices = ", ".join(sorted(qualified(s, n) for s, n in found))
        raise UsageError(f"{text!r} names several: {choices}; give one as it is written here")
    return found.pop()


def _parsable(text: str) -> bool:
    """Whether to_regclass would accept the text at all (it raises on "Order Items")."""
    part = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
    return re.fullmatch(rf"{part}(?:\.{part}){{0,2}}", text.strip()) is not None
