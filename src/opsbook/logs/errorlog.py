"""Error-log lines to entries: time, level, message; multi-line tracebacks kept together.

Recognised without configuration, per line:

- nginx: ``2026/11/27 10:00:00 [error] 1234#1234: *5 connect() failed (111: …) while …``
- JSON lines with ``level``/``severity`` and ``msg``/``message`` (structlog, pino, zap, bunyan)
- logfmt: ``time=… level=error msg="…"``
- text with an ISO-8601 time and a level word: Python logging, uvicorn/gunicorn, Go, Java
- anything else: the whole line is the message, no time, no level

A line that starts with whitespace, or a Python traceback's lines, continue the entry
above; the traceback's last line (``ValueError: …``) joins the entry's message, since it
is what distinguishes one failure from another.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo


class Level(enum.IntEnum):
    DEBUG = 10
    INFO = 20
    NOTICE = 25
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


_LEVEL_WORDS = {
    "debug": Level.DEBUG,
    "trace": Level.DEBUG,
    "info": Level.INFO,
    "notice": Level.NOTICE,
    "warn": Level.WARNING,
    "warning": Level.WARNING,
    "error": Level.ERROR,
    "err": Level.ERROR,
    "crit": Level.CRITICAL,
    "critical": Level.CRITICAL,
    "alert": Level.CRITICAL,
    "emerg": Level.CRITICAL,
    "fatal": Level.CRITICAL,
    "panic": Level.CRITICAL,
}


def parse_level(text: str) -> Level:
    level = _LEVEL_WORDS.get(text.strip().lower())
    if level is None:
        words = ", ".join(w for w in _LEVEL_WORDS if w not in ("trace", "err", "crit"))
        raise ValueError(f"unknown level {text!r}; expected one of: {words}")
    return level


@dataclass(frozen=True, slots=True)
class Entry:
    line: int  # 1-based, of the entry's first line
    at: datetime | None
    level: Level | None
    message: str
    raw: str

    def milder_than(self, level: Level | None) -> bool:
        """Whether a ``--level`` filter leaves this out (entries without a level stay in)."""
        return level is not None and self.level is not None and self.level < level


_NGINX = re.compile(
    r"^(?P<at>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] \d+#\d+: "
    r"(?:\*\d+ )?(?P<msg>.*)$"
)
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_TEXT = re.compile(
    rf"^\[?(?P<at>{_ISO})\]?\s*(?:[-|:]\s*)?(?:\S+\s+[-|]\s+)?\[?(?P<level>[A-Za-z]+)\]?\s*[-:|]?\s*(?P<msg>.*)$"
)
_LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b.*")


def local_zone() -> tzinfo:
    """This machine's zone, as nginx writes its error log in (``TZ`` honoured)."""
    return datetime.now().astimezone().tzinfo or UTC


