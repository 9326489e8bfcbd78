"""Benchmarks for the SPEC 10 quality bars; run by ``make bench``, never collected by pytest."""
