"""Company names (B2B accounts) reduced to the part that names the business.

``บริษัท เอบีซี จำกัด (มหาชน)``, ``บจก. เอบีซี`` and ``ABC Co., Ltd.`` carry their legal form in different
words; the legal form says how a company is registered, not which company it is, so it is dropped, but
only where legal forms are written (at the end, Thai ones also at the start): "Public Relations Co" keeps
"Public".
Latin letters are upper-cased (``ABC``, ``Abc`` and ``abc`` are one company; Thai has no case).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

from cdp.standardize.placeholders import is_placeholder_text
from cdp.standardize.text import clean_text

#: Legal-form words, case-folded, dots removed.
LEGAL_FORMS: Final = frozenset(
    {
        "บริษัท",
        "บจก",
        "บมจ",
        "จำกัด",
        "มหาชน",
        "ห้างหุ้นส่วนจำกัด",
        "ห้างหุ้นส่วนสามัญ",
        "ห้างหุ้นส่วน",
        "หจก",
        "หสม",
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "plc",
        "pcl",
        "public",
        "llc",
        "llp",
        "pte",
        "pty",
        "gmbh",
        "bhd",
        "sdn",
    }
)
#: Legal forms that come before the name (Thai usage); "Company" or "Public" there are part of the name.
LEADING_LEGAL_FORMS: Final = frozenset(
    {"บริษัท", "บจก", "บมจ", "ห้างหุ้นส่วนจำกัด", "ห้างหุ้นส่วนสามัญ", "ห้างหุ้นส่วน", "หจก", "หสม"}
)
# Thai legal forms are also written glued to the name: "บริษัทเอบีซีจำกัด".
_THAI_PREFIXES: Final = ("ห้างหุ้นส่วนจำกัด", "ห้างหุ้นส่วนสามัญ", "บริษัท")
_THAI_SUFFIXES: Final = ("จำกัด",)
_MAX_LENGTH: Final = 300


@lru_cache(maxsize=1 << 17)
def standardize_company(value: str | None) -> str | None:
    text = clean_text(value)
    if text is None or len(text) > _MAX_LENGTH or is_placeholder_text(text):
        return None
    words = "".join(
        char if char.isalnum() or unicodedata.category(char)[0] == "M" or char in "&'." else " "
        for char in text
    ).split()
    kept = [word for word in (_without_glued_forms(word) for word in words) if word.strip(".")]
    while kept and _key(kept[-1]) in LEGAL_FORMS:
        kept.pop()
    while kept and _key(kept[0]) in LEADING_LEGAL_FORMS:
        kept.pop(0)
    # upper-casing can decompose a letter (ῒ → Ϊ̀): compose again so that the result is stable
    name = unicodedata.normalize("NFC", " ".join(word.strip(".") for word in kept).upper())
    name = " ".join(name.split())
    return name or None


def _key(word: str) -> str:
    return word.casefold().replace(".", "")


def _without_glued_forms(word: str) -> str:
    for prefix in _THAI_PREFIXES:
        if word.startswith(prefix) and len(word) > len(prefix):
            word = word[len(prefix) :]
    for suffix in _THAI_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
    return word
