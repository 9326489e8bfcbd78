"""Identity resolution over ``identity_records``, written once as SQL on the engine port (SPEC 6).

Edges (each with a rule name, so every link is explainable):

- **identifiers**: records sharing a ``user_id``, ``national_id``, source key, email match key, E.164 phone or
  ``anonymous_id``. The *strong* ones (config: user_id, national_id, source_key) always join. The others
  join only when the two records' evidence does not say "two people": the edge is *refused* when both
  carry a date of birth and they differ (a day/month swap is the same date), when both carry a gender and
  it differs, or when both carry a first name in the same script that is clearly different (Levenshtein
  above ``name_distance``, 1 for names of four letters or less; a first/last swap is not a difference)
  and their dates of birth do not agree. Records of one identifier value with identical evidence are
  joined to one representative first, so only distinct evidence is compared pairwise.
- **probabilistic**: pairs scored by a :class:`PairScorer` at or above the threshold, refused on the hard
  conflicts (date of birth, gender) only: the scorer already weighed the names.

Guards, in order, each counted in the step report: blocklisted values (config) are not merge keys; an
identifier value carried by more distinct people (first name + date of birth) than its cardinality limit
is not a merge key; ``split`` overrides cut every edge of their record; a component holding two user_ids
(or the two records of a ``never_merge``) is split around those anchors, every other record attached to
the anchor it shares the strongest identifier with (:func:`cdp.identity.graph.attach_to_anchors`; a
``never_merge`` record is its own anchor even when it shares the user_id); a group still holding two birth
dates (joined through records without one: each pair looked fine) is split the same way around its birth
dates (a day/month swap is one date); a profile larger than ``max_profile_records`` falls back to the
components of its fallback edges (user_id, national_id, source key, email by default), and a fallback
component still too large to singletons;
``force_merge`` overrides join profiles last.

Stable IDs: a cluster claims the previous profile ID of its oldest previously linked member (by
``first_seen``, then ``record_id``). Two clusters claiming one ID (a split) → the one holding more of that
profile's records keeps it (then the older). A cluster without a claim gets ``p_`` + 16 hex of the MD5 of
its oldest record id (salted with the run id in the rare case that ID was ever used before). A previous
profile whose records now sit under another ID is recorded as a ``merge`` (survivor, loser); records of a
profile that moved to a cluster with a different ID are recorded as a ``split``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from cdp.engine.port import Engine
from cdp.identity.config import FORCE_MERGE_RULE, PROBABILISTIC_RULE, Identifier, IdentityConfig
from cdp.identity.graph import attach_to_anchors, connected_components
from cdp.identity.overrides import IdentityOverride, OverrideAction


class PairScorer(Protocol):
    """The probabilistic matcher: identity records in, candidate pairs out (``record_id_l < record_id_r``,
    ``match_probability``, ``match_weight``, ``evidence``); ``cdp.identity.probabilistic`` implements it."""

    def __call__(self, records: pa.Table, /) -> pa.Table: ...


@dataclass(slots=True)
class ResolutionReport:
    """What the guards blocked and how the graph came out, for the step report."""

    guards: dict[str, int] = field(default_factory=dict)
    rounds: int = 0


SINGLETON = "singleton"

_OVERRIDES_SCHEMA = pa.schema(
    [
        pa.field("action", pa.string()),
        pa.field("record_a", pa.string()),
        pa.field("record_b", pa.string()),
        pa.field("reason", pa.string()),
    ]
)
_PAIRS_SCHEMA = pa.schema(
    [
        pa.field("record_id_l", pa.string()),
        pa.field("record_id_r", pa.string()),
        pa.field("match_probability", pa.float64()),
        pa.field("evidence", pa.string()),
    ]
)

# -- SQL (authoring dialect) ------------------------------------------------------------------------

_RECORDS = """
SELECT
    record_id, source_id, origin, source_record_key, user_id, anonymous_id, email_key, phone_e164,
    national_id, first_seen,
    lower(first_name) AS fn, lower(last_name) AS ln, date_of_birth AS dob, gender, name_script
