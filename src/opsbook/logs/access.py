"""``opsbook logs access``: read access logs chunk by chunk over both cores, then report.

files ─► reader.iter_chunks ─► parse.plan_chunk + partials.reduce_plans ─► _Partials ─┐
         (main thread, reads ahead)  (2 worker threads: one Polars call per chunk)     ▼
                          report.build ◄── partials.merge_all (every few chunks, at the end)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

import polars as pl

from opsbook.logs import reader
from opsbook.logs.formats import LogFormat, compile_format, detect_format
from opsbook.logs.model import AccessReport, Unparsed
from opsbook.logs.parse import (
    PROBES,
    STRONG_PROBES,
    Plan,
    count_lines,
    parse_lines,
    plan_chunk,
    retry,
    run,
)
from opsbook.logs.partials import (
    KINDS,
    clients_of,
    finished,
    merge_all,
    reduce_chunk,
    reduce_plans,
)
from opsbook.logs.report import Thresholds, build
from opsbook.timefmt import iso

EXAMPLES = 5
_Span = tuple[int, datetime | None, datetime | None]  # rows parsed, first and last time
_Done = tuple[pl.DataFrame, _Span]
# Chunks' partials waiting at most (~4 MB each, partials._COMPACT) for the kinds merged
# often, and for the others (partials.Kind.often).
_MERGE_EVERY = 4
_MERGE_ALL_EVERY = 24
_WORKERS = 2  # both cores busy
# Stacked, not merged, at the end: the report reads the per-route latency only grouped again
# (by millisecond for the whole log, by route for the few it shows), and merged it had been a
# group-by of ~400,000 rows on two keys, a quarter of the final merge, for nothing.
_STACKED_AT_END = frozenset({"route_latency"})
# Chunks read ahead of the workers beyond the one queued behind them: reading a chunk takes
# ~3 ms, so a worker hardly waits for it, and each chunk held costs ~30 MB at the peak.
_AHEAD = 0


@dataclass(frozen=True, slots=True)
class AccessQuery:
    """What to read and how: the files, their format, the window and the drill-down."""

    files: tuple[str, ...]
    log_format: str | None = None  # None: detect combined / timed from the first lines
    since: datetime | None = None
    until: datetime | None = None
    top: int = 20
    thresholds: Thresholds = field(default_factory=Thresholds)
    chunk_bytes: int = reader.CHUNK_BYTES
    statuses: tuple[str, ...] = ()  # only these: codes (404) or classes (5xx)
    path_prefix: str | None = None  # only paths starting with this
    forwarded: bool = False  # clients from X-Forwarded-For (see LogFormat.use_forwarded)
    probe_paths: tuple[str, ...] = ()  # regexes of paths that only an attacker asks for
    zone: tzinfo = UTC  # where "hour of day" is counted

    def probes(self) -> str:
        """The built-in attack paths and the configured ones, as one regex (checked here:
        config loading must not import Polars just to validate them)."""
        from opsbook.errors import ConfigError

        for pattern in self.probe_paths:
            try:
                pl.Series([""]).str.contains(pattern)
            except pl.exceptions.ComputeError as exc:
                why = re.findall(r"^error: (.+)$", str(exc), flags=re.MULTILINE)
                raise ConfigError(
                    f"logs.probe_paths: {pattern!r} is not a regular expression"
                    + (f" ({why[-1]})" if why else "")
                ) from None
        return "|".join((PROBES, *(f"(?:{p})" for p in self.probe_paths)))

    def strong_probes(self) -> str:
        """Paths never an app's own: the built-in strong ones and the configured ones."""
        return "|".join((STRONG_PROBES, *(f"(?:{p})" for p in self.probe_paths)))

    def where(self) -> pl.Expr | None:
        """The window and drill-down filter, or None for every request."""
        conditions = []
        if self.since is not None:
            conditions.append(pl.col("ts") >= self.since)
        if self.until is not None:
            conditions.append(pl.col("ts") < self.until)
        if self.statuses:
            status = pl.col("status")
            wanted = [
                (status // 100 == int(s[0])) if s.endswith("xx") else (status == int(s))
                for s in self.statuses
            ]
            conditions.append(pl.any_horizontal(wanted))
        if self.path_prefix:
            conditions.append(pl.col("path").str.starts_with(self.path_prefix))
        return pl.all_horizontal(conditions) if conditions else None


def parse_statuses(values: tuple[str, ...]) -> tuple[str, ...]:
    """``5xx``, ``404``: a class or a code; UsageError otherwise."""
    from opsbook.errors import UsageError

    out = []
    for value in values:
        text = value.strip().lower()
        if re.fullmatch(r"[1-5]xx|[1-5][0-9]{2}", text) is None:
            raise UsageError(
                f"--status {value!r}: expected a code such as 404 or a class such as 5xx"
            )
        out.append(text)
    return tuple(out)


@dataclass
class _Totals:
    """What the reader counts beside the partials: lines read, unparsed, the time span."""

    unparsed: int = 0
    examples: list[Unparsed] = field(default_factory=list)
    parsed: int = 0  # before --since/--until/--status/--path
    first: datetime | None = None
    last: datetime | None = None

    def saw(self, span: _Span) -> None:
        count, first, last = span
        self.parsed += count
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)


