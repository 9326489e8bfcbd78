"""Profile lookup benchmark (``python -m benchmarks.lookup``): latency through the handler and loader
throughput, each beside a baseline measured in the same run (benchmarks/README.md, "Profile lookup")."""
