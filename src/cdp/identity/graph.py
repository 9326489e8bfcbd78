"""Graph algorithms of identity resolution as SQL on the engine port (SPEC 6): nothing is collected.

:func:`connected_components` labels every node with the smallest node id of its component by iterative
min-label propagation with pointer jumping (each round a node takes the smallest label among itself and
its neighbours, hands it to the node its label names, then jumps to its label's label). The jumping makes
a chain of ``n`` nodes converge in about ``log n`` rounds instead of ``n``. Each round's labels are
materialized (DuckDB temp table, Spark local checkpoint), so the plan never grows, and the loop stops when
the engine counts no changed label.

:func:`attach_to_anchors` splits a component that holds several anchors (two user_ids, the two records of
a ``never_merge``): anchored records keep their anchor and every other record, round by round, takes the
anchor of the neighbour it shares the strongest edge with (lowest priority number, then smallest anchor),
so records reached first (fewest hops) are attached first and the result is the same on both engines.

Both return the rounds they took; they raise :class:`GraphError` past ``max_rounds``.
"""

from __future__ import annotations

from cdp.engine.port import Engine


class GraphError(RuntimeError):
    """Label propagation did not converge within its round limit."""


MAX_ROUNDS = 200

#: each edge in both directions; a cross join, not a UNION of the relation with itself, which trips
#: Spark 3.5's constraint propagation ("key not found") on swapped columns
_BOTH_WAYS = """
SELECT CASE WHEN s.side = 0 THEN e.l ELSE e.r END AS a, CASE WHEN s.side = 0 THEN e.r ELSE e.l END AS b{extra}
FROM {edges} AS e CROSS JOIN (VALUES (0), (1)) AS s(side)
"""

_NEIGHBOUR_MIN = """
SELECT u.a AS node, min(c.label) AS label
FROM {name}__undirected AS u JOIN {name}__labels AS c ON c.node = u.b
GROUP BY u.a
"""

_CC_STEP = """
WITH hook AS (
    SELECT c.label AS node, min(m.label) AS label
    FROM {name}__labels AS c JOIN {name}__nmin AS m ON m.node = c.node
    GROUP BY c.label
),
hooked AS (
    SELECT c.node, least(c.label, coalesce(m.label, c.label), coalesce(h.label, c.label)) AS label
    FROM {name}__labels AS c
    LEFT JOIN {name}__nmin AS m ON m.node = c.node
    LEFT JOIN hook AS h ON h.node = c.node
)
SELECT h.node AS node, least(h.label, coalesce(j.label, h.label)) AS label
FROM hooked AS h LEFT JOIN hooked AS j ON j.node = h.label
"""

_CHANGED = """
SELECT n.{key} FROM {new} AS n JOIN {old} AS o ON n.{key} = o.{key}
WHERE n.{value} <> o.{value} OR (n.{value} IS NULL) <> (o.{value} IS NULL)
"""


def connected_components(
    engine: Engine, name: str, *, nodes: str, edges: str, max_rounds: int = MAX_ROUNDS
) -> int:
    """View ``name`` (``node, label``): every node of ``nodes`` (column ``node``) with the smallest node of
    its component under ``edges`` (columns ``l, r``, undirected; endpoints must be nodes)."""
    engine.create_view(
        f"{name}__undirected",
        _BOTH_WAYS.format(edges=edges, extra="") + " WHERE e.l <> e.r",
    )
    engine.materialize(f"{name}__undirected")
    engine.create_view(f"{name}__labels", f"SELECT DISTINCT node, node AS label FROM {nodes}")
    engine.materialize(f"{name}__labels")
    for round_number in range(1, max_rounds + 1):
        engine.create_view(f"{name}__nmin", _NEIGHBOUR_MIN.format(name=name))
        engine.materialize(f"{name}__nmin")
        engine.create_view(f"{name}__next", _CC_STEP.format(name=name))
        engine.materialize(f"{name}__next")
        engine.create_view(
            f"{name}__changed",
            _CHANGED.format(new=f"{name}__next", old=f"{name}__labels", key="node", value="label"),
        )
        changed = engine.count_rows(f"{name}__changed")
        engine.create_view(f"{name}__labels", f"SELECT node, label FROM {name}__next")
        engine.materialize(f"{name}__labels")
        if changed == 0:
            engine.create_view(name, f"SELECT node, label FROM {name}__labels")
            return round_number
    raise GraphError(f"{name}: connected components did not converge in {max_rounds} rounds")


_ANCHOR_STEP = """
WITH offers AS (
    SELECT e.a AS node, a.anchor AS anchor, e.priority AS priority
    FROM {name}__undirected AS e
    JOIN {name}__assigned AS a ON a.node = e.b AND a.anchor IS NOT NULL
    JOIN {name}__assigned AS me ON me.node = e.a AND me.anchor IS NULL
),
best AS (
    SELECT node, anchor, priority FROM offers
    QUALIFY row_number() OVER (PARTITION BY node ORDER BY priority, anchor) = 1
)
SELECT s.node AS node, coalesce(s.anchor, b.anchor) AS anchor,
    CASE WHEN s.anchor IS NULL AND b.anchor IS NOT NULL THEN b.priority ELSE s.priority END AS priority
FROM {name}__assigned AS s LEFT JOIN best AS b ON b.node = s.node
"""


def attach_to_anchors(
    engine: Engine, name: str, *, nodes: str, edges: str, max_rounds: int = MAX_ROUNDS
) -> int:
    """View ``name`` (``node, anchor, priority``): ``nodes`` (``node, anchor`` — null when unanchored)
    with every unanchored node reachable over ``edges`` (``l, r, priority``) attached to an anchor;
    ``priority`` is that of the edge that attached it (null for the anchors and the unreached)."""
    engine.create_view(
        f"{name}__undirected",
        _BOTH_WAYS.format(edges=edges, extra=", e.priority"),
    )
    engine.materialize(f"{name}__undirected")
    engine.create_view(
        f"{name}__assigned", f"SELECT node, anchor, CAST(NULL AS INTEGER) AS priority FROM {nodes}"
    )
    engine.materialize(f"{name}__assigned")
    for round_number in range(1, max_rounds + 1):
        engine.create_view(f"{name}__next", _ANCHOR_STEP.format(name=name))
        engine.materialize(f"{name}__next")
        engine.create_view(
            f"{name}__changed",
            _CHANGED.format(new=f"{name}__next", old=f"{name}__assigned", key="node", value="anchor"),
        )
        changed = engine.count_rows(f"{name}__changed")
        engine.create_view(f"{name}__assigned", f"SELECT node, anchor, priority FROM {name}__next")
        engine.materialize(f"{name}__assigned")
        if changed == 0:
            engine.create_view(name, f"SELECT node, anchor, priority FROM {name}__assigned")
            return round_number
    raise GraphError(f"{name}: anchor attachment did not converge in {max_rounds} rounds")
