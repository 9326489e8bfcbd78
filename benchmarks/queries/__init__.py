"""Bytes scanned by the analysts' example queries, with and without partition pruning (issue 7, SPEC 4)."""
