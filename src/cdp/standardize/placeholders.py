"""Placeholder and junk values that must never join two people (SPEC 3.4, SPEC 6 guards).

Shop staff fill required fields with whatever passes the form: ``test@test.com``, ``0000000000``,
``ลูกค้า`` ("customer"), ``-``. Thousands of unrelated customers then share one "identifier", and a matcher
that trusted it would merge them all into one profile. Such values are dropped at standardization, with the
reason ``placeholder``, so no later step can use them.

The defaults cover what we see in Thai retail exports; a source or tenant extends them by passing its own
:class:`PlaceholderBlocklist` (for example its shared corporate inboxes), which is hashable so the cached
standardizers can take it as an argument.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Final

from cdp.standardize.text import ascii_digits, clean_text

#: Whole-field values that mean "nothing here" in any field (compared case-insensitively, spaces removed).
DEFAULT_PLACEHOLDER_TEXTS: Final = frozenset(
    {
        "n/a",
        "#n/a",
        "n.a.",
        "n.a",
        "none",
        "null",
        "nil",
        "nan",
        "undefined",
        "unknown",
        "notavailable",
        "notapplicable",
        "ไม่มี",
        "ไม่ระบุ",
        "ไม่ทราบ",
        "ไม่มีข้อมูล",
        "ไม่ระบุชื่อ",
    }
)

#: Local parts (before ``@``, trailing digits ignored) that nobody uses for a real inbox they read.
DEFAULT_EMAIL_LOCAL_PARTS: Final = frozenset(
    {
        "test",
        "testing",
        "tester",
        "noemail",
        "no-email",
        "no_email",
        "no.email",
        "nomail",
        "no-mail",
        "no_mail",
        "none",
        "null",
        "nil",
        "na",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "dummy",
        "fake",
        "abc",
        "asdf",
        "qwerty",
        "example",
        "sample",
        "unknown",
        "nobody",
        "anonymous",
        "customer",
    }
)

#: First label of the domain (``test`` for test.com, test.co.th …): reserved, fake or "no e-mail" domains.
DEFAULT_EMAIL_DOMAIN_LABELS: Final = frozenset(
    {"test", "example", "noemail", "nomail", "no-email", "none", "null", "fake", "dummy", "domain", "xxx"}
)

#: Numbers people type when a phone is required, as digits without leading zeros; the rules below also
#: catch repeated and sequential digits.
DEFAULT_PHONE_NUMBERS: Final = frozenset({"1234567890", "123456789", "987654321", "9876543210"})

#: Person-name values that name nobody: "customer", "cash (sale)", "walk-in", "test" …
DEFAULT_NAMES: Final = frozenset(
    {
        "test",
        "tester",
        "testing",
        "ทดสอบ",
        "ลูกค้า",
        "ลูกค้าทั่วไป",
        "ลูกค้าเงินสด",
        "ลูกค้าหน้าร้าน",
        "เงินสด",
        "customer",
        "customers",
        "guest",
        "walk in",
        "walkin",
        "cash",
        "cash customer",
        "unknown",
        "anonymous",
        "no name",
        "noname",
        "none",
        "null",
        "dummy",
        "fake",
        "sample",
        "asdf",
        "abc",
        "xxx",
        "ไม่ระบุ",
        "ไม่มี",
        "ไม่ทราบ",
        "ไม่ระบุชื่อ",
    }
)

#: Dates that systems write when the real one is unknown (epoch, Excel's day zero, the year 1900 default).
DEFAULT_DATES: Final = frozenset(
    {date(1900, 1, 1), date(1970, 1, 1), date(1899, 12, 30), date(1899, 12, 31), date(1, 1, 1)}
)

# Runs of this many consecutive ascending or descending digits (0812345678, 021234567) are typed, not dialled.
_SEQUENCE_RUN: Final = 7
_SUBSCRIBER_DIGITS: Final = 7
# every run of consecutive digits, counting up or down and wrapping 9→0 (7890123), is a substring of these
_ASCENDING: Final = "0123456789" * 3
_DESCENDING: Final = "9876543210" * 3


@dataclass(frozen=True, slots=True)
class PlaceholderBlocklist:
    """The values a tenant refuses as identifiers; frozen and hashable so cached standardizers accept it."""

    texts: frozenset[str] = DEFAULT_PLACEHOLDER_TEXTS
    email_addresses: frozenset[str] = field(default_factory=frozenset)
    email_local_parts: frozenset[str] = DEFAULT_EMAIL_LOCAL_PARTS
    email_domain_labels: frozenset[str] = DEFAULT_EMAIL_DOMAIN_LABELS
    phone_numbers: frozenset[str] = DEFAULT_PHONE_NUMBERS
    names: frozenset[str] = DEFAULT_NAMES
    dates: frozenset[date] = DEFAULT_DATES
    min_phone_digits: int = 6

    def extended(
        self,
        *,
        email_addresses: frozenset[str] = frozenset(),
        phone_numbers: frozenset[str] = frozenset(),
        names: frozenset[str] = frozenset(),
    ) -> PlaceholderBlocklist:
        """This blocklist plus a tenant's own values (shared inboxes, a store's front-desk phone …)."""
        return replace(
            self,
            email_addresses=self.email_addresses | {_text_key(value) for value in email_addresses},
            phone_numbers=self.phone_numbers | {_phone_key(value) for value in phone_numbers},
            names=self.names | {_name_key(value) for value in names},
        )


DEFAULT_BLOCKLIST: Final = PlaceholderBlocklist()


def is_placeholder_text(value: str | None, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> bool:
    """Blank, punctuation only, or a "nothing here" word such as ``n/a``, ``null``, ``ไม่ระบุ``."""
    text = clean_text(value)
    if text is None or not any(char.isalnum() for char in text):
        return True
    return _text_key(text) in blocklist.texts


def is_placeholder_email(address: str, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> bool:
    """``address`` is lower-case ``local@domain``; tells whether it stands for "no e-mail"."""
    if is_placeholder_text(address, blocklist) or address in blocklist.email_addresses:
        return True
    local, at, domain = address.rpartition("@")
    if not at:
        return False
    label = domain.split(".", 1)[0]
    stem = local.rstrip("0123456789") or local
    return (
        stem in blocklist.email_local_parts
        or label in blocklist.email_domain_labels
        or (local == label and local != "")
        or _one_repeated_char(local)
    )


def is_placeholder_phone(value: str, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> bool:
    """A phone typed to get past a form: too short, one repeated digit, a digit sequence, or blocklisted.

    ``value`` may hold separators or a ``+``; only its digits count.
    """
    digits = _phone_key(value)
    if len(digits) < blocklist.min_phone_digits or digits in blocklist.phone_numbers:
        return True
    return _one_repeated_char(digits[-_SUBSCRIBER_DIGITS:]) or is_placeholder_digits(digits)


def is_placeholder_digits(digits: str, run: int = _SEQUENCE_RUN) -> bool:
    """One digit repeated, or ``run`` consecutive digits counting up or down (``1234567``, ``9876543``)."""
    return _one_repeated_char(digits) or _has_sequence(digits, run)


def is_placeholder_name(value: str, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> bool:
    """A name that names nobody: ``ลูกค้า``, ``Customer 001``, ``Test Test``, ``xxx``."""
    if is_placeholder_text(value, blocklist):
        return True
    key = _name_key(value)
    if not key or key in blocklist.names:
        return True
    return all(token in blocklist.names or _one_repeated_char(token, minimum=3) for token in key.split())


def is_placeholder_date(value: date, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST) -> bool:
    """System default dates (1900-01-01, 1970-01-01 …) that say "unknown", not "born that day"."""
    return value in blocklist.dates


def _phone_key(value: str) -> str:
    """Digits without leading zeros: "02-615-8890" and the parsed national number 26158890 agree."""
    return "".join(char for char in ascii_digits(value) if "0" <= char <= "9").lstrip("0")


def _text_key(value: str) -> str:
    return "".join((clean_text(value) or "").casefold().split())


def _name_key(value: str) -> str:
    """Case-folded letters only: digits and punctuation say nothing about who a "Customer 007" is."""
    text = (clean_text(value) or "").casefold()
    kept = "".join(
        char if char.isalpha() or unicodedata.category(char).startswith("M") else " " for char in text
    )
    return " ".join(kept.split())


def _one_repeated_char(text: str, minimum: int = 1) -> bool:
    return len(text) >= minimum and len(set(text)) == 1


def _has_sequence(digits: str, run: int) -> bool:
    return any(
        digits[start : start + run] in _ASCENDING or digits[start : start + run] in _DESCENDING
        for start in range(len(digits) - run + 1)
    )
