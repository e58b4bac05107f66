"""Keeping secrets out of everything opsbook prints.

Two layers: targets are printed through ``mask_url`` / ``mask_dsn`` (``postgresql://app:***@db/app``),
and every message that leaves a check passes a ``Redactor`` holding the literal secret values
found in the config, so a password a library echoes back in an error is still scrubbed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"

# libpq key=value conninfo: password=secret or password='se cret' (backslash escapes allowed).
# The value runs to the next "key=" or the end, so a malformed one ('it''s …', which libpq
# rejects and echoes) is masked whole, not up to its first closing quote.
_KV_PASSWORD = re.compile(
    r"(\bpassword\s*=\s*)((?:'(?:[^'\\]|\\.)*'?|\S)+?)(?=\s+\w+\s*=|\s*$|\s*\")",
    re.IGNORECASE,
)
# userinfo of any URL: scheme://user:password@host
_URL_USERINFO = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)", re.I)
# query parameters that carry secrets: ?password=..., &sslpassword=..., &token=...
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&](?:password|sslpassword|token|secret|api_key|apikey|access_token)=)(?P<v>[^&#\s]*)",
    re.IGNORECASE,
)


def mask_url(text: str) -> str:
    """Mask the password in a URL's userinfo and in secret-looking query parameters."""
    text = _URL_USERINFO.sub(
        lambda m: m.group("head") + MASK if m.group("pw") else m.group(0), text
    )
    return _QUERY_SECRET.sub(lambda m: m.group("head") + MASK, text)


def mask_dsn(dsn: str) -> str:
    """Mask a PostgreSQL DSN in URL form or libpq key=value form."""
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, mask_url(dsn))


def without_secrets(target: str) -> str:
    """The URL or DSN with its password and secret parameters left out (not masked): what
    may be written into a file, the secret to come from the environment or ~/.pgpass."""
    text = _KV_PASSWORD.sub("", target)
    text = re.sub(r"(?i)(://[^:/@\s]*):[^@\s]*@", r"\1@", text).replace("://@", "://")
    text = _QUERY_SECRET.sub(lambda m: m.group("head")[0], text)
    text = re.sub(r"[?&]+(?=&|$|#)", "", text).replace("?&", "?")
    return " ".join(text.split())


def secrets_in(target: str) -> list[str]:
    """The literal secret values inside a URL or DSN, for the Redactor."""
    found: list[str] = []
    for m in _URL_USERINFO.finditer(target):
        if m.group("pw"):
            found.extend({m.group("pw"), unquote(m.group("pw"))})
    for m in _QUERY_SECRET.finditer(target):
        if m.group("v"):
            found.extend({m.group("v"), unquote(m.group("v"))})
    for m in _KV_PASSWORD.finditer(target):
        value = m.group(2)
        found.append(value)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            found.append(value[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
        # what a library may echo of a malformed value: its pieces between quotes
        found.extend(piece for piece in value.split("'") if len(piece) >= 4)
    try:
        parts = urlsplit(target)
        if parts.password:
            found.append(parts.password)
    except ValueError:
        pass
    return [s for s in found if s]


class Redactor:
    """Replaces every known secret value in a text with ``***``."""

    # Very short values ("a", "1") would shred ordinary words; they are masked positionally
    # by mask_url/mask_dsn instead.
    MIN_LENGTH = 3

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if len(s) >= self.MIN_LENGTH}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(unique, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_dsn(text)

    def __bool__(self) -> bool:
        return bool(self._secrets)
