"""The true people behind every generated record: who they are, where they live, which sources know them.

Each source draws its records from these people, so the ground truth is exact by construction. Households
are the hard case of SPEC 3.4: members share a surname, an address and often a home phone (sometimes an
e-mail), yet are different people with different first names and dates of birth. Namesakes (same full
name, unrelated) are the opposite trap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import phonenumbers

from cdp.sampledata.vocabulary import (
    BANGKOK_ROADS,
    EMAIL_DOMAIN_CUM_WEIGHTS,
    EMAIL_DOMAINS,
    FEMALE_FIRST_NAMES,
    FOREIGN_FEMALE,
    FOREIGN_LAST,
    FOREIGN_MALE,
    MALE_FIRST_NAMES,
    NICKNAMES,
    PROVINCE_CUM_WEIGHTS,
    PROVINCES,
    PROVINCIAL_ROADS,
    SURNAME_CUM_WEIGHTS,
    SURNAMES,
    District,
    Name,
    Province,
)
from cdp.standardize.national_id import check_digit

#: the day the data was exported: every date in the dataset is before it
AS_OF: Final = date(2025, 6, 30)
_MOBILE_PREFIXES: Final = ("06", "08", "09")
BANGKOK: Final = "Bangkok"


def _allocated(number: str) -> bool:
    """A number in a range Thailand has allocated (``069…`` is not): a customer's real phone is, and the
    standardizer rightly drops one that is not."""
    return phonenumbers.is_valid_number(phonenumbers.parse(number, "TH"))


@dataclass(frozen=True, slots=True)
class PopulationRates:
    """Shares of people; the source shares are independent draws (a person in no source gets one)."""

    crm: float = 0.70
    shop: float = 0.55
    survey: float = 0.15
    app: float = 0.45
    household: float = 0.15  # people living with another customer
    foreign: float = 0.02
    namesake: float = 0.01  # people given the full name of an unrelated earlier person
    email: float = 0.85  # people with an e-mail address at all
    national_id: float = 0.6  # people whose CRM records may carry their ID card number
    old_phone: float = 0.08  # people who changed mobile numbers (older CRM records have the old one)
    shared_email: float = 0.2  # households with one family inbox


@dataclass(slots=True)
class Household:
    household_id: str
    last: Name
    province: Province
    district: District
    address: str
    home_phone: str
    shared_email: str | None
    head_birth_year: int
    #: members so far: a household never has two people of the same first name or birthday
    first_names: set[str] = field(default_factory=set)
    births: set[date] = field(default_factory=set)


@dataclass(slots=True)
class Person:
    index: int
    person_id: str
    gender: str  # "M" or "F"
    foreign: bool
    first: Name  # foreigners: thai "" and one spelling
    last: Name
    spelling: int  # which romanization this person writes (index into first/last ``roman``)
    nickname: Name | None
    maiden_last: Name | None  # married women: the surname of their older records
    dob: date
    email: str | None
    phone: str  # national format: 0812345678
    old_phone: str | None
    national_id: str | None
    province: Province
    district: District
    address: str
    household: Household | None
    namesake: bool
    crm: bool
    shop: bool
    survey: bool
    app: bool

    @property
    def roman_first(self) -> str:
        return self.first.roman[min(self.spelling, len(self.first.roman) - 1)]

    @property
    def roman_last(self) -> str:
        return self.last.roman[min(self.spelling, len(self.last.roman) - 1)]

    @property
    def married(self) -> bool:
        return self.maiden_last is not None

    @property
    def sources(self) -> tuple[str, ...]:
        flags = (("crm", self.crm), ("shop", self.shop), ("survey", self.survey), ("app", self.app))
        return tuple(name for name, flag in flags if flag)


def e164(phone: str) -> str:
    return "+66" + phone[1:]


class _Registry:
    """Unique phones and e-mails: two true people never share one unless a household does on purpose."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    def mobile(self) -> str:
        rng = self._rng
        while True:
            number = rng.choice(_MOBILE_PREFIXES) + str(rng.randrange(10_000_000, 99_999_999))
            if number not in self.phones and not _looks_typed(number) and _allocated(number):
                self.phones.add(number)
                return number

    def landline(self, area: str) -> str:
        rng = self._rng
        digits = 9 - len(area)
        while True:
            number = area + str(rng.randrange(2 * 10 ** (digits - 1), 10**digits))
            if number not in self.phones and not _looks_typed(number):
                self.phones.add(number)
                return number

    def email(self, first: str, last: str, nickname: str | None, dob: date) -> str:
        rng = self._rng
        first, last = first.lower().replace(" ", "").replace("-", ""), last.lower().replace(" ", "")
        domain = rng.choices(EMAIL_DOMAINS, cum_weights=EMAIL_DOMAIN_CUM_WEIGHTS)[0][0]
        form = rng.randrange(6)
        if form == 0:
            local = f"{first}.{last[:1]}"
        elif form == 1:
            local = f"{first}{dob.year % 100:02d}"
        elif form == 2:
            local = f"{first}_{last}"
        elif form == 3 and nickname:
            local = f"{nickname.lower()}{rng.randrange(1, 999)}"
        elif form == 4:
            local = f"{first}.{last}"
        else:
            local = f"{first}{last[:3]}{dob.year}"
        address = f"{local}@{domain}"
        while _gmail_key(address) in self.emails:
            address = f"{local}{rng.randrange(1, 9999)}@{domain}"
        self.emails.add(_gmail_key(address))
        return address