def _chunks(query: AccessQuery, notes: list[str]) -> Iterator[reader.Chunk]:
    for name in query.files:
        if query.since is not None and reader.modified_before(name, query.since):
            notes.append(f"skipped {name}: last written before --since")
            continue
        yield from reader.iter_chunks(name, query.chunk_bytes, count_lines)


_SPAN = (
    pl.len().alias("rows"),
    pl.col("ts").min().alias("first"),
    pl.col("ts").max().alias("last"),
)


def _span(spans: list[pl.DataFrame]) -> _Span:
    """(rows, first time, last time) of a chunk's parsed rows, before any selection."""
    both = spans[0]
    if len(spans) > 1:  # the usual chunk has one: no Polars step for it
        both = pl.concat(spans).select(
            pl.col("rows").sum(), pl.col("first").min(), pl.col("last").max()
        )
    rows, first, last = both.row(0)
    return (
        rows,
        first if isinstance(first, datetime) else None,
        last if isinstance(last, datetime) else None,
    )


def _reduce(
    chunk: reader.Chunk, fmt: LogFormat, where: pl.Expr | None, probes: str, strong: str
) -> tuple[list[dict[str, pl.DataFrame]], pl.DataFrame, _Span]:
    """One chunk to its partials (a list: the lines the columns could not type, read again
    by the regex, make a small second set), its unparsed lines and its span."""
    plan = plan_chunk(chunk, fmt)
    done = None if plan is None else _planned(plan, chunk, where, probes, strong)
    if done is not None:
        parts, rejected, spans = done
        retried, bad = retry(chunk, fmt, rejected)
        if retried is None:  # the usual chunk: every line typed by the columns
            return [parts], bad, _span([spans])
        reduced, both = [parts], [spans, retried.select(_SPAN)]
    else:
        retried, bad = parse_lines(chunk, fmt)
        reduced, both = [], [retried.select(_SPAN)]
    selected = retried if where is None else retried.filter(where)
    return [*reduced, reduce_chunk(selected, probes, strong)], bad, _span(both)


def _planned(
    plan: Plan, chunk: reader.Chunk, where: pl.Expr | None, probes: str, strong: str
) -> tuple[dict[str, pl.DataFrame], pl.Series, pl.DataFrame] | None:
    """The columns' plan and every aggregate run as one Polars call (one return to Python a
    chunk instead of a dozen): (partials, the numbers of the lines the columns could not
    type, span); None when the columns do not line up with the lines."""
    selected = plan.rows if where is None else plan.rows.filter(where)
    aggregates = reduce_plans(selected, probes, strong)
    done = run(plan, chunk, [plan.rows.select(_SPAN), *aggregates.values()])
    if done is None:
        return None
    rejected, (spans, *frames) = done
    return finished(dict(zip(aggregates, frames, strict=True))), rejected, spans


def _with_clients(query: AccessQuery, fmt: LogFormat) -> LogFormat:
    return replace(fmt, use_forwarded=query.forwarded)


