"""Bad segment definitions, importable without the engines (the CLI maps :class:`ConfigError` to exit 2)."""

from __future__ import annotations

from cdp.settings import ConfigError


class SegmentDefinitionError(ConfigError):
    """A bad segment definition: ``<file>: <node path>: <problem>`` on one line."""


class UnknownSegmentError(ConfigError):
    """A segment id that no definition has (``cdp segments``): exit 2."""
