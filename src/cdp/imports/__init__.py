"""Batch import of files (CRM exports, shop orders, surveys): mapping, typing, quarantine, idempotency."""


class ImportInputError(ValueError):
    """Something the user gave cannot be imported as it is (exit code 2); nothing has been written."""


class MappingError(ImportInputError):
    """A mapping is invalid; the message names the mapping, the key path and the reason."""


class UnreadableFileError(ImportInputError):
    """The file as a whole cannot be imported (wrong format, nothing parsable, no mapped column).

    Raised before anything is written, so an unreadable file leaves no trace in the lake.
    """


class FileNameError(ImportInputError):
    """A file name that cannot be kept in the lake as it is (a path, a hidden or reserved name)."""
