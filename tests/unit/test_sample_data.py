"""The sample retailer: deterministic bytes, real encodings, truth for every record, dirt at its rates."""

from __future__ import annotations

import csv
import inspect
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from segment.analytics import Client

from cdp.sampledata import RetailerDataset, generate_retailer
from cdp.sampledata.app_events import read_sdk_calls
from cdp.sampledata.crm import COLUMNS as CRM_COLUMNS
from cdp.sampledata.crm import INVALID_KINDS as CRM_INVALID
from cdp.sampledata.shop import INVALID_KINDS as SHOP_INVALID
from cdp.sampledata.survey import COLUMNS as SURVEY_COLUMNS
from cdp.sampledata.survey import INVALID_KINDS as SURVEY_INVALID
from cdp.sampledata.truth import DIRT_TAGS, TRUTH_COLUMNS
from cdp.sampledata.vocabulary import PLACEHOLDER_EMAILS, PLACEHOLDER_PHONES

THAI = re.compile("[\u0e00-\u0e7f]")
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
FILES = (
    "crm_customers.csv",
    "shop_orders.jsonl",
    "survey.csv",
    "app_events.jsonl",
    "truth.csv",
    "people.csv",
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> RetailerDataset:
    return generate_retailer(tmp_path_factory.mktemp("small"), people=50, seed=3)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> RetailerDataset:
    return generate_retailer(tmp_path_factory.mktemp("large"), people=3000, seed=11)


def truth_rows(dataset: RetailerDataset) -> list[dict[str, str]]:
    with dataset.truth.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def people(dataset: RetailerDataset) -> dict[str, dict[str, str]]:
    with dataset.people_file.open(encoding="utf-8", newline="") as file:
        return {row["person_id"]: row for row in csv.DictReader(file)}


def crm_rows(dataset: RetailerDataset) -> list[list[str]]:
    text = dataset.crm.path.read_bytes().decode("tis_620", "replace")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def survey_rows(dataset: RetailerDataset) -> list[list[str]]:
    text = dataset.survey.path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def json_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def tags(row: dict[str, str]) -> set[str]:
    return set(row["dirt"].split(";")) - {""}


def phone_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text.translate(THAI_DIGITS))
    return "0" + digits[2:] if digits.startswith("66") else digits


def mailbox(address: str) -> str:
    """What identifies an inbox: case and spaces do not count, nor do Gmail's dots and +tags."""
    local, _, domain = address.strip().lower().partition("@")
    if domain == "gmail.com":
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def be_or_ce(text: str) -> date:
    day, month, year = (int(part) for part in text.split("/"))
    return date(year - 543 if year >= 2400 else year, month, day)


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_retailer(tmp_path / "a", people=80, seed=5)
    again = generate_retailer(tmp_path / "b", people=80, seed=5)
    other = generate_retailer(tmp_path / "c", people=80, seed=6)
    for name in FILES:
        assert (first.out_dir / name).read_bytes() == (again.out_dir / name).read_bytes(), name
        assert (first.out_dir / name).read_bytes() != (other.out_dir / name).read_bytes(), name
    assert (first.crm.expected, first.shop.expected, first.dirt) == (
        again.crm.expected,
        again.shop.expected,
        again.dirt,
    )


def test_the_output_folder_keeps_itself_out_of_git(small: RetailerDataset) -> None:
    assert (small.out_dir / ".gitignore").read_text().splitlines()[-1] == "*"


