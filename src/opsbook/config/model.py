"""The whole opsbook.yaml."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.checks import CheckConfig, Model
from opsbook.config.types import CheckName


class Config(Model):
    service: str = "service"
    checks: dict[CheckName, CheckConfig] = Field(default_factory=dict)