FROM identity_records
WHERE record_id IS NOT NULL
"""

_KEYS_ALL = """
SELECT record_id, 'user_id' AS identifier, user_id AS value FROM id_records WHERE user_id IS NOT NULL
UNION ALL
SELECT record_id, 'national_id', national_id FROM id_records WHERE national_id IS NOT NULL
UNION ALL
SELECT record_id, 'source_key', source_id || ':' || source_record_key FROM id_records
WHERE origin = 'import' AND source_record_key IS NOT NULL
UNION ALL
SELECT record_id, 'email', email_key FROM id_records WHERE email_key IS NOT NULL
UNION ALL
SELECT record_id, 'phone', phone_e164 FROM id_records WHERE phone_e164 IS NOT NULL
UNION ALL
SELECT record_id, 'anonymous_id', anonymous_id FROM id_records WHERE anonymous_id IS NOT NULL
"""

_KEYS_BLOCKED = """
SELECT k.record_id, k.identifier, k.value
FROM id_keys_all AS k JOIN id_blocklist AS b ON b.identifier = k.identifier AND b.value = k.value
"""

_KEYS_LISTED = """
SELECT k.record_id, k.identifier, k.value
FROM id_keys_all AS k LEFT JOIN id_blocklist AS b ON b.identifier = k.identifier AND b.value = k.value
WHERE b.value IS NULL
"""

_KEY_CROWDS = """
SELECT p.identifier, p.value, p.persons
FROM (
    SELECT k.identifier, k.value,
        count(DISTINCT CASE WHEN r.fn IS NOT NULL OR r.dob IS NOT NULL
            THEN coalesce(r.fn, '') || '|' || coalesce(r.dob, '') END) AS persons
    FROM id_keys_listed AS k JOIN id_records AS r ON r.record_id = k.record_id
    GROUP BY k.identifier, k.value
) AS p
JOIN id_cardinality AS c ON c.identifier = p.identifier
WHERE p.persons > c.max_persons
"""

_KEYS = """
SELECT k.record_id, k.identifier, k.value, p.strong, p.priority
FROM id_keys_listed AS k
JOIN id_rules AS p ON p.rule = k.identifier
LEFT JOIN id_key_crowds AS c ON c.identifier = k.identifier AND c.value = k.value
WHERE c.value IS NULL
"""

#: records of one identifier value with the same evidence hang off one representative
_KEY_CLASSES = """
SELECT k.record_id, k.identifier, k.value, k.priority, k.strong,
    CASE WHEN k.strong THEN min(k.record_id) OVER (PARTITION BY k.identifier, k.value)
    ELSE min(k.record_id) OVER (
        PARTITION BY k.identifier, k.value, coalesce(r.fn, '~'), coalesce(r.ln, '~'), coalesce(r.dob, '~'),
            coalesce(r.gender, '~'), coalesce(r.name_script, '~')
    ) END AS rep
FROM id_keys AS k JOIN id_records AS r ON r.record_id = k.record_id
"""

_DOB_SWAPPED = """(
    substr(a.dob, 1, 4) = substr(b.dob, 1, 4)
    AND substr(a.dob, 6, 2) = substr(b.dob, 9, 2) AND substr(a.dob, 9, 2) = substr(b.dob, 6, 2)
)"""

_HARD_CONFLICT = f"""
    WHEN a.dob IS NOT NULL AND b.dob IS NOT NULL AND a.dob <> b.dob AND NOT {_DOB_SWAPPED}
        THEN 'dob_conflict'
    WHEN a.gender IS NOT NULL AND b.gender IS NOT NULL AND a.gender <> b.gender THEN 'gender_conflict'
"""

#: a scored pair already weighed the birth dates (and FEBRL-style sources replace a date rather than mistype
#: it): disagreeing dates only raise the bar a scored pair must clear
_SCORED_CONFLICT = f"""
    WHEN a.dob IS NOT NULL AND b.dob IS NOT NULL AND a.dob <> b.dob AND NOT {_DOB_SWAPPED}
        AND s.match_probability < {{dob_conflict_threshold}}
        THEN 'dob_conflict'
    WHEN a.gender IS NOT NULL AND b.gender IS NOT NULL AND a.gender <> b.gender THEN 'gender_conflict'
"""

_NAME_CONFLICT = """
    WHEN a.fn IS NOT NULL AND b.fn IS NOT NULL AND a.name_script = b.name_script
        AND levenshtein(a.fn, b.fn)
            > CASE WHEN least(length(a.fn), length(b.fn)) <= 4 THEN least(1, {distance}) ELSE {distance} END
        AND NOT coalesce(a.dob = b.dob, false)
        AND NOT coalesce(a.fn = b.ln, false) AND NOT coalesce(b.fn = a.ln, false)
        THEN 'first_name_conflict'
