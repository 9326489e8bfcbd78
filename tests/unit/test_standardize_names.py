from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.names import NameResult, standardize_person_name, strip_titles

from .standardize_strategies import THAI, messy_text

Parts = tuple[str | None, str | None, str | None]


@pytest.mark.parametrize(
    ("given_parts", "first", "last"),
    [
        # Thai titles, spaced, glued, dotted, abbreviated
        ((None, None, "นายสมชาย ใจดี"), "สมชาย", "ใจดี"),
        ((None, None, "นาย สมชาย ใจดี"), "สมชาย", "ใจดี"),
        ((None, None, "นางสาวสมหญิง ศรีสุข"), "สมหญิง", "ศรีสุข"),
        ((None, None, "นางมาลี  ทองดี"), "มาลี", "ทองดี"),
        (("น.ส.สมหญิง", "ศรีสุข", None), "สมหญิง", "ศรีสุข"),
        (("น.ส. สมหญิง", "ศรีสุข", None), "สมหญิง", "ศรีสุข"),
        (("น. ส. สมหญิง", "ศรีสุข", None), "สมหญิง", "ศรีสุข"),
        ((None, None, "นส.สมหญิง ศรีสุข"), "สมหญิง", "ศรีสุข"),
        ((None, None, "ด.ช.ธนา บุญมา"), "ธนา", "บุญมา"),
        ((None, None, "เด็กหญิงมะลิ ดีงาม"), "มะลิ", "ดีงาม"),
        ((None, None, "ด.ญ. มะลิ ดีงาม"), "มะลิ", "ดีงาม"),
        ((None, None, "คุณวิชัย แก้วมณี"), "วิชัย", "แก้วมณี"),
        ((None, None, "ดร.ปิยะ วงศ์ใหญ่"), "ปิยะ", "วงศ์ใหญ่"),
        ((None, None, "รศ.ดร. ปิยะ วงศ์ใหญ่"), "ปิยะ", "วงศ์ใหญ่"),
        ((None, None, "พ.ต.ท.อนุชา มั่นคง"), "อนุชา", "มั่นคง"),
        ((None, None, "ว่าที่ ร.ต. อนุชา มั่นคง"), "อนุชา", "มั่นคง"),
        # names that merely begin like a title are kept whole
        ((None, None, "คุณากร ศรีสุข"), "คุณากร", "ศรีสุข"),
        ((None, None, "นางสาวิตรี ใจดี"), "สาวิตรี", "ใจดี"),
        ((None, None, "นพ ใจดี"), "นพ", "ใจดี"),
        ((None, None, "นพ.ธีรวัฒน์ ใจดี"), "ธีรวัฒน์", "ใจดี"),
        # nickname remarks, digits and symbols dropped
        ((None, None, "สมชาย (ต้น) ใจดี"), "สมชาย", "ใจดี"),
        (("สมชาย*", "ใจดี 2", None), "สมชาย", "ใจดี"),
        # decomposed Thai (sara am as nikhahit + sara aa) is composed: NFC
        ((None, None, "คุณกมล ค\u0e4d\u0e32ดี"), "กมล", "ค\u0e4d\u0e32ดี"),
        # English titles in any case, with or without a dot, glued with a dot
        ((None, None, "Mr. John Smith"), "John", "Smith"),
        ((None, None, "MRS JANE SMITH"), "Jane", "Smith"),
        ((None, None, "miss somying jaidee"), "Somying", "Jaidee"),
        ((None, None, "Khun Somchai Jaidee"), "Somchai", "Jaidee"),
        ((None, None, "Dr.Anna Brown"), "Anna", "Brown"),
        ((None, None, "ms. dr. anna brown"), "Anna", "Brown"),
        (("mr john", "o'brien", None), "John", "O'Brien"),
        ((None, None, "jean-paul DE LA CRUZ"), "Jean-Paul", "De La Cruz"),
        ((None, None, "Smith, John"), "John", "Smith"),
        # one part given, the other from full or from the part itself
        (("สมชาย", None, "สมชาย ใจดี"), "สมชาย", "ใจดี"),
        ((None, "ใจดี", "นายสมชาย ใจดี"), "สมชาย", "ใจดี"),
        ((None, "สมชาย ใจดี", None), "สมชาย", "ใจดี"),
        (("สมชาย ใจดี", None, None), "สมชาย", "ใจดี"),
        (("Somchai", None, None), "Somchai", None),
        ((None, "Jaidee", None), None, "Jaidee"),
        # full name without a space cannot be split without a dictionary
        ((None, None, "สมชายใจดี"), "สมชายใจดี", None),
    ],
)
def test_names(given_parts: Parts, first: str | None, last: str | None) -> None:
    result = standardize_person_name(*given_parts)
    assert (result.first, result.last) == (first, last)
    assert result.full == " ".join(part for part in (first, last) if part)
    assert result.reason is None


