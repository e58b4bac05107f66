"""age encryption of backup streams (pyrage), and opening them again.

Recipients mode encrypts to public keys only, so the machine that makes backups cannot read
them. Passphrase mode generates a fresh age identity per backup, encrypts the data to it,
and stores that identity in the manifest wrapped with the passphrase (age's scrypt
recipient): pyrage streams only to X25519 recipients, and this keeps the data path the same.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from opsbook.backups.manifest import Encryption, EncryptionMode
from opsbook.config.backups import EncryptionConfig
from opsbook.errors import BackupError, DecryptError, UsageError

IDENTITY_ENV = "OPSBOOK_AGE_IDENTITY"
PASSPHRASE_ENV = "OPSBOOK_BACKUP_PASSPHRASE"  # noqa: S105  (a variable name)


def fingerprint(recipient: str) -> str:
    """Short and stable: enough to tell which key a backup needs, nothing to decrypt with."""
    return "sha256:" + hashlib.sha256(recipient.strip().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Sealer:
    """How one backup's artifacts are encrypted."""

    encryption: Encryption
    recipients: tuple[Any, ...] = ()  # pyrage recipients; empty: no encryption

    def seal(self, reader: BinaryIO, writer: Any) -> None:
        if not self.recipients:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)
            return
        import pyrage

        try:
            pyrage.encrypt_io(reader, writer, list(self.recipients))
        except pyrage.EncryptError as exc:
            raise BackupError(f"encryption failed: {exc}") from None


def sealer(config: EncryptionConfig | None) -> Sealer:
    if config is None:
        return Sealer(Encryption(mode=EncryptionMode.NONE))
    import pyrage
    from pyrage import passphrase as age_passphrase
    from pyrage import x25519

    if config.recipients:
        keys = []
        for text in config.recipients:
            try:
                keys.append(x25519.Recipient.from_str(text.strip()))
            except (pyrage.RecipientError, ValueError):  # ValueError: bad bech32
                raise BackupError(
                    f"backups.encryption.recipients: {text[:12]}… is not a valid age public key"
                ) from None
        prints = tuple(fingerprint(t) for t in config.recipients)
        return Sealer(Encryption(mode=EncryptionMode.RECIPIENTS, fingerprints=prints), tuple(keys))
    secret = configured_passphrase(config)
    identity = x25519.Identity.generate()
    wrapped = age_passphrase.encrypt(str(identity).encode(), secret)
    encryption = Encryption(
        mode=EncryptionMode.PASSPHRASE, wrapped_key=base64.b64encode(wrapped).decode()
    )
    return Sealer(encryption, (identity.to_public(),))


def configured_passphrase(config: EncryptionConfig | None) -> str:
    if config is not None and config.passphrase:
        return config.passphrase
    if config is not None and config.passphrase_file:
        try:
            text = Path(config.passphrase_file).read_text().strip()
        except OSError as exc:
            raise BackupError(
                f"backups.encryption.passphrase_file: cannot read {config.passphrase_file}: "
                f"{exc.strerror}"
            ) from None
        if not text:
            raise BackupError(
                f"backups.encryption.passphrase_file: {config.passphrase_file} is empty"
            )
        return text
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    raise DecryptError(
        f"this backup is passphrase-encrypted: set ${PASSPHRASE_ENV} or "
        "backups.encryption.passphrase_file"
    )


@dataclass(frozen=True)
class Opener:
    """How to decrypt one backup: the identities that may open it."""

    encryption: Encryption
    identities: tuple[Any, ...] = ()

    def open(self, reader: BinaryIO, writer: Any) -> None:
        if self.encryption.mode is EncryptionMode.NONE:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)
            return
        import pyrage

        try:
            pyrage.decrypt_io(reader, writer, list(self.identities))
        except pyrage.DecryptError as exc:
            if "no matching keys" in str(exc).lower():
                wanted = ", ".join(self.encryption.fingerprints) or "a passphrase-wrapped key"
                raise DecryptError(
                    f"the identity given is not one of this backup's recipients ({wanted})"
                ) from None
            raise DecryptError(str(exc)) from None


def opener(
    encryption: Encryption, *, identity: str | None, config: EncryptionConfig | None
) -> Opener:
    """Identities from --identity FILE or $OPSBOOK_AGE_IDENTITY (a file, or the key itself)."""
    if encryption.mode is EncryptionMode.NONE:
        return Opener(encryption)
    import pyrage
    from pyrage import passphrase as age_passphrase
    from pyrage import x25519

    if encryption.mode is EncryptionMode.PASSPHRASE:
        secret = configured_passphrase(config)
        try:
            text = age_passphrase.decrypt(base64.b64decode(encryption.wrapped_key or ""), secret)
        except pyrage.DecryptError:  # the wrong passphrase
            raise DecryptError("wrong passphrase for this backup") from None
        return Opener(encryption, (x25519.Identity.from_str(text.decode()),))
    source = identity or os.environ.get(IDENTITY_ENV)
    if not source:
        raise DecryptError(
            "this backup is encrypted to age recipients "
            f"({', '.join(encryption.fingerprints)}): give --identity FILE or set "
            f"${IDENTITY_ENV} to the matching secret key"
        )
    keys = _identities(source)
    return Opener(encryption, tuple(keys))


def _identities(source: str) -> list[Any]:
    import pyrage
    from pyrage import x25519

    if source.strip().startswith("AGE-SECRET-KEY-"):
        lines, where = [source.strip()], f"${IDENTITY_ENV}"
    else:
        try:
            lines = Path(source).read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read identity file {source}: {exc.strerror}") from None
        where = source
    keys = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(x25519.Identity.from_str(line))
        except (pyrage.IdentityError, ValueError):
            raise UsageError(
                f"{where}: not an age identity (expected AGE-SECRET-KEY-1… lines)"
            ) from None
    if not keys:
        raise UsageError(f"{where}: no AGE-SECRET-KEY-1… line in it")
    return keys