"""

_CANDIDATES = """
SELECT least(record_id, rep) AS l, greatest(record_id, rep) AS r, identifier AS rule, priority,
    CAST(1.0 AS DOUBLE) AS match_probability, CAST(NULL AS VARCHAR) AS reason
FROM id_key_classes
WHERE record_id <> rep
UNION ALL
SELECT p.l, p.r, p.rule, p.priority, CAST(1.0 AS DOUBLE) AS match_probability,
    CASE {hard} {names} END AS reason
FROM (
    SELECT DISTINCT x.rep AS l, y.rep AS r, x.identifier AS rule, x.priority
    FROM id_key_classes AS x
    JOIN id_key_classes AS y ON y.identifier = x.identifier AND y.value = x.value AND x.rep < y.rep
    WHERE NOT x.strong AND x.record_id = x.rep AND y.record_id = y.rep
) AS p
JOIN id_records AS a ON a.record_id = p.l
JOIN id_records AS b ON b.record_id = p.r
UNION ALL
SELECT s.l, s.r, '{probabilistic}' AS rule, {probabilistic_priority} AS priority, s.match_probability,
    CASE {scored_hard} ELSE s.evidence END AS reason
FROM (
    SELECT least(record_id_l, record_id_r) AS l, greatest(record_id_l, record_id_r) AS r,
        match_probability, evidence
    FROM id_scored_pairs
    WHERE match_probability >= {threshold} AND record_id_l <> record_id_r
) AS s
JOIN id_records AS a ON a.record_id = s.l
JOIN id_records AS b ON b.record_id = s.r
"""

_EDGES = """
SELECT c.l, c.r, c.rule, c.priority, c.match_probability,
    CASE
        WHEN sl.record_a IS NOT NULL OR sr.record_a IS NOT NULL THEN 'override_split'
        WHEN nm.record_a IS NOT NULL THEN 'override_never_merge'
        WHEN c.rule = '{probabilistic}' THEN
            CASE WHEN c.reason IN ('dob_conflict', 'gender_conflict') THEN c.reason END
        ELSE c.reason
    END AS refusal,
    CASE WHEN c.rule = '{probabilistic}' AND c.reason NOT IN ('dob_conflict', 'gender_conflict')
        THEN c.reason END AS evidence
FROM id_candidates AS c
LEFT JOIN (SELECT DISTINCT record_a FROM id_overrides WHERE action = 'split') AS sl ON sl.record_a = c.l
LEFT JOIN (SELECT DISTINCT record_a FROM id_overrides WHERE action = 'split') AS sr ON sr.record_a = c.r
LEFT JOIN (
    SELECT DISTINCT least(record_a, record_b) AS record_a, greatest(record_a, record_b) AS record_b
    FROM id_overrides WHERE action = 'never_merge'
) AS nm ON nm.record_a = c.l AND nm.record_b = c.r
"""

_ACCEPTED = """
SELECT l, r, min(priority) AS priority FROM id_edges WHERE refusal IS NULL GROUP BY l, r
"""

_ANCHOR_NODES = """
SELECT r.record_id AS node,
    CASE WHEN n.record_a IS NOT NULL THEN 'n:' || r.record_id
        WHEN r.user_id IS NOT NULL THEN 'u:' || r.user_id END AS anchor
FROM id_records AS r
LEFT JOIN (
    SELECT record_a FROM id_overrides WHERE action = 'never_merge'
    UNION SELECT record_b FROM id_overrides WHERE action = 'never_merge'
) AS n ON n.record_a = r.record_id
"""

_CONTESTED = """
SELECT c.label,
    count(DISTINCT a.anchor) AS anchors,
    count(DISTINCT CASE WHEN a.anchor LIKE 'u:%' THEN a.anchor END) AS user_ids
