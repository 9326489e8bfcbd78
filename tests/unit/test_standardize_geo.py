from __future__ import annotations

import pycountry
import pytest
from hypothesis import given, settings

from cdp.standardize.geo import country_code, postcode, province_code
from cdp.standardize.provinces import PROVINCE_CODES, PROVINCES, Province

from .standardize_strategies import messy_text


def test_the_77_provinces_are_iso_3166_2_th() -> None:
    iso = {
        sub.code
        for sub in pycountry.subdivisions.get(country_code="TH")
        if sub.type != "Special administrative city"
    }
    assert len(PROVINCES) == len(PROVINCE_CODES) == 77
    assert iso == PROVINCE_CODES
    assert "TH-38" in PROVINCE_CODES  # Bueng Kan, the newest (2011)
    assert len({province.name_th for province in PROVINCES}) == 77
    assert len({province.abbreviation_th for province in PROVINCES}) == 77


@pytest.mark.parametrize("province", PROVINCES, ids=lambda province: province.code)
def test_every_written_name_of_a_province_gives_its_code(province: Province) -> None:
    names = [province.name_en, province.name_th, province.abbreviation_th, *province.aliases]
    written = [
        *names,
        province.name_en.upper(),
        province.name_en.lower().replace(" ", "") if province.code != "TH-55" else "NAN",
        f"จังหวัด{province.name_th}",
        f"จ.{province.name_th}",
        f"จ. {province.name_th}",
        ".".join(province.abbreviation_th) + ".",
        f"{province.name_en} Province",
        province.code,
    ]
    assert {text: province_code(text) for text in written} == dict.fromkeys(written, province.code)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Bangkok", "TH-10"),
        ("BANGKOK", "TH-10"),
        ("Krung Thep", "TH-10"),
        ("BKK", "TH-10"),
        ("กทม", "TH-10"),
        ("กทม.", "TH-10"),
        ("ก.ท.ม.", "TH-10"),
        ("กรุงเทพฯ", "TH-10"),
        ("กรุงเทพ", "TH-10"),
        ("กรุงเทพมหานคร", "TH-10"),
        ("Chiang Mai", "TH-50"),
        ("Chiangmai", "TH-50"),
        ("chiang-mai", "TH-50"),
        ("จ.เชียงใหม่", "TH-50"),
        ("Phuket", "TH-83"),
        ("ภูเก็ต", "TH-83"),
        ("Khon Kaen", "TH-40"),
        ("ขอนแก่น", "TH-40"),
        ("Korat", "TH-30"),
        ("โคราช", "TH-30"),
        ("Nakhon Ratchasima", "TH-30"),
        ("Ayutthaya", "TH-14"),
        ("อยุธยา", "TH-14"),
        ("Bueng Kan", "TH-38"),
        ("บึงกาฬ", "TH-38"),
        ("Pattaya", "TH-20"),
        ("th-83", "TH-83"),
        ("TH 50", "TH-50"),
        ("กรุงเทพฯ 10110", "TH-10"),
        ("Nan", "TH-55"),
        ("nan", None),  # pandas' NaN written out, not the province
        ("TH-99", None),
        ("TH-S", None),
        ("California", None),
        ("", None),
        (None, None),
    ],
)
def test_province_examples(raw: str | None, code: str | None) -> None:
    assert province_code(raw) == code


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_province_code_is_one_of_the_77_or_none(raw: str) -> None:
    code = province_code(raw)
    assert code is None or code in PROVINCE_CODES
    if code is not None:
        assert province_code(code) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Thailand", "TH"),
        ("THAILAND", "TH"),
        ("Kingdom of Thailand", "TH"),
        ("ไทย", "TH"),
        ("ประเทศไทย", "TH"),
        ("TH", "TH"),
        ("tha", "TH"),
        ("Japan", "JP"),
        ("ญี่ปุ่น", "JP"),
        ("ประเทศญี่ปุ่น", "JP"),
        ("จีน", "CN"),
        ("USA", "US"),
        ("United States", "US"),
        ("อเมริกา", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("South Korea", "KR"),
        ("Korea", "KR"),
        ("Laos", "LA"),
        ("ลาว", "LA"),
        ("Myanmar", "MM"),
        ("Burma", "MM"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("The Netherlands", "NL"),
        ("Narnia", None),
    ],
)
def test_country_examples(raw: str, code: str | None) -> None:
    assert country_code(raw) == code


def test_every_iso_country_by_code_and_name() -> None:
    for country in pycountry.countries:
        for written in (country.alpha_2, country.alpha_3, country.name, country.alpha_3.lower()):
            assert country_code(written) == country.alpha_2, written


def test_country_default_applies_only_to_missing_values() -> None:
    assert country_code(None, default="TH") == "TH"
    assert country_code("  ", default="TH") == "TH"
    assert country_code("n/a", default="Thailand") == "TH"
    assert country_code("Narnia", default="TH") is None
    assert country_code("Japan", default="TH") == "JP"
    assert country_code(None) is None


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("10110", "TH", "10110"),
        (" 10110 ", "TH", "10110"),
        ("10 110", "TH", "10110"),
        ("๑๐๑๑๐", "TH", "10110"),
        ("50200", "TH", "50200"),
        ("1011", "TH", None),
        ("101100", "TH", None),
        ("00000", "TH", None),
        ("99999", "TH", None),
        ("09999", "TH", None),
        ("1O11O", "TH", None),
        ("sw1a 1aa", "GB", "SW1A 1AA"),
        ("94043", "US", "94043"),
        ("94043-1351", "US", "94043-1351"),
        ("238859", None, "238859"),
        ("-", "US", None),
        (None, "TH", None),
    ],
)
def test_postcodes(raw: str | None, country: str | None, expected: str | None) -> None:
    assert postcode(raw, country) == expected


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_country_and_postcode_never_raise_and_are_idempotent(raw: str) -> None:
    code = country_code(raw)
    assert code is None or country_code(code) == code
    for country in ("TH", "US", None):
        standard = postcode(raw, country)
        assert standard is None or postcode(standard, country) == standard
