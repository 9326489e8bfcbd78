"""Gender as one of ``female``, ``male``, ``other`` from the ways Thai and English forms record it.

Values are matched whole (case-insensitive, dots and spaces ignored): Thai (``หญิง``, ``ญ``, ``ชาย``,
``ช``), English (``F``, ``Female``, ``Woman``), German-style ``W``, titles when a source put the title in
the gender column (``นาย``, ``นางสาว``, ``Mrs``), and ISO/IEC 5218 codes (``1`` male, ``2`` female; ``0``
and ``9`` mean not known). Anything else, including "not specified", is ``None``: a guess would only add
false evidence to matching and survivorship.
"""

from __future__ import annotations

from typing import Final, Literal

from cdp.standardize.text import ascii_digits, clean_text

Gender = Literal["female", "male", "other"]

_GENDERS: Final[dict[str, Gender]] = {
    **dict.fromkeys(
        (
            "f",
            "female",
            "w",
            "woman",
            "women",
            "girl",
            "lady",
            "mrs",
            "ms",
            "miss",
            "2",
            "หญิง",
            "ญ",
            "เพศหญิง",
            "ผู้หญิง",
            "นาง",
            "นางสาว",
            "นส",
            "ดญ",
            "เด็กหญิง",
        ),
        "female",
    ),
    **dict.fromkeys(
        (
            "m",
            "male",
            "man",
            "men",
            "boy",
            "mr",
            "1",
            "ชาย",
            "ช",
            "เพศชาย",
            "ผู้ชาย",
            "นาย",
            "ดช",
            "เด็กชาย",
        ),
        "male",
    ),
    **dict.fromkeys(
        (
            "o",
            "other",
            "x",
            "nonbinary",
            "non-binary",
            "nb",
            "diverse",
            "lgbt",
            "lgbtq",
            "lgbtq+",
            "อื่นๆ",
            "อื่น",
            "เพศทางเลือก",
            "เพศอื่นๆ",
        ),
        "other",
    ),
}
_MAX_LENGTH: Final = 40


def gender(value: str | None) -> Gender | None:
    text = clean_text(value)
    if text is None or len(text) > _MAX_LENGTH:
        return None
    key = ascii_digits(text).casefold().replace(".", "").replace(" ", "")
    return _GENDERS.get(key)
