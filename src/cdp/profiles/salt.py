"""The pseudonymization salt (SPEC 4, 9): secret bytes that make the analysts' hashes unguessable.

``profiles_pseudonymized`` holds ``sha256(salt_hex || value)`` instead of names, emails and phones, so
analysts can count and join people without reading who they are, and nobody without the salt can hash a
known email to find its row. The salt is never written to a table or a log line:
- locally it is 32 random bytes created once at ``_local/pseudonymization.salt`` in the lake
  (:func:`local_salt`) and reused, so the hashes are stable across runs;
- on AWS it is a Secrets Manager secret whose ARN the Glue job gets as ``--salt_secret_arn``
  (``glue_jobs/build_profiles.py`` reads it; :func:`salt_from_secret` turns its value into bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Final

import orjson

from cdp.lake import LOCAL_STATE
from cdp.lakefs import LakeFiles
from cdp.profiles.errors import SaltError

LOCAL_SALT_PATH: Final = f"{LOCAL_STATE}/pseudonymization.salt"
SALT_BYTES: Final = 32


def pseudonym(value: str, salt: bytes) -> str:
    """What the step computes in SQL for one normalized value: SHA-256 hex of the salt's hex digits
    followed by the value (UTF-8). Names are normalized as ``lower(trim(name))``; emails and phones are
    hashed as ``profiles`` holds them (normalized email, E.164)."""
    return hashlib.sha256((salt.hex() + value).encode("utf-8")).hexdigest()


def local_salt(files: LakeFiles) -> bytes:
    """The embedded lake's salt, created on first use (32 random bytes, owner-only, never rewritten).

    Created with a hard link from a private temp file, so two first runs racing each other agree on one
    salt: the loser's link fails and it reads the winner's.
    """
    if not files.is_local:
        raise SaltError(
            "the profiles step on S3 needs the pseudonymization salt from Secrets Manager "
            "(glue_jobs/build_profiles.py --salt_secret_arn)"
        )
    target = Path(files.path(LOCAL_SALT_PATH))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".tmp-{uuid.uuid4().hex}.partial")
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_bytes(SALT_BYTES))
            with contextlib.suppress(FileExistsError):
                os.link(temp, target)
        finally:
            temp.unlink(missing_ok=True)
    salt = target.read_bytes()
    if len(salt) != SALT_BYTES:
        raise SaltError(f"{target} holds {len(salt)} bytes, not a {SALT_BYTES}-byte salt")
    return salt


def salt_from_secret(secret: str | bytes) -> bytes:
    """The salt from a Secrets Manager secret value: ``SecretBinary`` as it is, or ``SecretString`` as
    UTF-8 text (a JSON object's ``"salt"`` key, as the console's key/value secrets store it, or the bare
    text, e.g. a generated 64-character password); at least 32 bytes either way.
    Errors say what is wrong without quoting the secret."""
    if isinstance(secret, bytes):
        salt = secret
    else:
        text = secret.strip()
        if text.startswith("{"):
            try:
                document = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise SaltError("the salt secret looks like JSON but does not parse") from None
            value = document.get("salt") if isinstance(document, dict) else None
            if not isinstance(value, str):
                raise SaltError('the salt secret is a JSON object without a "salt" string')
            text = value.strip()
        salt = text.encode("utf-8")
    if len(salt) < SALT_BYTES:
        raise SaltError(f"the salt secret holds {len(salt)} bytes; at least {SALT_BYTES} are needed")
    return salt
