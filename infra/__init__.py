"""The CDK app of the CDP: a stateful data stack and an ingestion stack (SPEC 2, 9, 11); see ``app.py``."""
