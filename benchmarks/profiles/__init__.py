"""Profiles step benchmark: build time and peak RSS at 100k and 1M profiles beside a plain group-by."""
