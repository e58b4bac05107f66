"""nginx ``log_format`` strings turned into one regular expression with named groups.

A user gives the same string they wrote in nginx.conf; each ``$variable`` becomes a group
whose pattern depends on what the variable holds (times and sizes are tight, so a wrong
format fails loudly instead of silently mis-assigning fields) or, for free text, on the
delimiter that follows it in the format. The regex is written for Rust's regex engine
(Polars) and Python's ``re`` alike: no look-around, ``(?P<name>…)`` groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsbook.errors import UsageError

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
# The runbook's nginx adds request and upstream times to combined; the commonest timed layout.
TIMED = COMBINED + " $request_time $upstream_response_time"
PRESETS = {"combined": COMBINED, "timed": TIMED}

_NUM = r"-|[0-9]+(?:\.[0-9]+)?"
# Several upstreams ("0.010, 0.020") or an internal redirect ("0.010 : 0.020").
_UPSTREAM_TIMES = rf"(?:{_NUM})(?:(?:, | : )(?:{_NUM}))*"

# Variable -> (group name, pattern). Unknown variables match up to their delimiter.
_KNOWN: dict[str, tuple[str, str | None]] = {
    "remote_addr": ("ip", r"[0-9A-Fa-f:.]+|-"),
    # Times are checked by the time parser, not here: a tight pattern costs 2.5x in the regex.
    "time_local": ("time", r"[^\]]*"),
    "time_iso8601": ("time_iso", r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(?:Z|[+-][0-9:]{4,5})"),
    "msec": ("msec", r"[0-9]+\.[0-9]+"),
    # Method and target as groups; an alternation for malformed request lines here would make
    # the whole match 2.5x slower (no longer one-pass), so those go to ``fallback`` instead.
    "request": ("request", r'(?P<method>[A-Z]+) (?P<target>[^ "]*)(?: [^"]*)?'),
    "request_method": ("method", r"[A-Za-z]+|-"),
    "request_uri": ("target", r'[^ "]*'),
    "status": ("status", r"[0-9]{3}"),
    "body_bytes_sent": ("bytes", r"[0-9]+|-"),
    "bytes_sent": ("bytes", r"[0-9]+|-"),
    "request_time": ("request_time", _NUM),
    "upstream_response_time": ("upstream_time", _UPSTREAM_TIMES),
    "http_user_agent": ("agent", None),
    "http_referer": ("referer", None),
    "http_x_forwarded_for": ("forwarded", None),
}
_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A compiled access-log layout: the source string, its regex, and what it records."""

    source: str
    pattern: str
    groups: frozenset[str]
    # With $request: ``pattern`` splits it into method and target; lines it misses (a bad
    # request line such as "-" or TLS bytes sent to port 80) are tried again with this.
    fallback: str | None = None
    # Client = the first address of $http_x_forwarded_for (when logged and not "-"): only
    # behind a proxy that sets it, since a client can send any X-Forwarded-For it likes.
    use_forwarded: bool = False
    # The layout as space-separated columns with quoted free text (combined and its kin):
    # each column's group, "" for one not kept. Read with Polars' CSV reader, 4x faster than
    # the regex; None when the layout is not that regular (then the regex reads it).
    columns: tuple[str, ...] | None = None

    @property
    def timed(self) -> bool:
        return "request_time" in self.groups or "upstream_time" in self.groups

    @property
    def latency_field(self) -> str | None:
        """The field latency comes from: what the client waited for, else the upstream's."""
        if "request_time" in self.groups:
            return "request_time"
        if "upstream_time" in self.groups:
            return "upstream_time"
        return None


def _free_text(delimiter: str) -> str:
    if delimiter == "":
        return ".*"
    if delimiter == '"':
        return r'[^"]*'  # nginx writes a quote inside a value as \x22, so this is safe
    return f"[^{re.escape(delimiter)}]*"


