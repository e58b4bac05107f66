"""``opsbook incident edit``: the report fields only people can write."""

from __future__ import annotations

import json

import click

from opsbook.cli.context import actor, as_option, opened
from opsbook.cli.options import config_option, format_option
from opsbook.errors import UsageError

_HEADER = """\
# Post-incident report fields for {id}: {title}
# Write under each heading; lines starting with '#' are ignored.
# Leave a section empty to keep it empty. Save and quit to record the changes.
"""


@click.command()
@click.argument("incident_id", metavar="ID")
@click.option("--summary", help="Brief description of the incident.")
@click.option("--users-affected", help="Number or percentage of users affected.")
@click.option("--business-impact", help="Financial or operational impact.")
@click.option("--root-cause", help="What caused it.")
@click.option("--resolution", help="Steps taken to resolve it.")
@click.option("--prevention", help="What will prevent a recurrence.")
@click.option("--lessons", help="Key takeaways.")
@as_option
@format_option()
@config_option
@click.pass_context
def edit(
    ctx: click.Context,
    incident_id: str,
    summary: str | None,
    users_affected: str | None,
    business_impact: str | None,
    root_cause: str | None,
    resolution: str | None,
    prevention: str | None,
    lessons: str | None,
    as_: str | None,
    fmt: str,
) -> None:
    """Fill the report's human fields; with no field options, edit them all in $EDITOR.

    Every change is a new timeline entry; nothing earlier is rewritten.
    """
    from opsbook.incidents.model import HUMAN_FIELDS

    c = opened(ctx)
    given = {
        "summary": summary,
        "users_affected": users_affected,
        "business_impact": business_impact,
        "root_cause": root_cause,
        "resolution": resolution,
        "prevention": prevention,
        "lessons": lessons,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        found = c.incidents.get(incident_id)
        text = _HEADER.format(id=found.id, title=found.title)
        for name in HUMAN_FIELDS:
            text += f"\n## {name}\n{found.fields.get(name) or ''}\n"
        edited = click.edit(text, extension=".md", require_save=True)
        if edited is None:
            click.echo(f"{incident_id}: not saved, nothing changed", err=True)
            return
        changes = _parse(edited, list(HUMAN_FIELDS))
        changes = {k: v for k, v in changes.items() if v != (found.fields.get(k) or "")}
        if not changes:
            click.echo(f"{incident_id}: nothing changed", err=True)
            return
    changed = c.incidents.edit(incident_id, changes, actor(as_))
    if fmt == "json":
        click.echo(json.dumps({"id": incident_id, "changed": changed}))
    else:
        click.echo(f"{incident_id}: updated {', '.join(changed)}")


def _parse(text: str, names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(lines).strip()
            current = line[3:].strip()
            if current not in names:
                raise UsageError(
                    f"unknown section '## {current}' in the edited text; "
                    f"the sections are: {', '.join(names)}"
                )
            lines = []
        elif not line.startswith("#") and current is not None:
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines).strip()
    return out
