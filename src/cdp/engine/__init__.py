"""Execution engines: one pipeline step, written once, run by DuckDB locally or Spark in Glue (SPEC 2)."""
