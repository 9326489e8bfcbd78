"""Batch benchmark (SPEC 5, 6): rows/s of the file import and of the standardize step, beside plain pyarrow.

Run with ``python -m benchmarks.batch``; results go to ``benchmarks/results/batch.json``.
"""
