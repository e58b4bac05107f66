"""A one-line progress bar on standard error, only when it is a terminal.

With a known total it draws a bar and a percentage; without one (a dump streaming from
pg_dump) it shows bytes and rate. Redrawn at most ten times a second.
"""

from __future__ import annotations

import sys
import time

import click

from opsbook.units import format_bytes

WIDTH = 30


class ProgressLine:
    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    @staticmethod
    def wanted(fmt: str) -> bool:
        return fmt != "json" and sys.stderr.isatty()

    def update(self, done: int, label: str | None = None) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if label is not None:
            self.label = label
        rate = done / max(now - self.start, 1e-6)
        text = f"{self.label}: {format_bytes(done)} ({format_bytes(rate)}/s)"
        if self.total:
            share = min(1.0, done / self.total)
            bar = "█" * int(share * WIDTH) + "░" * (WIDTH - int(share * WIDTH))
            text = (
                f"{self.label} {bar} {share:4.0%} {format_bytes(done)}/{format_bytes(self.total)}"
            )
        click.echo(f"\r\033[K{text}", nl=False, err=True)
        self.shown = True

    def done(self) -> None:
        if self.shown:
            click.echo("\r\033[K", nl=False, err=True)
            self.shown = False
