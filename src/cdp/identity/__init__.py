"""Identity resolution (SPEC 6): deterministic graph, probabilistic matching, guards, stable IDs."""
