from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.phone import PhoneResult, standardize_phone
from cdp.standardize.placeholders import DEFAULT_BLOCKLIST

from .standardize_strategies import messy_text

# +66 81 975 3042, a Thai mobile number, written the ways exports write it
THAI_MOBILE = "+66819753042"


@pytest.mark.parametrize(
    "raw",
    [
        "0819753042",
        "081-975-3042",
        "081 975 3042",
        "(081) 975-3042",
        "+66 81 975 3042",
        "+66-81-975-3042",
        "+66 (0) 81 975 3042",
        "+660819753042",
        "66819753042",
        "66 81 975 3042",
        "0066 81 975 3042",
        "001 66 81 975 3042",
        "๐๘๑๙๗๕๓๐๔๒",
        "๐๘๑-๙๗๕-๓๐๔๒",
        "081-975-3042 ext. 12",
        "081-975-3042 x12",
        "081-975-3042#12",
        "081-975-3042 ต่อ 12",
        "081-975-3042, 02-615-8890",
        "081-975-3042 / 089-410-2267",
        "081-975-3042 หรือ 089-410-2267",
        "tel: 081-975-3042",
        "\u200b081\u00a0975\u00a03042\n",
    ],
)
def test_thai_mobile_in_any_format(raw: str) -> None:
    assert standardize_phone(raw) == PhoneResult(THAI_MOBILE, True, "mobile", None, "TH")


@pytest.mark.parametrize(
    ("raw", "region", "e164", "kind", "country"),
    [
        ("02-615-8890", "TH", "+6626158890", "fixed_line", "TH"),
        ("(02) 615 8890 ต่อ 105", "TH", "+6626158890", "fixed_line", "TH"),
        ("053-271-946", "TH", "+6653271946", "fixed_line", "TH"),
        ("1-800-291-4067", "TH", None, None, None),
        ("+1 650 253 0000", "TH", "+16502530000", "fixed_line_or_mobile", "US"),
        ("650 253 0000", "US", "+16502530000", "fixed_line_or_mobile", "US"),
        ("090-2938-4716", "JP", "+819029384716", "mobile", "JP"),
        ("0819753042", None, None, None, None),  # no region, no country code: unreadable
        ("+66819753042", None, THAI_MOBILE, "mobile", "TH"),
        ("0819753042", "ZZ", None, None, None),
    ],
)
def test_regions(
    raw: str, region: str | None, e164: str | None, kind: str | None, country: str | None
) -> None:
    result = standardize_phone(raw, region)
    assert (result.e164, result.kind, result.region) == (e164, kind, country)
    assert result.valid == (e164 is not None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        ("", "empty"),
        (" \t", "empty"),
        ("0000000000", "placeholder"),
        ("0999999999", "placeholder"),
        ("0811111111", "placeholder"),
        ("1234567890", "placeholder"),
        ("0812345678", "placeholder"),
        ("02-123-4567", "placeholder"),
        ("0987654321", "placeholder"),
        ("+66 99 999 9999", "placeholder"),
        ("๐๐๐๐๐๐๐๐๐๐", "placeholder"),
        ("12345", "placeholder"),
        ("-", "placeholder"),
        ("n/a", "placeholder"),
        ("ไม่มี", "placeholder"),
        ("08197530", "invalid"),
        ("081975304211", "invalid"),
        ("0019753042", "invalid"),
        ("call me", "placeholder"),
        ("081-975-3042" * 10, "invalid"),
    ],
)
def test_rejected_numbers(raw: str | None, reason: str) -> None:
    assert standardize_phone(raw) == PhoneResult(None, False, None, reason)


regions = st.sampled_from(["TH", "US", "GB", "JP", "SG", "th", None, "", "ZZ", "Thailand"])


@settings(max_examples=400, deadline=None)
@given(messy_text, regions)
def test_never_raises_and_e164_is_valid(raw: str, region: str | None) -> None:
    result = standardize_phone(raw, region)
    if result.e164 is None:
        assert not result.valid
        assert result.reason in {"empty", "placeholder", "invalid"}
        return
    assert result.e164.startswith("+")
    assert phonenumbers.is_valid_number(phonenumbers.parse(result.e164))
    assert standardize_phone(result.e164, region) == result  # E.164 reads the same in every region


thai_numbers = st.builds(
    lambda prefix, area, rest, separator: prefix + separator.join([area, rest[:3], rest[3:]]),
    st.sampled_from(["0", "+66", "66", "+66 ", "0066", "+66 0"]),
    st.sampled_from(["81", "82", "86", "89", "91", "95", "61", "63", "2"]),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
    st.sampled_from(["", " ", "-", "."]),
)


@settings(max_examples=300, deadline=None)
@given(thai_numbers)
def test_thai_numbers_reach_the_same_e164_however_written(raw: str) -> None:
    result = standardize_phone(raw)
    if result.e164 is None:
        return  # a placeholder (repeated or sequential digits) or a range not in the numbering plan
    digits = "".join(char for char in raw if char.isdigit()).removeprefix("00").removeprefix("66").lstrip("0")
    assert result.e164 == "+66" + digits
    assert standardize_phone(result.e164.replace("+66", "0")).e164 == result.e164


def test_tenant_blocklist_matches_every_spelling_of_a_number() -> None:
    store_phone = DEFAULT_BLOCKLIST.extended(phone_numbers=frozenset({"02-615-8890"}))
    for raw in ("026158890", "+66 2 615 8890", "66-2-615-8890"):
        assert standardize_phone(raw, "TH", store_phone).reason == "placeholder"
        assert standardize_phone(raw, "TH").e164 == "+6626158890"
