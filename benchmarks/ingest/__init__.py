"""Ingestion benchmark (SPEC 10): handler throughput per core and handler cold start, each beside a baseline.

Run with ``python -m benchmarks.ingest``; results go to ``benchmarks/results/ingest.json``.
"""
