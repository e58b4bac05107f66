"""How a command starts: only its own module loaded, imports made with the collector off."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.cli.startup import quietly


@pytest.fixture
def collector() -> Iterator[None]:
    was_on = gc.isenabled()
    yield
    gc.unfreeze()
    if was_on:
        gc.enable()
    else:
        gc.disable()


def test_imports_run_without_the_collector_and_what_they_made_is_frozen(
    tmp_path: Path, collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "opsbook_probe_module.py").write_text("TABLE = {n: [n] for n in range(100)}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    gc.enable()
    gc.unfreeze()
    with quietly():
        assert not gc.isenabled()
        import opsbook_probe_module  # noqa: F401

    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    del sys.modules["opsbook_probe_module"]


def test_nothing_is_frozen_when_nothing_new_was_imported(collector: None) -> None:
    gc.enable()
    gc.unfreeze()
    with quietly():
        import json  # noqa: F401  (already loaded)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(collector: None) -> None:
    gc.disable()
    with quietly():
        pass
    assert not gc.isenabled()


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "from opsbook.cli import main\n"
        "try:\n"
        "    main(['logs', 'access', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('opsbook.cli.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1]
    assert "'opsbook.cli.logs'" in loaded
    for other in ("db", "backup", "serve", "incident", "check"):
        assert f"'opsbook.cli.{other}'" not in loaded, loaded
