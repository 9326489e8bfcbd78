"""Real-time profile lookup (SPEC 3.5): the profile document, its store port, the API's domain and keys.

:mod:`.ports` and :mod:`.service` are what the lookup Lambda imports (no pyarrow, no boto3 at import);
:mod:`.documents` builds documents from Arrow rows for the loader (:mod:`cdp.pipeline.lookup`).
"""
