"""The privacy API function's AWS side (:mod:`cdp.privacy.requests`): request documents in the lake
bucket and jobs to the worker function (the salt: :mod:`cdp.adapters.aws_secrets`).

The API function uses plain S3 calls on exact keys rather than :class:`cdp.lakefs.LakeFiles`: its role may
write ``privacy/requests/*/request.json`` and read and write ``…/status.json``, nothing else of the lake (it
never reads an identifier back, nor an access document), and it does not load pyarrow to answer in
milliseconds. Clients are made on first use, with the SDK's standard retries (a request the caller sees
fail is one that failed three times).
"""

from __future__ import annotations

from typing import Any

import orjson

from cdp.adapters.aws_activation import LazyClient
from cdp.adapters.aws_secrets import ATTEMPTS
from cdp.privacy.requests import PrivacyJob


class S3RequestStore:
    """Documents of one bucket by key (no scheme, no bucket in the key)."""

    def __init__(self, bucket: str, *, client: Any = None, region: str | None = None) -> None:
        self.bucket = bucket
        self._s3 = LazyClient("s3", client=client, region=region, attempts=ATTEMPTS)

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
        self._lambda = LazyClient("lambda", client=client, region=region, attempts=ATTEMPTS)

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