@functools.lru_cache(maxsize=4096)  # a busy log repeats each second's stamp many times
def _when(text: str, zone: tzinfo) -> datetime | None:
    """A time as the log wrote it; one without an offset is in ``zone`` (nginx writes its
    error log in the server's local time, Python logging too)."""
    text = text.strip().replace(",", ".")
    try:
        if "/" in text:  # nginx: 2026/11/27 10:00:00
            # by hand: strptime takes ~10 µs a line, a third of the whole error report
            return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                            int(text[14:16]), int(text[17:19]), tzinfo=zone)  # fmt: skip
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _json(line: str, zone: tzinfo) -> tuple[datetime | None, Level | None, str] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    msg = next((data[k] for k in ("msg", "message", "event", "error") if k in data), None)
    if msg is None:
        return None
    raw_level = next(
        (data[k] for k in ("level", "severity", "levelname", "lvl") if k in data), None
    )
    level = _LEVEL_WORDS.get(str(raw_level).lower()) if raw_level is not None else None
    if isinstance(raw_level, int) and level is None:  # pino/bunyan numbers: 50 error, 60 fatal
        level = Level.CRITICAL if raw_level >= 60 else Level(min(50, (raw_level // 10) * 10 or 10))
    at_raw = next((data[k] for k in ("time", "timestamp", "ts", "@timestamp") if k in data), None)
    at = None
    if isinstance(at_raw, str):
        at = _when(at_raw, zone)
    elif isinstance(at_raw, int | float):
        seconds = at_raw / 1000 if at_raw > 1e11 else at_raw
        at = datetime.fromtimestamp(seconds, UTC)
    return at, level, str(msg)


def _logfmt(line: str, zone: tzinfo) -> tuple[datetime | None, Level | None, str] | None:
    if "=" not in line or not line[:1].isalpha():
        return None
    pairs = {k: v.strip('"') for k, v in _LOGFMT_PAIR.findall(line)}
    msg = pairs.get("msg") or pairs.get("message")
    if msg is None:
        return None
    level = _LEVEL_WORDS.get(pairs.get("level", "").lower())
    stamp = pairs.get("time") or pairs.get("ts")
    at = _when(stamp, zone) if stamp else None
    rest = " ".join(
        f"{k}={v}" for k, v in pairs.items() if k not in ("msg", "message", "level", "time", "ts")
    )
    return at, level, f"{msg} {rest}".strip()


def parse_line(line: str, zone: tzinfo | None = None) -> tuple[datetime | None, Level | None, str]:
    zone = zone or local_zone()
    if m := _NGINX.match(line):
        return _when(m["at"], zone), _LEVEL_WORDS.get(m["level"]), m["msg"]
    if line.startswith("{") and (parsed := _json(line, zone)):
        return parsed
    if m := _TEXT.match(line):
        level = _LEVEL_WORDS.get(m["level"].lower())
        if level is not None:
            return _when(m["at"], zone), level, m["msg"]
        return _when(m["at"], zone), None, f"{m['level']} {m['msg']}".strip()
    if parsed := _logfmt(line, zone):
        return parsed
    return None, None, line.strip()


def _continues(line: str) -> bool:
    return line[:1] in (" ", "\t") or line.startswith(
        ("Traceback (", "During handling", "The above")
    )


def entries(
    lines: Iterable[str], first_line: int = 1, zone: tzinfo | None = None
) -> Iterator[Entry]:
    """Group lines into entries; a traceback's final exception line joins its message.
    ``zone``: the zone of times written without an offset (default: this machine's)."""
    zone = zone or local_zone()
    current: tuple[int, datetime | None, Level | None, str, list[str]] | None = None
    for number, text in enumerate(lines, first_line):
        line = text.rstrip("\n")
        if not line.strip():
            continue
        if current is not None and (
            _continues(line)
            or (_EXCEPTION.match(line) and current[4][-1:] and _continues(current[4][-1]))
        ):
            current[4].append(line)
            continue
        if current is not None:
            yield _finish(current)
        at, level, msg = parse_line(line, zone)
        current = (number, at, level, msg, [line])
    if current is not None:
        yield _finish(current)


def _finish(current: tuple[int, datetime | None, Level | None, str, list[str]]) -> Entry:
    number, at, level, msg, raw = current
    if len(raw) > 1:
        last = raw[-1].strip()
        if _EXCEPTION.match(last):
            msg = f"{msg} | {last}"
    return Entry(number, at, level, msg, "\n".join(raw))


def read_entries(
    files: Iterable[str], since: datetime | None = None, zone: tzinfo | None = None
) -> Iterator[Entry]:
    """Entries of every file in turn (plain, gzip, or - for stdin), optionally from ``since``."""
    from opsbook.logs import reader

    for name in files:
        if since is not None and reader.modified_before(name, since):
            continue
        lines = (
            line
            for chunk in reader.iter_chunks(name)
            for line in chunk.data.decode("utf-8", "replace").split("\n")
        )
        for entry in entries(lines, zone=zone):
            if since is None or entry.at is None or entry.at >= since:
                yield entry