def compile_format(source: str) -> LogFormat:
    """Compile a log_format string (or a preset name); UsageError names what is missing."""
    text = PRESETS.get(source.strip(), source)
    parts: list[str] = ["^"]
    fallback: list[str] = ["^"]
    groups: set[str] = set()
    pos = 0
    matches = list(_VAR.finditer(text))
    if not matches:
        raise UsageError(
            f"log format {source!r} has no $variables; give nginx's log_format string, "
            "e.g. 'combined' or '$remote_addr - $remote_user [$time_local] \"$request\" …'"
        )
    names = {m.group(1) or m.group(2) for m in matches}
    for match in matches:
        parts.append(re.escape(text[pos : match.start()]))
        fallback.append(parts[-1])
        name = match.group(1) or match.group(2)
        following = text[match.end() : match.end() + 1]
        group, pattern = _KNOWN.get(name, ("", None))
        if group == "upstream_time" and "request_time" in names:
            group = ""  # latency comes from $request_time; not capturing this is 10 % faster
        if pattern is None:
            pattern = _free_text(following)
        if not group or group in groups:
            parts.append(f"(?:{pattern})")
            if group == "request":
                fallback.append(f"(?:{_free_text(following)})")
            elif name == "remote_user":
                # Basic-auth users may hold spaces or "] [" ("john doe"): only in the fallback,
                # so the common line keeps the fast one-pass match
                fallback.append("(?:.*)")
            else:
                fallback.append(parts[-1])
        elif group == "request":
            parts.append(pattern)
            # a line the main pattern missed for another field (a user with a space) still
            # splits its request; one that is not HTTP at all is kept whole
            fallback.append(f"(?:{pattern}|(?P<raw_request>{_free_text(following)}))")
            groups.update({"request", "method", "target"})
        else:
            parts.append(f"(?P<{group}>{pattern})")
            fallback.append(parts[-1])
            groups.add(group)
        pos = match.end()
    parts.append(re.escape(text[pos:]))
    parts.append("$")
    fallback += parts[-2:]
    missing = [
        what
        for what, needs in (
            ("$status", {"status"}),
            ("a time ($time_local, $time_iso8601 or $msec)", {"time", "time_iso", "msec"}),
            ("$request or $request_uri", {"target"}),
        )
        if not needs & groups
    ]
    if missing:
        raise UsageError(
            f"log format {source!r} lacks {', '.join(missing)}; access reports need them"
        )
    return LogFormat(
        source=text,
        pattern="".join(parts),
        groups=frozenset(groups),
        fallback="".join(fallback) if "request" in groups or "remote_user" in names else None,
        columns=_columns(text, groups),
    )


# Variables whose values never hold a space (nginx escapes nothing into spaces here), so an
# unquoted one is one column. $upstream_response_time can ("0.010, 0.020"): only last.
_SPACELESS = {"remote_addr", "remote_user", "status", "body_bytes_sent", "bytes_sent",
              "request_time", "msec", "time_iso8601", "request_length", "connection",
              "connection_requests", "pipe", "request_method", "request_uri", "uri", "host",
              "server_port", "scheme", "upstream_addr", "upstream_status"}  # fmt: skip


TIME_COLUMNS = "[$time_local]"  # two columns once split on spaces


def _columns(text: str, groups: set[str]) -> tuple[str, ...] | None:
    """The CSV layout of a format that is space-separated columns with quoted free text."""
    tokens = text.split(" ")
    out: list[str] = []
    for i, token in enumerate(tokens):
        var = _VAR.fullmatch(token.strip('"'))
        name = (var.group(1) or var.group(2)) if var else None
        quoted = token.startswith('"') and token.endswith('"') and len(token) > 1
        last = i == len(tokens) - 1  # a value with spaces there only loses its tail
        if token == TIME_COLUMNS:
            out += ["time_a", "time_b"]  # "[27/Nov/2026:10:00:00" "+0000]"
        elif name and (quoted or name in _SPACELESS or (last and name in _KNOWN)):
            out.append(_column_group(name, groups))
        elif token and "$" not in token and '"' not in token and "[" not in token:
            out.append("")  # a literal such as "-"
        else:
            return None
    return tuple(out)


def _column_group(name: str, groups: set[str]) -> str:
    group = _KNOWN.get(name, ("", None))[0]
    return group if group in groups or group == "request" else ""


def detect_format(sample: list[str]) -> LogFormat:
    """Pick the preset most sample lines match: timed before combined, combined by default."""
    timed, combined = compile_format("timed"), compile_format("combined")
    lines = [line for line in sample if line.strip()][:50]
    if not lines:
        return timed
    timed_re = re.compile(timed.pattern)
    combined_re = re.compile(combined.pattern)
    timed_hits = sum(1 for line in lines if timed_re.match(line))
    combined_hits = sum(1 for line in lines if combined_re.match(line))
    return timed if timed_hits and timed_hits >= combined_hits else combined
