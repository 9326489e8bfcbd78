"""The ``cdp`` command line (SPEC 3.1)."""
