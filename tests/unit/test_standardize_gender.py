from __future__ import annotations

import pytest
from hypothesis import given, settings

from cdp.standardize.gender import gender

from .standardize_strategies import messy_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("หญิง", "female"),
        ("ญ", "female"),
        ("ญ.", "female"),
        ("เพศหญิง", "female"),
        ("F", "female"),
        ("female", "female"),
        ("Female", "female"),
        ("W", "female"),
        ("นางสาว", "female"),
        ("น.ส.", "female"),
        ("Mrs.", "female"),
        ("2", "female"),
        ("๒", "female"),
        ("ชาย", "male"),
        ("ช", "male"),
        ("ช.", "male"),
        ("M", "male"),
        ("male", "male"),
        ("MALE ", "male"),
        ("นาย", "male"),
        ("Mr", "male"),
        ("1", "male"),
        ("other", "other"),
        ("อื่นๆ", "other"),
        ("เพศทางเลือก", "other"),
        ("Non-binary", "other"),
        ("X", "other"),
        ("ไม่ระบุ", None),
        ("U", None),
        ("unknown", None),
        ("0", None),
        ("9", None),
        ("", None),
        (None, None),
    ],
)
def test_gender(raw: str | None, expected: str | None) -> None:
    assert gender(raw) == expected


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_never_raises_and_is_idempotent(raw: str) -> None:
    value = gender(raw)
    assert value in {"female", "male", "other", None}
    if value is not None:
        assert gender(value) == value