def test_the_crm_file_is_tis_620_and_the_survey_is_utf_8_with_a_bom(small: RetailerDataset) -> None:
    crm = small.crm.path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        crm.decode("utf-8")
    header, _, _ = crm.partition(b"\r\n")
    assert header.decode("tis_620").split(",") == list(CRM_COLUMNS)
    # only the rows built to be undecodable hold bytes TIS-620 does not define
    assert crm.decode("tis_620", "replace").count("\ufffd") == small.crm.expected["undecodable"]
    assert THAI.search(crm.decode("tis_620", "replace"))

    survey = small.survey.path.read_bytes()
    assert survey.startswith(b"\xef\xbb\xbf")
    assert survey.decode("utf-8-sig").splitlines()[0].split(",") == list(SURVEY_COLUMNS)
    for path in (small.shop.path, small.app.path, small.truth, small.people_file):
        path.read_bytes().decode("utf-8")


def test_truth_covers_every_record_of_every_file_in_file_order(small: RetailerDataset) -> None:
    rows = truth_rows(small)
    assert list(rows[0]) == list(TRUTH_COLUMNS)
    by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    records = {
        "crm": len(crm_rows(small)),
        "shop": len(json_lines(small.shop.path)),
        "survey": len(survey_rows(small)),
        "app": len(json_lines(small.app.path)),
    }
    known = people(small)
    for source, count in records.items():
        assert count > 0
        assert [int(row["row_number"]) for row in by_source[source]] == list(range(1, count + 1)), source
        assert getattr(small, source).records == count
        for row in by_source[source]:
            assert row["person_id"] in known or (row["expected"] == "empty_row" and not row["person_id"])
            assert tags(row) <= set(DIRT_TAGS), row
    crm_ids = [cells[0] for cells in crm_rows(small)]
    assert [row["record_key"] for row in by_source["crm"]] == crm_ids
    events = [orjson.loads(line) for line in json_lines(small.app.path)]
    assert [row["record_key"] for row in by_source["app"]] == [event["messageId"] for event in events]
    assert len({event["messageId"] for event in events}) == len(events)


def test_every_quarantine_kind_is_there_even_in_a_50_person_dataset(small: RetailerDataset) -> None:
    assert set(small.crm.quarantined) == {*CRM_INVALID, "duplicate_key"}
    assert set(small.shop.quarantined) == set(SHOP_INVALID)
    assert set(small.survey.quarantined) == set(SURVEY_INVALID)
    assert small.app.quarantined == {}
    for source in small.sources:
        assert source.accepted + sum(source.quarantined.values()) == source.records


def test_generation_needs_at_least_one_person(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="people must be at least 1"):
        generate_retailer(tmp_path, people=0)


def test_dirt_rates_stay_in_their_ranges(large: RetailerDataset) -> None:
    rows = truth_rows(large)
    crm = [row for row in rows if row["source"] == "crm"]
    crm_people = {row["person_id"] for row in crm}
    duplicated = {row["person_id"] for row in crm if "duplicate_record" in tags(row)}

    def share(source_rows: list[dict[str, str]], tag: str) -> float:
        return sum(tag in tags(row) for row in source_rows) / len(source_rows)

    assert 0.07 <= len(duplicated) / len(crm_people) <= 0.13
    assert 0.04 <= share(crm, "placeholder_email") <= 0.12
    assert 0.015 <= share(crm, "placeholder_phone") <= 0.05
    assert 0.003 <= share(crm, "store_phone") <= 0.02
    assert 0.02 <= share(crm, "romanized_name") <= 0.10
    for tag in ("name_typo", "swapped_names", "title_in_name", "surname_change", "dob_ce", "thai_digits"):
        assert 0.002 <= share(crm, tag) <= 0.06, tag
    everyone = people(large)
    household_rows = [row for row in crm if everyone[row["person_id"]]["household_id"]]
    assert 0.3 <= share(household_rows, "household_phone") <= 0.5
    crm_members = sum("crm" in person["sources"].split(";") for person in everyone.values())
    for kind in CRM_INVALID:  # broken rows are a quota: exactly the rate, at least one
        assert large.crm.quarantined[kind] == max(1, round(0.003 * crm_members)), kind
    assert 0.01 <= sum(large.crm.quarantined.values()) / large.crm.records <= 0.04

    shop = [row for row in rows if row["source"] == "shop"]
    assert 0.10 <= share(shop, "guest") <= 0.25
    assert 0.005 <= sum(large.shop.quarantined.values()) / large.shop.records <= 0.03
    survey = [row for row in rows if row["source"] == "survey"]
    assert 0.03 <= share(survey, "repeat_submission") <= 0.09
    app = [row for row in rows if row["source"] == "app"]
    for tag in ("anonymous", "second_device", "shared_device", "nickname_as_name", "romanized_name"):
        assert 0.005 <= share(app, tag) <= 0.5, tag


