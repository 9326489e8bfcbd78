"""Manual identity overrides (SPEC 6): ``identity/overrides.jsonl`` in the lake, applied on every run.

One JSON object per line, appended by ``cdp identity override …`` (or by hand)::

    {"action": "force_merge", "records": ["crm:C1", "shop:R9"], "reason": "same person, confirmed by phone"}
    {"action": "never_merge", "records": ["crm:C1", "crm:C2"], "reason": "twins"}
    {"action": "split", "records": ["app:evt:9f…"], "reason": "shared tablet"}

Precedence, so the outcome never depends on line order: ``split`` cuts every edge of its record first;
``never_merge`` then separates its two records like two user_ids are separated; ``force_merge`` is applied
last and joins the two records' profiles whatever else says, so a later ``force_merge`` undoes an earlier
``never_merge`` of the same people.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cdp.identity.errors import OverrideError
from cdp.lakefs import LakeFiles

OVERRIDES_PATH = "identity/overrides.jsonl"


class OverrideAction(StrEnum):
    FORCE_MERGE = "force_merge"
    NEVER_MERGE = "never_merge"
    SPLIT = "split"


class IdentityOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: OverrideAction
    records: tuple[str, ...] = Field(min_length=1, max_length=2)
    reason: str = Field(min_length=1)
    created_at: str | None = None

    @model_validator(mode="after")
    def _arity(self) -> IdentityOverride:
        wanted = 1 if self.action is OverrideAction.SPLIT else 2
        if len(self.records) != wanted:
            raise ValueError(f"{self.action.value} takes {wanted} record id(s)")
        if wanted == 2 and self.records[0] == self.records[1]:
            raise ValueError(f"{self.action.value} needs two different records")
        return self


def parse_overrides(data: bytes | None) -> list[IdentityOverride]:
    overrides = []
    for number, line in enumerate((data or b"").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            overrides.append(IdentityOverride.model_validate(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValidationError) as error:
            reason = (
                str(error).splitlines()[0] if isinstance(error, orjson.JSONDecodeError) else _first(error)
            )
            raise OverrideError(f"{OVERRIDES_PATH} line {number}: {reason}") from None
    return overrides


def load_overrides(files: LakeFiles) -> list[IdentityOverride]:
    return parse_overrides(files.read_bytes(OVERRIDES_PATH))


def add_override(files: LakeFiles, override: IdentityOverride) -> IdentityOverride:
    """Append one override (the whole file is rewritten atomically: it stays small)."""
    stamped = override.model_copy(update={"created_at": override.created_at or datetime.now(UTC).isoformat()})
    existing = files.read_bytes(OVERRIDES_PATH) or b""
    if existing and not existing.endswith(b"\n"):
        existing += b"\n"
    line = orjson.dumps(stamped.model_dump(mode="json", exclude_none=True)) + b"\n"
    files.write_bytes(OVERRIDES_PATH, existing + line)
    return stamped


def _first(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
