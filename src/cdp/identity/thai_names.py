"""Thai names as Latin match keys: romanization, variant spelling, nicknames (SPEC 3.4, SPEC 6).

The same person is ``สมชาย`` in the CRM, ``Somchai`` on the web shop and ``Somchay`` on a survey. No table
can list every name, so names are compared through two keys computed by rule:

- :func:`romanize_thai` writes Thai script in Latin letters, RTGS-like (``สมชาย`` → ``somchai``,
  ``ศิริพร`` → ``siriphon``): consonants take their initial or final sound, vowels their RTGS spelling,
  tone marks are dropped and a letter under the silencer ``์`` is silent. It reads syllables by
  heuristics, not a dictionary, so a few names come out differently from their official spelling; what
  matters is that the same Thai spelling always gives the same Latin text.
- :func:`variant_key` folds Latin spellings that Thais use interchangeably for one sound (``ph``/``p``,
  ``th``/``t``, ``kh``/``k``, ``ch``/``j``, ``-porn``/``-phon``, ``-chai``/``-chay``, ``ee``/``i``, doubled
  letters), so ``Siriporn``, ``Siriphon`` and ``ศิริพร`` share one key.

Nicknames (``ต้น``, ``Nok``) are not derivable from formal names; :func:`is_common_nickname` only tells
that a first name is one of the common nicknames, which the matcher treats as weak, separate evidence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

# consonant → (initial sound, final sound); "" for a final that is silent or never occurs
_CONSONANTS: Final[dict[str, tuple[str, str]]] = {
    "ก": ("k", "k"),
    "ข": ("kh", "k"),
    "ฃ": ("kh", "k"),
    "ค": ("kh", "k"),
    "ฅ": ("kh", "k"),
    "ฆ": ("kh", "k"),
    "ง": ("ng", "ng"),
    "จ": ("ch", "t"),
    "ฉ": ("ch", "t"),
    "ช": ("ch", "t"),
    "ซ": ("s", "t"),
    "ฌ": ("ch", "t"),
    "ญ": ("y", "n"),
    "ฎ": ("d", "t"),
    "ฏ": ("t", "t"),
    "ฐ": ("th", "t"),
    "ฑ": ("th", "t"),
    "ฒ": ("th", "t"),
    "ณ": ("n", "n"),
    "ด": ("d", "t"),
    "ต": ("t", "t"),
    "ถ": ("th", "t"),
    "ท": ("th", "t"),
    "ธ": ("th", "t"),
    "น": ("n", "n"),
    "บ": ("b", "p"),
    "ป": ("p", "p"),
    "ผ": ("ph", "p"),
    "ฝ": ("f", "p"),
    "พ": ("ph", "p"),
    "ฟ": ("f", "p"),
    "ภ": ("ph", "p"),
    "ม": ("m", "m"),
    "ย": ("y", "i"),
    "ร": ("r", "n"),
    "ล": ("l", "n"),
    "ว": ("w", "o"),
    "ศ": ("s", "t"),
    "ษ": ("s", "t"),
    "ส": ("s", "t"),
    "ห": ("h", ""),
    "ฬ": ("l", "n"),
    "อ": ("", ""),
    "ฮ": ("h", ""),
}
_LEADING_VOWELS: Final = "เแโใไ"
_FOLLOWING_VOWELS: Final[dict[str, str]] = {
    "ะ": "a",
    "ั": "a",
    "า": "a",
    "ำ": "am",
    "ิ": "i",
    "ี": "i",
    "ึ": "ue",
    "ื": "ue",
    "ุ": "u",
    "ู": "u",
}
_SILENT_MARKS: Final = frozenset("่้๊๋็ๆฯ")
_SILENCER: Final = "์"
_CLUSTER_SECOND: Final = frozenset("รลว")
_LOW_SONORANTS: Final = frozenset("งญนมยรลว")
_INDEPENDENT: Final[dict[str, str]] = {"ฤ": "rue", "ฦ": "lue"}

# Latin spellings of one Thai sound, folded in order (longest first where they overlap)
_VARIANT_RULES: Final[tuple[tuple[str, str], ...]] = (
    (r"orn$", "on"),
    (r"ph", "p"),
    (r"th", "t"),
    (r"kh", "k"),
    (r"gh", "g"),
    (r"sh", "s"),
    (r"ch", "c"),
    (r"j", "c"),
    (r"ee", "i"),
    (r"ea", "i"),
    (r"oo", "u"),
    (r"ou", "u"),
    (r"aye?$", "ai"),
    (r"ey$", "ei"),
    (r"ay(?=[^aeiou])", "ai"),
    (r"w", "v"),
    (r"y$", "i"),
    (r"(.)\1+", r"\1"),
)
_COMPILED_RULES: Final = tuple((re.compile(pattern), replacement) for pattern, replacement in _VARIANT_RULES)

#: Common Thai nicknames, Thai script and usual Latin spelling (a nickname says little about identity alone).
COMMON_NICKNAMES: Final = frozenset(
    {
        "นก",
        "nok",
        "ต้น",
        "ton",
        "เล็ก",
        "lek",
        "น้อย",
        "noi",
        "noy",
        "แดง",
        "daeng",
        "dang",
        "ปู",
        "pu",
        "poo",
        "หมู",
        "moo",
        "mu",
        "ไก่",
        "kai",
        "gai",
        "กุ้ง",
        "kung",
        "goong",
        "บี",
        "bee",
        "เอ",
        "a",
        "ฝน",
        "fon",
        "แอน",
        "ann",
        "พลอย",
        "ploy",
        "มิ้นท์",
        "mint",
        "เบียร์",
        "beer",
        "บอล",
        "ball",
        "กอล์ฟ",
        "golf",
        "ตาล",
        "tan",
        "นุ่น",
        "noon",
        "ปลา",
        "pla",
        "แบงค์",
        "bank",
        "เจ",
        "jay",
        "โอ๊ต",
        "oat",
        "ปอ",
        "por",
        "อาร์ม",
        "arm",
        "บอย",
        "boy",
        "ตั้ม",
        "tum",
        "tom",
        "อ้อม",
        "aom",
        "เก่ง",
        "keng",
        "เอก",
        "ake",
        "ek",
        "จอย",
        "joy",
        "แพร",
        "prae",
        "ฟ้า",
        "fah",
        "fa",
        "ส้ม",
        "som",
        "แป้ง",
        "paeng",
        "เปิ้ล",
        "apple",
        "ออย",
        "oil",
        "ปิ่น",
        "pin",
        "มด",
        "mod",
        "mot",
        "ตุ๊ก",
        "tuk",
        "ต่าย",
        "tai",
        "หนิง",
        "ning",
        "จิ๊บ",
        "jib",
        "อุ้ม",
        "um",
        "เต้",
        "te",
        "บิ๊ก",
        "big",
        "เมย์",
        "may",
        "นิด",
        "nid",
        "หน่อย",
    }
)

_THAI_BLOCK: Final = re.compile(r"[\u0e00-\u0e7f]")
_NON_LETTERS: Final = re.compile(r"[^a-z]+")


@lru_cache(maxsize=1 << 16)
def romanize_thai(text: str) -> str:
    """Thai script → lower-case Latin (RTGS-like); Latin letters pass through lower-cased, others drop."""
    words = unicodedata.normalize("NFC", text).split()
    return " ".join(word for word in (_romanize_word(word) for word in words) if word)


@lru_cache(maxsize=1 << 16)
def variant_key(text: str) -> str:
    """A Latin (or Thai) name folded so that its common spelling variants compare equal.

    Words are kept in order and joined by one space; the empty string means nothing name-like was left.
    """
    latin = romanize_thai(text) if _THAI_BLOCK.search(text) else _latin(text)
    keys = []
    for word in latin.split():
        for pattern, replacement in _COMPILED_RULES:
            word = pattern.sub(replacement, word)
        if word:
            keys.append(word)
    return " ".join(keys)


def latin_name(text: str) -> str:
    """Lower-case Latin spelling of a name (Thai romanized): the text string similarity runs on."""
    return romanize_thai(text) if _THAI_BLOCK.search(text) else _latin(text)


def is_common_nickname(text: str) -> bool:
    return unicodedata.normalize("NFC", text).strip().casefold() in COMMON_NICKNAMES


def _latin(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return " ".join(_NON_LETTERS.sub(" ", plain).split())


def _silence(word: str) -> str:
    """Drop tone marks, and the letter (with its vowel sign) under a silencer: ``ศักดิ์`` → ``ศัก``."""
    chars: list[str] = []
    for char in word:
        if char in _SILENT_MARKS:
            continue
        if char == _SILENCER:
            while chars and chars[-1] in _FOLLOWING_VOWELS and chars[-1] not in "าะำ":
                chars.pop()
            if chars and chars[-1] in _CONSONANTS:
                chars.pop()
            continue
        chars.append(char)
    return "".join(chars)


def _romanize_word(word: str) -> str:
    if not _THAI_BLOCK.search(word):
        return _latin(word).replace(" ", "")
    s = _silence(word)
    n = len(s)
    out: list[str] = []
    i = 0
    state = "start"  # start: expect an initial; onset: initial read, no vowel yet; nucleus: vowel read

    def vowel_after(index: int) -> bool:
        return index < n and (s[index] in _FOLLOWING_VOWELS or s[index] in _LEADING_VOWELS)

    def read_onset(index: int) -> int:
        """Emit the initial consonant (cluster) at ``index``; return the index after it."""
        first = s[index]
        nxt = s[index + 1] if index + 1 < n else ""
        if first == "ห" and nxt in _LOW_SONORANTS and nxt:
            out.append(_CONSONANTS[nxt][0])
            return index + 2
        if first == "อ" and nxt == "ย":
            out.append("y")
            return index + 2
        out.append(_CONSONANTS[first][0])
        if nxt in _CLUSTER_SECOND and first not in _LOW_SONORANTS and first != "อ" and vowel_after(index + 2):
            out.append(_CONSONANTS[nxt][0])
            return index + 2
        return index + 1

    while i < n:
        char = s[i]
        if char in _INDEPENDENT:
            out.append(_INDEPENDENT[char])
            state, i = "nucleus", i + 1
        elif char in _LEADING_VOWELS:
            i = _leading_syllable(s, i, out, read_onset)
            state = "nucleus"
        elif char in _FOLLOWING_VOWELS:
            if char == "ั" and i + 1 < n and s[i + 1] == "ว":
                out.append("ua")
                i += 2
            elif char == "ื" and i + 1 < n and s[i + 1] == "อ":
                out.append("ue")
                i += 2
            else:
                out.append(_FOLLOWING_VOWELS[char])
                i += 1
            state = "nucleus"
        elif char in _CONSONANTS:
            if state == "start":
                i = read_onset(i)
                state = "onset"
            elif state == "onset":
                i, state = _after_bare_onset(s, i, out, vowel_after)
            else:  # nucleus: a final, or the initial of the next syllable
                nxt = s[i + 1] if i + 1 < n else ""
                opens = nxt in _FOLLOWING_VOWELS or s[i + 1 : i + 3] == "รร"
                if nxt and (opens or (nxt in _CONSONANTS and not _final_before(s, i + 1))):
                    i = read_onset(i)
                    state = "onset"
                else:
                    out.append(_CONSONANTS[char][1])
                    state, i = "start", i + 1
        else:
            out.append(_latin(char).replace(" ", ""))
            state, i = "start", i + 1
    if state == "onset":
        out.append("a" if len(out) > 1 else "o")
    return "".join(out)


def _final_before(s: str, index: int) -> bool:
    """Whether the consonant at ``index`` starts a syllable with a vowel, so the one before it is final."""
    n = len(s)
    if index + 1 >= n:
        return False
    nxt = s[index + 1]
    return nxt in _FOLLOWING_VOWELS or nxt in _LEADING_VOWELS or (nxt in _CONSONANTS and index + 2 < n)


def _after_bare_onset(s: str, i: int, out: list[str], vowel_after: object) -> tuple[int, str]:
    """A consonant right after an initial with no written vowel: an inherent vowel (``o`` or ``a``)."""
    n = len(s)
    char = s[i]
    nxt = s[i + 1] if i + 1 < n else ""
    if char == "ร" and nxt == "ร":  # รร: "an" at the end, "a" + the next final otherwise
        if i + 2 < n and s[i + 2] in _CONSONANTS and not (i + 3 < n and s[i + 3] in _FOLLOWING_VOWELS):
            out.append("a" + _CONSONANTS[s[i + 2]][1])
            return i + 3, "start"
        out.append("an")
        return i + 2, "start"
    if char == "อ":
        out.append("o")
        return i + 1, "nucleus"
    if char == "ว" and nxt in _CONSONANTS:
        out.append("ua")
        return i + 1, "nucleus"
    if nxt and (nxt in _FOLLOWING_VOWELS or nxt in _LEADING_VOWELS):
        out.append("a")  # the consonant opens the next syllable
        return i, "nucleus"
    out.append("o" + _CONSONANTS[char][1])
    return i + 1, "start"


def _leading_syllable(s: str, i: int, out: list[str], read_onset: object) -> int:
    """เ แ โ ใ ไ + initial (+ the rest of the vowel): returns the index after the vowel."""
    n = len(s)
    lead = s[i]
    i += 1
    if i >= n or s[i] not in _CONSONANTS:
        out.append({"เ": "e", "แ": "ae", "โ": "o"}.get(lead, "ai"))
        return i
    assert callable(read_onset)
    i = read_onset(i)
    rest = s[i : i + 2]
    if lead == "เ":
        if rest.startswith("ีย"):
            out.append("ia")
            return i + 2
        if rest.startswith("ือ"):
            out.append("uea")
            return i + 2
        if rest.startswith("า"):
            out.append("ao")
            return i + 2 if rest == "าะ" else i + 1
        if rest.startswith("อ"):
            out.append("oe")
            return i + 1
        if rest.startswith("ิ"):
            out.append("oe")
            return i + 1
        if rest.startswith("ะ"):
            out.append("e")
            return i + 1
        out.append("e")
        return i
    if lead in "แโ":
        out.append("ae" if lead == "แ" else "o")
        return i + 1 if rest.startswith("ะ") else i
    out.append("ai")
    return i
