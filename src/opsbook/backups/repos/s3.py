"""S3-compatible object storage (AWS, MinIO, Ceph, Backblaze, Wasabi…) through boto3.

Data objects stream up as multipart uploads in 16 MiB parts (memory stays at one part);
the manifest is a single PUT made last, and listings look only at manifests, so a run that
dies leaves nothing listed: its multipart upload is aborted on error, or by a later
``clean_stale`` once it is a day old if the process was killed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsbook.backups.manifest import MANIFEST
from opsbook.backups.repos.base import Located
from opsbook.config.backups import S3Repo
from opsbook.errors import BackupError
from opsbook.secrets import Redactor

PART = 16 << 20
STALE_AFTER = timedelta(days=1)


class S3Repository:
    def __init__(self, name: str, config: S3Repo) -> None:
        self.name = name
        self.config = config
        self.prefix = config.prefix.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self._client: Any = None
        self._secret = _secret(config)

    def describe(self) -> str:
        where = self.config.endpoint or "aws"
        return f"{self.name} (s3://{self.config.bucket}/{self.prefix} at {where})"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(profile_name=self.config.profile)
            self._client = session.client(
                "s3",
                endpoint_url=self.config.endpoint,
                region_name=self.config.region or "us-east-1",
                aws_access_key_id=self.config.access_key_id,
                aws_secret_access_key=self._secret,
                config=Config(
                    retries={"max_attempts": 5, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                ),
            )
        return self._client

    def _fail(self, what: str, exc: Exception) -> BackupError:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        redact = Redactor([s for s in (self._secret, self.config.access_key_id) if s])
        return BackupError(f"repository {self.describe()}: {what}: {redact(text)}")

    def _key(self, source: str, backup_id: str, file: str) -> str:
        return f"{self.prefix}{source}/{backup_id}/{file}"

    def begin(self, source: str, backup_id: str) -> _S3Staging:
        return _S3Staging(self, source, backup_id)

    def published(self) -> Iterator[Located]:
        for key in self._keys(self.prefix):
            parts = key[len(self.prefix) :].split("/")
            if len(parts) != 3 or parts[2] != MANIFEST:
                continue
            try:
                body = self.client.get_object(Bucket=self.config.bucket, Key=key)["Body"].read()
            except Exception as exc:
                raise self._fail(f"cannot read {key}", exc) from None
            yield Located(self.name, parts[0], parts[1], body)

    def _keys(self, prefix: str) -> Iterator[str]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.config.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]
        except Exception as exc:
            raise self._fail("cannot list the bucket", exc) from None

    def open_file(self, source: str, backup_id: str, file: str) -> Any:
        key = self._key(source, backup_id, file)
        try:
            return self.client.get_object(Bucket=self.config.bucket, Key=key)["Body"]
        except Exception as exc:
            raise self._fail(f"cannot read {key}", exc) from None

    def delete(self, source: str, backup_id: str) -> None:
        head = f"{self.prefix}{source}/{backup_id}/"
        try:
            self.client.delete_object(Bucket=self.config.bucket, Key=head + MANIFEST)
            for key in list(self._keys(head)):
                self.client.delete_object(Bucket=self.config.bucket, Key=key)
        except BackupError:
            raise
        except Exception as exc:
            raise self._fail(f"cannot delete {head}", exc) from None

    def clean_stale(self) -> list[str]:
        """Abort multipart uploads of runs that died more than a day ago."""
        removed = []
        cutoff = datetime.now(UTC) - STALE_AFTER
        try:
            listing = self.client.list_multipart_uploads(
                Bucket=self.config.bucket, Prefix=self.prefix
            )
            for upload in listing.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.config.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed.append(upload["Key"])
        except Exception as exc:
            raise self._fail("cannot list unfinished uploads", exc) from None
        return removed


class _S3Staging:
    def __init__(self, repo: S3Repository, source: str, backup_id: str) -> None:
        self.repo = repo
        self.source = source
        self.backup_id = backup_id
        self.files: dict[str, _S3Writer] = {}

    def open(self, file: str) -> _S3Writer:
        writer = _S3Writer(self.repo, self.repo._key(self.source, self.backup_id, file))
        self.files[file] = writer
        return writer

    def close_file(self, file: str) -> None:
        self.files[file].close()

    def publish(self, manifest: bytes) -> None:
        for writer in self.files.values():
            writer.close()
        key = self.repo._key(self.source, self.backup_id, MANIFEST)
        try:
            self.repo.client.put_object(Bucket=self.repo.config.bucket, Key=key, Body=manifest)
        except Exception as exc:
            raise self.repo._fail("cannot publish the backup", exc) from None

    def abort(self) -> None:
        for writer in self.files.values():
            writer.abort()
        # Best effort: nothing is listed without a manifest anyway.
        with contextlib.suppress(BackupError):
            self.repo.delete(self.source, self.backup_id)


class _S3Writer:
    def __init__(self, repo: S3Repository, key: str) -> None:
        self.repo = repo
        self.key = key
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.upload_id: str | None = None
        self.closed = False
        self.written = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.written += len(data)
        if len(self.buffer) >= PART:
            self._flush_part()
        return len(data)

    def _flush_part(self) -> None:
        bucket = self.repo.config.bucket
        client = self.repo.client
        try:
            if self.upload_id is None:
                started = client.create_multipart_upload(Bucket=bucket, Key=self.key)
                self.upload_id = started["UploadId"]
            number = len(self.parts) + 1
            answer = client.upload_part(
                Bucket=bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=bytes(self.buffer),
            )
        except Exception as exc:
            raise self.repo._fail(
                f"uploading {Path(self.key).name} failed after {self.written / 1e6:.1f} MB", exc
            ) from None
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer.clear()

    def close(self) -> None:
        if self.closed:
            return
        bucket = self.repo.config.bucket
        try:
            if self.upload_id is None:  # small: one PUT
                self.repo.client.put_object(Bucket=bucket, Key=self.key, Body=bytes(self.buffer))
            else:
                if self.buffer:
                    self._flush_part()
                self.repo.client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
        except BackupError:
            raise
        except Exception as exc:
            raise self.repo._fail(f"finishing {Path(self.key).name} failed", exc) from None
        self.buffer.clear()
        self.closed = True

    def abort(self) -> None:
        if self.upload_id is not None and not self.closed:
            with contextlib.suppress(Exception):  # best effort; clean_stale retries later
                self.repo.client.abort_multipart_upload(
                    Bucket=self.repo.config.bucket, Key=self.key, UploadId=self.upload_id
                )
        self.buffer.clear()


def _secret(config: S3Repo) -> str | None:
    if config.secret_access_key:
        return config.secret_access_key
    if config.secret_access_key_file:
        try:
            return Path(config.secret_access_key_file).read_text().strip()
        except OSError as exc:
            raise BackupError(
                f"secret_access_key_file: cannot read {config.secret_access_key_file}: "
                f"{exc.strerror}"
            ) from None
    return None
