"""S3 audience file (SPEC 8, ads): one CSV of hashed identifiers per run, for ad platforms' custom audiences.

``s3://<bucket>/<prefix>run_id=<run_id>/<segment_id>-<hash>.csv`` (prefix default ``exports/<id>/``, the
lake's exports zone): header ``segment_id,change,email_sha256,phone_sha256``, one row per change
(:mod:`cdp.activation.audience` says how identifiers are normalized and hashed). Written with one
``PutObject``, SSE-KMS (the configured key, or the bucket's default KMS key), so a reader sees the whole
file or nothing.

The adapter declares no batch limit: the deliverer hands it the whole run in one call, hence one object per
run and destination. ``<hash>`` is the SHA-256 of the content: retrying the same call rewrites the same
object (idempotent), and a later re-run that has new rows (someone's consent arrived in between) adds a
second object instead of overwriting the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from cdp.activation.audience import PhoneHashFormat, audience_csv
from cdp.activation.models import Change, ContactField, DeliveryOutcome, DestinationLimits, MembershipChange
from cdp.activation.ports import DeliveryError, DestinationRejectedError
from cdp.adapters.aws_activation import LazyClient, translated


def audience_key(prefix: str, run_id: str, segment_id: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"{prefix}run_id={run_id}/{segment_id}-{digest}.csv"


class S3AudienceDestination:
    needs_any = frozenset({ContactField.EMAIL, ContactField.PHONE})
    acts_on = frozenset(Change)

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        kms_key_id: str | None = None,
        phone_format: PhoneHashFormat = PhoneHashFormat.E164,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = None,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._kms_key_id = kms_key_id
        self._phone_format = phone_format
        self._client = LazyClient("s3", client=client, region=region, endpoint_url=endpoint_url)
        self.limits = DestinationLimits(max_batch_size=None, max_changes_per_second=max_changes_per_second)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        groups: dict[tuple[str, str], list[MembershipChange]] = {}
        for change in changes:
            groups.setdefault((change.run_id, change.segment_id), []).append(change)
        outcomes: list[DeliveryOutcome] = []
        for (run_id, segment_id), group in groups.items():
            body = audience_csv(group, self._phone_format)
            key = audience_key(self._prefix, run_id, segment_id, body)
            request: dict[str, Any] = {
                "Bucket": self._bucket,
                "Key": key,
                "Body": body,
                "ContentType": "text/csv; charset=utf-8",
                "ServerSideEncryption": "aws:kms",
                "Metadata": {"rows": str(len(group)), "segment-id": segment_id, "run-id": run_id},
            }
            if self._kms_key_id:
                request["SSEKMSKeyId"] = self._kms_key_id
            try:
                with translated(f"s3 PutObject s3://{self._bucket}/{key}"):
                    response = self._client().put_object(**request)
            except DeliveryError as error:
                retryable = not isinstance(error, DestinationRejectedError)
                outcomes.extend(DeliveryOutcome.refused(c, str(error), retryable=retryable) for c in group)
                continue
            version = response.get("VersionId")
            location = f"s3://{self._bucket}/{key}" + (f"?versionId={version}" if version else "")
            outcomes.extend(DeliveryOutcome.delivered(change, location) for change in group)
        return outcomes
