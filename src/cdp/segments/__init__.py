"""Segments (SPEC 7): YAML definitions, validated against the profile's attributes, compiled to SQL.

- :mod:`cdp.segments.definition` parses and validates a definition (a boolean tree of trait, event,
  purchase and segment-membership conditions); errors name the file and the node;
- :mod:`cdp.segments.catalog` says what a trait condition may name (``profiles`` columns, declared traits);
- :mod:`cdp.segments.compiler` turns a set of definitions into one sqlglot tree, rendered as Athena (Trino)
  text for audit and preview and in the authoring dialect for the engine port;
- :mod:`cdp.segments.preview` evaluates one definition on the lake's current tables
  (``cdp segments preview``).

The step that writes ``segment_memberships`` is :mod:`cdp.pipeline.segments`.
"""
