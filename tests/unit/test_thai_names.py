"""Romanization and variant keys of Thai names (SPEC 3.4, 6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdp.identity.thai_names import is_common_nickname, latin_name, romanize_thai, variant_key

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("thai", "latin"),
    [
        ("สมชาย", "somchai"),
        ("ศิริพร", "siriphon"),
        ("สมศักดิ์", "somsak"),
        ("สมหญิง", "somying"),
        ("ใจดี", "chaidi"),
        ("สุดา", "suda"),
        ("วิไล", "wilai"),
        ("ณัฐ", "nat"),
        ("กาญจนา", "kanchana"),
        ("สมปอง", "sompong"),
        ("มานี", "mani"),
        ("ทองดี", "thongdi"),
        ("สุวรรณ", "suwan"),
        ("วรรณา", "wanna"),
        ("บุญมา", "bunma"),
        ("อนันต์", "anan"),
        ("สมชาย ใจดี", "somchai chaidi"),
    ],
)
def test_common_names_romanize_rtgs_like(thai: str, latin: str) -> None:
    assert romanize_thai(thai) == latin


@pytest.mark.parametrize(
    "spellings",
    [
        ("สมชาย", "Somchai", "Somchay", "SOMCHAI"),
        ("ศิริพร", "Siriporn", "Siriphon", "Siripon"),
        ("ใจดี", "Jaidee", "Chaidi", "Jaidi"),
        ("สมหญิง", "Somying", "Somyingg"),
        ("ทองดี", "Thongdee", "Tongdee"),
        ("วิไล", "Wilai", "Vilai"),
    ],
)
def test_variant_spellings_share_one_key(spellings: tuple[str, ...]) -> None:
    assert len({variant_key(spelling) for spelling in spellings}) == 1


@pytest.mark.parametrize(("one", "other"), [("Somchai", "Somsak"), ("Suda", "Sudarat"), ("สมชาย", "สมศักดิ์")])
def test_different_names_keep_different_keys(one: str, other: str) -> None:
    assert variant_key(one) != variant_key(other)


def test_latin_names_lose_case_and_accents_only() -> None:
    assert latin_name("José  O'Neil") == "jose o neil"
    assert variant_key("") == ""
    assert variant_key("1234 !!") == ""


def test_nicknames_are_recognised_in_both_scripts() -> None:
    assert is_common_nickname("ต้น")
    assert is_common_nickname("Nok")
    assert not is_common_nickname("Somchai")


@given(st.text(max_size=40))
def test_never_raises_and_is_deterministic(text: str) -> None:
    key = variant_key(text)
    assert key == variant_key(text)
    assert romanize_thai(text) == romanize_thai(text)
    assert key == key.strip()
    assert all(char.isascii() for char in romanize_thai(text))


@given(st.text(alphabet=st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B), max_size=20))
def test_thai_text_always_gives_latin_letters(text: str) -> None:
    assert all(char == " " or "a" <= char <= "z" for char in romanize_thai(text))
