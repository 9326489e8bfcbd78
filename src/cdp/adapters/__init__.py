"""Adapters for the domain's ports: local lake, in-memory fakes (and AWS, imported lazily)."""
