"""Privacy (SPEC 9): access requests, erasure with proof, tombstones, retention and the lake lock.

``service`` (access and erasure over every zone), ``subject`` (who a request is about, through the identity
graph), ``matching`` and ``files`` (what belongs to the person, in every shape and file format),
``tombstones``, ``lock``, ``retention``, ``requests`` (the privacy API's request flow) and ``wiring``
(the embedded lake or AWS). docs/privacy.md tells the whole story.
"""
