from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.national_id import NationalIdResult, standardize_national_id, thai_national_id

from .standardize_strategies import messy_text


def with_check_digit(first_twelve: str) -> str:
    """The published rule, written independently of the code under test."""
    total = sum(int(first_twelve[i]) * (13 - i) for i in range(12))
    return first_twelve + str((11 - total % 11) % 10)


VALID = with_check_digit("310050061234")  # → 3100500612343 (a Thai citizen born before 1984)


def test_the_rule_example() -> None:
    assert with_check_digit("110170012345") == "1101700123456"
    assert VALID == "3100500612343"


@pytest.mark.parametrize(
    "raw",
    [
        VALID,
        "3-1005-00612-34-3",
        "3 1005 00612 34 3",
        " 3100500612343 ",
        "๓๑๐๐๕๐๐๖๑๒๓๔๓",
        "๓-๑๐๐๕-๐๐๖๑๒-๓๔-๓",
    ],
)
def test_valid(raw: str) -> None:
    assert standardize_national_id(raw) == NationalIdResult(VALID, True, None)
    assert thai_national_id(raw) == VALID


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        ("", "empty"),
        ("-", "placeholder"),
        ("ไม่มี", "placeholder"),
        ("1111111111111", "placeholder"),
        ("0000000000000", "placeholder"),
        (with_check_digit("123456789012"), "placeholder"),
        ("3100500612345", "invalid"),  # wrong check digit
        ("3100500621343", "invalid"),  # two digits swapped
        ("310050061234", "invalid"),  # twelve digits
        ("31005006123436", "invalid"),
        ("AA1234567", "invalid"),  # a passport number
        ("3100500612343" * 5, "invalid"),
    ],
)
def test_rejected(raw: str | None, reason: str) -> None:
    assert standardize_national_id(raw) == NationalIdResult(None, False, reason)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(1, 9))
def test_checksum_accepts_the_right_digit_only(first_twelve: str, shift: int) -> None:
    valid = with_check_digit(first_twelve)
    result = standardize_national_id(valid)
    assert result.digits in (valid, None)
    assert result.reason in (None, "placeholder")
    wrong = valid[:12] + str((int(valid[12]) + shift) % 10)
    assert standardize_national_id(wrong).digits is None


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_never_raises_and_is_idempotent(raw: str) -> None:
    digits = thai_national_id(raw)
    assert digits is None or (len(digits) == 13 and thai_national_id(digits) == digits)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("8736281", "AU", "AU:8736281"),
        (" 873-6281 ", "au", "AU:8736281"),
        ("AB 12 34 56 C", "GB", "GB:AB123456C"),
        ("536-22-9187", "US", "US:536229187"),
    ],
)
def test_a_foreign_id_is_kept_as_written_under_its_country(raw: str, country: str, expected: str) -> None:
    assert standardize_national_id(raw, country) == NationalIdResult(expected, True, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("1234", "invalid"), ("0000000", "placeholder"), ("1234567", "placeholder"), ("n/a", "placeholder")],
)
def test_a_foreign_placeholder_or_fragment_is_dropped(raw: str, reason: str) -> None:
    assert standardize_national_id(raw, "AU") == NationalIdResult(None, False, reason)


def test_thai_rules_apply_without_a_country_and_for_thailand() -> None:
    assert standardize_national_id("8736281", None).digits is None
    assert standardize_national_id(VALID, "TH").digits == VALID
    assert standardize_national_id(VALID, "th").digits == VALID
