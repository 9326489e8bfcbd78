"""Person names in Thai and Latin script, reduced to what tells two people apart (SPEC 6).

A Thai name arrives as ``นางสาวสมหญิง ใจดี`` in one system, ``น.ส. สมหญิง`` / ``ใจดี`` in another and
``Miss Somying Jaidee`` in a third. Titles say nothing about identity (and change with marriage), so they are
stripped; Thai titles are often written without a space (``นายสมชาย``), so they are also stripped from the
front of a word, but only when what remains can start a Thai word: ``คุณากร`` is a name, not ``คุณ`` +
``ากร``. Thai has no letter case, so Thai text is never case-folded; Latin names are title-cased so that
``SMITH``, ``smith`` and ``Smith`` agree. Digits, bracketed remarks (often a nickname: ``สมชาย (ต้น)``) and
symbols are dropped.

Splitting: the first word is the first name and the rest the last name, in Thai and Latin script alike
(Thai full names are "given family"); ``Smith, John`` (comma form) is read as last, first. When only one of
first/last is filled, the other is taken from ``full`` if ``full`` begins or ends with it, else the filled
part is split when it holds several words (one "name" field mapped to ``first_name`` or ``last_name``).

Nicknames and romanization (``Somchai`` ↔ ``สมชาย``, ``Nok`` ↔ ``นก``) come later as lookup tables over the
tokens this module produces: every token is NFC, title-free and cased, so a ``romanize(token)`` or
``nickname_of(token)`` mapping can be applied per token of :class:`NameResult` without re-parsing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cdp.standardize.placeholders import (
    DEFAULT_BLOCKLIST,
    PlaceholderBlocklist,
    is_placeholder_name,
    is_placeholder_text,
)
from cdp.standardize.text import NameScript, clean_text, script_of

#: Titles written as whole words; English ones also with a trailing dot, in any case.
WORD_TITLES: Final = frozenset(
    {
        "นาย",
        "นาง",
        "นางสาว",
        "เด็กชาย",
        "เด็กหญิง",
        "คุณ",
        "คุณหญิง",
        "คุณนาย",
        "ท่าน",
        "ว่าที่",
        # undotted spellings common enough to be unambiguous
        "นส",
        "ดช",
        "ดญ",
        "ดร",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "mister",
        "master",
        "mstr",
        "dr",
        "prof",
        "khun",
        "sir",
        "madam",
        "madame",
        "mme",
        "mdm",
    }
)

#: Abbreviated titles, recognised only with their dots (``นพ`` alone is also a given name).
DOTTED_TITLES: Final = frozenset(
    {
        "น.ส.",
        "นส.",
        "ด.ช.",
        "ดช.",
        "ด.ญ.",
        "ดญ.",
        "ดร.",
        "ศ.",
        "รศ.",
        "ผศ.",
        "ศ.ดร.",
        "รศ.ดร.",
        "ผศ.ดร.",
        "นพ.",
        "พญ.",
        "ทพ.",
        "ทพญ.",
        "ภก.",
        "ภญ.",
        "น.สพ.",
        "สพ.ญ.",
        "ม.ร.ว.",
        "ม.ล.",
        "ม.จ.",
        # police ranks
        "พล.ต.อ.",
        "พล.ต.ท.",
        "พล.ต.ต.",
        "พ.ต.อ.",
        "พ.ต.ท.",
        "พ.ต.ต.",
        "ร.ต.อ.",
        "ร.ต.ท.",
        "ร.ต.ต.",
        "ด.ต.",
        "จ.ส.ต.",
        "ส.ต.อ.",
        "ส.ต.ท.",
        "ส.ต.ต.",
        # army ranks
        "พล.อ.",
        "พล.ท.",
        "พล.ต.",
        "พ.อ.",
        "พ.ท.",
        "พ.ต.",
        "ร.อ.",
        "ร.ท.",
        "ร.ต.",
        "จ.ส.อ.",
        "จ.ส.ท.",
        "ส.อ.",
        "ส.ท.",
        "ส.ต.",
        # English, attached as in "Mr.John"
        "mr.",
        "mrs.",
        "ms.",
        "dr.",
        "prof.",
    }
)

# Whole-word Thai titles that may be glued to the name; longest first so นางสาว wins over นาง.
_ATTACHED_THAI_TITLES: Final = tuple(
    sorted(
        (title for title in WORD_TITLES if not title.isascii() and len(title) > 2 and title != "ท่าน"),
        key=len,
        reverse=True,
    )
)
_ATTACHED_DOTTED_TITLES: Final = tuple(sorted(DOTTED_TITLES, key=len, reverse=True))
#: Longer "names" are pasted notes or binary junk; even Thai royal names with titles stay far below.
MAX_NAME_LENGTH: Final = 300
_MAX_TITLE_TOKENS: Final = 3  # "น. ส." and "ศ. ดร." arrive split over tokens
_MIN_ATTACHED_REST: Final = 2
_OPENING: Final = "([{（［｛"
_CLOSING: Final = ")]}）］｝"
_KEPT_PUNCTUATION: Final = "'-."


@dataclass(frozen=True, slots=True)
class NameResult:
    """``reason``: ``None`` when a name was found, ``"empty"`` without input, ``"placeholder"`` for junk,
    ``"invalid"`` for text too long to be a name."""

    first: str | None
    last: str | None
    full: str | None
    script: NameScript | None
    reason: str | None = None


@lru_cache(maxsize=1 << 17)
def standardize_person_name(
    first: str | None,
    last: str | None,
    full: str | None,
    blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST,
) -> NameResult:
    given = [clean_text(part) for part in (first, last, full)]
    if all(part is None for part in given):
        return NameResult(None, None, None, None, "empty")
    if any(part is not None and len(part) > MAX_NAME_LENGTH for part in given):
        return NameResult(None, None, None, None, "invalid")
    first_std, last_std, full_std = (_standard_part(part, blocklist) for part in given)
    first_std, last_std = _complete(first_std, last_std, full_std)
    if first_std is None and last_std is None:
        return NameResult(None, None, None, None, "placeholder")
    joined = " ".join(part for part in (first_std, last_std) if part)
    return NameResult(first_std, last_std, joined, script_of(joined))


def strip_titles(text: str) -> str:
    """``text`` (clean, single-spaced) without its leading titles, however many and however written."""
    tokens = text.split(" ")
    while tokens:
        taken = _leading_title_tokens(tokens)
        if taken:
            tokens = tokens[taken:]
            continue
        rest = _without_attached_title(tokens[0])
        if rest is None:
            break
        tokens[0] = rest
    return " ".join(tokens)


def _standard_part(text: str | None, blocklist: PlaceholderBlocklist) -> str | None:
    if text is None or is_placeholder_text(text, blocklist):
        return None
    text = _comma_form(_drop_brackets(text))
    text = _letters_only(text)
    while (stripped := strip_titles(text)) != text:  # "น.ส.-Mr. A": each pass is shorter
        text = _letters_only(stripped)
    if not text or is_placeholder_name(text, blocklist):
        return None
    return _title_case(text)


def _complete(first: str | None, last: str | None, full: str | None) -> tuple[str | None, str | None]:
    if first and last:
        return first, last
    if first is None and last is None:
        return _split(full)
    known = first or last
    assert known is not None
    if full and full != known:
        if full.startswith(known + " "):
            other = full[len(known) + 1 :]
            return (known, other) if first else (other, known)
        if full.endswith(" " + known):
            other = full[: -len(known) - 1]
            return (known, other) if first else (other, known)
    if " " in known:
        return _split(known)
    return first, last


def _split(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    head, _, rest = text.partition(" ")
    return head, rest or None


def _leading_title_tokens(tokens: list[str]) -> int:
    """How many leading tokens form one title (0 if none)."""
    for count in range(min(_MAX_TITLE_TOKENS, len(tokens)), 0, -1):
        parts = tokens[:count]
        if count > 1 and not all(part.endswith(".") for part in parts[:-1]):
            continue
        joined = "".join(parts).casefold()
        if "." in joined:
            dotted = joined if joined.endswith(".") else joined + "."
            if dotted in DOTTED_TITLES or (count == 1 and joined.rstrip(".") in WORD_TITLES):
                return count
        elif count == 1 and joined in WORD_TITLES:
            return count
    return 0


def _without_attached_title(token: str) -> str | None:
    # most tokens start with no title: one C-level startswith over all titles rejects them
    if "." in token and token.casefold().startswith(_ATTACHED_DOTTED_TITLES):
        for title in _ATTACHED_DOTTED_TITLES:
            if token[: len(title)].casefold() == title and len(token) > len(title):
                return token[len(title) :]
    if token.startswith(_ATTACHED_THAI_TITLES):
        for title in _ATTACHED_THAI_TITLES:
            rest = token[len(title) :]
            if token.startswith(title) and len(rest) >= _MIN_ATTACHED_REST and _starts_thai_word(rest):
                return rest
    return None


def _starts_thai_word(text: str) -> bool:
    """A Thai word begins with a consonant (ก-ฮ) or a leading vowel (เ แ โ ใ ไ), never a mark or ะ า."""
    return "\u0e01" <= text[0] <= "\u0e2e" or "\u0e40" <= text[0] <= "\u0e44"


def _drop_brackets(text: str) -> str:
    if not any(char in _OPENING or char in _CLOSING for char in text):
        return text
    kept: list[str] = []
    depth = 0
    for char in text:
        if char in _OPENING:
            depth += 1
            kept.append(" ")
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
            kept.append(" ")
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def _comma_form(text: str) -> str:
    """``Smith, John`` → ``John Smith``; any other use of commas just separates words."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    return " ".join(parts)


def _letters_only(text: str) -> str:
    """Letters, combining marks (Thai vowels and tone marks) and the punctuation names use (O'Neil)."""
    text = text.replace("’", "'").replace("‘", "'")
    kept = (
        char if char.isalpha() or char in _KEPT_PUNCTUATION or unicodedata.category(char)[0] == "M" else " "
        for char in text
    )
    words = ("".join(kept)).split()
    # punctuation only counts inside a word: "- Smith" or "O'" are not names
    cleaned = (word.strip("'-") for word in words)
    return " ".join(word for word in cleaned if word.strip("."))


def _title_case(text: str) -> str:
    # a few letters title-case into text that title-cases differently again (ligatures, ŉ): settle it
    for _ in range(3):
        cased = unicodedata.normalize("NFC", text.title())
        if cased == text:
            break
        text = cased
    return text
