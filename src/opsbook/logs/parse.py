"""One chunk of access-log text to a typed Polars frame, entirely inside Polars (Rust).

Pure-Python parsing tops out near 100,000 lines/s per core; here the regex, the time
parsing and the route folding each run once over a whole column, and the GIL is released,
so two chunks parse at once on two cores.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import polars as pl

from opsbook.logs.formats import LogFormat
from opsbook.logs.reader import Chunk

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Paths folded to routes: UUIDs, long hex (hashes, fingerprinted assets) and numeric
# segments, so /api/orders/123 and /api/orders/456 are one route.
# ASCII word boundaries ((?-u:\b)): zero-width, so /1/2 folds in one pass, and unlike
# Unicode ones they keep the regex on its DFA (2x faster over a million paths).
_B = r"(?-u:\b)"
_FOLDS = (
    (UUID, ":uuid"),
    (rf"{_B}[0-9a-fA-F]{{16,}}{_B}", ":hash"),
    (rf"/[0-9]+{_B}", "/:id"),
)
# Paths only an attacker asks for, anchored to where they live (a segment, not a substring:
# /api/actuators/12 and /api/console/status are routes, not probes). STRONG ones are never
# an app's own; WEAK ones (/actuator, *.jsp, /wp-login.php…) are some apps' real routes, so
# they count as probes only where the app does not answer them (see report.app_routes).
STRONG_PROBES = (
    r"(?i)(?:/\.env(?:$|[./])|/\.git(?:/|$)|/\.svn(?:/|$)|/\.hg/|/\.aws/|/\.ssh/|"
    r"/\.ht(?:access|passwd)$|/\.ds_store$|/\.DS_Store$|/\.vscode/|/\.idea/|"
    r"/etc/passwd|/proc/self/|\.\./|%2e%2e|/vendor/phpunit/|/cgi-bin/|/boaform/|/HNAP1(?:/|$)|"
    r"\.(?:bak|old|sql|swp)$|/config\.php$|/setup\.php$|/phpinfo\.php$|/shell\.php$)"
)
WEAK_PROBES = (
    r"(?i)(?:^/wp-(?:login\.php|admin(?:/|$)|content/|includes/)|^/xmlrpc\.php$|"
    r"^/(?:phpmyadmin|pma|myadmin)(?:/|$)|^/admin\.php$|^/actuator(?:/|$)|^/server-status$|"
    r"^/owa(?:/|$)|^/solr(?:/|$)|^/console(?:/|$)|^/manager/html|^/jenkins(?:/|$)|"
    r"\.(?:asp|aspx|jsp|cgi|php)$)"
)
STATIC = (  # what GoAccess counts as static files
    r"(?i)\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|bmp|woff2?|ttf|otf|eot|txt|"
    r"xml|pdf|zip|gz|mp4|webm|mp3|ogg|wasm)$"
)
PROBES = f"{STRONG_PROBES}|{WEAK_PROBES}"  # any kind: what a chunk keeps to look at later
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
           "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK")  # fmt: skip
MALFORMED = "(malformed)"  # the route of a request line that is not HTTP (TLS to port 80…)
ROUTE_MAX = 200


def unescape(text: str) -> str:
    """A value as the client sent it: nginx logs " and \\ as \\x22 and \\x5C."""
    return text.replace("\\x22", '"').replace("\\x5C", "\\") if "\\x" in text else text


def fold_route(path: pl.Expr) -> pl.Expr:
    for pattern, replacement in _FOLDS:
        path = path.str.replace_all(pattern, replacement)
    return path.str.slice(0, ROUTE_MAX)


def _without_query(target: pl.Expr) -> pl.Expr:
    """The target up to its first ? or #: cut by bytes at that (ASCII) byte, which keeps the
    text's buffer (a regex replacement copied every path: 1.5x the time)."""
    cut = target.str.find("[?#]").fill_null(target.str.len_bytes())
    return target.cast(pl.Binary).bin.head(cut).cast(pl.String)


