"""Shared fixtures; every test gets its tier's marker from its folder (tests/unit → ``unit`` …)."""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "contract", "integration", "e2e", "infra")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        tier = item.path.relative_to(root).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, "integration" if tier == "contract" else tier))
