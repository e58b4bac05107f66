"""Access logs with known contents, written line by line the way nginx writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Hit:
    ip: str = "10.0.0.1"
    at: float = 0.0  # seconds after T0
    method: str = "GET"
    path: str = "/"
    status: int = 200
    size: int = 100
    rt: float | None = 0.010
    agent: str = "curl/8.5.0"

    def line(self, timed: bool = True) -> str:
        when = (T0 + timedelta(seconds=self.at)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        base = (
            f'{self.ip} - - [{when}] "{self.method} {self.path} HTTP/1.1" {self.status} '
            f'{self.size} "-" "{self.agent}"'
        )
        if not timed:
            return base
        rt = "-" if self.rt is None else f"{self.rt:.3f}"
        return f"{base} {rt} {rt}"


def write_log(path: Path, hits: list[Hit] | list[str], timed: bool = True) -> Path:
    lines = [h if isinstance(h, str) else h.line(timed) for h in hits]
    path.write_text("".join(f"{line}\n" for line in lines))
    return path