FROM id_components AS c JOIN id_anchor_nodes AS a ON a.node = c.node
GROUP BY c.label
HAVING count(DISTINCT a.anchor) >= 2
"""

_GROUPS = """
SELECT g.node AS record_id, min(g.node) OVER (PARTITION BY g.group_key) AS grp
FROM (
    SELECT c.node,
        CASE WHEN k.label IS NULL THEN c.label
            ELSE c.label || '|' || coalesce(a.anchor, 'r:' || c.node) END AS group_key
    FROM id_components AS c
    LEFT JOIN id_contested AS k ON k.label = c.label
    LEFT JOIN id_attached AS a ON a.node = c.node
) AS g
"""

#: a birth date with day and month in order, so a swapped copy compares equal
_DOB_KEY = """CASE WHEN substr(dob, 6, 2) <= substr(dob, 9, 2) THEN dob
    ELSE substr(dob, 1, 5) || substr(dob, 9, 2) || '-' || substr(dob, 6, 2) END"""

#: dated records of groups holding two different birth dates (a day/month swap is one date)
_DATED = f"""
SELECT g.record_id AS node, g.grp, {_DOB_KEY} AS dob_key
FROM id_groups AS g JOIN id_records AS r ON r.record_id = g.record_id
WHERE r.dob IS NOT NULL AND g.grp IN (
    SELECT g2.grp FROM id_groups AS g2 JOIN id_records AS r2 ON r2.record_id = g2.record_id
    WHERE r2.dob IS NOT NULL
    GROUP BY g2.grp
    HAVING count(DISTINCT {_DOB_KEY.replace("dob", "r2.dob")}) >= 2
)
"""

#: one person's dates: records with the same date, or joined directly by an accepted edge (the edge's own
#: evidence already accepted a typo'd or replaced date), are one date class
_DATE_EDGES = """
SELECT e.l, e.r
FROM id_accepted AS e
JOIN id_dated AS a ON a.node = e.l
JOIN id_dated AS b ON b.node = e.r AND b.grp = a.grp
UNION ALL
SELECT d.node AS l, min(d.node) OVER (PARTITION BY d.grp, d.dob_key) AS r FROM id_dated AS d
"""

#: groups where two date classes meet through records without a date: two people
_DOB_CONFLICTED = """
SELECT d.grp FROM id_dated AS d JOIN id_date_classes AS c ON c.node = d.node
GROUP BY d.grp
HAVING count(DISTINCT c.label) >= 2
"""

_DOB_NODES = """
SELECT g.record_id AS node, CASE WHEN c.label IS NOT NULL THEN 'd:' || c.label END AS anchor
FROM id_groups AS g
JOIN id_dob_conflicted AS k ON k.grp = g.grp
LEFT JOIN id_date_classes AS c ON c.node = g.record_id
"""

_DOB_EDGES = """
SELECT e.l, e.r, e.priority
FROM id_accepted AS e
JOIN id_groups AS a ON a.record_id = e.l
JOIN id_groups AS b ON b.record_id = e.r AND b.grp = a.grp
JOIN id_dob_conflicted AS k ON k.grp = a.grp
"""

_PEOPLE = """
SELECT g.record_id, min(g.record_id) OVER (PARTITION BY g.person_key) AS grp
FROM (
    SELECT g.record_id,
        CASE WHEN k.grp IS NULL THEN g.grp
            ELSE g.grp || '|' || coalesce(a.anchor, 'r:' || g.record_id) END AS person_key
    FROM id_groups AS g
    LEFT JOIN id_dob_conflicted AS k ON k.grp = g.grp
    LEFT JOIN id_dob_attached AS a ON a.node = g.record_id
) AS g
"""

_SIZED = """
SELECT record_id, grp, count(*) OVER (PARTITION BY grp) AS size FROM id_people
"""

_FALLBACK_EDGES = """
SELECT e.l, e.r
FROM id_edges AS e
JOIN id_rules AS p ON p.rule = e.rule AND p.fallback
JOIN id_sized AS a ON a.record_id = e.l AND a.size > {limit}
JOIN id_sized AS b ON b.record_id = e.r AND b.grp = a.grp
WHERE e.refusal IS NULL
"""

_RESIZED = """
SELECT s.record_id,
    CASE WHEN s.size <= {limit} THEN s.grp
        WHEN f.size <= {limit} THEN f.label
        ELSE s.record_id END AS grp
