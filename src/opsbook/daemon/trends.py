"""The trend rules (``trends:``), evaluated every ``trends.every`` by housekeeping: a finding
that turns degraded fires a SEV-4 alert (recorded, in the digest, not paged), one that turns
steady again resolves it. Learning is neither: nothing is said before there is history.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from opsbook.alerts.intake import ExternalAlert
from opsbook.alerts.model import AlertState, Source
from opsbook.alerts.trends import Finding, Verdict, evaluate

if TYPE_CHECKING:
    from opsbook.daemon.main import Daemon

log = logging.getLogger("opsbook.trends")
ACTOR = "opsbook-trends"


class TrendWatch:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._last = float("-inf")
        self.findings: list[Finding] = []

    async def step(self) -> bool:
        trends = self.daemon.config.trends
        if not (trends.degradation or trends.spikes):
            return False
        if time.monotonic() - self._last < trends.every:
            return False
        self._last = time.monotonic()
        d = self.daemon
        self.findings = await d.in_store(lambda: evaluate(d.engine, trends, d.clock()))
        changes = self._changes(self.findings)
        if not changes:
            return False
        for alert in changes:
            log.info("trend %s: %s", alert.action, alert.summary)
        await d.ingest(changes, severity_for=int, actor=ACTOR, auto_resolve=True)
        return True

    def _changes(self, findings: list[Finding]) -> list[ExternalAlert]:
        alerts = self.daemon.processor.alerts
        now = self.daemon.clock()
        out = []
        judged = {f.fingerprint for f in findings}
        for f in findings:
            current = alerts.get(f.fingerprint)
            firing = current is not None and current.state is AlertState.FIRING
            if f.verdict is Verdict.DEGRADED and not firing:
                out.append(_alert(f, "firing", f.summary, now))
            elif f.verdict is Verdict.STEADY and firing:
                out.append(_alert(f, "resolved", f.summary, now))
        # a rule removed from the file (or a measurement no longer recorded) ends its alerts
        for fingerprint, alert in alerts.items():
            if (alert.source is Source.TREND and alert.state is AlertState.FIRING
                    and fingerprint not in judged):  # fmt: skip
                out.append(ExternalAlert(fingerprint, Source.TREND, alert.name, alert.labels,
                                         "resolved", "4", "no longer judged", now))  # fmt: skip
        return out


def _alert(f: Finding, action: str, summary: str, now: datetime) -> ExternalAlert:
    return ExternalAlert(
        fingerprint=f.fingerprint,
        source=Source.TREND,
        name=f"trend-{f.rule}",
        labels={"rule": f.rule, "kind": f.kind, "check": f.check, "metric": f.metric},
        action="firing" if action == "firing" else "resolved",
        severity_word=str(f.severity),
        summary=summary[:500],
        at=now,
    )
