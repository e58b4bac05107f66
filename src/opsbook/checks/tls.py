"""tls: time left before a certificate expires, from a PEM file or a live handshake.

Reports the leaf's expiry and, separately, the earliest expiry anywhere in the chain: an
expiring intermediate breaks clients just as surely. The status follows the earliest.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from opsbook.clients.net import open_connection, tls_context
from opsbook.config.checks import TlsCheck
from opsbook.config.types import split_host_port
from opsbook.errors import CheckUnavailable, TargetUnreachable
from opsbook.results import Metric, Phase, Reading, Unit, below, falling
from opsbook.status import Status, worst

DAY = 86400.0


@dataclass(frozen=True)
class CertInfo:
    subject: str
    not_after: datetime


def describe(check: TlsCheck) -> str:
    return str(check.file) if check.file else check.host or ""


async def run(check: TlsCheck, phase: Phase) -> Reading:
    verify_error = ""
    if check.file is not None:
        chain = _from_file(check)
    else:
        try:
            chain = await _from_handshake(check, phase, verify=check.verify)
        except TargetUnreachable as exc:
            if not check.verify or "certificate verify failed" not in str(exc):
                raise
            # Still say when it expires: an expired certificate is the usual verify failure.
            verify_error = str(exc)
            chain = await _from_handshake(check, phase, verify=False)
    return assess(chain, check, datetime.now(UTC), verify_error)


def assess(
    chain: list[CertInfo], check: TlsCheck, now: datetime, verify_error: str = ""
) -> Reading:
    leaf = chain[0]
    earliest = min(chain, key=lambda c: c.not_after)
    leaf_left = (leaf.not_after - now).total_seconds()
    earliest_left = (earliest.not_after - now).total_seconds()
    status = falling(earliest_left, check.warning, check.critical)
    message = f"{leaf.subject} {_expiry_phrase(leaf.not_after, leaf_left)}"
    if earliest is not leaf and earliest.not_after < leaf.not_after:
        message += (
            f"; chain: {earliest.subject} {_expiry_phrase(earliest.not_after, earliest_left)}"
        )
    if verify_error:
        status = worst([status, Status.CRITICAL])
        message = f"{verify_error}; {message}"
    leaf_days = round(leaf_left / DAY, 2)
    metrics = (
        Metric(
            "days_left",
            leaf_days,
            Unit.DAYS,
            below(check.warning / DAY),
            below(check.critical / DAY),
        ),
        Metric(
            "chain_days_left",
            round(earliest_left / DAY, 2),
            Unit.DAYS,
            below(check.warning / DAY),
            below(check.critical / DAY),
        ),
    )
    details = {
        "leaf": {"subject": leaf.subject, "not_after": leaf.not_after.isoformat()},
        "chain_earliest": {
            "subject": earliest.subject,
            "not_after": earliest.not_after.isoformat(),
        },
        "chain_length": len(chain),
    }
    return Reading(status, message, leaf_days, Unit.DAYS, metrics, details)


def _expiry_phrase(when: datetime, left: float) -> str:
    date = when.strftime("%Y-%m-%d")
    days = abs(left) / DAY
    span = f"{days:.0f} days" if days >= 2 else f"{abs(left) / 3600:.0f} hours"
    return f"expired {span} ago ({date})" if left < 0 else f"expires {date} (in {span})"


def _from_file(check: TlsCheck) -> list[CertInfo]:
    assert check.file is not None
    try:
        data = check.file.read_bytes()
    except FileNotFoundError:
        raise CheckUnavailable(f"{check.file}: no such file") from None
    except OSError as exc:
        raise CheckUnavailable(f"{check.file}: {exc.strerror or exc}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise CheckUnavailable(f"{check.file}: no PEM or DER certificate in it") from None
    return [_info(c) for c in certs]


async def _from_handshake(check: TlsCheck, phase: Phase, *, verify: bool) -> list[CertInfo]:
    assert check.host is not None
    host, port = split_host_port(check.host, 443)
    ctx = tls_context(verify=verify, ca_file=check.ca_file)
    conn = await open_connection(host, port, phase, tls=ctx, server_hostname=check.servername)
    try:
        sslobj = conn.ssl_object()
        ders = _peer_chain(sslobj) if sslobj else []
    finally:
        await conn.close()
    if not ders:
        raise TargetUnreachable(f"TLS error: {check.host} sent no certificate")
    return [_info(x509.load_der_x509_certificate(der)) for der in ders]


def _peer_chain(sslobj: ssl.SSLObject) -> list[bytes]:
    """DER of every certificate the server sent, leaf first.

    Python 3.13 has SSLObject.get_unverified_chain(); 3.11 and 3.12 have the same method on
    the private _sslobj. Without either, only the leaf is available.
    """
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(sslobj, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        import _ssl

        chain = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in chain]
    leaf = sslobj.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _info(cert: x509.Certificate) -> CertInfo:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = f"CN={names[0].value!s}" if names else cert.subject.rfc4514_string() or "(no subject)"
    return CertInfo(subject, cert.not_valid_after_utc)
