from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings

from cdp.standardize.placeholders import (
    DEFAULT_BLOCKLIST,
    PlaceholderBlocklist,
    is_placeholder_date,
    is_placeholder_email,
    is_placeholder_name,
    is_placeholder_phone,
    is_placeholder_text,
)

from .standardize_strategies import messy_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        ("-", True),
        ("--", True),
        ("?", True),
        ("n/a", True),
        ("N/A", True),
        ("#N/A", True),
        ("none", True),
        ("NULL", True),
        ("nan", True),
        ("ไม่มี", True),
        ("ไม่ระบุ", True),
        ("ไม่ ระบุ", True),
        ("na", False),  # a Korean surname, and a part of "Na Ayutthaya"
        ("Somchai", False),
        ("0", False),
    ],
)
def test_placeholder_text(value: str | None, expected: bool) -> None:
    assert is_placeholder_text(value) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("test@test.com", True),
        ("a@a.com", True),
        ("xxx@xxx.com", True),
        ("abc@abc.co.th", True),
        ("noemail@gmail.com", True),
        ("no.email@hotmail.com", True),
        ("none@shop.co.th", True),
        ("no-reply@shop.co.th", True),
        ("noreply@shop.co.th", True),
        ("donotreply@shop.co.th", True),
        ("test1@gmail.com", True),
        ("aaaa@gmail.com", True),
        ("somchai@example.com", True),
        ("somchai@test.co.th", True),
        ("somchai@noemail.com", True),
        ("somchai@gmail.com", False),
        ("testament@gmail.com", False),
        ("nok123@gmail.com", False),
        ("a.b@shop.co.th", False),
    ],
)
def test_placeholder_email(address: str, expected: bool) -> None:
    assert is_placeholder_email(address) is expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0000000000", True),
        ("0999999999", True),
        ("0811111111", True),
        ("1234567890", True),
        ("0123456789", True),
        ("0812345678", True),
        ("0898765432", True),
        ("+66 89 999 9999", True),
        ("๐๐๐๐๐๐๐๐๐๐", True),
        ("12345", True),
        ("081", True),
        ("", True),
        ("0819753042", False),
        ("+66 2 615 8890", False),
        ("0891234560", False),
    ],
)
def test_placeholder_phone(phone: str, expected: bool) -> None:
    assert is_placeholder_phone(phone) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("test", True),
        ("Test Test", True),
        ("ลูกค้า", True),
        ("ลูกค้า 001", True),
        ("ลูกค้าทั่วไป", True),
        ("เงินสด", True),
        ("customer", True),
        ("Customer #12", True),
        ("unknown", True),
        ("Walk-in", True),
        ("xxx", True),
        ("ทดสอบ", True),
        ("-", True),
        ("สมชาย", False),
        ("Testa", False),
        ("John Test", False),
        ("Na", False),
        ("Xu", False),
    ],
)
def test_placeholder_name(name: str, expected: bool) -> None:
    assert is_placeholder_name(name) is expected


def test_placeholder_dates() -> None:
    assert is_placeholder_date(date(1900, 1, 1))
    assert is_placeholder_date(date(1970, 1, 1))
    assert not is_placeholder_date(date(1987, 1, 12))


def test_a_tenant_extends_the_blocklist() -> None:
    tenant = DEFAULT_BLOCKLIST.extended(
        email_addresses=frozenset({"Sales@Shop.co.th"}),
        phone_numbers=frozenset({"026158890"}),
        names=frozenset({"ร้านสาขา 1"}),
    )
    assert is_placeholder_email("sales@shop.co.th", tenant)
    assert not is_placeholder_email("sales@shop.co.th")
    assert is_placeholder_phone("026158890", tenant)
    assert is_placeholder_name("ร้านสาขา", tenant)
    assert is_placeholder_email("test@test.com", tenant)  # the defaults still apply
    assert hash(tenant) != hash(DEFAULT_BLOCKLIST)
    assert PlaceholderBlocklist() == DEFAULT_BLOCKLIST


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_never_raises(value: str) -> None:
    for check in (is_placeholder_text, is_placeholder_email, is_placeholder_phone, is_placeholder_name):
        assert isinstance(check(value), bool)
