"""Profiles (SPEC 4, 6, 7): survivorship rules, computed traits declared in YAML, the pseudonymization salt.

Configuration only: the step that builds the tables is :mod:`cdp.pipeline.profiles`, written once for
both engines.
"""
