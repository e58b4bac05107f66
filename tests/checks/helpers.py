from __future__ import annotations

from typing import Any

from opsbook import aio
from opsbook.checks.base import Result
from opsbook.checks.runner import run_check, run_checks
from opsbook.config.loader import redactor_for
from opsbook.config.model import Config


def run(spec: dict[str, Any], name: str = "t") -> Result:
    """Validate one check the way opsbook.yaml would, and run it for real."""
    config = Config.model_validate({"checks": {name: spec}})
    return aio.run(run_check(name, config.checks[name], redactor_for(config)))


def run_all(specs: dict[str, dict[str, Any]]) -> list[Result]:
    config = Config.model_validate({"checks": specs})
    return aio.run(run_checks(config.checks, redactor_for(config)))
