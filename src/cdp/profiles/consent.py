"""The consent store (SPEC 9): every consent decision per profile and purpose, with time and source, and
which one is in force.

Decisions come from three places, each a row of the ``consent`` table (long form: one row per profile ×
purpose × decision):

- **identify calls** (``origin = event``): ``traits`` or ``context.traits`` holding ``consent.<purpose>`` or
  ``<purpose>_opt_in`` (true/false, yes/no, 1/0, granted/denied, opt_in/opt_out), timed at the event;
- **Segment's consent object** (``origin = event``) on any call: ``context.consent.categoryPreferences``, an
  object of consent category → boolean that Segment's consent-management wrappers stamp on every event,
  timed at the event. Categories reach purposes through :class:`ConsentConfig` (``consent.categories`` of
  ``profiles.yaml``; default: a category named like a purpose, and ``Advertising`` → ``ads``, matched
  case-insensitively). Categories not mapped are ignored, and so are mapped categories an event does not
  mention: unlike Segment's own profiles, which store ``false`` for them, a missing category is no decision
  here (a cookie banner that says nothing about e-mail must not revoke the e-mail opt-in of the CRM);
- **imports** (``origin = import``): ``consent_<purpose>`` columns, timed at ``consent_updated_at``, else the
  row's ``updated_at``, else the import's time.

**Latest wins**, per profile and purpose, in this order (the first difference decides): the later
``decided_at``; at the same moment a refusal before a grant (two answers claiming one instant: when in
doubt, do not send); then the decision recorded later (the event received, the row imported); then
``source_id``, ``origin``, ``record_id`` (the smaller first), so both engines flag the same row.

**Restatements are not decisions.** Segment stamps the consent object on every event and apps send the same
traits on every identify call; a decision that repeats the one just before it (in the order above) with the
same answer from the same source and origin is not stored. The history is thus the changes of each source's
answer, and ``decided_at`` of the row in force is when that answer was first given.

``profiles.consent`` is built from the rows with ``is_latest`` and nothing else, so the JSON and the table
cannot disagree. Everything here is SQL in the authoring dialect (DuckDB's), run by both engines.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp.profiles.windows import iso_text_sql

#: purposes of consent (SPEC 8), alphabetically: the order of the keys in ``profiles.consent``
CONSENT_PURPOSES: Final[tuple[str, ...]] = ("ads", "email", "push", "sms")
#: answers of identify traits that grant or refuse, lower-cased (JSON booleans read as text are
#: ``true`` / ``false``)
GRANTED_ANSWERS: Final[tuple[str, ...]] = ("true", "yes", "y", "1", "granted", "opt_in", "opted_in")
REFUSED_ANSWERS: Final[tuple[str, ...]] = ("false", "no", "n", "0", "denied", "opt_out", "opted_out")

#: Segment consent categories → purposes when ``profiles.yaml`` names none (compared lower-cased);
#: ``Advertising`` is the category of Segment's own examples
DEFAULT_CATEGORIES: Final[dict[str, str]] = {
    "ads": "ads",
    "advertising": "ads",
    "email": "email",
    "push": "push",
    "sms": "sms",
}
#: a category id as it may appear in a JSON path of both engines (OneTrust's ``C0004``, ``Advertising``)
_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: Segment's key of the consent object (matched as sent: it is the spec's, not a category)
SEGMENT_PREFERENCES_KEY: Final = "categoryPreferences"


class ConsentConfig(BaseModel):
    """``consent:`` of ``profiles.yaml``: which Segment consent category stands for which purpose.

    ```yaml
    consent:
      categories:          # replaces the default mapping; {} ignores categoryPreferences
        C0004: ads         # OneTrust's "Targeting Cookies"
        Marketing_Email: email
    ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CATEGORIES))

    @field_validator("categories")
    @classmethod
    def _valid_categories(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for category, purpose in value.items():
            if not _CATEGORY.match(category):
                raise ValueError(
                    f"category {category!r} must start with a letter and hold only letters, digits and '_' "
                    "(at most 64)"
                )
            if purpose not in CONSENT_PURPOSES:
                raise ValueError(
                    f"category {category!r}: {purpose!r} is not a purpose ({', '.join(CONSENT_PURPOSES)})"
                )
            key = category.lower()
            if key in seen:
                raise ValueError(f"categories {seen[key]!r} and {category!r} are the same (case is ignored)")
            seen[key] = category
        return value

    def categories_of(self, purpose: str) -> tuple[str, ...]:
        """The lower-cased categories that decide ``purpose``, sorted."""
        return tuple(sorted(c.lower() for c, p in self.categories.items() if p == purpose))


# -- SQL (authoring dialect) over profile_events, import_rows and identity_links ---------------------------

#: the columns every consent source has: one row per event or imported row, one answer column per purpose
_SOURCE_COLUMNS = "profile_id, source_id, origin, record_id, decided_at, recorded_at"


def _any_answer(answers: list[str], where: str) -> str:
    return f"SELECT * FROM ({where}) WHERE " + " OR ".join(f"{answer} IS NOT NULL" for answer in answers)


def _trait_answers(column: str, purpose: str, prefix: str = "") -> list[str]:
    return [
        f"json_extract_string({column}, '$.{prefix}consent.{purpose}')",
        f"json_extract_string({column}, '$.{prefix}{purpose}_opt_in')",
    ]


def identify_consent_sql() -> str:
    """Answers in identify calls' traits (``traits`` first, then ``context.traits``)."""
    answers = ",\n    ".join(
        "lower(coalesce("
        + ", ".join(_trait_answers("e.traits", purpose) + _trait_answers("e.context", purpose, "traits."))
        + f")) AS answer_{purpose}"
        for purpose in CONSENT_PURPOSES
    )
    return _any_answer(
        [f"answer_{purpose}" for purpose in CONSENT_PURPOSES],
        f"""
SELECT
    e.profile_id, e.source_id, 'event' AS origin, e.message_id AS record_id,
    e.event_time AS decided_at, e.received_at AS recorded_at,
    {answers}
FROM profile_events AS e
WHERE e.type = 'identify'
""",
    )


def category_consent_sql(config: ConsentConfig) -> str | None:
    """Answers in Segment's ``context.consent.categoryPreferences`` of any call; ``None`` when no category is
    mapped. Categories are matched case-insensitively by reading the lower-cased context (always valid JSON:
    the ingestion API wrote it); several categories of one purpose: any refusal refuses."""
    if not config.categories:
        return None
    answers = []
    for purpose in CONSENT_PURPOSES:
        paths = [
            f"json_extract_string(context_lower, '$.consent.{SEGMENT_PREFERENCES_KEY.lower()}.{category}')"
            for category in config.categories_of(purpose)
        ]
        if not paths:
            answers.append(f"CAST(NULL AS VARCHAR) AS answer_{purpose}")
            continue
        refused = " OR ".join(f"{path} = 'false'" for path in paths)
        granted = " OR ".join(f"{path} = 'true'" for path in paths)
        answers.append(f"CASE WHEN {refused} THEN 'false' WHEN {granted} THEN 'true' END AS answer_{purpose}")
    columns = ",\n    ".join(answers)
    return _any_answer(
        [f"answer_{purpose}" for purpose in CONSENT_PURPOSES],
        f"""
SELECT
    {_SOURCE_COLUMNS},
    {columns}
FROM (
    SELECT
        e.profile_id, e.source_id, 'event' AS origin, e.message_id AS record_id,
        e.event_time AS decided_at, e.received_at AS recorded_at, lower(e.context) AS context_lower
    FROM profile_events AS e
    WHERE e.context LIKE '%"{SEGMENT_PREFERENCES_KEY}"%'
)
""",
    )


def import_consent_sql() -> str:
    """``consent_<purpose>`` columns of completed imports, joined to the person through the row's identity
    record (``<source_id>:<row_key>``)."""
    answers = ",\n    ".join(
        f"CASE WHEN i.consent_{purpose} THEN 'true' WHEN NOT i.consent_{purpose} THEN 'false' END "
        f"AS answer_{purpose}"
        for purpose in CONSENT_PURPOSES
    )
    present = " OR ".join(f"i.consent_{purpose} IS NOT NULL" for purpose in CONSENT_PURPOSES)
    return f"""
SELECT
    l.profile_id, i.source_id, 'import' AS origin, l.record_id,
    CAST(coalesce(i.consent_updated_at, i.updated_at, i.imported_at) AS TIMESTAMPTZ) AS decided_at,
    CAST(i.imported_at AS TIMESTAMPTZ) AS recorded_at,
    {answers}
FROM import_rows AS i
JOIN identity_links AS l ON l.record_id = i.source_id || ':' || i.row_key
WHERE {present}
"""


def consent_sources_sql(config: ConsentConfig) -> str:
    """Every consent source as one relation (materialized by the step: the decisions read it four times)."""
    parts = [identify_consent_sql(), category_consent_sql(config), import_consent_sql()]
    columns = f"{_SOURCE_COLUMNS}, " + ", ".join(f"answer_{purpose}" for purpose in CONSENT_PURPOSES)
    return "\nUNION ALL\n".join(f"SELECT {columns} FROM ({part})" for part in parts if part is not None)


def consent_decisions_sql() -> str:
    """``consent_sources`` in long form: one row per source row and purpose it answers."""
    granted = ", ".join(f"'{answer}'" for answer in GRANTED_ANSWERS)
    refused = ", ".join(f"'{answer}'" for answer in REFUSED_ANSWERS)
    return "\nUNION ALL\n".join(
        f"""
SELECT
    profile_id, '{purpose}' AS purpose,
    CASE WHEN answer_{purpose} IN ({granted}) THEN true ELSE false END AS granted,
    decided_at, recorded_at, source_id, origin, record_id
FROM consent_sources
WHERE answer_{purpose} IN ({granted}) OR answer_{purpose} IN ({refused})
"""
        for purpose in CONSENT_PURPOSES
    )


#: the latest-wins order (module docstring), most recent first: ``recency = 1`` is the decision in force.
#: Every output column is in it, so rows it cannot tell apart are identical rows.
_RECENCY = (
    "decided_at DESC NULLS LAST, granted ASC, recorded_at DESC NULLS LAST, "
    "source_id ASC NULLS LAST, origin ASC, record_id ASC NULLS LAST"
)

#: ranked decisions, restatements dropped, the one in force flagged
CONSENT_HISTORY_SQL: Final = f"""
SELECT
    profile_id, purpose, granted, decided_at, source_id, origin, record_id,
    row_number() OVER (PARTITION BY profile_id, purpose ORDER BY recency) = 1 AS is_latest
FROM (
    SELECT
        profile_id, purpose, granted, decided_at, source_id, origin, record_id, recency,
        lag(granted) OVER (PARTITION BY profile_id, purpose ORDER BY recency DESC) AS previous_granted,
        lag(source_id) OVER (PARTITION BY profile_id, purpose ORDER BY recency DESC) AS previous_source,
        lag(origin) OVER (PARTITION BY profile_id, purpose ORDER BY recency DESC) AS previous_origin
    FROM (
        SELECT
            profile_id, purpose, granted, decided_at, source_id, origin, record_id,
            row_number() OVER (PARTITION BY profile_id, purpose ORDER BY {_RECENCY}) AS recency
        FROM consent_decisions
    )
)
WHERE previous_granted IS NULL
    OR previous_granted <> granted
    OR coalesce(previous_source, '') <> coalesce(source_id, '')
    OR previous_origin <> origin
"""


def consent_table_sql(run_id: str) -> str:
    """The ``consent`` table's rows, before the contract's typed projection (sorted after it by
    :data:`CONSENT_TABLE_ORDER`)."""
    return f"""
SELECT
    profile_id, purpose, granted, decided_at, source_id, origin, record_id, is_latest,
    '{run_id}' AS run_id
FROM consent_history
"""


#: the ``consent`` table's row order: a person's decisions together, per purpose oldest first
CONSENT_TABLE_ORDER: Final = "profile_id, purpose, decided_at, is_latest, record_id"


def profile_consent_sql() -> str:
    """``profiles.consent``: the rows in force as JSON text, purposes in alphabetical order,
    ``{"email": {"granted": true, "at": "…Z", "source": "crm"}}``."""
    fragment = (
        "'\"' || purpose || '\":{\"granted\":' || CASE WHEN granted THEN 'true' ELSE 'false' END"
        f" || ',\"at\":' || coalesce('\"' || {iso_text_sql('decided_at')} || '\"', 'null')"
        " || ',\"source\":\"' || coalesce(source_id, '') || '\"}'"
    )
    members = ", ".join(
        f"max(CASE WHEN purpose = '{purpose}' THEN fragment END)" for purpose in CONSENT_PURPOSES
    )
    return f"""
SELECT profile_id, '{{' || concat_ws(',', {members}) || '}}' AS consent
FROM (SELECT profile_id, purpose, {fragment} AS fragment FROM consent_history WHERE is_latest)
GROUP BY profile_id
"""