def _times(fmt: LogFormat, field: Callable[[str], pl.Expr] | None = None) -> pl.Expr:
    """Parsed from the match struct ``m`` (or the columns ``field`` names): a time that does
    not parse makes the line unparsed."""
    field = field or pl.col("m").struct.field
    if "time" in fmt.groups:
        parsed = field("time").str.strptime(
            pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z", strict=False
        )
    elif "time_iso" in fmt.groups:
        parsed = field("time_iso").str.strptime(pl.Datetime("us", "UTC"), strict=False)
    else:
        seconds = field("msec").cast(pl.Float64, strict=False)
        parsed = (seconds * 1_000_000).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
    return parsed


def _local_time() -> pl.Expr:
    """``[10/Oct/2026:13:55:36`` and ``+0200]`` (nginx's $time_local split at its space) to
    UTC: the clock read without its offset, then the offset taken off (2x strptime's %z)."""
    clock, offset = pl.col("time_a"), pl.col("time_b")
    local = clock.str.strptime(pl.Datetime("us"), "[%d/%b/%Y:%H:%M:%S", strict=False)
    sign = pl.when(offset.str.starts_with("+")).then(1).when(offset.str.starts_with("-")).then(-1)
    hours = offset.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = offset.str.slice(3, 2).cast(pl.Int32, strict=False)
    shaped = (offset.str.len_bytes() == 6) & offset.str.ends_with("]")
    east = pl.when(shaped).then(sign * (hours * 60 + minutes))  # null: the line is unparsed
    return (local - pl.duration(minutes=east)).dt.replace_time_zone("UTC")


def _latency(fmt: LogFormat) -> pl.Expr:
    field = fmt.latency_field
    if field is None:
        return pl.lit(None, dtype=pl.Int32).alias("ms")
    col = pl.col(field)
    if field == "upstream_time":
        # "0.010, 0.020" (tried two upstreams) and "0.010 : 0.020" (internal redirect): the sum.
        seconds = (
            col.str.replace_all(" : ", ", ", literal=True)
            .str.split(", ")
            .list.eval(pl.element().cast(pl.Float64, strict=False))
            .list.sum()
        )
        seconds = pl.when(col == "-").then(None).otherwise(seconds)
    else:
        seconds = col.cast(pl.Float64, strict=False)
    return (seconds * 1000).round(0).cast(pl.Int32).alias("ms")


# Polars' default engine for a lazy plan is its streaming one, made for data larger than
# memory; a chunk's plans ran 20-30 % faster on the in-memory engine (merges did not, and
# took more memory there: they keep the default).
ENGINE: Final = "in-memory"
NO_LINES = pl.DataFrame(schema={"lineno": pl.UInt32, "line": pl.String})
SEPARATOR = b"\x01"  # a byte no text log has: each line is one field


def count_lines(data: bytes) -> int:
    """``reader.count_lines`` by Polars: on its threads with the GIL released, 3x as fast
    (the reader thread counting had held the GIL while both workers waited). Polars counts
    rows, and a text ending in a newline ends in an empty line here."""
    if SEPARATOR in data:  # a binary file: the separator would not count alike
        return data.count(b"\n") + 1
    rows = pl.scan_csv(
        data, has_header=False, separator=SEPARATOR.decode(), quote_char=None,
        schema={"line": pl.String}, raise_if_empty=False,
    ).select(pl.len())  # fmt: skip
    empty_last = not data or data.endswith(b"\n")
    return int(rows.collect(engine=ENGINE).item()) + empty_last


def read_lines(chunk: Chunk) -> pl.DataFrame:
    """The chunk as one string column, numbered; Polars' CSV reader with a separator and no
    quoting is 7x faster at splitting lines than str.split, and keeps empty lines (as null)."""
    data = chunk.data
    if SEPARATOR in data:  # a binary file, or a log with control bytes: one column, always
        data = data.replace(SEPARATOR, b"?")
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        separator=SEPARATOR.decode(),
        quote_char=None,
        new_columns=["line"],
        schema={"line": pl.String},
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
        raise_if_empty=False,
    )
    return frame.with_row_index("lineno", offset=chunk.first_line)


