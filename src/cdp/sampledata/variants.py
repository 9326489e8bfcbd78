"""How one true value is written differently by different people and systems (the realistic dirt).

Every function takes the true value and the stage's random generator and returns text as some source would
hold it. None of them changes who the value identifies: a Gmail address with its dots moved still reaches
the same inbox, ``๐๘๑-๒๓๔-๕๖๗๘`` is still the same phone. Typos are the exception, and the records that carry
them say so in the ground truth. :func:`quota` picks the records that are broken on purpose.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from itertools import accumulate
from typing import Final

from cdp.sampledata.vocabulary import Province

_THAI_DIGITS: Final = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_BANGKOK_AREA: Final = "02"
#: (style, weight) for how a phone is typed; "thai" is Thai digits
PHONE_STYLES: Final = (
    ("plain", 35.0),
    ("dashed", 30.0),
    ("spaced", 7.0),
    ("e164", 9.0),
    ("e164_spaced", 5.0),
    ("country", 4.0),
    ("dash_once", 6.0),
    ("parens", 2.0),
    ("thai", 2.0),
)
_PHONE_STYLE_NAMES: Final = tuple(style for style, _ in PHONE_STYLES)
_PHONE_CUM_WEIGHTS: Final = tuple(accumulate(weight for _, weight in PHONE_STYLES))

#: keys Thai typists confuse: short/long vowels, tone marks, letters that sound alike
_THAI_CONFUSIONS: Final = {
    "ิ": "ี",
    "ี": "ิ",
    "ุ": "ู",
    "ู": "ุ",
    "่": "้",
    "้": "่",
    "น": "ณ",
    "ณ": "น",
    "ส": "ศ",
    "ศ": "ส",
    "ษ": "ส",
    "ท": "ธ",
    "ธ": "ท",
    "พ": "ภ",
    "ภ": "พ",
    "ร": "ล",
    "ล": "ร",
    "ต": "ฏ",
}
_THAI_DROPPABLE: Final = frozenset("่้๊๋์")
_LATIN_VOWEL_SLIPS: Final = {"a": "e", "e": "a", "i": "e", "o": "u", "u": "o", "h": "", "y": "i"}


def quota(rng: random.Random, pool: Sequence[int], rate: float, kinds: Sequence[str]) -> dict[int, str]:
    """Distinct members of ``pool`` for each kind: ``rate`` of the pool each, at least one while the pool
    lasts (so a 50-person dataset still has every kind), never more than half the pool in all."""
    each = max(1, round(rate * len(pool)))
    total = min(each * len(kinds), len(pool) // 2)
    chosen = rng.sample(list(pool), total)
    return {item: kinds[position % len(kinds)] for position, item in enumerate(chosen)}


def phone_style(rng: random.Random) -> str:
    return rng.choices(_PHONE_STYLE_NAMES, cum_weights=_PHONE_CUM_WEIGHTS)[0]


def format_phone(phone: str, style: str) -> str:
    """``phone`` (national digits: 0812345678, 022345961, 053274118) written in ``style``."""
    if phone.startswith(_BANGKOK_AREA):
        head, middle, tail = phone[:2], phone[2:5], phone[5:]
    else:
        head, middle, tail = phone[:3], phone[3:6], phone[6:]
    if style == "dashed":
        return f"{head}-{middle}-{tail}"
    if style == "spaced":
        return f"{head} {middle} {tail}"
    if style == "e164":
        return "+66" + phone[1:]
    if style == "e164_spaced":
        return f"+66 {head[1:]} {middle} {tail}"
    if style == "country":
        return "66" + phone[1:]
    if style == "dash_once":
        return f"{head}-{middle}{tail}"
    if style == "parens":
        return f"({head}) {middle}-{tail}"
    if style == "thai":
        return f"{head}-{middle}-{tail}".translate(_THAI_DIGITS)
    return phone


def any_phone(phone: str, rng: random.Random) -> str:
    return format_phone(phone, phone_style(rng))


def email_variant(address: str, rng: random.Random) -> str:
    """The same mailbox written differently: case, Gmail dots and ``+tags``, stray spaces."""
    local, _, domain = address.partition("@")
    choice = rng.randrange(5)
    if domain == "gmail.com" and choice <= 1:
        if "." in local and choice == 0:
            return local.replace(".", "") + "@" + domain
        cut = rng.randrange(1, max(2, len(local)))
        return f"{local[:cut]}.{local[cut:]}@{domain}" if choice == 0 else f"{local}+shop@{domain}"
    if choice == 2:
        return address.upper()
    if choice == 3:
        return f" {local.capitalize()}@{domain.capitalize()} "
    return local.capitalize() + "@" + domain


def email_typo(address: str, rng: random.Random) -> str:
    """A mistyped domain: the address no longer reaches the person (``gmial.com``, ``hotmail.con``)."""
    local, _, domain = address.partition("@")
    slips = {
        "gmail.com": ("gmial.com", "gmail.co", "gmai.com"),
        "hotmail.com": ("hotmial.com", "hotmail.con"),
    }
    options = slips.get(domain, (domain.replace(".com", ".cm").replace(".co.th", ".co.tj"),))
    return f"{local}@{rng.choice(options)}"


def thai_typo(text: str, rng: random.Random) -> str:
    """One slip of a Thai typist: a confused vowel/tone/consonant, a dropped mark, or a doubled letter."""
    positions = [i for i, char in enumerate(text) if char in _THAI_CONFUSIONS]
    marks = [i for i, char in enumerate(text) if char in _THAI_DROPPABLE]
    kind = rng.randrange(3)
    if kind == 0 and positions:
        i = rng.choice(positions)
        return text[:i] + _THAI_CONFUSIONS[text[i]] + text[i + 1 :]
    if kind == 1 and marks:
        i = rng.choice(marks)
        return text[:i] + text[i + 1 :]
    consonants = [i for i, char in enumerate(text) if "ก" <= char <= "ฮ"]
    if consonants:
        i = rng.choice(consonants)
        return text[: i + 1] + text[i] + text[i + 1 :]
    return text + text[-1:]


def latin_typo(text: str, rng: random.Random) -> str:
    """One slip in a romanized name: swapped neighbours, a vowel slip, a dropped or doubled letter."""
    if len(text) < 3:
        return text + text[-1:]
    kind = rng.randrange(4)
    i = rng.randrange(1, len(text) - 1)
    if kind == 0 and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1 and text[i].lower() in _LATIN_VOWEL_SLIPS:
        return text[:i] + _LATIN_VOWEL_SLIPS[text[i].lower()] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i + 1 :]
    return text[: i + 1] + text[i] + text[i + 1 :]


def province_text(province: Province, rng: random.Random) -> str:
    """How a province is written in a form: mostly its Thai name, else a short name, alias or English."""
    roll = rng.random()
    if roll < 0.72:
        return province.name_th
    if roll < 0.80 and province.aliases:
        return rng.choice(province.aliases)
    if roll < 0.86:
        return province.abbreviation_th + ("." if rng.random() < 0.5 else "")
    if roll < 0.96:
        return province.name_en
    return province.name_en.upper()


def be_date(day: date) -> str:
    """``15/03/2530``: the Buddhist-era date Thai systems print."""
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def ce_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def swapped_day_month(day: date) -> date | None:
    """The date with day and month read the other way round, when that is another real date."""
    if day.day > 12 or day.day == day.month:
        return None
    return date(day.year, day.day, day.month)


def impossible_be_date(day: date, rng: random.Random) -> str:
    """A date no calendar has, in the person's birth year (BE): 31/02, 31/04, 29/02 of a common year."""
    year = day.year + 543
    choice = rng.randrange(3)
    if choice == 0:
        return f"31/02/{year}"
    if choice == 1:
        return f"31/{rng.choice((4, 6, 9, 11)):02d}/{year}"
    common = day.year if day.year % 4 else day.year + 1
    return f"29/02/{common + 543}"


def mojibake(text: str) -> str | None:
    """UTF-8 bytes read as TIS-620 (``สมชาย`` → ``เธชเธกเธŠเธฒเธข``-like), when every byte is TIS-620."""
    try:
        return text.encode("utf-8").decode("tis_620")
    except UnicodeDecodeError:
        return None
