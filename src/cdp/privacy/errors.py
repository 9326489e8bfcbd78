"""Errors of privacy requests; each message is one line a person can act on."""

from __future__ import annotations

from cdp.settings import ConfigError


class PrivacyRequestError(ValueError):
    """The request names nobody, or names someone ambiguously (e.g. a household e-mail)."""


class RetentionConfigError(ConfigError):
    """``privacy/retention.yaml`` is invalid."""


class LakeLockedError(RuntimeError):
    """Another pipeline step or erasure holds the lake's lock for longer than we may wait."""


class ErasureIncompleteError(RuntimeError):
    """The proof scan still found the person; the message names the files (never the values)."""
