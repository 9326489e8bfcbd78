"""The AWS :class:`~cdp.lookup.ports.ProfileStore`: one DynamoDB table (partition ``pk``, sort key ``sk``).

Two kinds of items:

* a profile: ``pk = "PROFILE#<profile_id>"``, ``sk = "PROFILE"``, with ``doc`` (binary: the canonical JSON
  document, zlib-compressed), ``digest`` and ``ids`` (the index keys it owns, so a later load or an erasure
  knows which identifier items to remove);
* an identifier: ``pk = "EMAIL#<match key>"`` (or ``PHONE#<E.164>``, ``USER#<id>``, ``ANON#<id>``),
  ``sk = "PROFILE#<profile_id>"``. One identifier can belong to several profiles (a shared phone), so
  finding is one ``Query`` on the identifier's partition, in profile id order, and reading the document a
  second ``GetItem``. The lookup function needs ``GetItem`` and ``Query`` on this table, nothing else.

Why compressed: a document is 1-3 KB of JSON that zlib shrinks 2-3×; DynamoDB bills writes per started KB
and reads per 4 KB, so a profile write costs 1-2 write units instead of 2-4, and the identifier caps of
:mod:`cdp.lookup.documents` keep the largest possible item far inside the 400 KB limit (a larger one is
refused with :class:`ItemTooLargeError` naming the profile, never silently cut). The cost is opacity in the
console: ``zlib.decompress(item["doc"])`` shows it.

Loading (:meth:`DynamoDbProfileStore.replace_all`), per batch of documents: one ``BatchGetItem`` per 100
profiles reads the stored digests and ids; unchanged profiles are skipped; for the others the identifier
items the profile gained are put and the ones it lost deleted, and only then the profile item is written
(with its new digest). The profile item is the commit point: a load that dies half-way leaves every
profile either as it was or fully new, and re-running it redoes exactly the unfinished ones. After the
last batch a parallel ``Scan`` finds profile items the load did not name and deletes their identifier
items, then them. Writes go through ``BatchWriteItem`` (25 requests per call, several calls in flight),
with unprocessed items retried after an exponential backoff with full jitter. Everything is idempotent.
Reads during a load are strongly consistent: an eventually consistent read could return the ids a profile
had before a crashed earlier load, and the identifier items that load added would never be deleted. The
profile ids a load names are held in a set (about 100 MB at a million profiles; documents are never all in
memory). Readers may see a load half-done (some profiles new, some old); each single profile is
consistent.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from cdp.lookup.ports import (
    DEFAULT_FIND_LIMIT,
    DuplicateProfileError,
    IdentifierKind,
    LookupUnavailableError,
    ProfileDocument,
    StoreLoadResult,
    identifier_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

#: The table's key schema; ``infra/`` builds the table from these names.
PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
PROFILE_PREFIX: Final = "PROFILE#"
PROFILE_SORT: Final = "PROFILE"
DOCUMENT: Final = "doc"
DIGEST: Final = "digest"
IDENTIFIERS: Final = "ids"
#: DynamoDB's item size limit, less room for attribute names and the item's overhead
MAX_ITEM_BYTES: Final = 400 * 1024 - 1024
_WRITES_PER_CALL: Final = 25
_GETS_PER_CALL: Final = 100
_COMPRESSION_LEVEL: Final = 6
_BACKOFF_BASE: Final = 0.05
_BACKOFF_CAP: Final = 5.0


class ItemTooLargeError(ValueError):
    """A profile's item would exceed DynamoDB's 400 KB item limit (the document caps make it unlikely)."""


class DynamoDbProfileStore:
    def __init__(
        self,
        *,
        table_name: str,
        client: DynamoDBClient | None = None,
        workers: int = 8,
        max_attempts: int = 8,
        scan_segments: int = 4,
        read_timeout: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._client_lock = threading.Lock()
        self._workers = workers
        self._max_attempts = max_attempts
        self._segments = scan_segments
        self._read_timeout = read_timeout
        self._sleep = sleep

    # -- queries ------------------------------------------------------------------------------------

    def get(self, profile_id: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._dynamodb().get_item(
                TableName=self._table,
                Key=_profile_key(profile_id),
                ProjectionExpression="#doc",
                ExpressionAttributeNames={"#doc": DOCUMENT},
            )
            item = response.get("Item")
            return zlib.decompress(item[DOCUMENT]["B"]) if item else None
        except (BotoCoreError, ClientError, zlib.error) as error:
            raise LookupUnavailableError(f"profile table {self._table}: {error}") from error

    def find(self, kind: IdentifierKind, value: str, *, limit: int = DEFAULT_FIND_LIMIT) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._dynamodb().query(
                TableName=self._table,
                KeyConditionExpression="#pk = :identifier",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                ExpressionAttributeValues={":identifier": {"S": identifier_key(kind, value)}},
                ProjectionExpression="#sk",
                Limit=limit,
            )
        except (BotoCoreError, ClientError) as error:
            raise LookupUnavailableError(f"profile table {self._table}: {error}") from error
        return [item[SORT_KEY]["S"].removeprefix(PROFILE_PREFIX) for item in response.get("Items", [])]

    # -- mutations ----------------------------------------------------------------------------------

    def replace_all(self, batches: Iterable[Sequence[ProfileDocument]]) -> StoreLoadResult:
        seen: set[str] = set()
        counts = {"written": 0, "unchanged": 0, "ids_written": 0, "ids_deleted": 0}
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="cdp-lookup-load") as pool:
            for batch in batches:
                self._load_batch(pool, batch, seen, counts)
            stale = self._stale_profiles(pool, seen)
            for start in range(0, len(stale), _GETS_PER_CALL):
                chunk = stale[start : start + _GETS_PER_CALL]
                counts["ids_deleted"] += self._delete_profiles(pool, chunk)
        return StoreLoadResult(
            profiles=len(seen),
            written=counts["written"],
            unchanged=counts["unchanged"],
            deleted=len(stale),
            identifiers_written=counts["ids_written"],
            identifiers_deleted=counts["ids_deleted"],
        )

    def delete(self, profile_id: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._dynamodb().get_item(
                TableName=self._table,
                Key=_profile_key(profile_id),
                ProjectionExpression="#ids",
                ExpressionAttributeNames={"#ids": IDENTIFIERS},
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as error:
            raise LookupUnavailableError(f"profile table {self._table}: {error}") from error
        item = response.get("Item")
        if item is None:
            return False
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="cdp-lookup-delete") as pool:
            self._delete_profiles(pool, [(profile_id, _keys_of(item))])
        return True

    def _load_batch(
        self,
        pool: ThreadPoolExecutor,
        batch: Sequence[ProfileDocument],
        seen: set[str],
        counts: dict[str, int],
    ) -> None:
        ids = [document.profile_id for document in batch]
        for profile_id in ids:
            if profile_id in seen:
                raise DuplicateProfileError(f"profile {profile_id!r} is in the load twice")
            seen.add(profile_id)
        stored = self._stored(pool, ids)
        identifier_writes: list[WriteRequestTypeDef] = []
        profile_writes: list[WriteRequestTypeDef] = []
        for document in batch:
            old = stored.get(document.profile_id)
            if old is not None and old[0] == document.digest:
                counts["unchanged"] += 1
                continue
            old_keys = set(old[1]) if old else set()
            new_keys = set(document.identifiers)
            sort_key = PROFILE_PREFIX + document.profile_id
            for key in sorted(new_keys - old_keys):
                identifier_writes.append({"PutRequest": {"Item": _identifier_item(key, sort_key)}})
            for key in sorted(old_keys - new_keys):
                identifier_writes.append({"DeleteRequest": {"Key": _identifier_item(key, sort_key)}})
            counts["ids_written"] += len(new_keys - old_keys)
            counts["ids_deleted"] += len(old_keys - new_keys)
            profile_writes.append({"PutRequest": {"Item": _profile_item(document)}})
        self._write(pool, identifier_writes)
        self._write(pool, profile_writes)  # last: the commit point of each profile
        counts["written"] += len(profile_writes)

    def _stored(
        self, pool: ThreadPoolExecutor, profile_ids: Sequence[str]
    ) -> dict[str, tuple[str, list[str]]]:
        """``{profile_id: (digest, index keys)}`` of the stored profiles among ``profile_ids``."""
        chunks = [profile_ids[i : i + _GETS_PER_CALL] for i in range(0, len(profile_ids), _GETS_PER_CALL)]
        stored: dict[str, tuple[str, list[str]]] = {}
        for items in pool.map(self._get_chunk, chunks):
            for item in items:
                profile_id = item[PARTITION_KEY]["S"].removeprefix(PROFILE_PREFIX)
                stored[profile_id] = (item.get(DIGEST, {}).get("S", ""), _keys_of(item))
        return stored

    def _get_chunk(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        keys: list[Any] = [_profile_key(i) for i in dict.fromkeys(profile_ids)]
        found: list[dict[str, Any]] = []
        for attempt in range(self._max_attempts):
            try:
                response = self._dynamodb().batch_get_item(
                    RequestItems={
                        self._table: {
                            "Keys": keys,
                            "ProjectionExpression": "#pk, #digest, #ids",
                            "ExpressionAttributeNames": {
                                "#pk": PARTITION_KEY,
                                "#digest": DIGEST,
                                "#ids": IDENTIFIERS,
                            },
                            "ConsistentRead": True,
                        }
                    }
                )
            except (BotoCoreError, ClientError) as error:
                raise LookupUnavailableError(f"profile table {self._table}: {error}") from error
            found.extend(response.get("Responses", {}).get(self._table, []))
            unprocessed: Any = response.get("UnprocessedKeys", {})
            keys = unprocessed.get(self._table, {}).get("Keys", [])
            if not keys:
                return found
            self._sleep(self._backoff(attempt))
        raise LookupUnavailableError(
            f"profile table {self._table}: {len(keys)} reads still unprocessed after "
            f"{self._max_attempts} attempts"
        )

    def _write(self, pool: ThreadPoolExecutor, requests: Sequence[WriteRequestTypeDef]) -> None:
        chunks = [requests[i : i + _WRITES_PER_CALL] for i in range(0, len(requests), _WRITES_PER_CALL)]
        for _ in pool.map(self._write_chunk, chunks):
            pass

    def _write_chunk(self, requests: Sequence[WriteRequestTypeDef]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        pending: list[Any] = list(requests)
        for attempt in range(self._max_attempts):
            try:
                response = self._dynamodb().batch_write_item(RequestItems={self._table: pending})
            except (BotoCoreError, ClientError) as error:
                raise LookupUnavailableError(f"profile table {self._table}: {error}") from error
            pending = list(response.get("UnprocessedItems", {}).get(self._table, []))
            if not pending:
                return
            self._sleep(self._backoff(attempt))
        raise LookupUnavailableError(
            f"profile table {self._table}: {len(pending)} writes still unprocessed after "
            f"{self._max_attempts} attempts"
        )

    def _stale_profiles(self, pool: ThreadPoolExecutor, seen: set[str]) -> list[tuple[str, list[str]]]:
        """Stored profiles the load did not name, with their index keys (a parallel scan of the table)."""
        stale: list[tuple[str, list[str]]] = []
        for segment_items in pool.map(self._scan_segment, range(self._segments)):
            for item in segment_items:
                profile_id = item[PARTITION_KEY]["S"].removeprefix(PROFILE_PREFIX)
                if profile_id not in seen:
                    stale.append((profile_id, _keys_of(item)))
        return sorted(stale)

    def _scan_segment(self, segment: int) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = (
                self._dynamodb()
                .get_paginator("scan")
                .paginate(
                    TableName=self._table,
                    Segment=segment,
                    TotalSegments=self._segments,
                    FilterExpression="#sk = :profile",
                    ProjectionExpression="#pk, #ids",
                    ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY, "#ids": IDENTIFIERS},
                    ExpressionAttributeValues={":profile": {"S": PROFILE_SORT}},
                    ConsistentRead=True,
                )
            )
            return [item for page in pages for item in page.get("Items", [])]
        except (BotoCoreError, ClientError) as error:
            raise LookupUnavailableError(f"profile table {self._table}: {error}") from error

    def _delete_profiles(self, pool: ThreadPoolExecutor, profiles: Sequence[tuple[str, list[str]]]) -> int:
        """Identifier items first, then the profile items; returns how many identifier items went."""
        identifier_deletes: list[WriteRequestTypeDef] = []
        for profile_id, keys in profiles:
            sort_key = PROFILE_PREFIX + profile_id
            identifier_deletes.extend({"DeleteRequest": {"Key": _identifier_item(k, sort_key)}} for k in keys)
        self._write(pool, identifier_deletes)
        self._write(
            pool, [{"DeleteRequest": {"Key": _profile_key(profile_id)}} for profile_id, _ in profiles]
        )
        return len(identifier_deletes)

    def _backoff(self, attempt: int) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter")."""
        return random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))  # noqa: S311 - jitter, not a secret

    # -- client -------------------------------------------------------------------------------------

    def _dynamodb(self) -> DynamoDBClient:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        connect_timeout=1,
                        read_timeout=self._read_timeout,
                        retries={"mode": "standard", "max_attempts": 3},
                        max_pool_connections=max(10, self._workers),
                    )
                    self._client = boto3.client("dynamodb", config=config)
        return self._client