@pytest.mark.parametrize(
    ("given_parts", "script"),
    [
        ((None, None, "สมชาย ใจดี"), "thai"),
        ((None, None, "Somchai Jaidee"), "latin"),
        (("Somchai", "ใจดี", None), "mixed"),
        (("王", "伟", None), None),
        (("王", "Smith", None), "mixed"),
    ],
)
def test_script(given_parts: Parts, script: str | None) -> None:
    assert standardize_person_name(*given_parts).script == script


@pytest.mark.parametrize(
    ("given_parts", "reason"),
    [
        ((None, None, None), "empty"),
        (("", " ", "\u200b"), "empty"),
        ((None, None, "ลูกค้า"), "placeholder"),
        ((None, None, "คุณลูกค้า"), "placeholder"),
        ((None, None, "ลูกค้าทั่วไป"), "placeholder"),
        (("Customer", "001", None), "placeholder"),
        (("test", "test", None), "placeholder"),
        ((None, None, "Unknown"), "placeholder"),
        ((None, None, "xxx"), "placeholder"),
        ((None, None, "n/a"), "placeholder"),
        ((None, None, "-"), "placeholder"),
        ((None, None, "ไม่ระบุ"), "placeholder"),
        ((None, None, "Walk-in"), "placeholder"),
        ((None, None, "12345"), "placeholder"),
        ((None, None, "Mr."), "placeholder"),
        ((None, None, "สมชาย " * 100), "invalid"),  # pasted notes, not a name
    ],
)
def test_no_name(given_parts: Parts, reason: str) -> None:
    assert standardize_person_name(*given_parts) == NameResult(None, None, None, None, reason)


def test_placeholder_part_does_not_hide_the_real_one() -> None:
    result = standardize_person_name("ลูกค้า", "ใจดี", None)
    assert (result.first, result.last, result.reason) == (None, "ใจดี", None)


def test_strip_titles_stops_at_the_name() -> None:
    assert strip_titles("นาย นาย สมชาย") == "สมชาย"
    assert strip_titles("Mister Master") == ""


name_text = st.one_of(
    st.none(),
    messy_text,
    st.text(alphabet=THAI + " .", max_size=30),
    st.sampled_from(["นาย", "นางสาว", "น.ส.", "คุณ", "Mr.", "miss", "ดร.", "ลูกค้า"]).flatmap(
        lambda title: st.text(alphabet=THAI + "abcXYZ '-.", max_size=20).map(lambda rest: title + rest)
    ),
)


@settings(max_examples=400, deadline=None)
@given(name_text, name_text, name_text)
def test_never_raises_and_is_idempotent(first: str | None, last: str | None, full: str | None) -> None:
    result = standardize_person_name(first, last, full)
    if result.full is None:
        assert result.first is None
        assert result.last is None
        assert result.reason in {"empty", "placeholder", "invalid"}
        return
    assert standardize_person_name(result.first, result.last, result.full) == result
    assert standardize_person_name(None, None, result.full).full == result.full
