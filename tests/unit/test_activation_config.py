"""segments/destinations.yaml, suppression lines, consent reading and audience hashing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from cdp.activation.audience import PhoneHashFormat, audience_csv, email_hash, phone_hash
from cdp.activation.config import (
    ActivationSettings,
    LocalConfig,
    S3AudienceConfig,
    SesContactListConfig,
    SmsConfig,
    parse_destinations,
)
from cdp.activation.consent import ConsentPurpose, parse_consent
from cdp.activation.errors import ActivationInputError
from cdp.activation.models import Change, Contact, ContactField, MembershipChange, segment_event
from cdp.activation.suppression import SuppressionListError, parse_suppression
from cdp.settings import ConfigError

VALID = """
destinations:
  - id: vip-newsletter
    type: ses_contact_list
    contact_list: cdp-dev-audiences
    topic: vip
  - id: vip-sms
    type: sms
    origination_identity: arn:aws:sms-voice:ap-southeast-1:123456789012:phone-number/phone-abc
    templates:
      entered: "สวัสดี {first_name}! VIP offers for {segment_id}"
    max_per_second: 10
  - id: app-push
    type: sns
    topic_arn: arn:aws:sns:ap-southeast-1:123456789012:cdp-dev-segment-changes
    include: [user_id]
  - id: crm-events
    type: eventbridge
    event_bus: cdp-dev-segments
    purpose: email
  - id: crm-queue
    type: sqs
    queue_url: https://sqs.ap-southeast-1.amazonaws.com/123456789012/cdp-dev-segment-changes
  - id: ads
    type: s3_audience
    bucket: cdp-dev-lake
    kms_key_id: alias/cdp-dev-data
    phone_format: digits
  - id: preview
    type: local
    purpose: email
    needs_any: [email]
