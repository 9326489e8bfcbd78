"""Bad input to identity resolution, importable without the engines (the CLI maps them to exit 2)."""

from __future__ import annotations


class IdentityConfigError(ValueError):
    """A bad ``identity.yaml``: the message names the file, the field and the reason."""


class OverrideError(ValueError):
    """A bad override line or command: the message names the line and the reason."""


class MatchInputError(ValueError):
    """A ``cdp match`` input that cannot be matched (no ``record_id`` column, duplicate ids, unreadable)."""


class UnknownProfileError(LookupError):
    """No profile with that id in the published ``identity_links``."""
