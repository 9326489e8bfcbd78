"""Serverless Customer Data Platform: domain, adapters and the `cdp` CLI."""

__version__ = "0.1.0"
