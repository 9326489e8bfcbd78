"""Standardization of identity fields: pure functions, no I/O, the same on every engine (SPEC 6).

Scalar standardizers live in modules named for what they read (:mod:`.email`, :mod:`.phone`,
:mod:`.names`, :mod:`.dates`, :mod:`.geo` …); :func:`.identity.standardize_identity_batch` applies them
all to an Arrow batch for the pipeline.
"""
