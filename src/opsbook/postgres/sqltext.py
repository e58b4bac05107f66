"""Query text as opsbook shows and records it, with what must not leak masked.

Lexed by PostgreSQL's own scanner (pglast wraps libpg_query), not by regular expressions:
``E'it\\'s'``, ``$$…$$``, ``U&'…'``, comments and numbers are tokens to it exactly as to the
server. Text that does not lex to its end (a literal cut by ``track_activity_query_size`` or
by a length limit) is masked from where lexing stops, since what follows is inside a literal.
"""

from __future__ import annotations

from typing import Any

from pglast import parser

STRINGS = frozenset({"SCONST", "USCONST", "BCONST", "XCONST"})
NUMBERS = frozenset({"ICONST", "FCONST"})
COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})
MASK = "'…'"


def _scan(text: str) -> tuple[list[Any], int | None]:
    """The tokens, and where lexing stopped when it could not reach the end."""
    try:
        return list(parser.scan(text)), None
    except parser.ParseError as exc:
        cut = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        try:
            return list(parser.scan(text[:cut])), cut
        except parser.ParseError:
            return [], 0


def _rebuild(text: str, masked: dict[int, tuple[int, str]], cut: int | None) -> str:
    out, at = [], 0
    for start in sorted(masked):
        end, replacement = masked[start]
        out += [text[at:start], replacement]
        at = end + 1
    out.append(text[at:cut] if cut is not None else text[at:])
    if cut is not None:
        out.append(MASK)
    return " ".join("".join(out).split())


def shape(text: str | None, limit: int | None = None) -> str:
    """The query with every literal, number and comment masked: safe for the incident record."""
    if not text:
        return ""
    tokens, cut = _scan(text)
    masked = {
        t.start: (t.end, MASK if t.name in STRINGS else "…" if t.name in NUMBERS else " ")
        for t in tokens
        if t.name in STRINGS | NUMBERS | COMMENTS
    }
    flat = _rebuild(text, masked, cut)
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def without_passwords(text: str | None) -> str:
    """The query on one line, with the literal after PASSWORD masked (DBA reports show the
    rest of the query as PostgreSQL has it)."""
    if not text:
        return ""
    tokens, cut = _scan(text)
    masked = {}
    for before, token in zip([None, *tokens], tokens, strict=False):
        if before is not None and before.name == "PASSWORD" and token.name in STRINGS:
            masked[token.start] = (token.end, "'***'")
    if cut is None or (tokens and tokens[-1].name != "PASSWORD"):
        return _rebuild(text, masked, None)
    return _rebuild(text, masked, cut)  # cut inside the password itself