def _profile_key(profile_id: str) -> dict[str, AttributeValueTypeDef]:
    return {PARTITION_KEY: {"S": PROFILE_PREFIX + profile_id}, SORT_KEY: {"S": PROFILE_SORT}}


def _identifier_item(key: str, sort_key: str) -> dict[str, AttributeValueTypeDef]:
    return {PARTITION_KEY: {"S": key}, SORT_KEY: {"S": sort_key}}


def _profile_item(document: ProfileDocument) -> dict[str, AttributeValueTypeDef]:
    compressed = zlib.compress(document.document, _COMPRESSION_LEVEL)
    size = (
        len(compressed)
        + sum(len(key.encode()) for key in document.identifiers)
        + len(document.profile_id) * 2
    )
    if size > MAX_ITEM_BYTES:
        raise ItemTooLargeError(
            f"profile {document.profile_id!r}: its item would be {size:,} bytes, over DynamoDB's 400 KB limit"
        )
    return {
        **_profile_key(document.profile_id),
        DOCUMENT: {"B": compressed},
        DIGEST: {"S": document.digest},
        IDENTIFIERS: {"L": [{"S": key} for key in document.identifiers]},
    }


def _keys_of(item: dict[str, Any]) -> list[str]:
    return [value["S"] for value in item.get(IDENTIFIERS, {}).get("L", [])]
