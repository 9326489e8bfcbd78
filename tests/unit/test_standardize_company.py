from __future__ import annotations

import pytest
from hypothesis import given, settings

from cdp.standardize.company import standardize_company

from .standardize_strategies import messy_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("บริษัท เอบีซี จำกัด", "เอบีซี"),
        ("บริษัท เอบีซี จำกัด (มหาชน)", "เอบีซี"),
        ("บจก. เอบีซี", "เอบีซี"),
        ("บมจ.เอบีซี", "บมจ.เอบีซี"),  # glued abbreviations are left alone: too close to names
        ("บริษัทเอบีซีจำกัด", "เอบีซี"),
        ("ห้างหุ้นส่วนจำกัด สมชายการค้า", "สมชายการค้า"),
        ("หจก. สมชายการค้า", "สมชายการค้า"),
        ("ABC Co., Ltd.", "ABC"),
        ("abc company limited", "ABC"),
        ("Siam Cement Public Company Limited", "SIAM CEMENT"),
        ("Public Relations Co", "PUBLIC RELATIONS"),
        ("A&B Trading", "A&B TRADING"),
        ("ABC (Thailand) Co., Ltd.", "ABC THAILAND"),
        ("Co., Ltd.", None),
        ("-", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_company(raw: str | None, expected: str | None) -> None:
    assert standardize_company(raw) == expected


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_never_raises_and_is_idempotent(raw: str) -> None:
    name = standardize_company(raw)
    assert name is None or standardize_company(name) == name
