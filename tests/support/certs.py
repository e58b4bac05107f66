"""Certificates made in the test: a CA, intermediates and leaves with chosen lifetimes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(
    cn: str,
    *,
    days: float,
    issuer: Issued | None = None,
    ca: bool = False,
    sans: tuple[str, ...] = (),
    not_before_days: float = -1,
) -> Issued:
    """A certificate valid until now + ``days`` (negative: already expired)."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=min(not_before_days, days - 1)))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        import ipaddress

        entries: list[x509.GeneralName] = []
        for san in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                entries.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def write(path: Path, *issued: Issued) -> Path:
    path.write_bytes(b"".join(i.pem() for i in issued))
    return path


def server_files(
    directory: Path, *, days: float = 90, intermediate_days: float | None = None
) -> tuple[Path, Path, Path]:
    """(chain file with leaf + intermediate, key file, CA file) for a TLS test server."""
    root = issue("opsbook test root", days=3650, ca=True)
    inter = issue("opsbook test intermediate", days=intermediate_days or 1800, ca=True, issuer=root)
    leaf = issue("localhost", days=days, issuer=inter, sans=("localhost",))
    chain = write(directory / "chain.pem", leaf, inter)
    key = directory / "key.pem"
    key.write_bytes(leaf.key_pem())
    ca = write(directory / "ca.pem", root)
    return chain, key, ca
