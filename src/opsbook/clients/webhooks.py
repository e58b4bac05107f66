"""HTTP requests opsbook sends (webhooks, Slack, PagerDuty) through httpx: the one place
httpx's errors become ours.

Kept apart from ``clients/http.py`` (the h11 probe checks use) because httpx costs ~140 ms
to import and ``opsbook check`` must start fast; the daemon and ``notify`` pay it once.
An answer is returned whatever its status (what a status means is the channel's to say);
a request that got no answer is a retryable ``DeliveryError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from opsbook.errors import DeliveryError

Session = httpx.AsyncClient
TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


@asynccontextmanager
async def session(timeout: float = TIMEOUT) -> AsyncIterator[Session]:
    """One connection pool for a delivery loop; redirects are not followed (a webhook that
    redirects is misconfigured, and following it could leak the body elsewhere)."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        yield client


async def post(
    http: Session,
    url: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    try:
        response = await http.post(url, json=json, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300], permanent=False) from None
    except ValueError as exc:  # a header value httpx refuses (a newline, non-ASCII)
        raise DeliveryError(f"cannot send: {exc}"[:300], permanent=True) from None
    return Answer(response.status_code, response.text)
