"""The global suppression list (SPEC 8): people nobody may contact, whatever their consent says.

``privacy/suppression.jsonl`` in the lake, one JSON object per line, each naming one identifier:

- ``{"email": "Somchai@Example.com"}`` or ``{"phone": "081-234-5678"}``: plain values, normalized here the
  way the pipeline normalizes them (email-validator, lower-case; phonenumbers → E.164, region TH), and an
  e-mail also by its mailbox match key (``s.o.m+news@gmail.com`` suppresses ``som@gmail.com``): when in
  doubt, hold back;
- ``{"email_sha256": "…"}`` or ``{"phone_sha256": "…"}``: hashed tombstones, SHA-256 hex of the normalized
  value as the audience file hashes it (phones with or without the ``+``), for lists that must not hold the
  plain identifier.

Other keys (``reason``, ``added_at``, ``source``) are kept for people, ignored here. A person is suppressed
when any of their e-mails or phones matches, not only the primary ones. A line that is not a JSON object
naming one of the four keys makes the whole list invalid: a broken suppression list must stop the export,
never let people through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from cdp.activation.audience import PhoneHashFormat, email_hash, phone_hash
from cdp.activation.models import ProfileContact
from cdp.standardize.email import standardize_email
from cdp.standardize.phone import standardize_phone

KEYS = ("email", "phone", "email_sha256", "phone_sha256")


class SuppressionListError(ValueError):
    """The suppression list cannot be read; the message names the line."""


@dataclass(slots=True)
class SuppressionList:
    emails: set[str] = field(default_factory=set)  # normalized addresses and their match keys
    phones: set[str] = field(default_factory=set)  # E.164
    email_hashes: set[str] = field(default_factory=set)
    phone_hashes: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.emails) + len(self.phones) + len(self.email_hashes) + len(self.phone_hashes)

    def add_email(self, value: str) -> None:
        result = standardize_email(value)
        if result.normalized and result.match_key:
            self.emails.update((result.normalized, result.match_key))
        else:  # not a valid address: keep it as typed, so an identical stored value still matches
            self.emails.add(value.strip().lower())

    def add_phone(self, value: str) -> None:
        e164 = standardize_phone(value).e164
        self.phones.add(e164 or value.strip())

    def suppresses(self, person: ProfileContact) -> bool:
        if not len(self):
            return False
        emails = {e for e in (person.contact.email, *person.emails) if e}
        phones = {p for p in (person.contact.phone, *person.phones) if p}
        return any(self._email_listed(e) for e in emails) or any(self._phone_listed(p) for p in phones)

    def _email_listed(self, email: str) -> bool:
        if not (self.emails or self.email_hashes):
            return False
        normalized = email.strip().lower()
        if normalized in self.emails or email_hash(normalized) in self.email_hashes:
            return True
        result = standardize_email(email)
        return result.match_key is not None and (
            result.match_key in self.emails or email_hash(result.match_key) in self.email_hashes
        )

    def _phone_listed(self, phone: str) -> bool:
        if phone in self.phones:
            return True
        return bool(self.phone_hashes) and any(
            phone_hash(phone, form) in self.phone_hashes for form in PhoneHashFormat
        )


def parse_suppression(lines: Iterable[bytes], source: str = "suppression list") -> SuppressionList:
    listed = SuppressionList()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise SuppressionListError(f"{source} line {number}: not JSON") from None
        named = [key for key in KEYS if isinstance(entry, dict) and isinstance(entry.get(key), str)]
        if not named:
            raise SuppressionListError(f"{source} line {number}: needs one of {', '.join(KEYS)} (a string)")
        for key in named:
            value = str(entry[key])
            if key == "email":
                listed.add_email(value)
            elif key == "phone":
                listed.add_phone(value)
            elif key == "email_sha256":
                listed.email_hashes.add(value.strip().lower())
            else:
                listed.phone_hashes.add(value.strip().lower())
    return listed
