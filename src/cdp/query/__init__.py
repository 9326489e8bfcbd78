"""The local Athena twin: Athena (Trino) SQL, transpiled by sqlglot, run by DuckDB over the lake files."""


class QueryError(ValueError):
    """The SQL could not be parsed or run; the message says why."""
