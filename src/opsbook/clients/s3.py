"""S3-compatible object storage (AWS, MinIO, Ceph, Backblaze, Wasabi…) through boto3: the one
place opsbook talks to a bucket and the one place botocore's errors become ours.

Every call raises ``RemoteStorageError`` ("what: the service's reason"), with the secret key
and the access key id masked; boto3 is imported on first use (it costs ~300 ms).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsbook.errors import RemoteStorageError
from opsbook.secrets import Redactor


@dataclass(frozen=True)
class Upload:
    key: str
    upload_id: str
    initiated: datetime


class Bucket:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        profile: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._settings = (endpoint, region, access_key_id, secret_access_key, profile)
        self._verify: str | None = ca_file
        self._redact = Redactor([s for s in (secret_access_key, access_key_id) if s])
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            endpoint, region, key_id, secret, profile = self._settings
            with self.translated("cannot set up the S3 client"):
                session = boto3.session.Session(profile_name=profile)
                self._client = session.client(
                    "s3",
                    endpoint_url=endpoint,
                    region_name=region or "us-east-1",
                    aws_access_key_id=key_id,
                    aws_secret_access_key=secret,
                    verify=self._verify,
                    config=Config(
                        retries={"max_attempts": 5, "mode": "standard"},
                        connect_timeout=10,
                        read_timeout=60,
                    ),
                )
        return self._client

    @contextlib.contextmanager
    def translated(self, what: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RemoteStorageError(f"{what}: {self._redact(text)}") from None

    # ------------------------------------------------------------------ objects

    def keys(self, prefix: str) -> Iterator[str]:
        with self.translated("cannot list the bucket"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])

    def get(self, key: str) -> bytes:
        with self.translated(f"cannot read {key}"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            data: bytes = body.read()
            return data

    def open(self, key: str) -> _Body:
        with self.translated(f"cannot read {key}"):
            return _Body(self, key, self.client.get_object(Bucket=self.bucket, Key=key)["Body"])

    def put(self, key: str, data: bytes, what: str) -> None:
        with self.translated(what):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, key: str) -> None:
        with self.translated(f"cannot delete {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    # ------------------------------------------------------------------ multipart uploads

    def start_upload(self, key: str, what: str) -> str:
        with self.translated(what):
            return str(self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes, what: str) -> str:
        with self.translated(what):
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            return str(answer["ETag"])

    def finish_upload(
        self, key: str, upload_id: str, parts: list[dict[str, Any]], what: str
    ) -> None:
        with self.translated(what):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    def abort_upload(self, key: str, upload_id: str) -> None:
        with self.translated(f"cannot abort the upload of {key}"):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def uploads(self, prefix: str) -> list[Upload]:
        with self.translated("cannot list unfinished uploads"):
            listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
            return [
                Upload(str(u["Key"]), str(u["UploadId"]), u["Initiated"])
                for u in listing.get("Uploads", [])
            ]


class _Body:
    """An object's body as a readable stream whose read errors are ours too."""

    def __init__(self, bucket: Bucket, key: str, body: Any) -> None:
        self._bucket = bucket
        self._key = key
        self._body = body

    def read(self, size: int = -1) -> bytes:
        with self._bucket.translated(f"reading {self._key} failed"):
            data: bytes = self._body.read(size if size and size > 0 else None)
            return data

    def close(self) -> None:
        self._body.close()
