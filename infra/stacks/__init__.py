"""Stacks by lifecycle: stateful data (retained) and ingestion (redeployable code)."""
