"""Proving a backup is one opsbook wrote, before anything of it is restored.

Anyone who can write to a repository (a shared bucket, an NFS export) could otherwise plant a
backup. Two rules stop that:

- its encryption must be the one configured: a manifest that says ``none`` (or a passphrase)
  where ``backups.encryption`` says recipients is refused, so a planted plaintext dump cannot
  pass for ours;
- with ``backups.trusted_signers`` set, its manifest must carry an Ed25519 signature by one
  of them, made by the backup host's ``backups.signing_key_file``. The manifest names every
  artifact's SHA-256, so the signature covers the data too. age alone cannot do this: the
  recipients are public keys, so anyone can encrypt a dump to them.

Passphrase mode is authenticated by the passphrase itself (a planted backup cannot wrap its
data key without it). ``opsbook backup keygen --signing FILE`` makes a signing key.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import msgspec

from opsbook.backups.manifest import EncryptionMode, Manifest
from opsbook.config.backups import Backups, EncryptionConfig
from opsbook.errors import BackupError, IntegrityError, UsageError

PREFIX = "ed25519:"


def configured_mode(config: EncryptionConfig | None) -> EncryptionMode:
    if config is None:
        return EncryptionMode.NONE
    return EncryptionMode.RECIPIENTS if config.recipients else EncryptionMode.PASSPHRASE


def signed_bytes(manifest: Manifest) -> bytes:
    """What the signature covers: the manifest as stored, less the signature itself."""
    return msgspec.json.encode(msgspec.structs.replace(manifest, signature=None))


def keygen(output: str) -> str:
    """A new Ed25519 signing key, written to ``output`` (0600, never overwritten); returns
    its public key as ``backups.trusted_signers`` takes it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise UsageError(f"{output} exists; opsbook never overwrites a key") from None
    except OSError as exc:
        raise UsageError(f"cannot create {output}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_text(key.public_key())


def public_text(public: object) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return PREFIX + base64.b64encode(raw).decode()


def load_signer(key_file: str) -> Any:
    """The Ed25519 private key in ``key_file`` (read before a run starts, so a bad one fails
    before an hour of dumping, not after)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except OSError as exc:
        raise BackupError(f"signing_key_file: cannot read {key_file}: {exc.strerror}") from None
    except ValueError:
        raise BackupError(f"signing_key_file: {key_file} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BackupError(f"signing_key_file: {key_file} is not an Ed25519 key")
    return key


def sign(manifest: Manifest, key: Any) -> Manifest:
    """The manifest with its signature and the signer's public key."""
    unsigned = msgspec.structs.replace(manifest, signed_by=public_text(key.public_key()))
    signature = key.sign(signed_bytes(unsigned))
    return msgspec.structs.replace(unsigned, signature=base64.b64encode(signature).decode())


def signed_by_trusted(manifest: Manifest, trusted: tuple[str, ...]) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not manifest.signature or manifest.signed_by not in trusted:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(manifest.signed_by.removeprefix(PREFIX), validate=True)
        )
        public.verify(base64.b64decode(manifest.signature, validate=True), signed_bytes(manifest))
    except (InvalidSignature, ValueError):
        return False
    return True


def authenticated(backups: Backups, manifest: Manifest) -> None:
    """Raise unless this backup is one this configuration would have written."""
    expected = configured_mode(backups.encryption)
    if manifest.encryption.mode is not expected:
        raise IntegrityError(
            f"backup {manifest.id} says its encryption is {manifest.encryption.mode.value}, "
            f"but backups.encryption is {expected.value}: refused (a backup planted in the "
            "repository, or one written under another configuration: restore it with that "
            "configuration)"
        )
    trusted = backups.settings.trusted_signers
    if trusted and not signed_by_trusted(manifest, trusted):
        raise IntegrityError(
            f"backup {manifest.id} is not signed by a key in backups.trusted_signers: refused "
            "(planted in the repository, or written before signing was set up)"
        )