FROM id_sized AS s
LEFT JOIN (
    SELECT node, label, count(*) OVER (PARTITION BY label) AS size FROM id_fallback_components
) AS f ON f.node = s.record_id
"""

_FORCE_EDGES = """
SELECT a.grp AS l, b.grp AS r
FROM id_overrides AS o
JOIN id_resized AS a ON a.record_id = o.record_a
JOIN id_resized AS b ON b.record_id = o.record_b
WHERE o.action = 'force_merge'
"""

_CLUSTERS = """
SELECT s.record_id, coalesce(f.label, s.grp) AS cluster
FROM id_resized AS s LEFT JOIN id_force_components AS f ON f.node = s.grp
"""

_MEMBERS = """
SELECT c.record_id, c.cluster, r.first_seen, p.profile_id AS previous
FROM id_clusters AS c
JOIN id_records AS r ON r.record_id = c.record_id
LEFT JOIN previous_links AS p ON p.record_id = c.record_id
"""

_OLDEST = """
SELECT cluster, record_id AS oldest, first_seen FROM id_members
QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY first_seen ASC NULLS LAST, record_id) = 1
"""

#: per previous profile id, the cluster that keeps it: the one whose oldest previously linked member was
#: in it, holding the most of its records (then the oldest)
_WINNERS = """
WITH claims AS (
    SELECT cluster, previous AS claim FROM id_members WHERE previous IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY first_seen ASC NULLS LAST, record_id) = 1
),
support AS (
    SELECT c.cluster, c.claim, count(*) AS support
    FROM claims AS c JOIN id_members AS m ON m.cluster = c.cluster AND m.previous = c.claim
    GROUP BY c.cluster, c.claim
)
SELECT s.cluster, s.claim FROM support AS s JOIN id_oldest AS o ON o.cluster = s.cluster
QUALIFY row_number() OVER (
    PARTITION BY s.claim ORDER BY s.support DESC, o.first_seen ASC NULLS LAST, o.oldest
) = 1
"""

_TAKEN = """
SELECT DISTINCT profile_id FROM (
    SELECT profile_id FROM previous_links UNION ALL SELECT claim AS profile_id FROM id_winners
) AS t
"""

_PROFILE_IDS = """
SELECT w.cluster, w.claim AS profile_id FROM id_winners AS w
UNION ALL
SELECT f.cluster,
    CASE WHEN t.profile_id IS NULL THEN f.candidate
        ELSE 'p_' || substr(md5(f.oldest || '|{run_id}'), 1, 16) END AS profile_id
FROM (
    SELECT o.cluster, o.oldest, 'p_' || substr(md5(o.oldest), 1, 16) AS candidate
    FROM id_oldest AS o LEFT JOIN id_winners AS w ON w.cluster = o.cluster
    WHERE w.cluster IS NULL
) AS f
LEFT JOIN id_taken AS t ON t.profile_id = f.candidate
"""

_LINKS = """
WITH placed AS (
    SELECT m.record_id, m.cluster, p.profile_id
    FROM id_members AS m JOIN id_profile_ids AS p ON p.cluster = m.cluster
),
incident AS (
    SELECT e.l AS record_id, e.rule, e.priority, e.match_probability FROM id_held AS e
    UNION ALL
    SELECT e.r AS record_id, e.rule, e.priority, e.match_probability FROM id_held AS e
),
best AS (
    SELECT record_id, rule, match_probability FROM incident
    QUALIFY row_number() OVER (
        PARTITION BY record_id ORDER BY priority, rule, match_probability DESC
    ) = 1
)
SELECT p.record_id, p.profile_id,
    coalesce(b.rule, '{singleton}') AS matched_by,
    CAST(b.match_probability AS DOUBLE) AS match_probability,
    '{run_id}' AS run_id
FROM placed AS p LEFT JOIN best AS b ON b.record_id = p.record_id
"""

#: accepted edges (and force merges) whose two records ended in one cluster: what holds profiles together
_HELD = """
SELECT e.l, e.r, e.rule, e.priority, e.match_probability
FROM id_edges AS e
JOIN id_clusters AS a ON a.record_id = e.l
JOIN id_clusters AS b ON b.record_id = e.r AND b.cluster = a.cluster
WHERE e.refusal IS NULL
UNION ALL
SELECT least(o.record_a, o.record_b), greatest(o.record_a, o.record_b), '{force}', 0, CAST(1.0 AS DOUBLE)
FROM id_overrides AS o WHERE o.action = 'force_merge'
"""

_EDGE_TABLE = """
SELECT l AS record_id_l, r AS record_id_r, rule, CAST(match_probability AS DOUBLE) AS match_probability,
    CASE WHEN refusal IS NULL THEN 'accepted' ELSE 'refused' END AS status,
    coalesce(refusal, evidence) AS reason,
    '{run_id}' AS run_id
FROM id_edges
UNION ALL
SELECT least(record_a, record_b), greatest(record_a, record_b), '{force}', CAST(1.0 AS DOUBLE),
    'accepted', reason, '{run_id}'
