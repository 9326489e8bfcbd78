"""Privacy services wired to the embedded lake or to AWS (adapters imported lazily, STYLE 1).

The SES contact lists to erase from are the ``ses_contact_list`` destinations of the lake's
``segments/destinations.yaml`` (with their ``endpoint_url``: a moto server in the demo), plus any named
explicitly (the privacy Lambda's configuration).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cdp.lake import PSEUDONYMIZED, zone_mounts
from cdp.lakefs import LakeFiles
from cdp.privacy.service import ContactEraser, PrivacyService


def destination_erasers(files: LakeFiles) -> list[ContactEraser]:
    from cdp.activation.config import DESTINATIONS_PATH, SesContactListConfig, load_destinations

    if not files.exists(DESTINATIONS_PATH):
        return []
    from cdp.adapters.aws_ses_contacts import SesContactEraser

    erasers: dict[str, ContactEraser] = {}
    for config in load_destinations(files).values():
        if isinstance(config, SesContactListConfig):
            key = f"{config.endpoint_url}|{config.region}|{config.contact_list}"
            erasers[key] = SesContactEraser(
                contact_list=config.contact_list, region=config.region, endpoint_url=config.endpoint_url
            )
    return list(erasers.values())


def local_privacy_service(lake_root: str | Path) -> PrivacyService:
    """The embedded lake: its salt, its file lock, its SQLite lookup store, its configured destinations."""
    from cdp.adapters.local_profiles import SqliteProfileStore
    from cdp.lake import LocalLake
    from cdp.privacy.lock import LocalLakeLock
    from cdp.profiles.salt import local_salt

    lake = LocalLake.at(lake_root)
    files = LakeFiles(lake.root)
    return PrivacyService(
        files=files,
        salt=local_salt(files),
        lock=LocalLakeLock(lake.root),
        lookup_store=SqliteProfileStore(lake),
        contact_erasers=destination_erasers(files),
    )


class S3VersionPurger:
    """Deletes every noncurrent version of the rewritten objects (the lake bucket is versioned)."""

    def __init__(self, client: Any, bucket: str, base: str = "") -> None:
        self.client, self.bucket, self.base = client, bucket, base.strip("/")

    def purge(self, paths: Sequence[str]) -> int:
        purged = 0
        for path in paths:
            key = f"{self.base}/{path}" if self.base else path
            pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key)
            for page in pages:
                for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if version["Key"] == key and not version.get("IsLatest"):
                        self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version["VersionId"])
                        purged += 1
        return purged


def aws_privacy_service(
    lake_uri: str,
    *,
    pseudonymized_root: str | None = None,
    lookup_table: str | None = None,
    ses_contact_lists: tuple[str, ...] = (),
    salt: bytes,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> PrivacyService:
    """The lake bucket (``s3://bucket[/prefix]``), its S3 lock, the DynamoDB lookup table, SES lists."""
    import boto3

    from cdp.adapters.aws_dynamodb_profiles import DynamoDbProfileStore
    from cdp.adapters.aws_ses_contacts import SesContactEraser
    from cdp.privacy.lock import S3LakeLock

    if not lake_uri.startswith("s3://"):
        raise ValueError(f"lake uri {lake_uri!r}: expected s3://bucket")
    bucket, _, base = lake_uri.removeprefix("s3://").split("?", 1)[0].partition("/")
    s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
    files = _lake_files(lake_uri, pseudonymized_root)
    erasers: list[ContactEraser] = [
        SesContactEraser(contact_list=name, region=region, endpoint_url=endpoint_url)
        for name in ses_contact_lists
    ]
    erasers.extend(e for e in destination_erasers(files) if e.name not in {x.name for x in erasers})
    store = (
        DynamoDbProfileStore(
            table_name=lookup_table,
            client=boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url),
        )
        if lookup_table
        else None
    )
    return PrivacyService(
        files=files,
        salt=salt,
        lock=S3LakeLock(s3, bucket),
        lookup_store=store,
        contact_erasers=erasers,
        version_purger=S3VersionPurger(s3, bucket, base),
        extra_prefixes=(PSEUDONYMIZED,) if pseudonymized_root else (),
    )


def _lake_files(lake_uri: str, pseudonymized_root: str | None) -> LakeFiles:
    return LakeFiles(lake_uri, mounts=zone_mounts(pseudonymized_root=pseudonymized_root))
