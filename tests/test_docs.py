"""The docs are part of the interface: every config key and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import msgspec

from opsbook.cli import cli
from opsbook.config.actions import ActionConfig, AutoRun
from opsbook.config.backups import (
    SOURCE_MODELS,
    BackupSettings,
    EncryptionConfig,
    FilesystemRepo,
    Keep,
    S3Repo,
    SourceBase,
)
from opsbook.config.checks import CheckBase
from opsbook.config.daemon import IntakeConfig, RetentionConfig, ServerConfig
from opsbook.config.jobs import JOB_MODELS, JobBase
from opsbook.config.logs import LogsConfig
from opsbook.config.model import TOP_LEVEL_KEYS
from opsbook.config.paging import (
    LevelConfig,
    PagingConfig,
    PersonConfig,
    Restriction,
    ScheduleConfig,
)
from opsbook.config.prometheus_checks import Signal
from opsbook.config.registry import CHECK_MODELS
from opsbook.config.severities import SeverityConfig
from opsbook.config.trends import Degradation, Spike, TrendsConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _keys(model: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(model)}


def _sections(text: str) -> dict[str, str]:
    """``### `kind` ...`` sections of configuration.md, by kind."""
    parts = re.split(r"^### `([a-z_]+)`.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _documented_keys(section: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_config_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    sections = _sections(text)
    common = _keys(CheckBase) | {"type"}
    top = text.split("## Checks")[0]
    assert set(TOP_LEVEL_KEYS) <= _documented_keys(top)
    severities = text.split("## Severities")[1].split("## Checks")[0]
    assert _keys(SeverityConfig) <= _documented_keys(severities)
    for section, model in (("server", ServerConfig), ("intake", IntakeConfig),
                           ("retention", RetentionConfig), ("trends", TrendsConfig),
                           ("trends", Degradation), ("trends", Spike)):  # fmt: skip
        part = text.split(f"## `{section}:`")[1].split("\n## ")[0]
        assert _keys(model) <= _documented_keys(part), section
    checks_intro = text.split("## Checks")[1].split("### ")[0]
    assert common <= _documented_keys(checks_intro)
    paging = text.split("## Paging")[1].split("\n## ")[0]
    for heading, model in (("people:", PersonConfig), ("schedules:", ScheduleConfig),
                           ("escalation:", LevelConfig), ("paging:", PagingConfig)):  # fmt: skip
        part = paging.split(f"### `{heading}`")[1].split("### ")[0]
        assert _keys(model) <= _documented_keys(part), heading
    restriction = paging.split("Restriction keys:")[1]
    assert _keys(Restriction) <= _documented_keys(restriction)
    backups = text.split("## Backups")[1].split("\n## ")[0]
    source_common = _keys(SourceBase) | {"type"}
    assert _keys(BackupSettings) | {"repositories", "encryption", "sources"} <= _documented_keys(
        backups.split("### ")[0]
    )
    named = (("Repositories: `filesystem`", FilesystemRepo), ("Repositories: `s3`", S3Repo),
             ("Encryption", EncryptionConfig))  # fmt: skip
    for heading, model in named:
        part = backups.split(f"### {heading}")[1].split("### ")[0]
        assert _keys(model) - {"type"} <= _documented_keys(part), heading
    sources_part = backups.split("### Sources")[1]
    assert source_common | _keys(Keep) <= _documented_keys(sources_part)
    for kind, model in SOURCE_MODELS.items():
        own = _keys(model) - source_common
        part = sources_part.split(f"`{kind}`: ")[1].split("\n`")[0]
        assert own <= _documented_keys(part), kind
    actions = text.split("## Actions")[1].split("\n## ")[0]
    assert _keys(ActionConfig) <= _documented_keys(actions.split("`auto:`")[0])
    assert _keys(AutoRun) <= _documented_keys(actions.split("`auto:`")[1])
    jobs = text.split("## Jobs")[1].split("\n## ")[0]
    job_common = _keys(JobBase)
    assert job_common <= _documented_keys(jobs.split("Every job:")[1].split("\n`")[0])
    for action, model in JOB_MODELS.items():
        part = jobs.split(f"\n`{action}`: ")[1].split("\n`")[0]
        parents = [b for b in model.__mro__[1:] if b in JOB_MODELS.values()]  # documented there
        inherited = set().union(*(_keys(b) for b in parents))
        assert _keys(model) - job_common - inherited <= _documented_keys(part), action
    logs = text.split("## Logs")[1].split("\n## ")[0]
    assert _keys(LogsConfig) <= _documented_keys(logs)
    signal_part = sections["prometheus"].split("Each signal:")[1]
    assert _keys(Signal) <= _documented_keys(signal_part)
    for kind, model in CHECK_MODELS.items():
        assert kind.value in sections, f"no section for check type {kind.value}"
        own = _keys(model) - common
        missing = own - _documented_keys(sections[kind.value])
        assert not missing, f"{kind.value}: undocumented keys {sorted(missing)}"


def _commands(group: click.Group, prefix: str = "opsbook") -> list[str]:
    names = []
    context = click.Context(group)
    for name in group.list_commands(context):  # the top level loads its commands lazily
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    headings = re.findall(r"^## `([^`]+)`", text, flags=re.MULTILINE)
    for command in _commands(cli):
        assert any(h == command or h.startswith(command + " ") for h in headings), command


def test_every_module_is_in_the_development_layout() -> None:
    """docs/development.md's layout names every module, so the map stays true."""
    text = (DOCS / "development.md").read_text()
    block = re.search(r"<!-- modules -->\n```\n(.*?)```", text, re.S)
    assert block, "docs/development.md lost its modules block"
    words = set(re.findall(r"[a-z_0-9]+", block.group(1)))
    src = DOCS.parent / "src" / "opsbook"
    missing = sorted(
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if path.stem not in words and path.stem != "__init__" and "versions" not in path.parts
    )
    assert not missing, f"modules missing from docs/development.md: {missing}"