FROM id_overrides WHERE action = 'force_merge'
"""

_MOVED = """
SELECT m.record_id, m.previous, p.profile_id,
    CASE WHEN s.profile_id IS NULL THEN 'merge' ELSE 'split' END AS event
FROM id_members AS m
JOIN id_profile_ids AS p ON p.cluster = m.cluster
LEFT JOIN (SELECT DISTINCT profile_id FROM id_profile_ids) AS s ON s.profile_id = m.previous
WHERE m.previous IS NOT NULL AND m.previous <> p.profile_id
"""

#: merge: (survivor, loser) — split: (the profile that kept its id, the new one)
_CHANGES = """
SELECT event,
    CASE WHEN event = 'merge' THEN profile_id ELSE previous END AS profile_id,
    CASE WHEN event = 'merge' THEN previous ELSE profile_id END AS other_profile_id,
    count(*) AS record_count
FROM id_moved
GROUP BY event, profile_id, previous
"""

#: the strongest edge that now joins a merged profile's records to the survivor's
_MERGE_EVIDENCE = """
SELECT g.profile_id, g.other_profile_id, h.rule, h.l, h.r
FROM id_held AS h
JOIN id_members AS ml ON ml.record_id = h.l
JOIN id_members AS mr ON mr.record_id = h.r
JOIN id_profile_ids AS p ON p.cluster = ml.cluster
JOIN id_changes AS g ON g.profile_id = p.profile_id AND g.event = 'merge'
    AND (g.other_profile_id = ml.previous OR g.other_profile_id = mr.previous)
WHERE coalesce(ml.previous, '') <> coalesce(mr.previous, '')
QUALIFY row_number() OVER (
    PARTITION BY g.profile_id, g.other_profile_id ORDER BY h.priority, h.rule, h.l, h.r
) = 1
"""

_NEW_OVERRIDES = """
SELECT o.reason, o.evidence
FROM (
    SELECT reason, action || ': ' || record_a || coalesce(' ' || record_b, '') AS evidence FROM id_overrides
) AS o
LEFT JOIN (
    SELECT DISTINCT evidence FROM previous_history WHERE event = 'override' AND run_id <> '{run_id}'
) AS h ON h.evidence = o.evidence
WHERE h.evidence IS NULL
"""

_HISTORY = """
SELECT run_id, event, profile_id, other_profile_id, record_count, reason, evidence
FROM previous_history WHERE run_id <> '{run_id}'
UNION ALL
SELECT '{run_id}', g.event, g.profile_id, g.other_profile_id, CAST(g.record_count AS BIGINT),
    CASE WHEN g.event = 'merge' THEN 'joined by ' || coalesce(e.rule, 'a new edge')
        ELSE 'records no longer joined to the profile' END,
    coalesce(e.rule || ': ' || e.l || ' ' || e.r, '')
FROM id_changes AS g LEFT JOIN id_merge_evidence AS e
    ON e.profile_id = g.profile_id AND e.other_profile_id = g.other_profile_id
UNION ALL
SELECT '{run_id}', 'override', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT), reason,
    evidence