def _gmail_key(address: str) -> str:
    """Gmail ignores dots: two people cannot hold addresses Gmail would deliver to one inbox."""
    local, _, domain = address.partition("@")
    return local.replace(".", "") + "@" + domain if domain == "gmail.com" else address


def _looks_typed(number: str) -> bool:
    """Numbers a placeholder check would drop (runs, repeats) are never real people's numbers here."""
    tail = number[-7:]
    return len(set(tail)) <= 2 or any(run in number for run in ("1234567", "2345678", "3456789", "9876543"))


def national_id(rng: random.Random, dob: date) -> str:
    """A checksum-valid 13-digit ID: type 1 for people registered at birth after 1984, 3 before."""
    kind = "1" if dob.year >= 1984 else "3"
    first_twelve = kind + f"{rng.randrange(1000, 9700):04d}" + f"{rng.randrange(0, 10**7):07d}"
    return first_twelve + str(check_digit(first_twelve))


def _birth_date(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _address(rng: random.Random, province: Province) -> str:
    house = (
        f"{rng.randrange(1, 400)}/{rng.randrange(1, 120)}"
        if rng.random() < 0.6
        else str(rng.randrange(1, 999))
    )
    if province.name_en == BANGKOK:
        road = rng.choice(BANGKOK_ROADS)
        return f"{house} ซอย{road} {rng.randrange(1, 80)} ถนน{road}"
    return f"{house} หมู่ {rng.randrange(1, 15)} ถนน{rng.choice(PROVINCIAL_ROADS)}"


def _province(rng: random.Random) -> tuple[Province, District]:
    province = rng.choices(PROVINCES, cum_weights=PROVINCE_CUM_WEIGHTS)[0]
    return province, rng.choice(province.districts)


def _households(rng: random.Random, count: int, rates: PopulationRates) -> list[int | None]:
    """The household number of each person index (``None``: lives alone, as far as the retailer knows)."""
    members = rng.sample(range(count), round(count * rates.household)) if count > 1 else []
    assignment: list[int | None] = [None] * count
    position, number = 0, 0
    while position + 1 < len(members):
        size = min(rng.choice((2, 2, 2, 3, 3, 4)), len(members) - position)
        for index in members[position : position + size]:
            assignment[index] = number
        position += size
        number += 1
    return assignment


def build_population(count: int, rng: random.Random, rates: PopulationRates | None = None) -> list[Person]:
    """``count`` people, deterministic for the state of ``rng``."""
    rates = rates or PopulationRates()
    registry = _Registry(rng)
    assignment = _households(rng, count, rates)
    households: dict[int, Household] = {}
    ranks: dict[int, int] = {}  # household → members generated so far
    namesakes = set(rng.sample(range(1, count), round((count - 1) * rates.namesake))) if count > 1 else set()
    people: list[Person] = []
    for index in range(count):
        number = assignment[index]
        household, rank = None, 0
        if number is not None:
            household = households.get(number)
            if household is None:
                household = households[number] = _new_household(rng, number, registry, rates)
            rank = ranks.get(number, 0)
            ranks[number] = rank + 1
        twin_of = rng.choice(people) if index in namesakes and household is None else None
        people.append(_person(rng, index, household, rank, registry, rates, twin_of))
    return people


def _new_household(rng: random.Random, number: int, registry: _Registry, rates: PopulationRates) -> Household:
    province, district = _province(rng)
    home = registry.landline(province.area_code) if rng.random() < 0.6 else registry.mobile()
    last = SURNAMES[rng.choices(range(len(SURNAMES)), cum_weights=SURNAME_CUM_WEIGHTS)[0]]
    shared = None
    if rng.random() < rates.shared_email:
        shared = registry.email("family", last.roman[0], None, AS_OF)
    return Household(
        household_id=f"H{number + 1:06d}",
        last=last,
        province=province,
        district=district,
        address=_address(rng, province),
        home_phone=home,
        shared_email=shared,
        head_birth_year=rng.randrange(1950, 1985),
    )


def _person(
    rng: random.Random,
    index: int,
    household: Household | None,
    rank: int,
    registry: _Registry,
    rates: PopulationRates,
    twin_of: Person | None,
) -> Person:
    foreign = household is None and rng.random() < rates.foreign
    if household is not None:
        gender = ("M", "F")[rank % 2] if rank < 2 else rng.choice(("M", "F"))
        head_year = household.head_birth_year
        year = head_year + rng.randrange(-4, 5) if rank < 2 else head_year + rng.randrange(20, 36)
        year = min(year, AS_OF.year - 18)
    else:
        gender = rng.choice(("M", "F"))
        year = AS_OF.year - round(rng.triangular(18, 78, 33))
    dob = _birth_date(rng, year)
    while household is not None and dob in household.births:
        dob = _birth_date(rng, year)
    if foreign:
        first = Name("", (rng.choice(FOREIGN_MALE if gender == "M" else FOREIGN_FEMALE),))
        last = Name("", (rng.choice(FOREIGN_LAST),))
        nickname = None
    else:
        first = rng.choice(MALE_FIRST_NAMES if gender == "M" else FEMALE_FIRST_NAMES)
        while household is not None and first.thai in household.first_names:
            first = rng.choice(MALE_FIRST_NAMES if gender == "M" else FEMALE_FIRST_NAMES)
        if household is not None:
            last = household.last
        else:
            last = SURNAMES[rng.choices(range(len(SURNAMES)), cum_weights=SURNAME_CUM_WEIGHTS)[0]]
        nickname = rng.choice(NICKNAMES)
    spelling = 0 if rng.random() < 0.5 else rng.randrange(1, 3)
    namesake = twin_of is not None and twin_of.gender == gender and not (foreign or twin_of.foreign)
    if twin_of is not None and namesake:
        first, last, spelling = twin_of.first, twin_of.last, twin_of.spelling
        twin_of.namesake = True
    # in a household the second member (rank 1) is the head's wife: her older records carry her maiden name
    maiden = None
    older_single = household is None and AS_OF.year - year > 30 and rng.random() < 0.25
    if not foreign and gender == "F" and (rank == 1 or older_single):
        maiden = SURNAMES[rng.randrange(len(SURNAMES))]
        if maiden == last:
            maiden = None
    if household is not None:
        province, district, address = household.province, household.district, household.address
        household.first_names.add(first.thai)
        household.births.add(dob)
    else:
        province, district = _province(rng)
        address = _address(rng, province)
    person = Person(
        index=index,
        person_id=f"P{index + 1:06d}",
        gender=gender,
        foreign=foreign,
        first=first,
        last=last,
        spelling=spelling,
        nickname=nickname,
        maiden_last=maiden,
        dob=dob,
        email=None,
        phone=registry.mobile(),
        old_phone=None,
        national_id=None,
        province=province,
        district=district,
        address=address,
        household=household,
        namesake=namesake,
        crm=rng.random() < rates.crm,
        shop=rng.random() < rates.shop,
        survey=rng.random() < rates.survey,
        app=rng.random() < rates.app,
    )
    if rng.random() < rates.email:
        nick = nickname.roman[0] if nickname else None
        person.email = registry.email(person.roman_first, person.roman_last, nick, dob)
    if rng.random() < rates.old_phone:
        person.old_phone = registry.mobile()
    if not foreign and rng.random() < rates.national_id:
        person.national_id = national_id(rng, dob)
    if not (person.crm or person.shop or person.survey or person.app):
        setattr(person, rng.choice(("crm", "crm", "shop", "shop", "survey", "app")), True)
    return person
