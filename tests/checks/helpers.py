from __future__ import annotations

from typing import Any

from opsbook import aio
from opsbook.checks.runner import run_check, run_checks
from opsbook.config.loader import redactor_for
from opsbook.config.model import Config, validate
from opsbook.results import Result


def config_of(specs: dict[str, dict[str, Any]]) -> Config:
    config, problems = validate({"checks": specs})
    assert config is not None, problems
    return config


def run(spec: dict[str, Any], name: str = "t") -> Result:
    """Validate one check the way opsbook.yaml would, and run it for real."""
    config = config_of({name: spec})
    return aio.run(run_check(name, config.checks[name], redactor_for(config)))


def run_all(specs: dict[str, dict[str, Any]]) -> list[Result]:
    config = config_of(specs)
    return aio.run(run_checks(config.checks, redactor_for(config)))
