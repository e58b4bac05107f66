"""How a command starts: its imports made with the cyclic garbage collector held off."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quietly() -> Iterator[None]:
    """Imports without the collector. A start allocates ~150,000 objects that live as long as
    the process (modules, classes, functions: Polars alone is most of them), and the
    collector walked them ~100 times over while they were made, for nothing: 13 ms of the
    190 ms ``logs access`` takes to start, and once more at exit (~35 ms). After the imports
    they are frozen (left out of every later collection, the one at exit too) and the
    collector is back as it was. Only when something was imported: a process that runs
    commands again (the tests) would otherwise freeze whatever garbage is waiting."""
    was_on = gc.isenabled()
    modules = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        if was_on:
            gc.enable()