"""


def test_a_valid_file_gives_typed_destinations_with_their_purposes() -> None:
    destinations = parse_destinations(VALID)
    assert list(destinations) == [
        "vip-newsletter",
        "vip-sms",
        "app-push",
        "crm-events",
        "crm-queue",
        "ads",
        "preview",
    ]
    purposes = {name: config.consent_purpose for name, config in destinations.items()}
    assert purposes == {
        "vip-newsletter": ConsentPurpose.EMAIL,
        "vip-sms": ConsentPurpose.SMS,
        "app-push": ConsentPurpose.PUSH,
        "crm-events": ConsentPurpose.EMAIL,  # a transport declares what its consumers do
        "crm-queue": ConsentPurpose.PUSH,
        "ads": ConsentPurpose.ADS,
        "preview": ConsentPurpose.EMAIL,
    }
    newsletter = destinations["vip-newsletter"]
    assert isinstance(newsletter, SesContactListConfig)
    assert newsletter.topic == "vip"
    sms = destinations["vip-sms"]
    assert isinstance(sms, SmsConfig)
    assert set(sms.templates) == {Change.ENTERED}
    ads = destinations["ads"]
    assert isinstance(ads, S3AudienceConfig)
    assert ads.key_prefix == "exports/ads/"
    assert ads.phone_format is PhoneHashFormat.DIGITS
    preview = destinations["preview"]
    assert isinstance(preview, LocalConfig)
    assert preview.needs_any == (ContactField.EMAIL,)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{id: news, type: ses_contact_list, contact_list: l}",
            "destination 'news' (ses_contact_list) field topic: Field required",
        ),
        (
            "{id: news, type: ses_contact_list, contact_list: l, topic: t, purpose: ads}",
            "destination 'news' (ses_contact_list): a ses_contact_list destination delivers for purpose "
            "email",
        ),
        (
            "{id: t, type: sms, origination_identity: p, templates: {entered: 'Hi {name}'}}",
            "destination 't' (sms) field templates: entered: placeholders may only be "
            "{first_name}, {segment_id}, got ['name']",
        ),
        (
            "{id: t, type: sms, origination_identity: p, templates: {entered: 'Hi {first_name!r}'}}",
            "placeholders may only be",
        ),
        ("{id: t, type: sms, origination_identity: p, templates: {}}", "field templates: "),
        ("{id: l, type: local}", "destination 'l' (local): purpose is required for a local destination"),
        ("{id: x, type: webhook}", "destination 'x' (webhook) field type: "),
        ("{id: Bad Id, type: local, purpose: email}", "destination 'Bad Id' (local) field id: "),
        ("{id: deliveries, type: local, purpose: email}", "'deliveries' is reserved under exports/"),
        ("{id: q, type: sqs, queue_url: not-a-url}", "destination 'q' (sqs) field queue_url: "),
        ("{id: e, type: eventbridge, event_bus: b, source: aws.s3}", "reserved for AWS services"),
        ("{id: a, type: s3_audience, bucket: B_ad}", "destination 'a' (s3_audience) field bucket: "),
        ("{id: l, type: local, purpose: email, colour: red}", "field colour: Extra inputs are not permitted"),
        ("{id: s, type: sns, topic_arn: 'arn:aws:sns:ap-southeast-1:1:t'}", "field topic_arn: "),
    ],
)
def test_a_bad_destination_fails_with_one_line_naming_it_and_the_field(entry: str, message: str) -> None:
    with pytest.raises(ActivationInputError) as raised:
        parse_destinations(f"destinations:\n  - {entry}\n", "segments/destinations.yaml")
    text = str(raised.value)
    assert text.startswith("segments/destinations.yaml: ")
    assert message in text
    assert "\n" not in text
    assert isinstance(raised.value, ConfigError)  # the CLI's exit code 2


def test_duplicate_ids_and_broken_yaml_are_refused() -> None:
    with pytest.raises(ActivationInputError, match="used twice"):
        parse_destinations(
            "destinations:\n"
            "  - {id: a, type: local, purpose: email}\n"
            "  - {id: a, type: local, purpose: sms}\n"
        )
    with pytest.raises(ActivationInputError, match=r"destinations.yaml line \d+: not valid YAML"):
        parse_destinations("destinations:\n  - {id: a, type: [\n")
    with pytest.raises(ActivationInputError, match="expected a mapping"):
        parse_destinations("- a\n- b\n")
    assert parse_destinations("") == {}


def test_settings_from_the_environment_name_the_bad_variable() -> None:
    settings = ActivationSettings.from_env(
        {"CDP_LAKE_BUCKET": "cdp-dev-lake", "CDP_DELIVERY_MAX_ATTEMPTS": "3"}
    )
    assert (settings.lake_uri, settings.max_attempts) == ("s3://cdp-dev-lake", 3)
    with pytest.raises(ConfigError, match="CDP_DELIVERY_MAX_ATTEMPTS"):
        ActivationSettings.from_env({"CDP_DELIVERY_MAX_ATTEMPTS": "0"})


def test_consent_is_granted_only_by_an_explicit_true() -> None:
    text = (
        '{"email": {"granted": true, "at": "2026-01-02T03:04:05Z", "source": "crm"},'
        ' "sms": {"granted": false}, "push": {"granted": "yes"}, "ads": true}'
    )
    assert parse_consent(text) == {"email": True, "sms": False, "push": False, "ads": True}
    assert parse_consent(None) == {}
    assert parse_consent("{}") == {}
    assert parse_consent("not json") == {}
    assert parse_consent("[1, 2]") == {}


def test_suppression_lines_normalize_and_hash_like_the_pipeline() -> None:
    listed = parse_suppression(
        [
            b'{"email": " Somchai.J@Gmail.com ", "reason": "complaint"}',
            b"",
            b'{"phone": "081-975-3042"}',
            b'{"email_sha256": "' + email_hash("hashed@example.com").upper().encode() + b'"}',
            b'{"phone_sha256": "' + phone_hash("+66891234567", PhoneHashFormat.DIGITS).encode() + b'"}',
        ]
    )
    assert "somchai.j@gmail.com" in listed.emails
    assert "somchaij@gmail.com" in listed.emails  # the Gmail mailbox key
    assert listed.phones == {"+66819753042"}
    assert len(listed) == 5


@pytest.mark.parametrize(
    ("line", "message"),
    [(b"{not json", "line 1: not JSON"), (b'{"name": "x"}', "line 1: needs one of"), (b'"a@b.c"', "needs")],
)
def test_a_broken_suppression_line_fails_the_whole_list(line: bytes, message: str) -> None:
    with pytest.raises(SuppressionListError, match=message):
        parse_suppression([line], "suppression")


def test_audience_hashes_follow_the_ad_platforms_normalization() -> None:
    expected = hashlib.sha256(b"somchai@example.com").hexdigest()
    assert email_hash("  Somchai@Example.COM ") == expected
    assert phone_hash("+66819753042") == hashlib.sha256(b"+66819753042").hexdigest()
    assert phone_hash("+66819753042", PhoneHashFormat.DIGITS) == hashlib.sha256(b"66819753042").hexdigest()
    change = MembershipChange(
        run_id="r1",
        segment_id="vip",
        profile_id="p1",
        change=Change.EXITED,
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        contact=Contact(email="Somchai@Example.com"),
    )
    assert (
        audience_csv([change]).decode()
        == f"segment_id,change,email_sha256,phone_sha256\nvip,exited,{expected},\n"
    )


def test_the_segment_event_carries_ids_and_only_the_included_contact_fields() -> None:
    change = MembershipChange(
        run_id="r1",
        segment_id="vip",
        profile_id="p1",
        change=Change.ENTERED,
        occurred_at=datetime(2026, 3, 1, 7, 30, tzinfo=UTC),
        contact=Contact(email="a@example.com", phone="+66819753042", user_id="u-1"),
    )
    event = segment_event(change, [ContactField.USER_ID])
    assert event == {
        "type": "segment.entered",
        "schema_version": 1,
        "event_id": change.event_id,
        "segment_id": "vip",
        "profile_id": "p1",
        "change": "entered",
        "occurred_at": "2026-03-01T07:30:00.000Z",
        "run_id": "r1",
        "contact": {"user_id": "u-1"},
    }
    assert "contact" not in segment_event(change)
