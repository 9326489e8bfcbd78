"""The AWS :class:`~cdp.sources.keys.WriteKeyStore`: one DynamoDB table, keys stored only as SHA-256 hashes.

Two kinds of items share the table (partition key ``pk``, sort key ``sk``):

* a source: ``pk = "SOURCE"``, ``sk = <name>``, with ``created_at``, ``active_key_id``/``active_key_hash``
  (absent when revoked) and ``revoked_key_count``; one partition, so listing is a single ``Query`` in name
  order (sources are few and only operators list them);
* a key: ``pk = "KEY#<sha256>"``, ``sk = "KEY"``, with ``source_id``, ``key_id``, ``active``; authenticating
  is one strongly consistent ``GetItem``, so a rotated or revoked key stops working at once. The ingest
  function is granted ``dynamodb:GetItem`` and nothing else.

Every mutation is one ``TransactWriteItems`` guarded by conditions (the source must not exist yet, or its
active key must still be the one just read), so concurrent ``cdp sources`` commands cannot leave a source
with two active keys.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cdp.sources.keys import (
    IssuedKey,
    KeyIdentity,
    KeyStoreUnavailableError,
    SourceExistsError,
    SourceInfo,
    UnknownSourceError,
    generate_write_key,
    hash_write_key,
    key_id_for,
    validate_source_name,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

#: The table's key schema; ``infra/`` builds the table from these names.
PARTITION_KEY = "pk"
SORT_KEY = "sk"

_SOURCES = "SOURCE"
_KEY_SORT = "KEY"
_MUTATION_ATTEMPTS = 3


class ConcurrentKeyChangeError(RuntimeError):
    """Another command changed the same source's key at the same moment; re-run the command."""


