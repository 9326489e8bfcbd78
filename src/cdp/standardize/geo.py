"""Where a customer lives, as codes: Thai province (ISO 3166-2:TH), country (ISO 3166-1), postcode.

Province names are matched on a key that ignores case, spaces, hyphens, dots and the Thai prefixes
``จังหวัด`` / ``จ.``, so ``Chiang Mai``, ``chiangmai``, ``จ.เชียงใหม่`` and ``ช.ม.`` all give ``TH-50``;
the table of names is :mod:`cdp.standardize.provinces`.

Countries come from ``pycountry``: it ships ISO 3166-1 (names, official names, alpha-2/alpha-3) and its
translations, Thai included, inside the wheel, so lookups stay offline and follow ISO updates by upgrading
a package instead of editing a table. We add only the everyday names ISO does not carry (``UK``,
``Korea``, ``Burma``, ``ประเทศไทย``, ``อเมริกา`` …).
"""

from __future__ import annotations

import gettext
import unicodedata
from functools import lru_cache
from typing import Final

import pycountry

from cdp.standardize.placeholders import is_placeholder_text
from cdp.standardize.provinces import PROVINCE_CODES, PROVINCES
from cdp.standardize.text import ascii_digits, clean_text

_THAI_PROVINCE_PREFIXES: Final = ("จังหวัด", "จ.", "จ ")
_ENGLISH_PROVINCE_WORDS: Final = ("changwat", "province")
_THAI_POSTCODE_DIGITS: Final = 5
_THAI_POSTCODE_AREAS: Final = range(10, 97)  # first two digits: 10 (Bangkok) to 96 (Narathiwat)
_POSTCODE_LENGTHS: Final = range(2, 11)
_MAX_LENGTH: Final = 120

# Everyday names that ISO 3166-1 (and its Thai translation) does not list; they win over pycountry's.
_COUNTRY_ALIASES: Final[dict[str, str]] = {
    "ประเทศไทย": "TH",
    "ราชอาณาจักรไทย": "TH",
    "ไทย": "TH",
    "thai": "TH",
    "siam": "TH",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "อังกฤษ": "GB",
    "america": "US",
    "united states of america": "US",
    "อเมริกา": "US",
    "สหรัฐอเมริกา": "US",
    "korea": "KR",
    "south korea": "KR",
    "เกาหลี": "KR",
    "เกาหลีใต้": "KR",
    "north korea": "KP",
    "เกาหลีเหนือ": "KP",
    "russia": "RU",
    "burma": "MM",
    "พม่า": "MM",
    "เมียนมา": "MM",
    "เมียนมาร์": "MM",
    "laos": "LA",
    "lao": "LA",
    "ลาว": "LA",
    "vietnam": "VN",
    "turkey": "TR",
    "macau": "MO",
    "brunei": "BN",
    "holland": "NL",
    "uae": "AE",
    "emirates": "AE",
    "hongkong": "HK",
    "prc": "CN",
}


def province_code(value: str | None) -> str | None:
    """ISO 3166-2:TH code of a Thai province named in any of the usual ways, else ``None``."""
    text = clean_text(value)
    if text is None or len(text) > _MAX_LENGTH:
        return None
    return _province_code(text)


def country_code(value: str | None, default: str | None = None) -> str | None:
    """ISO 3166-1 alpha-2 of a country named in English or Thai, or by its alpha-2/alpha-3 code.

    ``default`` (itself resolved the same way) applies only when ``value`` is blank or a placeholder:
    a country that is written but unknown (``Narnia``) gives ``None``, not the default.
    """
    if value is None or is_placeholder_text(value):
        return None if default is None else _country_code(default)
    return _country_code(value)


def postcode(value: str | None, country: str | None) -> str | None:
    """The postcode in its standard form for ``country`` (alpha-2), or ``None`` if it cannot be one.

    Thai postcodes are exactly five digits whose first two (10–96) name the postal area; elsewhere we only
    upper-case and tidy spaces, since formats differ by country and a wrong rule would drop real codes.
    """
    text = clean_text(value)
    if text is None or len(text) > _MAX_LENGTH:
        return None
    text = ascii_digits(text).upper()
    if (country or "").upper() == "TH":
        digits = text.replace(" ", "").replace("-", "")
        if (
            len(digits) == _THAI_POSTCODE_DIGITS
            and digits.isascii()
            and digits.isdigit()
            and int(digits[:2]) in _THAI_POSTCODE_AREAS
            and len(set(digits)) > 1
        ):
            return digits
        return None
    if (
        len(text) in _POSTCODE_LENGTHS
        and all(char.isascii() and (char.isalnum() or char in " -") for char in text)
        and any(char.isdigit() for char in text)
        and len(set(text.replace(" ", "").replace("-", ""))) > 1
    ):
        return text
    return None


@lru_cache(maxsize=4096)
def _province_code(text: str) -> str | None:
    if text == "nan":  # pandas' missing value written out as text; the province is "Nan" / "NAN" / "น่าน"
        return None
    compact = ascii_digits(text).upper().replace(" ", "").replace("-", "")
    if compact.startswith("TH") and compact[2:].isdigit():
        code = f"TH-{compact[2:]}"
        return code if code in PROVINCE_CODES else None
    index = _province_index()
    # "จ.บ." is Chanthaburi's abbreviation, not "จ." (province) + "บ."
    return index.get(_province_key(text, strip_prefix=False)) or index.get(_province_key(text))


def _province_key(text: str, *, strip_prefix: bool = True) -> str:
    """Letters and marks only, case-folded, without "province" words: the spelling-proof key."""
    text = text.casefold()
    for prefix in _THAI_PROVINCE_PREFIXES if strip_prefix else ():
        text = text.removeprefix(prefix)
    key = "".join(char for char in text if char.isalpha() or unicodedata.category(char)[0] == "M")
    for word in _ENGLISH_PROVINCE_WORDS:
        key = key.removeprefix(word).removesuffix(word)
    return key


@lru_cache(maxsize=1)
def _province_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for province in PROVINCES:
        for name in (province.name_en, province.name_th, province.abbreviation_th, *province.aliases):
            index[_province_key(name, strip_prefix=False)] = province.code
    return index


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str | None:
    cleaned = clean_text(text)
    if cleaned is None or len(cleaned) > _MAX_LENGTH:
        return None
    return _country_index().get(_country_key(cleaned))


def _country_key(text: str) -> str:
    text = text.casefold().removeprefix("the ").removeprefix("ประเทศ")
    return "".join(char for char in text if char.isalnum() or unicodedata.category(char)[0] == "M")


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index = {_country_key(name): code for name, code in _COUNTRY_ALIASES.items()}
    thai = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["th"], fallback=True)
    countries = sorted(pycountry.countries, key=lambda country: country.alpha_2)
    # codes first, so that a name can never shadow a code
    for country in countries:
        index.setdefault(_country_key(country.alpha_2), country.alpha_2)
        index.setdefault(_country_key(country.alpha_3), country.alpha_2)
    for country in countries:
        names = (
            country.name,
            getattr(country, "official_name", None),
            getattr(country, "common_name", None),
            thai.gettext(country.name),
        )
        for name in names:
            if name:
                index.setdefault(_country_key(name), country.alpha_2)
    return index
