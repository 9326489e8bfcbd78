"""Audience files for ad platforms (SPEC 8): hashed identifiers, never the identifiers themselves.

Ad platforms match customer lists by SHA-256 of normalized identifiers, hex-encoded lower-case:

- e-mail: trimmed and lower-cased before hashing (Google Customer Match and Meta agree);
- phone: E.164 *with* the ``+`` (Google Customer Match: ``+66812345678``), or digits only with the
  country code (Meta: ``66812345678``): ``phone_format`` chooses; ``profiles`` holds E.164 already.

One row per membership change: ``segment_id, change, email_sha256, phone_sha256`` (an empty cell when the
person has no such identifier). ``exited`` rows tell the uploader to remove the person from the audience.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from cdp.activation.models import MembershipChange

AUDIENCE_COLUMNS: Final = ("segment_id", "change", "email_sha256", "phone_sha256")


class PhoneHashFormat(StrEnum):
    E164 = "e164"
    DIGITS = "digits"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_hash(email: str) -> str:
    return sha256_hex(email.strip().lower())


def phone_hash(e164: str, phone_format: PhoneHashFormat = PhoneHashFormat.E164) -> str:
    text = e164.strip()
    if phone_format is PhoneHashFormat.DIGITS:
        text = text.lstrip("+")
    elif not text.startswith("+"):
        text = "+" + text
    return sha256_hex(text)


def audience_csv(
    changes: Sequence[MembershipChange], phone_format: PhoneHashFormat = PhoneHashFormat.E164
) -> bytes:
    """The file's bytes: a header and one row per change, in the order given (UTF-8, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIENCE_COLUMNS)
    for change in changes:
        email, phone = change.contact.email, change.contact.phone
        writer.writerow(
            (
                change.segment_id,
                change.change.value,
                email_hash(email) if email else "",
                phone_hash(phone, phone_format) if phone else "",
            )
        )
    return buffer.getvalue().encode("utf-8")
