"""The S3 side of batch import: the :class:`~cdp.imports.ports.ImportStore` and the upload path's files.

:class:`S3ImportStore` writes the same keys as the local lake's store (:mod:`cdp.imports.layout`), so the
pipeline, Athena and an erasure find an import in the same place on both. :class:`S3LandingFiles` is what
:class:`~cdp.imports.landing.LandingImporter` reads and removes in ``landing/``, the mapping YAML under
``config/mappings/`` and the failure records under ``quarantine/import_failures/``.

Why boto3 and not :class:`cdp.lakefs.LakeFiles` (pyarrow's S3 file system), which the pipeline uses:

* the original must be kept *once*: ``PutObject`` with ``If-None-Match: *`` makes "never overwrite" a
  property of S3 itself, even with two deliveries of one event running at once; pyarrow's file system
  has no conditional write;
* an upload is read and removed *by version* (the version the event named), which pyarrow cannot do;
* each object gets a SHA-256 checksum S3 verifies on arrival;
* boto3 is in the Lambda runtime and the Glue image, and moto tests it in-process (pyarrow's S3 client
  is the AWS C++ SDK, which moto's in-process mock cannot see).

Every object is one ``PutObject``: readers see all of it or nothing. Encryption is the bucket's default
(SSE-KMS with the platform key, S3 Bucket Keys), so nothing here names a key. S3 and network errors become
:class:`~cdp.imports.ports.ImportStoreError` (the caller's retries apply); a missing object is ``None``.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import TYPE_CHECKING, Any

import pydantic

from cdp.imports.landing import ImportFailure, LandedFile, failure_key, mapping_key
from cdp.imports.layout import (
    IMPORTS_RAW,
    MANIFEST_NAME,
    manifest_key,
    original_key,
    quarantine_key,
    rows_key,
)
from cdp.imports.ports import ImportManifest, ImportStoreError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404"})
_ALREADY_THERE = frozenset({"PreconditionFailed", "412"})
_JSON = "application/json"


class LazyS3Client:
    """One S3 client per process, made on first use (cold start pays for boto3 only when it is needed)."""

    def __init__(self, client: S3Client | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __call__(self) -> S3Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    self._client = boto3.client(
                        "s3", config=Config(retries={"mode": "standard", "max_attempts": 5})
                    )
        return self._client


def _code(error: Exception) -> str:
    response: Any = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class _Bucket:
    """Get and put whole objects of one bucket, with S3's errors sorted into missing / other."""

    def __init__(self, bucket: str, client: S3Client | LazyS3Client | None) -> None:
        self.name = bucket
        self.s3 = client if isinstance(client, LazyS3Client) else LazyS3Client(client)

    def get(self, key: str, version_id: str | None = None) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if version_id:
                response = self.s3().get_object(Bucket=self.name, Key=key, VersionId=version_id)
            else:
                response = self.s3().get_object(Bucket=self.name, Key=key)
            return response["Body"].read()
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise ImportStoreError(f"s3://{self.name}/{key}: cannot read it: {error}") from error
        except BotoCoreError as error:
            raise ImportStoreError(f"s3://{self.name}/{key}: cannot read it: {error}") from error

    def put(self, key: str, data: bytes, content_type: str, *, only_if_absent: bool = False) -> bool:
        """``False`` when ``only_if_absent`` and an object is already there (nothing was written)."""
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, str] = {"IfNoneMatch": "*"} if only_if_absent else {}
        try:
            self.s3().put_object(
                Bucket=self.name,
                Key=key,
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=_sha256_b64(data),
                **extra,  # type: ignore[arg-type]
            )
        except ClientError as error:
            if only_if_absent and _code(error) in _ALREADY_THERE:
                return False
            raise ImportStoreError(f"s3://{self.name}/{key}: cannot write it: {error}") from error
        except BotoCoreError as error:
            raise ImportStoreError(f"s3://{self.name}/{key}: cannot write it: {error}") from error
        return True

    def keys(self, prefix: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as error:
            raise ImportStoreError(f"s3://{self.name}/{prefix}: cannot list it: {error}") from error


class S3ImportStore:
    """Imports in the lake bucket, under the keys the local lake's store uses (:mod:`cdp.imports.layout`)."""

    def __init__(self, *, bucket: str, client: S3Client | LazyS3Client | None = None) -> None:
        self._bucket = _Bucket(bucket, client)

    def manifest(self, source_id: str, import_id: str) -> ImportManifest | None:
        return self._read_manifest(manifest_key(source_id, import_id))

    def manifests(self) -> list[ImportManifest]:
        found = [
            key
            for key in self._bucket.keys(f"{IMPORTS_RAW}/")
            if key.endswith(f"/{MANIFEST_NAME}") and key.count("/") == IMPORTS_RAW.count("/") + 3
        ]
        return [manifest for key in found if (manifest := self._read_manifest(key)) is not None]

    def keep_original(self, source_id: str, import_id: str, file_name: str, data: bytes) -> str:
        key = original_key(source_id, import_id, file_name)
        if self._bucket.put(key, data, "application/octet-stream", only_if_absent=True):
            return key
        existing = self._bucket.get(key)
        if existing is None:  # removed (erasure) between our write and our read: S3 keeps the first writer
            raise ImportStoreError(f"s3://{self._bucket.name}/{key} changed while it was being kept")
        if hashlib.sha256(existing).digest() != hashlib.sha256(data).digest():
            where = f"s3://{self._bucket.name}/{key}"
            raise ImportStoreError(f"{where} already holds different bytes; originals are never overwritten")
        return key

    def write_rows(self, source_id: str, import_id: str, parquet: bytes) -> str:
        key = rows_key(source_id, import_id)
        self._bucket.put(key, parquet, "application/vnd.apache.parquet")
        return key

    def write_quarantine(self, source_id: str, import_id: str, jsonl: bytes) -> str:
        key = quarantine_key(source_id, import_id)
        self._bucket.put(key, jsonl, "application/x-ndjson")
        return key

    def commit(self, manifest: ImportManifest) -> str:
        key = manifest_key(manifest.source_id, manifest.import_id)
        self._bucket.put(key, manifest.model_dump_json(indent=2).encode("utf-8") + b"\n", _JSON)
        return key

    def _read_manifest(self, key: str) -> ImportManifest | None:
        text = self._bucket.get(key)
        if text is None:
            return None
        try:
            return ImportManifest.model_validate_json(text)
        except pydantic.ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise ImportStoreError(
                f"s3://{self._bucket.name}/{key} is not a valid import manifest: {reason}"
            ) from None


class S3LandingFiles:
    """The lake bucket's uploads (``landing/``), mappings (``config/mappings/``) and failure records."""

    def __init__(self, *, bucket: str, client: S3Client | LazyS3Client | None = None) -> None:
        self._bucket = _Bucket(bucket, client)

    def read(self, landed: LandedFile) -> bytes | None:
        return self._bucket.get(landed.key, landed.version_id)

    def remove(self, landed: LandedFile) -> None:
        """Deletes the imported version itself (no delete marker): its bytes live on in ``raw/imports/``,
        and an upload of new content under the same name since then stays in place."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if landed.version_id:
                self._bucket.s3().delete_object(
                    Bucket=self._bucket.name, Key=landed.key, VersionId=landed.version_id
                )
            else:
                self._bucket.s3().delete_object(Bucket=self._bucket.name, Key=landed.key)
        except ClientError as error:
            if _code(error) not in _MISSING:
                raise ImportStoreError(
                    f"s3://{self._bucket.name}/{landed.key}: cannot remove it: {error}"
                ) from error
        except BotoCoreError as error:
            raise ImportStoreError(
                f"s3://{self._bucket.name}/{landed.key}: cannot remove it: {error}"
            ) from error

    def mapping_text(self, source_id: str) -> bytes | None:
        return self._bucket.get(mapping_key(source_id))

    def record_failure(self, failure: ImportFailure) -> str:
        key = failure_key(failure.source_id, failure.import_id)
        self._bucket.put(key, failure.model_dump_json(indent=2).encode("utf-8") + b"\n", _JSON)
        return key