def test_only_one_source_knows_some_people_and_every_person_is_somewhere(large: RetailerDataset) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for row in truth_rows(large):
        if row["person_id"]:
            seen[row["person_id"]].add(row["source"])
    everyone = people(large)
    assert set(seen) <= set(everyone)
    assert len(seen) >= 0.99 * len(everyone)
    counts = Counter(len(sources) for sources in seen.values())
    assert counts[1] >= 0.15 * len(seen)
    assert counts[4] > 0


def test_households_share_a_surname_and_an_address_but_are_different_people(large: RetailerDataset) -> None:
    everyone = people(large)
    households: dict[str, list[dict[str, str]]] = defaultdict(list)
    for person in everyone.values():
        if person["household_id"]:
            households[person["household_id"]].append(person)
    assert len(households) >= 0.05 * len(everyone) / 2
    for members in households.values():
        assert len(members) >= 2
        assert len({member["last_name_th"] for member in members}) == 1
        assert len({member["address"] for member in members}) == 1
        assert len({member["first_name_th"] for member in members}) == len(members)
        assert len({member["date_of_birth"] for member in members}) == len(members)
        assert len({member["phone"] for member in members}) == len(
            members
        )  # own phones; the home one is shared


def test_crm_rows_agree_with_their_true_person_except_where_the_truth_names_the_dirt(
    large: RetailerDataset,
) -> None:
    everyone = people(large)
    truth = [row for row in truth_rows(large) if row["source"] == "crm"]
    checked = Counter[str]()
    for row, cells in zip(truth, crm_rows(large), strict=True):
        if row["expected"] != "accepted":
            continue
        person, dirt = everyone[row["person_id"]], tags(row)
        values = dict(zip(CRM_COLUMNS, cells, strict=True))
        if values["วันเกิด"] and "dob_swapped" not in dirt:
            assert be_or_ce(values["วันเกิด"]).isoformat() == person["date_of_birth"], row
            checked["dob"] += 1
        if values["เลขบัตรประชาชน"] and not dirt & {"national_id_typo", "placeholder_national_id"}:
            assert values["เลขบัตรประชาชน"].replace("-", "") == person["national_id"], row
            checked["national_id"] += 1
        if values["อีเมล"] and not dirt & {"placeholder_email", "household_email"}:
            assert mailbox(values["อีเมล"]) == mailbox(person["email"]), row
            checked["email"] += 1
        if values["อีเมล"] in PLACEHOLDER_EMAILS:
            assert "placeholder_email" in dirt
        phone_dirt = {"placeholder_phone", "store_phone", "household_phone", "old_phone"}
        if values["เบอร์โทร"] and not dirt & phone_dirt:
            assert "+66" + phone_digits(values["เบอร์โทร"])[1:] == person["phone"], row
            checked["phone"] += 1
        if values["เบอร์โทร"] in PLACEHOLDER_PHONES:
            assert "placeholder_phone" in dirt
        name_dirt = {
            "name_typo",
            "swapped_names",
            "romanized_name",
            "title_in_name",
            "mojibake",
            "surname_change",
        }
        if person["first_name_th"] and not dirt & name_dirt:
            assert (values["ชื่อ"], values["นามสกุล"]) == (person["first_name_th"], person["last_name_th"]), row
            checked["name"] += 1
    assert min(checked.values()) > 100, checked


