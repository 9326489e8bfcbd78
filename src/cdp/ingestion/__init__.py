"""Segment-compatible event ingestion: validation, limits, clock skew, partial acceptance."""
