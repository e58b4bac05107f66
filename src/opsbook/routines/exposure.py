"""What this service shows the world: the TLS of its public endpoints (the protocols offered,
the certificate chain as a client checks it, its expiry, HSTS) and what listens on this host's
non-loopback addresses.

Old protocols are probed the way a scanner does: one handshake per version with that version
alone allowed (and OpenSSL's security level lowered for 1.0/1.1, which modern OpenSSL refuses
by default); a version this machine's OpenSSL cannot speak at all is said, not guessed.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from opsbook.routines.model import Area, Finding
from opsbook.status import Status

VERSIONS = (
    ("TLS 1.0", ssl.TLSVersion.TLSv1),
    ("TLS 1.1", ssl.TLSVersion.TLSv1_1),
    ("TLS 1.2", ssl.TLSVersion.TLSv1_2),
    ("TLS 1.3", ssl.TLSVersion.TLSv1_3),
)
WEAK = {"TLS 1.0", "TLS 1.1"}
HSTS_MIN_AGE = 180 * 86400  # what the HSTS preload list asks for is a year; half is the floor
EXPIRY_WARNING_DAYS = 30
EXPIRY_CRITICAL_DAYS = 14


def _handshake(host: str, port: int, ctx: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def offered(host: str, port: int, timeout: float) -> dict[str, bool | None]:
    """Each version: True offered, False refused, None not testable from here."""
    out: dict[str, bool | None] = {}
    for label, version in VERSIONS:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with warnings.catch_warnings():  # deprecated protocols are what we look for
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ctx.maximum_version = version
            if label in WEAK:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            out[label] = None
            continue
        try:
            with _handshake(host, port, ctx, timeout) as tls:
                out[label] = tls.version() is not None
        except ssl.SSLError as exc:
            # our side could not even offer it: not a fact about the server
            out[label] = None if "no protocols available" in str(exc) else False
        except OSError:
            out[label] = False
    return out


def _hsts(tls: ssl.SSLSocket, host: str) -> str | None:
    tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = tls.recv(4096)
        if not chunk:
            break
        head += chunk
    for line in head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "strict-transport-security":
            return value.strip()
    return None


def endpoint(
    url: str, ca_file: str | None, timeout: float = 10.0
) -> tuple[list[Finding], list[str]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    findings: list[Finding] = []
    try:
        versions = offered(host, port, timeout)
    except OSError as exc:
        return [Finding(Status.CRITICAL, Area.TLS, f"{url}: unreachable", str(exc))], []
    said = ", ".join(
        f"{k} {'yes' if v else 'no' if v is False else 'untested'}" for k, v in versions.items()
    )
    lines = [f"- {url}: {said}"]
    weak = [k for k in WEAK if versions.get(k)]
    if weak:
        findings.append(
            Finding(
                Status.WARNING,
                Area.TLS,
                f"{url} offers {', '.join(sorted(weak))}",
                "turn them off: ssl_protocols TLSv1.2 TLSv1.3;",
            )
        )
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    try:
        with _handshake(host, port, ctx, timeout) as tls:
            cert = tls.getpeercert() or {}
            hsts = _hsts(tls, host)
    except ssl.SSLCertVerificationError as exc:
        findings.append(
            Finding(
                Status.CRITICAL,
                Area.TLS,
                f"{url}: certificate not trusted",
                exc.verify_message or str(exc),
            )
        )
        return findings, lines
    except (ssl.SSLError, OSError) as exc:
        findings.append(Finding(Status.CRITICAL, Area.TLS, f"{url}: TLS failed", str(exc)))
        return findings, lines
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days = (expires - datetime.now(UTC)).total_seconds() / 86400
    lines.append(
        f"- {url}: chain trusted, expires {expires:%Y-%m-%d} ({days:.0f} days); "
        f"HSTS: {hsts or 'none'}"
    )
    if days < EXPIRY_WARNING_DAYS:
        status = Status.CRITICAL if days < EXPIRY_CRITICAL_DAYS else Status.WARNING
        findings.append(Finding(status, Area.TLS, f"{url}: certificate expires in {days:.0f} days"))
    if hsts is None:
        findings.append(
            Finding(
                Status.WARNING,
                Area.TLS,
                f"{url}: no HSTS header",
                'add_header Strict-Transport-Security "max-age=31536000" always;',
            )
        )
    else:
        age = next(
            (
                int(p.split("=", 1)[1])
                for p in hsts.replace(" ", "").split(";")
                if p.lower().startswith("max-age=") and p.split("=", 1)[1].isdigit()
            ),
            0,
        )
        if age < HSTS_MIN_AGE:
            findings.append(
                Finding(Status.WARNING, Area.TLS, f"{url}: HSTS max-age {age}s is under 180 days")
            )
    return findings, lines


def listeners() -> list[tuple[str, int, str]]:
    """(address, port, who) of every TCP socket listening on a non-loopback address."""
    owners = _socket_owners()
    out = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A: LISTEN
                continue
            hex_addr, hex_port = fields[1].split(":")
            address = _address(hex_addr, family)
            if address.startswith("127.") or address == "::1":
                continue
            out.append((address, int(hex_port, 16), owners.get(fields[9], "?")))
    return sorted(set(out), key=lambda x: (x[1], x[0]))


def _address(hex_addr: str, family: int) -> str:
    raw = bytes.fromhex(hex_addr)
    # /proc writes each 32-bit word in host (little-endian) order
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, raw)


def _socket_owners() -> dict[str, str]:
    out: dict[str, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = str(fd.readlink())
                if target.startswith("socket:["):
                    inode = target[8:-1]
                    if inode not in out:
                        comm = (proc / "comm").read_text().strip()
                        out[inode] = f"{comm} (pid {proc.name})"
        except OSError:
            continue
    return out


def listener_findings(expected: tuple[int, ...] | None) -> tuple[list[Finding], list[str]]:
    found = listeners()
    lines = [f"- {a}:{p} {who}" for a, p, who in found] or ["- nothing but loopback listens"]
    if expected is None:
        return [], lines
    return [
        Finding(
            Status.WARNING,
            Area.NETWORK,
            f"{who} listens on {a}:{p}",
            f"not in expected_ports ({', '.join(map(str, expected)) or 'none'})",
        )
        for a, p, who in found
        if p not in expected
    ], lines
