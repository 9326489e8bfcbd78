"""The privacy API function's AWS side (:mod:`cdp.privacy.requests`): request documents in the lake
bucket, jobs to the worker function, the salt from Secrets Manager.

The API function uses plain S3 calls on exact keys rather than :class:`cdp.lakefs.LakeFiles`: its role may
write ``privacy/requests/*/request.json`` and read and write ``…/status.json``, nothing else of the lake (it
never reads an identifier back, nor an access document), and it does not load pyarrow to answer in
milliseconds. Clients are made on first use, with the SDK's standard retries (a request the caller sees
fail is one that failed three times).
"""

from __future__ import annotations

from typing import Any

import orjson

from cdp.privacy.requests import PrivacyJob
from cdp.profiles.salt import salt_from_secret


class _Client:
    """One boto3 client, made on first call, or the one given (moto, botocore's Stubber)."""

    def __init__(self, service: str, client: Any, region: str | None) -> None:
        self._service, self._client, self._region = service, client, region

    def __call__(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            create: Any = boto3.client  # Any: the service name is not one of the stubs' literals
            self._client = create(
                self._service,
                region_name=self._region,
                config=Config(
                    connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
                ),
            )
        return self._client


class S3RequestStore:
    """Documents of one bucket by key (no scheme, no bucket in the key)."""

    def __init__(self, bucket: str, *, client: Any = None, region: str | None = None) -> None:
        self.bucket = bucket
        self._s3 = _Client("s3", client, region)

    def put(self, key: str, data: bytes) -> None:
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")

    def get(self, key: str) -> bytes | None:
        client = self._s3()
        try:
            body: bytes = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body


class LambdaJobDispatcher:
    """An asynchronous invocation (``InvocationType=Event``) of the worker: Lambda queues the event, retries a
    throttled one (the worker runs one at a time) and sends one that failed every attempt to its
    on-failure destination. The payload names the request, never the person."""

    def __init__(self, function_name: str, *, client: Any = None, region: str | None = None) -> None:
        self.function_name = function_name
        self._lambda = _Client("lambda", client, region)

    def dispatch(self, job: PrivacyJob) -> None:
        response = self._lambda().invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=orjson.dumps(job.model_dump(mode="json")),
        )
        if response.get("StatusCode") != 202:
            raise RuntimeError(
                f"the privacy worker did not accept the job: status {response.get('StatusCode')}"
            )


def read_salt(secret_arn: str, *, client: Any = None, region: str | None = None) -> bytes:
    """The pseudonymization salt the build-profiles job hashes with (the same secret)."""
    value = _Client("secretsmanager", client, region)().get_secret_value(SecretId=secret_arn)
    return salt_from_secret(value["SecretBinary"] if "SecretBinary" in value else value["SecretString"])