def _typed(frame: pl.DataFrame, fmt: LogFormat, pattern: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed rows, lines the pattern or the time parser rejected)."""
    matched = frame.with_columns(pl.col("line").str.extract_groups(pattern).alias("m"))
    matched = matched.with_columns(_times(fmt).alias("ts"))
    ok = pl.col("m").struct.field("status").is_not_null() & pl.col("ts").is_not_null()
    bad = matched.filter(~ok).select("lineno", "line")
    return _shaped(matched.filter(ok).select("ts", pl.col("m")).unnest("m"), fmt), bad


@dataclass(frozen=True)
class Plan:
    """A chunk read as columns, not yet run: Polars runs these with the chunk's aggregates
    in one call (each eager step had cost a pass over every row and a return to Python)."""

    rows: pl.LazyFrame  # the typed rows of the lines that parsed (see _shaped)
    lines: pl.LazyFrame  # how many rows the columns gave: one per line, or the plan is void
    rejected: pl.LazyFrame  # the numbers of the lines the columns could not type


# Read as numbers by the CSV reader itself: no string column made only to be cast.
_NUMBERS = {"status": pl.Int16, "bytes": pl.Int64, "request_time": pl.Float64}


def plan_chunk(chunk: Chunk, fmt: LogFormat) -> Plan | None:
    """The chunk as space-separated columns with quoted free text (Polars' CSV reader, 4x
    the regex's speed); None for a layout that is not columns (the regex reads it)."""
    if fmt.columns is None or fmt.use_forwarded:
        return None
    kept = {i: name for i, name in enumerate(fmt.columns) if name}
    types = [_NUMBERS.get(name, pl.String) for name in fmt.columns]
    frame = pl.scan_csv(
        chunk.data, has_header=False, separator=" ", quote_char='"',
        schema={f"column_{i + 1}": kind for i, kind in enumerate(types)},
        truncate_ragged_lines=True, encoding="utf8-lossy", raise_if_empty=False,
        ignore_errors=True,  # a number that is not one: null, and the line is looked at again
    ).select(pl.col(f"column_{i + 1}").alias(name) for i, name in kept.items())  # fmt: skip
    names = list(kept.values())
    fields = [pl.col(n) for n in names if n not in ("time_a", "time_b", "request")]
    if "time_a" in names:
        fields.append(_local_time().alias("ts"))
    if "request" in names:  # "GET /path HTTP/1.1": method, target, the rest
        parts = (
            pl.col("request")
            .str.splitn(" ", 3)
            .struct.rename_fields(["method", "target", "protocol"])
        )
        fields.append(parts)
    typed = frame.select(fields)
    if "request" in names:
        typed = typed.unnest("request").drop("protocol")
    typed = typed.with_row_index("lineno", offset=chunk.first_line)
    if "time_a" not in names:
        typed = typed.with_columns(_times(fmt, pl.col).alias("ts"))
    ok = pl.col("status").is_between(100, 999) & pl.col("ts").is_not_null()
    typed = typed.with_columns(ok.fill_null(False).alias("ok"))
    typed = typed.cache()  # read once, for the three frames below
    return Plan(
        rows=_shaped(typed.filter("ok").drop("lineno", "ok"), fmt),
        lines=typed.select(pl.len()),
        rejected=typed.filter(~pl.col("ok")).select("lineno"),
    )


def run(
    plan: Plan, chunk: Chunk, more: list[pl.LazyFrame]
) -> tuple[pl.Series, list[pl.DataFrame]] | None:
    """The plan and ``more`` frames built on its rows, run as one Polars call: (the numbers
    of the lines the columns could not type, what ``more`` gave); None when the columns do
    not line up with the lines (a stray quote): ``parse_lines`` reads the chunk instead."""
    try:
        lines, rejected, *frames = pl.collect_all([plan.lines, plan.rejected, *more], engine=ENGINE)
    except pl.exceptions.PolarsError:  # a quote the reader could not get past
        return None
    if lines.item() != lines_of(chunk):
        return None
    return rejected["lineno"], frames


def lines_of(chunk: Chunk) -> int:
    """Counted once, by the reader; a chunk made elsewhere says 0 and is counted here."""
    data = chunk.data
    return chunk.lines or data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def retry(
    chunk: Chunk, fmt: LogFormat, numbers: pl.Series
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """The lines the columns missed (a user with a space, garbage), read by the regex and
    then the format's fallback: (typed rows or None, the lines neither could read)."""
    if numbers.is_empty():
        return None, NO_LINES
    every = read_lines(chunk)
    bad = every.filter(pl.col("lineno").is_in(numbers.implode()))
    bad = bad.filter(pl.col("line").str.strip_chars() != "")
    rows, bad = _typed(bad, fmt, fmt.pattern)
    if fmt.fallback is not None and bad.height:
        retried, bad = _typed(bad, fmt, fmt.fallback)
        rows = pl.concat([rows, retried], how="vertical_relaxed")
    return rows, bad


def _shaped(rows: Frame, fmt: LogFormat) -> Frame:
    """Named fields (ip, time, method, target, status…) to the typed rows every report reads."""
    names = rows.collect_schema().names()
    ip = pl.col("ip").fill_null("-") if "ip" in names else pl.lit("-")
    if fmt.use_forwarded and "forwarded" in names:
        first = pl.col("forwarded").str.split(",").list.first().str.strip_chars()
        ip = pl.when(first.is_in(["-", ""]) | first.is_null()).then(ip).otherwise(first)
    target = pl.col("target")
    if "raw_request" in names:
        target = pl.coalesce(target, pl.col("raw_request"))
    method = pl.col("method").fill_null("-") if "method" in names else pl.lit("-")
    # in steps: an eager select would work each shared expression out again per use
    rows = rows.with_columns(
        ip.alias("ip"),
        method.alias("method"),
        _without_query(target.fill_null("")).alias("path"),
    )
    path, method = pl.col("path"), pl.col("method")
    # A request line that is not HTTP ("HELLO WORLD", TLS bytes sent to port 80, "-") is one
    # route, counted, not 42 routes of garbage.
    wellformed = (
        (method.is_in(METHODS) | (method == "-"))
        & (path.str.starts_with("/") | (path == "*") | path.str.starts_with("http"))
        if "method" in names
        else path.str.starts_with("/")
    )
    rows = rows.with_columns(wellformed.alias("wellformed"))
    good = pl.col("wellformed")
    return rows.select(
        "ts",
        "ip",
        pl.when(good).then(method).otherwise(pl.lit("-")).alias("method"),
        pl.when(good).then(path).otherwise(pl.lit(MALFORMED)).alias("path"),
        pl.when(good).then(fold_route(path)).otherwise(pl.lit(MALFORMED)).alias("route"),
        pl.col("status").cast(pl.Int16),
        (pl.col("bytes").cast(pl.Int64, strict=False) if "bytes" in names else pl.lit(0))
        .fill_null(0)
        .alias("bytes"),
        _latency(fmt),
        # as nginx wrote it (\x22 for a quote): unescaped once per distinct agent, in reports
        (pl.col("agent").fill_null("-") if "agent" in names else pl.lit("-")).alias("agent"),
        (pl.col("referer").fill_null("-") if "referer" in names else pl.lit("-")).alias("referer"),
    )


def parse_chunk(chunk: Chunk, fmt: LogFormat) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(parsed rows, unparsed non-blank lines with their numbers)."""
    plan = plan_chunk(chunk, fmt)
    done = None if plan is None else run(plan, chunk, [plan.rows])
    if done is None:
        return parse_lines(chunk, fmt)
    rejected, [rows] = done
    retried, bad = retry(chunk, fmt, rejected)
    if retried is not None:
        rows = pl.concat([rows, retried], how="vertical_relaxed")
    return rows, bad


def parse_lines(chunk: Chunk, fmt: LogFormat) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The chunk line by line with the format's regex (the columns did not line up)."""
    frame = read_lines(chunk).filter(pl.col("line").str.strip_chars() != "")
    rows, bad = _typed(frame, fmt, fmt.pattern)
    if fmt.fallback is not None and bad.height:
        retried, bad = _typed(bad, fmt, fmt.fallback)
        rows = pl.concat([rows, retried])
    return rows, bad