class DynamoDbWriteKeyStore:
    def __init__(self, *, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client
        self._client_lock = threading.Lock()

    # -- queries ------------------------------------------------------------------------------------

    def authenticate(self, write_key: str) -> KeyIdentity | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._dynamodb().get_item(
                TableName=self._table,
                Key=_key_item_key(hash_write_key(write_key)),
                ConsistentRead=True,
                ProjectionExpression="source_id, key_id, active",
            )
        except (BotoCoreError, ClientError) as error:
            raise KeyStoreUnavailableError(f"write-key table {self._table}: {error}") from error
        item = response.get("Item")
        if item is None or not item.get("active", {}).get("BOOL", False):
            return None
        return KeyIdentity(source_id=item["source_id"]["S"], key_id=item["key_id"]["S"])

    def list_sources(self) -> list[SourceInfo]:
        paginator = self._dynamodb().get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="#pk = :sources",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":sources": {"S": _SOURCES}},
            ConsistentRead=True,
        )
        return [_source_info(item) for page in pages for item in page.get("Items", [])]

    # -- mutations ----------------------------------------------------------------------------------

    def create_source(self, source_id: str) -> IssuedKey:
        validate_source_name(source_id)
        issued, key_hash = _new_key(source_id)
        now = _now()
        source_item: dict[str, AttributeValueTypeDef] = {
            **_source_key(source_id),
            "created_at": {"S": now},
            "active_key_id": {"S": issued.key_id},
            "active_key_hash": {"S": key_hash},
            "revoked_key_count": {"N": "0"},
        }
        try:
            self._transact(
                [
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": source_item,
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                        }
                    },
                    self._put_key(issued, key_hash, now),
                ]
            )
        except _ConditionFailedError as failed:
            if failed.indexes == [0]:
                raise SourceExistsError(
                    f"source {source_id!r} already exists; use rotate-key for a new key"
                ) from None
            raise ConcurrentKeyChangeError(f"could not create source {source_id!r}; retry") from None
        return issued

    def rotate(self, source_id: str) -> IssuedKey:
        for _ in range(_MUTATION_ATTEMPTS):
            active_hash = self._active_hash(source_id)
            issued, key_hash = _new_key(source_id)
            now = _now()
            items = [
                self._swap_active_key(source_id, active_hash, issued, key_hash),
                *self._retire_key(active_hash, now),
                self._put_key(issued, key_hash, now),
            ]
            try:
                self._transact(items)
            except _ConditionFailedError:
                continue
            return issued
        raise ConcurrentKeyChangeError(f"the key of {source_id!r} kept changing while rotating it; retry")

    def revoke(self, source_id: str) -> None:
        for _ in range(_MUTATION_ATTEMPTS):
            active_hash = self._active_hash(source_id)
            if active_hash is None:
                return
            items = [
                self._swap_active_key(source_id, active_hash, None, None),
                *self._retire_key(active_hash, _now()),
            ]
            try:
                self._transact(items)
            except _ConditionFailedError:
                continue
            return
        raise ConcurrentKeyChangeError(f"the key of {source_id!r} kept changing while revoking it; retry")

    # -- items --------------------------------------------------------------------------------------

    def _active_hash(self, source_id: str) -> str | None:
        """The source's active key hash (``None`` when revoked); :class:`UnknownSourceError` if absent."""
        response = self._dynamodb().get_item(
            TableName=self._table, Key=_source_key(source_id), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            raise UnknownSourceError(source_id)
        return item["active_key_hash"]["S"] if "active_key_hash" in item else None

    def _swap_active_key(
        self, source_id: str, expected_hash: str | None, issued: IssuedKey | None, key_hash: str | None
    ) -> TransactWriteItemTypeDef:
        """Set (or remove) the active key, counting the retired one, if nobody changed it meanwhile."""
        names = {"#active": "active_key_hash"}
        values: dict[str, AttributeValueTypeDef] = {}
        if expected_hash is None:
            condition = "attribute_exists(#pk) AND attribute_not_exists(#active)"
            names["#pk"] = PARTITION_KEY
            counting = ""
        else:
            condition = "#active = :expected"
            values[":expected"] = {"S": expected_hash}
            values[":one"] = {"N": "1"}
            counting = ", revoked_key_count = revoked_key_count + :one"
        if issued is not None and key_hash is not None:
            update = f"SET active_key_id = :key_id, #active = :hash{counting}"
            values[":key_id"] = {"S": issued.key_id}
            values[":hash"] = {"S": key_hash}
        else:
            update = f"SET {counting.removeprefix(', ')} REMOVE active_key_id, #active"
        change: UpdateTypeDef = {
            "TableName": self._table,
            "Key": _source_key(source_id),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            change["ExpressionAttributeValues"] = values
        return {"Update": change}

    def _retire_key(self, key_hash: str | None, now: str) -> list[TransactWriteItemTypeDef]:
        if key_hash is None:
            return []
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _key_item_key(key_hash),
                    "UpdateExpression": "SET active = :false, revoked_at = :now",
                    "ExpressionAttributeValues": {":false": {"BOOL": False}, ":now": {"S": now}},
                }
            }
        ]

    def _put_key(self, issued: IssuedKey, key_hash: str, now: str) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **_key_item_key(key_hash),
                    "source_id": {"S": issued.source_id},
                    "key_id": {"S": issued.key_id},
                    "active": {"BOOL": True},
                    "created_at": {"S": now},
                },
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        }

    # -- client -------------------------------------------------------------------------------------

    def _dynamodb(self) -> DynamoDBClient:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    # a key lookup sits on every request's path: bounded well inside the 10 s timeout
                    config = Config(
                        connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2}
                    )
                    self._client = boto3.client("dynamodb", config=config)
        return self._client

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._dynamodb().transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
            failed = [i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"]
            if not failed:
                raise
            raise _ConditionFailedError(failed) from error


class _ConditionFailedError(Exception):
    def __init__(self, indexes: list[int]) -> None:
        super().__init__(indexes)
        self.indexes = indexes


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _new_key(source_id: str) -> tuple[IssuedKey, str]:
    write_key = generate_write_key()
    key_hash = hash_write_key(write_key)
    return IssuedKey(source_id=source_id, key_id=key_id_for(key_hash), write_key=write_key), key_hash


def _source_key(source_id: str) -> dict[str, AttributeValueTypeDef]:
    return {PARTITION_KEY: {"S": _SOURCES}, SORT_KEY: {"S": source_id}}


def _key_item_key(key_hash: str) -> dict[str, AttributeValueTypeDef]:
    return {PARTITION_KEY: {"S": f"KEY#{key_hash}"}, SORT_KEY: {"S": _KEY_SORT}}


def _source_info(item: dict[str, Any]) -> SourceInfo:
    return SourceInfo(
        source_id=item[SORT_KEY]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        active_key_id=item["active_key_id"]["S"] if "active_key_id" in item else None,
        revoked_key_count=int(item["revoked_key_count"]["N"]),
    )
