"""Alerts from systems users already run: Alertmanager's webhook and PagerDuty Events v2.

Bodies are decoded and validated here (msgspec, like the config) into ExternalAlert values;
anything malformed raises IntakeError with the reason, before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from opsbook.alerts.model import Alert, AlertState, Event, EventKind, Source
from opsbook.errors import IntakeError
from opsbook.status import Status


@dataclass(frozen=True)
class ExternalAlert:
    fingerprint: str
    source: Source
    name: str
    labels: dict[str, str]
    action: Literal["firing", "resolved", "acknowledge"]
    severity_word: str  # the sender's word (critical, warning…), mapped by intake config
    summary: str
    at: datetime  # startsAt for firing, endsAt for resolved, receipt time otherwise
    reported_at: datetime | None = None  # the sender's time, when it was in the future


# ---------------------------------------------------------------- Alertmanager (webhook v4)


class _AMAlert(msgspec.Struct, frozen=True):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    startsAt: str
    annotations: dict[str, str] = {}
    endsAt: str = ""
    fingerprint: str = ""
    generatorURL: str = ""


class _AMPayload(msgspec.Struct, frozen=True):
    version: str
    groupKey: str
    status: Literal["firing", "resolved"]
    alerts: list[_AMAlert]
    receiver: str = ""


def _when(text: str, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IntakeError(f"{what}: expected an RFC 3339 time, got {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _decode(body: bytes, model: type[msgspec.Struct], kind: str) -> Any:
    """Any body at all becomes a payload or an IntakeError (a 400), never an exception of
    the decoder's: deep nesting, lone surrogates and wrong types included."""
    try:
        decoded = msgspec.json.decode(body, type=model)
    except msgspec.ValidationError as exc:
        raise IntakeError(f"not a valid {kind} payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise IntakeError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise IntakeError("body is nested too deeply") from None
    _require_text(msgspec.to_builtins(decoded))
    return decoded


def _require_text(value: Any, depth: int = 0) -> None:
    """Every string is valid Unicode (a JSON escape can smuggle a lone surrogate, which no
    store, header or page can carry)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise IntakeError("body holds a string that is not valid Unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_text(key, depth)
            _require_text(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _require_text(item, depth + 1)


class _RoutingKeyOnly(msgspec.Struct):
    routing_key: str = ""


def routing_key_of(body: bytes) -> str | None:
    """The routing_key of a body that may be anything at all; None when there is none."""
    try:
        key = msgspec.json.decode(body, type=_RoutingKeyOnly).routing_key
        key.encode("utf-8")
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeEncodeError):
        return None
    return key or None


def parse_alertmanager(body: bytes) -> list[ExternalAlert]:
    payload: _AMPayload = _decode(body, _AMPayload, "Alertmanager webhook (version 4)")
    if payload.version != "4":
        raise IntakeError(
            f'unsupported Alertmanager webhook version {payload.version!r}; expected "4"'
        )
    out = []
    for i, a in enumerate(payload.alerts):
        name = a.labels.get("alertname", "alert")
        key = a.fingerprint or _digest(a.labels)
        firing = a.status == "firing"
        at = _when(a.startsAt if firing else (a.endsAt or a.startsAt), f"alerts[{i}].time")
        summary = a.annotations.get("summary") or a.annotations.get("description") or name
        out.append(
            ExternalAlert(
                fingerprint=f"alertmanager:{key}",
                source=Source.ALERTMANAGER,
                name=name,
                labels=dict(a.labels),
                action=a.status,
                severity_word=a.labels.get("severity", "").lower(),
                summary=summary[:500],
                at=at,
            )
        )
    return out


def _digest(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- PagerDuty Events API v2


class _PDPayload(msgspec.Struct, frozen=True):
    summary: str
    source: str
    severity: Literal["critical", "error", "warning", "info"]
    component: str = ""
    group: str = ""
    custom_details: Any = None


class _PDEvent(msgspec.Struct, frozen=True):
    routing_key: str
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str = ""
    payload: _PDPayload | None = None


@dataclass(frozen=True)
class PagerDutyEvent:
    routing_key: str
    dedup_key: str
    alert: ExternalAlert


def parse_pagerduty(body: bytes, now: datetime) -> PagerDutyEvent:
    event: _PDEvent = _decode(body, _PDEvent, "PagerDuty Events v2")
    if event.event_action == "trigger":
        if event.payload is None:
            raise IntakeError("a trigger needs payload.summary, payload.source, payload.severity")
        dedup = event.dedup_key or _digest(
            {"summary": event.payload.summary, "source": event.payload.source}
        )
    elif not event.dedup_key:
        raise IntakeError(f"{event.event_action} needs the dedup_key of the trigger")
    else:
        dedup = event.dedup_key
    payload = event.payload
    action: Literal["firing", "resolved", "acknowledge"] = {
        "trigger": "firing",
        "resolve": "resolved",
        "acknowledge": "acknowledge",
    }[event.event_action]  # type: ignore[assignment]
    labels = {"source": payload.source} if payload else {}
    if payload and payload.component:
        labels["component"] = payload.component
    alert = ExternalAlert(
        fingerprint=f"pagerduty:{dedup}",
        source=Source.PAGERDUTY,
        name=payload.source if payload else dedup,
        labels=labels,
        action=action,
        severity_word=payload.severity if payload else "",
        summary=(payload.summary[:500] if payload else f"{event.event_action} {dedup}"),
        at=now,
    )
    return PagerDutyEvent(event.routing_key, dedup, alert)


def apply_external(alert: Alert, ext: ExternalAlert, severity: int) -> tuple[Alert, list[Event]]:
    level = Status.CRITICAL if severity <= 2 else Status.WARNING
    if ext.action == "firing":
        if alert.state is AlertState.FIRING and alert.firing_since == ext.at:
            return alert, []  # the same episode, delivered again
        fired = replace(
            alert,
            state=AlertState.FIRING,
            level=level,
            severity=severity,
            summary=ext.summary,
            pending_since=ext.at,
            firing_since=ext.at,
            last_bad_at=ext.at,
            labels=ext.labels,
            updated_at=ext.at,
        )
        data: dict[str, Any] = {"labels": ext.labels}
        if ext.reported_at is not None:
            data["reported_at"] = ext.reported_at.isoformat()
        return fired, [Event(EventKind.FIRING, ext.at, level, severity, ext.summary, data)]
    if ext.action == "resolved" and alert.state is AlertState.FIRING:
        resolved = replace(
            alert,
            state=AlertState.INACTIVE,
            level=Status.OK,
            resolved_at=ext.at,
            firing_since=None,
            pending_since=None,
            updated_at=ext.at,
        )
        return resolved, [
            Event(
                EventKind.RESOLVED,
                ext.at,
                Status.OK,
                alert.severity,
                f"resolved by {ext.source.value}",
            )
        ]
    return alert, []