FROM id_new_overrides
"""


def resolve_graph(
    engine: Engine,
    *,
    config: IdentityConfig,
    overrides: list[IdentityOverride],
    run_id: str,
    scorer: PairScorer | None = None,
) -> ResolutionReport:
    """Create views ``identity_links``, ``identity_edges`` and ``identity_history`` from the relations
    ``identity_records``, ``previous_links`` and ``previous_history`` (which may be empty)."""
    report = ResolutionReport()
    guards = report.guards
    _register_rules(engine, config, overrides)
    engine.create_view("id_records", _RECORDS)
    engine.materialize("id_records")

    scored = _empty(_PAIRS_SCHEMA)
    if scorer is not None and config.probabilistic.enabled and engine.count_rows("id_records") > 1:
        pairs = scorer(engine.to_arrow("identity_records"))
        scored = pa.table(
            {name: pairs.column(name).cast(_PAIRS_SCHEMA.field(name).type) for name in _PAIRS_SCHEMA.names}
        )
    engine.register_arrow("id_scored_pairs", scored)

    engine.create_view("id_keys_all", _KEYS_ALL)
    engine.create_view("id_keys_blocked", _KEYS_BLOCKED)
    guards["blocklisted_identifier_values"] = engine.count_rows("id_keys_blocked")
    engine.create_view("id_keys_listed", _KEYS_LISTED)
    engine.create_view("id_key_crowds", _KEY_CROWDS)
    engine.materialize("id_key_crowds")
    guards["over_cardinality_identifier_values"] = engine.count_rows("id_key_crowds")
    engine.create_view("id_keys", _KEYS)
    engine.create_view("id_key_classes", _KEY_CLASSES)
    engine.materialize("id_key_classes")
    names = _NAME_CONFLICT.format(distance=config.name_distance)
    engine.create_view(
        "id_candidates",
        _CANDIDATES.format(
            hard=_HARD_CONFLICT,
            scored_hard=_SCORED_CONFLICT.format(
                dob_conflict_threshold=float(config.probabilistic.dob_conflict_threshold)
            ),
            names=names,
            probabilistic=PROBABILISTIC_RULE,
            probabilistic_priority=len(Identifier) + 1,
            threshold=float(config.probabilistic.threshold),
        ),
    )
    engine.create_view("id_edges", _EDGES.format(probabilistic=PROBABILISTIC_RULE))
    engine.materialize("id_edges")
    for reason in (
        "dob_conflict",
        "gender_conflict",
        "first_name_conflict",
        "override_split",
        "override_never_merge",
    ):
        engine.create_view("id_refused", f"SELECT l FROM id_edges WHERE refusal = '{reason}'")
        guards[f"refused_{reason}"] = engine.count_rows("id_refused")

    engine.create_view("id_accepted", _ACCEPTED)
    engine.materialize("id_accepted")
    engine.create_view("id_nodes", "SELECT record_id AS node FROM id_records")
    report.rounds = connected_components(engine, "id_components", nodes="id_nodes", edges="id_accepted")
    engine.materialize("id_components")

    # one user_id per profile; never_merge pairs apart
    engine.create_view("id_anchor_nodes", _ANCHOR_NODES)
    engine.create_view("id_contested", _CONTESTED)
    engine.materialize("id_contested")
    engine.create_view("id_contested_users", "SELECT label FROM id_contested WHERE user_ids >= 2")
    guards["split_two_user_ids"] = engine.count_rows("id_contested_users")
    guards["split_contested_components"] = engine.count_rows("id_contested")
    engine.create_view(
        "id_contested_nodes",
        "SELECT a.node, a.anchor FROM id_anchor_nodes AS a "
        "JOIN id_components AS c ON c.node = a.node JOIN id_contested AS k ON k.label = c.label",
    )
    engine.create_view(
        "id_contested_edges",
        "SELECT e.l, e.r, e.priority FROM id_accepted AS e "
        "JOIN id_components AS c ON c.node = e.l JOIN id_contested AS k ON k.label = c.label",
    )
    attach_to_anchors(engine, "id_attached", nodes="id_contested_nodes", edges="id_contested_edges")
    engine.create_view("id_groups", _GROUPS)
    engine.materialize("id_groups")

    # no profile holds two birth dates: a group joined through records without one is split around them
    engine.create_view("id_dated", _DATED)
    engine.materialize("id_dated")
    engine.create_view("id_date_edges", _DATE_EDGES)
    engine.create_view("id_dated_nodes", "SELECT node FROM id_dated")
    if engine.count_rows("id_dated"):
        connected_components(engine, "id_date_classes", nodes="id_dated_nodes", edges="id_date_edges")
    else:
        engine.create_view("id_date_classes", "SELECT node, node AS label FROM id_dated_nodes")
    engine.materialize("id_date_classes")
    engine.create_view("id_dob_conflicted", _DOB_CONFLICTED)
    engine.materialize("id_dob_conflicted")
    guards["split_conflicting_birth_dates"] = engine.count_rows("id_dob_conflicted")
    engine.create_view("id_dob_nodes", _DOB_NODES)
    engine.create_view("id_dob_edges", _DOB_EDGES)
    if guards["split_conflicting_birth_dates"]:
        attach_to_anchors(engine, "id_dob_attached", nodes="id_dob_nodes", edges="id_dob_edges")
    else:
        engine.create_view(
            "id_dob_attached", "SELECT node, anchor, CAST(NULL AS INTEGER) AS priority FROM id_dob_nodes"
        )
    engine.create_view("id_people", _PEOPLE)
    engine.materialize("id_people")

    # maximum profile size
    limit = config.max_profile_records
    engine.create_view("id_sized", _SIZED)
    engine.materialize("id_sized")
    engine.create_view("id_oversized", f"SELECT DISTINCT grp FROM id_sized WHERE size > {limit}")
    guards["oversized_profiles_split"] = engine.count_rows("id_oversized")
    engine.create_view("id_fallback_edges", _FALLBACK_EDGES.format(limit=limit))
    engine.create_view("id_fallback_nodes", f"SELECT record_id AS node FROM id_sized WHERE size > {limit}")
    if guards["oversized_profiles_split"]:
        connected_components(
            engine, "id_fallback_components", nodes="id_fallback_nodes", edges="id_fallback_edges"
        )
    else:
        engine.create_view("id_fallback_components", "SELECT node, node AS label FROM id_fallback_nodes")
    engine.create_view("id_resized", _RESIZED.format(limit=limit))
    engine.materialize("id_resized")

    # force_merge last: it wins
    engine.create_view("id_force_edges", _FORCE_EDGES)
    engine.create_view("id_force_nodes", "SELECT DISTINCT grp AS node FROM id_resized")
    if any(o.action is OverrideAction.FORCE_MERGE for o in overrides):
        connected_components(engine, "id_force_components", nodes="id_force_nodes", edges="id_force_edges")
    else:
        engine.create_view("id_force_components", "SELECT node, node AS label FROM id_force_nodes")
    engine.create_view("id_clusters", _CLUSTERS)
    engine.materialize("id_clusters")

    # stable ids, links, history
    engine.create_view("id_members", _MEMBERS)
    engine.materialize("id_members")
    for view, sql in (
        ("id_oldest", _OLDEST),
        ("id_winners", _WINNERS),
        ("id_taken", _TAKEN),
        ("id_profile_ids", _PROFILE_IDS.format(run_id=run_id)),
    ):
        engine.create_view(view, sql)
        engine.materialize(view)
    engine.create_view("id_held", _HELD.format(force=FORCE_MERGE_RULE))
    engine.materialize("id_held")
    engine.create_view("identity_links", _LINKS.format(singleton=SINGLETON, run_id=run_id))
    engine.materialize("identity_links")
    engine.create_view("identity_edges", _EDGE_TABLE.format(force=FORCE_MERGE_RULE, run_id=run_id))
    engine.create_view("id_links", "SELECT record_id, profile_id FROM identity_links")
    for view, sql in (
        ("id_moved", _MOVED),
        ("id_changes", _CHANGES),
        ("id_merge_evidence", _MERGE_EVIDENCE),
        ("id_new_overrides", _NEW_OVERRIDES.format(run_id=run_id)),
        ("identity_history", _HISTORY.format(run_id=run_id)),
    ):
        engine.create_view(view, sql)
        engine.materialize(view)
    return report


def _register_rules(engine: Engine, config: IdentityConfig, overrides: list[IdentityOverride]) -> None:
    rules = [
        (
            kind.value,
            config.priority(kind),
            kind in config.strong_identifiers,
            kind in config.fallback_identifiers,
        )
        for kind in Identifier
    ]
    rules.append((PROBABILISTIC_RULE, len(Identifier) + 1, False, False))
    engine.register_arrow(
        "id_rules",
        pa.table(
            {
                "rule": pa.array([r[0] for r in rules], pa.string()),
                "priority": pa.array([r[1] for r in rules], pa.int32()),
                "strong": pa.array([r[2] for r in rules], pa.bool_()),
                "fallback": pa.array([r[3] for r in rules], pa.bool_()),
            }
        ),
    )
    blocked = config.blocklist.pairs()
    engine.register_arrow(
        "id_blocklist",
        pa.table(
            {
                "identifier": pa.array([kind for kind, _ in blocked], pa.string()),
                "value": pa.array([value for _, value in blocked], pa.string()),
            }
        ),
    )
    limits = sorted(config.cardinality_limits.items())
    engine.register_arrow(
        "id_cardinality",
        pa.table(
            {
                "identifier": pa.array([kind.value for kind, _ in limits], pa.string()),
                "max_persons": pa.array([limit for _, limit in limits], pa.int64()),
            }
        ),
    )
    engine.register_arrow(
        "id_overrides",
        pa.table(
            {
                "action": pa.array([o.action.value for o in overrides], pa.string()),
                "record_a": pa.array([o.records[0] for o in overrides], pa.string()),
                "record_b": pa.array(
                    [o.records[1] if len(o.records) > 1 else None for o in overrides], pa.string()
                ),
                "reason": pa.array([o.reason for o in overrides], pa.string()),
            },
            schema=_OVERRIDES_SCHEMA,
        ),
    )


def _empty(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([], schema=schema)