class _Partials:
    """The running aggregates, shared by the workers. When _MERGE_EVERY partials wait, a
    merge joins the pool's queue as a task of its own (one at a time, so the merged state
    exists once): neither the reader nor the chunk that made it due waits for it. It takes
    the kinds merged often, and the others once _MERGE_ALL_EVERY chunks have waited."""

    def __init__(self, pool: ThreadPoolExecutor, top: int) -> None:
        self._pool = pool
        self._top = top  # how many rows a ranking shows: bags keep those rows' text
        self._lock = threading.Lock()  # guards _parts and _merge
        self._parts: dict[str, list[pl.DataFrame]] = {name: [] for name in KINDS}
        self._merge: Future[None] | None = None
        self._waiting = 0  # partials added since the last merge began
        self._all_waiting = 0  # since the last merge of every kind began
        self.last_read = False  # the reader is done: the final merge takes what is left

    def add(self, parts: dict[str, pl.DataFrame]) -> None:
        with self._lock:
            for name, frame in parts.items():
                self._parts[name].append(frame)
            self._waiting += 1
            self._all_waiting += 1
            due = self._waiting >= _MERGE_EVERY and not self.last_read
            if due and (self._merge is None or self._merge.done()):
                if self._merge is not None:
                    self._merge.result()  # a failed merge lost partials: it fails the run
                every = self._all_waiting >= _MERGE_ALL_EVERY
                self._waiting = 0
                if every:
                    self._all_waiting = 0
                self._merge = self._pool.submit(self._merge_waiting, every)

    def _merge_waiting(self, every: bool) -> None:
        with self._lock:
            taken = {n: f for n, f in self._parts.items() if every or KINDS[n].often}
            self._parts = {n: [] if n in taken else f for n, f in self._parts.items()}
        merged = merge_all(taken, self._top)
        del taken
        with self._lock:
            for name, frame in merged.items():
                self._parts[name].insert(0, frame)

    def merged(self) -> dict[str, pl.DataFrame]:
        """Every partial as one frame per kind (missing: no rows were read); the kinds in
        _STACKED_AT_END as their partials one above the other."""
        if self._merge is not None:
            self._merge.result()
        with self._lock:
            taken, self._parts = self._parts, {name: [] for name in KINDS}
        return merge_all(taken, self._top, _STACKED_AT_END)


def analyse(query: AccessQuery) -> AccessReport:
    notes: list[str] = []
    totals = _Totals()
    # A given format is compiled (and a bad one refused) before any file is read; without
    # one, the first chunk's lines decide.
    fmt = _with_clients(query, compile_format(query.log_format)) if query.log_format else None
    where = query.where()
    probes, strong = query.probes(), query.strong_probes()

    def work(box: list[reader.Chunk], fmt: LogFormat) -> _Done:
        chunk = box.pop()  # the box was the only other hold on the text: it goes after parsing
        name = chunk.name
        reduced, bad, span = _reduce(chunk, fmt, where, probes, strong)
        del chunk
        for parts in reduced:
            partials.add(parts)
        return (bad.with_columns(pl.lit(name).alias("file")) if bad.height else bad), span

    def collect(future: Future[_Done]) -> None:
        bad, span = future.result()
        totals.saw(span)
        totals.unparsed += bad.height
        for row in bad.head(EXAMPLES - len(totals.examples)).iter_rows(named=True):
            totals.examples.append(Unparsed(row["file"], row["lineno"], row["line"][:300]))

    pool = ThreadPoolExecutor(max_workers=_WORKERS)
    partials = _Partials(pool, query.top)
    with pool:
        pending: list[Future[_Done]] = []
        for chunk in _chunks(query, notes):
            if fmt is None:
                fmt = _with_clients(query, detect_format(chunk.head()))
            pending.append(pool.submit(work, [chunk], fmt))
            del chunk
            if len(pending) > _WORKERS + _AHEAD:
                collect(pending.pop(0))
        partials.last_read = True
        for future in pending:
            collect(future)
        done = partials.merged()
    if fmt is None:  # nothing read: report on the default layout
        fmt = compile_format("timed")
    merged = {name: done.get(name) for name in KINDS}
    merged["clients"] = clients_of(merged["visitors"])
    minutes = merged["minutes"]
    if totals.parsed and (minutes is None or minutes["requests"].sum() == 0):
        notes.append(
            f"none of the {totals.parsed} requests read is in the selection; the log runs "
            f"from {iso(totals.first)} to {iso(totals.last)}"
        )
    if fmt.latency_field is None and query.log_format is None:
        notes.append(
            "no log format given, and the lines read as nginx's combined, which has no timing "
            "field: if this log has $request_time, give its log_format string from nginx.conf "
            "with --log-format '…' (or logs.log_format) to report latency"
        )
    elif fmt.latency_field is None:
        notes.append(
            "this log format has no timing field ($request_time or $upstream_response_time): "
            "latency is not reported; add $request_time to nginx's log_format"
        )
    return build(
        merged,
        files=query.files,
        fmt=fmt,
        unparsed=totals.unparsed,
        examples=tuple(totals.examples),
        top=query.top,
        thresholds=query.thresholds,
        notes=tuple(notes),
        zone=query.zone,
    )
