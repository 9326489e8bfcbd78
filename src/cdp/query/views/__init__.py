"""The analyst views (SPEC 4), each one ``CREATE OR REPLACE VIEW`` in Athena's (Trino) dialect, kept once.

The same file text is an Athena named query of the stage's workgroup (``infra/``) and, transpiled by sqlglot,
a DuckDB view of ``cdp query`` (:mod:`cdp.query.catalog`), so the local twin and Athena answer the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final


@dataclass(frozen=True, slots=True)
class AnalystView:
    name: str
    description: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.sql"

    @property
    def sql(self) -> str:
        """The statement exactly as the file holds it (the named query's text)."""
        return resources.files(__package__).joinpath(self.file_name).read_text(encoding="utf-8")


ANALYST_VIEWS: Final[tuple[AnalystView, ...]] = (
    AnalystView(
        name="v_profiles",
        description="Profiles for analysts: profiles_pseudonymized column by column (salted hashes, no PII)",
    ),
    AnalystView(
        name="v_rfm",
        description="R, F, M quintile scores and the named RFM segment of every customer with orders",
    ),
    AnalystView(
        name="v_segment_sizes",
        description="Current members per segment, and who entered or exited in the latest run",
    ),
)
