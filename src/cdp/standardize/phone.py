"""Phone numbers as E.164, whatever way they were typed (SPEC 6).

Parsing and validation are phonenumbers' (Google's libphonenumber metadata), so a number is valid only if
its length and prefix exist in the numbering plan of its country. What we add is the clean-up that Thai
exports need before the library sees the text:

* Thai digits (๐-๙) become ASCII digits; the Thai word for extension (``ต่อ``) cuts the extension off,
  as phonenumbers already does for ``ext.``, ``x`` and ``#``;
* a field listing several numbers (``081-975-3042 / 089-…``, ``02-615-8890/1``, ``… หรือ …``) keeps
  the first one: the others stay in the raw column;
* ``0066…`` means ``+66…``: in Thailand ``00x`` is also a carrier's international prefix, so without this
  phonenumbers reads ``0066 81…`` as country code 68.

A number written without a country code belongs to ``default_region`` (the source's country, TH unless
its mapping says otherwise); ``66819753042`` without ``+`` is recognised as Thai by phonenumbers itself.
Numbers typed to get past a form (``0000000000``, ``0812345678``) are placeholders, see
:mod:`cdp.standardize.placeholders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from cdp.standardize.placeholders import DEFAULT_BLOCKLIST, PlaceholderBlocklist, is_placeholder_phone
from cdp.standardize.text import ascii_digits, clean_text

DEFAULT_REGION: Final = "TH"

_MAX_LENGTH: Final = 64  # phonenumbers refuses more than 250; anything past 64 characters is not one number
_LIST_SEPARATORS: Final = (",", ";", "/", "|", "\\", " หรือ ", " or ")
_THAI_EXTENSION: Final = "ต่อ"

_KINDS: Final[dict[int, str]] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """``e164`` is set only for a valid number; ``kind`` tells mobile from fixed line (a household's
    landline is shared, a mobile rarely is) and ``region`` the number's country, evidence of where its
    owner lives. ``reason``: ``None``, ``"empty"``, ``"placeholder"`` or ``"invalid"``.
    """

    e164: str | None
    valid: bool
    kind: str | None
    reason: str | None
    region: str | None = None  # ISO 3166-1 alpha-2 of the number's country (TH for +66)


@lru_cache(maxsize=1 << 17)
def standardize_phone(
    value: str | None,
    default_region: str | None = DEFAULT_REGION,
    blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST,
) -> PhoneResult:
    text = clean_text(value)
    if text is None:
        return PhoneResult(None, False, None, "empty")
    candidate = _first_number(ascii_digits(text))
    if candidate is not None and len(candidate) > _MAX_LENGTH:
        return PhoneResult(None, False, None, "invalid")
    if candidate is None or is_placeholder_phone(candidate, blocklist):
        return PhoneResult(None, False, None, "placeholder")
    number = _parse(candidate, _region(default_region))
    if number is None:
        return PhoneResult(None, False, None, "invalid")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if is_placeholder_phone(str(number.national_number), blocklist):
        return PhoneResult(None, False, None, "placeholder")
    kind = _KINDS.get(phonenumbers.number_type(number), "unknown")
    return PhoneResult(e164, True, kind, None, phonenumbers.region_code_for_number(number))


def _first_number(text: str) -> str | None:
    text = text.split(_THAI_EXTENSION, 1)[0]
    for separator in _LIST_SEPARATORS:
        if separator in text:
            text = next((part for part in text.split(separator) if part.strip()), "")
    text = text.strip()
    return text if any(char.isdigit() for char in text) else None


def _region(default_region: str | None) -> str | None:
    region = (default_region or "").strip().upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    attempts = [text]
    stripped = text.lstrip()
    if stripped.startswith("00") and not stripped.startswith("000"):
        attempts.insert(0, "+" + stripped[2:])
    for attempt in attempts:
        try:
            number = phonenumbers.parse(attempt, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            number.extension = None
            return number
    return None
