"""Export throughput per destination adapter (SPEC 8): ``python -m benchmarks.export``."""
