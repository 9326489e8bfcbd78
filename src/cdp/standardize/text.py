"""Unicode clean-up that every identity field needs before its own rules apply.

Source systems in Thailand hand us the same characters in different encodings of Unicode: decomposed
vowels and tone marks, zero-width spaces that Thai word processors insert between words, no-break
spaces from spreadsheets, Thai digits (๐-๙) in phone numbers and dates. Two values that a person reads as
equal must compare equal, so every standardizer starts from :func:`clean_text`.
"""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

NameScript = Literal["thai", "latin", "mixed"]

#: Thai digits read as ASCII digits (phones, dates, IDs and postcodes are written with either).
THAI_DIGITS: Final = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

# Format characters (zero-width space/joiners, BOM, bidi marks) are invisible and never part of a value;
# control characters (NUL, tabs, line breaks) become spaces so that they still separate words.
_DROPPED_CATEGORIES: Final = frozenset({"Cf"})
_SPACED_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp", "Zs"})


def clean_text(value: str | None) -> str | None:
    """NFC, invisible characters dropped, whitespace collapsed; ``None`` when nothing readable is left."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value)
    if not text.isprintable():  # rare: decide once per distinct character, not per character
        text = text.translate({ord(char): _clean_char(char) for char in set(text) if not char.isprintable()})
    text = " ".join(text.split())
    return text or None


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in _DROPPED_CATEGORIES:
        return ""
    if category in _SPACED_CATEGORIES:
        return " "
    if category == "Cs":  # a lone surrogate cannot be encoded anywhere downstream
        return ""
    return char


def ascii_digits(text: str) -> str:
    """Thai digits as ASCII digits; everything else unchanged."""
    return text.translate(THAI_DIGITS)


def is_thai_letter(char: str) -> bool:
    """Thai consonants, vowels and tone marks (U+0E01–U+0E4E), not Thai digits or punctuation."""
    return "\u0e01" <= char <= "\u0e4e" and char != "\u0e3f"


def is_latin_letter(char: str) -> bool:
    return char.isalpha() and (char.isascii() or unicodedata.name(char, "").startswith("LATIN"))


def script_of(text: str | None) -> NameScript | None:
    """Which script the letters of ``text`` are written in; ``None`` when none are Thai or Latin.

    Letters of other scripts (Chinese, Cyrillic …) next to Thai or Latin ones make the text ``mixed``;
    alone they give ``None``, because only Thai and Latin names take part in our name rules.
    """
    if not text:
        return None
    thai = latin = other = False
    for char in text:
        if is_thai_letter(char):
            thai = True
        elif char.isalpha():
            if is_latin_letter(char):
                latin = True
            else:
                other = True
    if thai and not latin and not other:
        return "thai"
    if latin and not thai and not other:
        return "latin"
    if (thai or latin) and (thai + latin + other) > 1:
        return "mixed"
    return None