def test_a_careful_human_can_tell_whose_order_or_answer_it_is(large: RetailerDataset) -> None:
    everyone = people(large)
    truth = truth_rows(large)
    shop = [row for row in truth if row["source"] == "shop"]
    for row, line in zip(shop, json_lines(large.shop.path), strict=True):
        if row["expected"] in ("accepted", "duplicate_key"):
            order, person = orjson.loads(line), everyone[row["person_id"]]
            own_email = order["customer_email"] and mailbox(order["customer_email"]) == mailbox(
                person["email"]
            )
            phone = order["customer_phone"] and "+66" + phone_digits(order["customer_phone"])[1:]
            assert own_email or phone == person["phone"], (row, order)
    survey = [row for row in truth if row["source"] == "survey"]
    for row, cells in zip(survey, survey_rows(large), strict=True):
        if row["person_id"]:
            person = everyone[row["person_id"]]
            own_email = (
                "email_typo" not in tags(row) and cells[0] and mailbox(cells[0]) == mailbox(person["email"])
            )
            assert own_email or "+66" + phone_digits(cells[1])[1:] == person["phone"], (row, cells)


def test_app_events_are_segment_payloads_where_logins_tie_devices_to_users(large: RetailerDataset) -> None:
    truth = [row for row in truth_rows(large) if row["source"] == "app"]
    events = [orjson.loads(line) for line in json_lines(large.app.path)]
    assert {event["type"] for event in events} == {"identify", "track", "screen", "page", "alias"}
    users_of_device: dict[str, set[str]] = defaultdict(set)
    person_of_user: dict[str, str] = {}
    shared_devices = set()
    for row, event in zip(truth, events, strict=True):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["timestamp"])
        assert datetime.fromisoformat(event["timestamp"]).year >= 2022
        assert ("userId" not in event) == ("anonymous" in tags(row))
        if "shared_device" in tags(row):
            shared_devices.add(event.get("anonymousId"))
        if event["type"] == "identify":
            users_of_device[event["anonymousId"]].add(event["userId"])
            assert person_of_user.setdefault(event["userId"], row["person_id"]) == row["person_id"]
        if event["type"] == "alias":
            assert event["userId"] in users_of_device[event["previousId"]]
        if event["type"] == "track" and event["event"] == "Order Completed":
            assert event["properties"]["order_id"].startswith("SO-")
    assert {device for device, users in users_of_device.items() if len(users) > 1} == shared_devices - {None}
    traits = [event["traits"] for event in events if event["type"] == "identify"]
    assert any(THAI.search(trait.get("firstName", "")) for trait in traits)
    assert any(trait.get("nickname") in ("Nok", "Ploy", "Bank", "นก", "พลอย", "แบงค์") for trait in traits)


def test_each_event_maps_to_a_segment_sdk_call_it_accepts(small: RetailerDataset) -> None:
    calls = list(read_sdk_calls(small.app.path))
    assert len(calls) == small.app.records
    for call in calls:
        parameters = inspect.signature(getattr(Client, call.method)).parameters
        assert set(call.kwargs) <= set(parameters), call
        assert call.kwargs["timestamp"].tzinfo is not None


def test_people_have_thai_and_romanized_names_and_thai_nicknames(large: RetailerDataset) -> None:
    everyone = list(people(large).values())
    thai = [person for person in everyone if person["first_name_th"]]
    assert len(thai) >= 0.95 * len(everyone)
    for person in thai:
        assert THAI.search(person["first_name_th"])
        assert THAI.search(person["last_name_th"])
        assert person["first_name_en"].isascii()
        assert person["nickname_en"].isascii()
        assert THAI.search(person["nickname_th"])
    assert all(re.fullmatch(r"\+66[689]\d{8}", person["phone"]) for person in everyone)
    assert sum(person["namesake"] == "true" for person in everyone) > 0
