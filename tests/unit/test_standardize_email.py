from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.email import EmailResult, email_match_key, standardize_email
from cdp.standardize.placeholders import PlaceholderBlocklist

from .standardize_strategies import messy_text


@pytest.mark.parametrize(
    ("raw", "normalized", "match_key"),
    [
        ("somchai@shop.co.th", "somchai@shop.co.th", "somchai@shop.co.th"),
        ("  Somchai.J@Gmail.COM ", "somchai.j@gmail.com", "somchaij@gmail.com"),
        ("S.O.M+line@googlemail.com", "s.o.m+line@googlemail.com", "som@gmail.com"),
        ("nok.k+promo@hotmail.com", "nok.k+promo@hotmail.com", "nok.k@hotmail.com"),
        ("nok+promo@outlook.co.th", "nok+promo@outlook.co.th", "nok@outlook.co.th"),
        ("nok+promo@live.com", "nok+promo@live.com", "nok@live.com"),
        # other providers keep their "+" and dots: they may be significant there
        ("nok+promo@yahoo.co.th", "nok+promo@yahoo.co.th", "nok+promo@yahoo.co.th"),
        ("first.last@company.co.th", "first.last@company.co.th", "first.last@company.co.th"),
        ("nok+x@live.company.com", "nok+x@live.company.com", "nok+x@live.company.com"),
        ("mailto:Anan@Shop.co.th", "anan@shop.co.th", "anan@shop.co.th"),
        ("Anan Srisuk <Anan@Shop.co.th>", "anan@shop.co.th", "anan@shop.co.th"),
        ("สมชาย@ตัวอย่าง.ไทย", "สมชาย@ตัวอย่าง.ไทย", "สมชาย@ตัวอย่าง.ไทย"),
        ("user@xn--72c1a1bt4awk9o.xn--o3cw4h", "user@ตัวอย่าง.ไทย", "user@ตัวอย่าง.ไทย"),
        ("somchai\u200b@gmail.com", "somchai@gmail.com", "somchai@gmail.com"),
    ],
)
def test_valid_addresses(raw: str, normalized: str, match_key: str) -> None:
    assert standardize_email(raw) == EmailResult(normalized, match_key, True, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        ("   ", "empty"),
        ("test@test.com", "placeholder"),
        ("a@a.com", "placeholder"),
        ("noemail@gmail.com", "placeholder"),
        ("none@shop.co.th", "placeholder"),
        ("xxx@xxx", "placeholder"),
        ("no-reply@shop.co.th", "placeholder"),
        ("test123@gmail.com", "placeholder"),
        ("t.e.s.t@gmail.com", "placeholder"),  # a placeholder once Gmail's dots are ignored
        ("somchai@example.com", "placeholder"),
        ("n/a", "placeholder"),
        ("-", "placeholder"),
        ("ไม่มี", "placeholder"),
        ("ไม่ระบุ", "placeholder"),
        ("somchai@", "invalid"),
        ("somchai.gmail.com", "invalid"),
        ("somchai@@gmail.com", "invalid"),
        ("somchai@gmail", "invalid"),
        ("som chai@gmail.com", "invalid"),
        (".somchai@gmail.com", "invalid"),
        ("somchai@localhost", "invalid"),
        ("x" * 400 + "y@gmail.com", "invalid"),
    ],
)
def test_rejected_addresses(raw: str | None, reason: str) -> None:
    result = standardize_email(raw)
    assert result == EmailResult(None, None, False, reason)


def test_tenant_blocklist_adds_shared_inboxes() -> None:
    shared = PlaceholderBlocklist().extended(email_addresses=frozenset({"Info@Shop.co.th"}))
    assert standardize_email("info@shop.co.th", shared).reason == "placeholder"
    assert standardize_email("info@shop.co.th").valid


def test_plus_tag_alone_keeps_the_address_as_key() -> None:
    assert email_match_key("+promo@gmail.com") == "+promo@gmail.com"


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_never_raises_and_is_idempotent(raw: str) -> None:
    result = standardize_email(raw)
    assert result.valid == (result.normalized is not None) == (result.reason is None)
    if result.normalized is not None:
        assert result.match_key is not None
        assert standardize_email(result.normalized) == result
        assert standardize_email(result.match_key).match_key == result.match_key


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_generated_addresses_are_idempotent(address: str) -> None:
    result = standardize_email(address)
    if result.normalized is not None:
        assert result.normalized == result.normalized.lower()
        assert standardize_email(result.normalized) == result
        assert standardize_email(result.match_key).match_key == result.match_key
