"""Errors of activation that are the user's input, not the platform's fault (CLI exit code 2).

They subclass :class:`cdp.settings.ConfigError`, which every entry point already reports as invalid input
with its one-line message: a bad ``destinations.yaml``, an unknown segment or run, a broken suppression
list.
"""

from __future__ import annotations

from cdp.settings import ConfigError


class ActivationInputError(ConfigError):
    """Invalid activation input; the message names the file, destination or segment and the reason."""


class UnknownSegmentError(ActivationInputError):
    """No definition for the segment, or no membership snapshot for the requested run."""


class DeliveriesFailedError(RuntimeError):
    """Some changes failed after every attempt (recorded ``failed`` and dead-lettered): exit code 1."""
