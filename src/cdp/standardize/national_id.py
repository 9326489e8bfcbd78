"""National ID numbers: Thai ones (เลขประจำตัวประชาชน) checked, other countries' kept as written.

A Thai ID is 13 digits whose last is a checksum of the others. The check digit catches the typing errors
that would otherwise link a customer to a stranger (one wrong digit, two swapped neighbours), so an ID that
fails it is dropped, never "corrected". Dashes, spaces and Thai digits are accepted, as printed on the card
(``1-2345-67890-12-1``).

A record of another country (its ``country`` column, not the default region) has no checksum we know, so its
ID is kept as its letters and digits in upper case, prefixed with the country (``AU:8736281``) so two
countries' numbering schemes never collide; placeholders (one repeated digit, a counting run) and values
too short or too long to be an ID are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cdp.standardize.placeholders import is_placeholder_digits, is_placeholder_text
from cdp.standardize.text import ascii_digits, clean_text

_DIGITS: Final = 13
_SEPARATORS: Final = " -."
_MAX_LENGTH: Final = 40
_PLACEHOLDER_RUN: Final = 9  # 123456789… typed to pass a form; real IDs hardly ever hold such a run
_THAILAND: Final = "TH"
_FOREIGN_LENGTH: Final = range(5, 21)  # letters and digits of a foreign ID
_FOREIGN_RUN: Final = 6


@dataclass(frozen=True, slots=True)
class NationalIdResult:
    """``digits`` only when valid; ``reason``: ``None``, ``"empty"``, ``"placeholder"`` or ``"invalid"``."""

    digits: str | None
    valid: bool
    reason: str | None


@lru_cache(maxsize=1 << 17)
def standardize_national_id(value: str | None, country: str | None = _THAILAND) -> NationalIdResult:
    """The ID as a merge key under the rules of ``country`` (ISO alpha-2; ``None`` or TH: Thai rules)."""
    if country is not None and country.upper() != _THAILAND:
        return _foreign_id(value, country.upper())
    text = clean_text(value)
    if text is None:
        return NationalIdResult(None, False, "empty")
    if is_placeholder_text(text):
        return NationalIdResult(None, False, "placeholder")
    if len(text) > _MAX_LENGTH:
        return NationalIdResult(None, False, "invalid")
    digits = "".join(char for char in ascii_digits(text) if char not in _SEPARATORS)
    if len(digits) != _DIGITS or not (digits.isascii() and digits.isdigit()):
        return NationalIdResult(None, False, "invalid")
    if is_placeholder_digits(digits, run=_PLACEHOLDER_RUN):
        return NationalIdResult(None, False, "placeholder")
    if not _checksum_ok(digits):
        return NationalIdResult(None, False, "invalid")
    return NationalIdResult(digits, True, None)


def thai_national_id(value: str | None) -> str | None:
    """The 13 digits of a valid Thai national ID, else ``None``."""
    return standardize_national_id(value).digits


def check_digit(first_twelve: str) -> int:
    """Weights 13 down to 2 over the first twelve digits; the check digit is (11 - sum mod 11) mod 10."""
    total = sum(int(digit) * weight for digit, weight in zip(first_twelve, range(13, 1, -1), strict=True))
    return (11 - total % 11) % 10


def _foreign_id(value: str | None, country: str) -> NationalIdResult:
    text = clean_text(value)
    if text is None:
        return NationalIdResult(None, False, "empty")
    if is_placeholder_text(text):
        return NationalIdResult(None, False, "placeholder")
    compact = "".join(char for char in ascii_digits(text).upper() if char.isascii() and char.isalnum())
    if len(compact) not in _FOREIGN_LENGTH:
        return NationalIdResult(None, False, "invalid")
    if compact.isdigit() and is_placeholder_digits(compact, run=_FOREIGN_RUN):
        return NationalIdResult(None, False, "placeholder")
    return NationalIdResult(f"{country}:{compact}", True, None)


def _checksum_ok(digits: str) -> bool:
    return check_digit(digits[:12]) == int(digits[12])
