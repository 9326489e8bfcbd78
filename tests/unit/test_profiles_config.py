"""profiles.yaml (survivorship rules) and the pseudonymization salt: validated once, one-line errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cdp.lakefs import LakeFiles
from cdp.profiles.config import (
    DEFAULT_RULES,
    ProfileAttribute,
    SurvivorshipRule,
    load_profiles_config,
    parse_profiles_config,
)
from cdp.profiles.consent import CONSENT_PURPOSES, DEFAULT_CATEGORIES
from cdp.profiles.errors import ProfilesConfigError, SaltError
from cdp.profiles.salt import LOCAL_SALT_PATH, local_salt, pseudonym, salt_from_secret

NAME = "profiles/config/profiles.yaml"


def test_defaults_without_the_file(tmp_path: Path) -> None:
    config = load_profiles_config(LakeFiles(tmp_path))
    assert {attribute: config.rule(attribute) for attribute in ProfileAttribute} == DEFAULT_RULES
    assert config.rule(ProfileAttribute.first_name) is SurvivorshipRule.most_frequent
    assert config.rule(ProfileAttribute.city) is SurvivorshipRule.most_recent
    assert config.rule(ProfileAttribute.primary_email) is SurvivorshipRule.most_recent


def test_shorthand_rules_and_trust_orders() -> None:
    config = parse_profiles_config(
        {
            "trusted_sources": ["crm", "pos"],
            "survivorship": {
                "city": "most_trusted",
                "postcode": {"rule": "most_trusted", "sources": ["shop"]},
            },
        }
    )
    assert config.trust_order(ProfileAttribute.city) == ("crm", "pos")
    assert config.trust_order(ProfileAttribute.postcode) == ("shop",)
    assert config.trust_order(ProfileAttribute.first_name) == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"survivorship": {"nickname": "most_recent"}},
            f"{NAME}: survivorship.nickname: must be one of 'first_name', 'last_name', 'date_of_birth', "
            "'gender', 'city', 'province', 'postcode', 'country', 'company', 'primary_email' or "
            "'primary_phone'",
        ),
        (
            {"survivorship": {"city": "most_popular"}},
            f"{NAME}: survivorship.city.rule: must be one of 'most_recent', 'most_frequent' or "
            "'most_trusted'",
        ),
        (
            {"survivorship": {"city": "most_trusted"}},
            f"{NAME}: survivorship.city: most_trusted needs sources (here or in trusted_sources)",
        ),
        (
            {"survivorship": {"city": {"rule": "most_recent", "sources": ["crm"]}}},
            f"{NAME}: survivorship.city: sources apply to most_trusted only",
        ),
        (
            {"trusted_sources": ["CRM"]},
            f"{NAME}: trusted_sources: 'CRM' is not a source id (a-z, 0-9, '-', '_')",
        ),
        ({"survivership": {}}, f"{NAME}: survivership: unknown key"),
        (
            {"consent": {"categories": {"C0004": "marketing"}}},
            f"{NAME}: consent.categories: category 'C0004': 'marketing' is not a purpose "
            "(ads, email, push, sms)",
        ),
        (
            {"consent": {"categories": {"Strictly Necessary": "ads"}}},
            f"{NAME}: consent.categories: category 'Strictly Necessary' must start with a letter and hold "
            "only letters, digits and '_' (at most 64)",
        ),
        (
            {"consent": {"categories": {"0004": "ads"}}},
            f"{NAME}: consent.categories: category '0004' must start with a letter and hold only letters, "
            "digits and '_' (at most 64)",
        ),
        (
            {"consent": {"categories": {"Ads": "ads", "ADS": "ads"}}},
            f"{NAME}: consent.categories: categories 'Ads' and 'ADS' are the same (case is ignored)",
        ),
        ({"consent": {"categories": ["ads"]}}, f"{NAME}: consent.categories: must be a valid dictionary"),
        ({"consent": {"category": {}}}, f"{NAME}: consent.category: unknown key"),
    ],
)
def test_a_bad_profiles_yaml_is_one_line(data: object, message: str) -> None:
    with pytest.raises(ProfilesConfigError) as raised:
        parse_profiles_config(data)
    assert str(raised.value) == message


def test_consent_categories_default_to_the_purposes_and_advertising_and_a_lake_replaces_them(
    tmp_path: Path,
) -> None:
    default = load_profiles_config(LakeFiles(tmp_path)).consent
    assert default.categories == DEFAULT_CATEGORIES
    assert {purpose: default.categories_of(purpose) for purpose in CONSENT_PURPOSES} == {
        "ads": ("ads", "advertising"),
        "email": ("email",),
        "push": ("push",),
        "sms": ("sms",),
    }
    (tmp_path / NAME).parent.mkdir(parents=True)
    (tmp_path / NAME).write_text("consent:\n  categories: {C0004: ads, Marketing_Email: email}\n")
    chosen = load_profiles_config(LakeFiles(tmp_path)).consent
    assert {purpose: chosen.categories_of(purpose) for purpose in CONSENT_PURPOSES} == {
        "ads": ("c0004",),
        "email": ("marketing_email",),
        "push": (),
        "sms": (),
    }
    assert parse_profiles_config({"consent": {"categories": {}}}).consent.categories == {}


def test_the_local_salt_is_created_once_private_and_reused(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path)
    first = local_salt(files)
    assert len(first) == 32
    assert local_salt(files) == first
    path = tmp_path / LOCAL_SALT_PATH
    assert path.read_bytes() == first
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["pseudonymization.salt"]  # no temp file left


def test_a_lake_on_s3_must_be_given_its_salt(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path)
    files.is_local = False  # as for s3://… (building one would look the bucket up)
    with pytest.raises(SaltError) as raised:
        local_salt(files)
    assert "--salt_secret_arn" in str(raised.value)
    assert not (tmp_path / LOCAL_SALT_PATH).exists()


def test_a_secret_becomes_salt_bytes_without_quoting_it() -> None:
    generated = "Xq3" * 22  # what a CDK-generated 66-character secret string looks like
    assert salt_from_secret(generated) == generated.encode()
    assert salt_from_secret(f'  {{"salt": "{generated}"}}\n') == generated.encode()
    assert salt_from_secret(bytes(range(40))) == bytes(range(40))
    for bad, message in [
        ("short-secret", "the salt secret holds 12 bytes; at least 32 are needed"),
        ('{"key": "' + generated + '"}', 'the salt secret is a JSON object without a "salt" string'),
        ("{not json", "the salt secret looks like JSON but does not parse"),
    ]:
        with pytest.raises(SaltError) as raised:
            salt_from_secret(bad)
        assert str(raised.value) == message
        assert "short-secret" not in str(raised.value)


def test_the_pseudonym_is_sha256_of_the_salts_hex_and_the_value() -> None:
    salt = bytes(range(32))
    expected = hashlib.sha256((salt.hex() + "somchai@mail.com").encode()).hexdigest()
    assert pseudonym("somchai@mail.com", salt) == expected
    assert pseudonym("somchai@mail.com", bytes(32)) != expected
