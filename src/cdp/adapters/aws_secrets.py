"""The pseudonymization salt from Secrets Manager: one reader for every job and function that needs it.

The build-profiles job hashes with it, the standardize job checks erasure tombstones with it, and the
privacy worker matches pseudonymized rows and writes tombstones with it; all three read the data stack's
one secret (``cdp.profiles.salt`` says why the salt exists and how its value becomes bytes).
"""

from __future__ import annotations

from typing import Any

from cdp.adapters.aws_activation import LazyClient
from cdp.profiles.salt import salt_from_secret

#: one try and three retries, botocore's standard mode: a job start should not fail on one throttled call
ATTEMPTS = 4


def read_salt(secret_arn: str, *, client: Any = None, region: str | None = None) -> bytes:
    """The salt's bytes from the secret ``secret_arn`` (``client``: a given secretsmanager client)."""
    secrets = LazyClient("secretsmanager", client=client, region=region, attempts=ATTEMPTS)
    value = secrets().get_secret_value(SecretId=secret_arn)
    return salt_from_secret(value["SecretBinary"] if "SecretBinary" in value else value["SecretString"])
