"""What a Thai retailer's customers are made of: names, nicknames, places, products, e-mail domains.

Kept apart from the standardize tables on purpose: the sample data is the ground truth the standardizers and
the matcher are measured against, so it must not share their blind spots. Romanizations are the spellings
Thai people really write (RTGS, the older "Somchay"/"Kitipong" forms, ``-porn``/``-phon``), not one scheme.
Everything here is TIS-620 encodable (ASCII and Thai only), since the CRM export is TIS-620.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Final


@dataclass(frozen=True, slots=True)
class Name:
    """One name in Thai script with the romanizations seen for it; ``roman[0]`` is the RTGS-like one."""

    thai: str
    roman: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class District:
    name_th: str
    postcode: str


@dataclass(frozen=True, slots=True)
class Province:
    name_th: str
    name_en: str
    abbreviation_th: str  # license-plate style, written with or without a final dot
    aliases: tuple[str, ...]  # other spellings people type
    area_code: str  # landline prefix (02 for greater Bangkok)
    districts: tuple[District, ...]
    weight: float  # share of customers


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price_satang: int


def _names(rows: tuple[tuple[str, ...], ...]) -> tuple[Name, ...]:
    return tuple(Name(row[0], row[1:]) for row in rows)


MALE_FIRST_NAMES: Final = _names(
    (
        ("สมชาย", "Somchai", "Somchay", "Somshai"),
        ("สมศักดิ์", "Somsak", "Somsuk", "Somsakdi"),
        ("ณัฐพล", "Nattaphon", "Nattapon", "Natthaphon", "Nuttapol"),
        ("กิตติพงษ์", "Kittiphong", "Kittipong", "Kitipong"),
        ("ธนากร", "Thanakorn", "Tanakorn", "Thanakon"),
        ("วีรยุทธ", "Weerayut", "Veerayuth", "Wirayut"),
        ("วิชัย", "Wichai", "Vichai", "Wichay"),
        ("ประเสริฐ", "Prasoet", "Prasert", "Prasirt"),
        ("อนุชา", "Anucha", "Anusha", "Anuchar"),
        ("ชัยวัฒน์", "Chaiwat", "Chaiwath", "Chaiwatt"),
        ("ธนา", "Thana", "Tana"),
        ("นพดล", "Nopphadon", "Noppadol", "Noppadon"),
        ("ธีรพงษ์", "Thiraphong", "Theerapong", "Teerapong"),
        ("อภิชาติ", "Aphichat", "Apichat", "Apichart"),
        ("ศุภชัย", "Suphachai", "Supachai", "Supachay"),
        ("ภานุวัฒน์", "Phanuwat", "Panuwat", "Panuwath"),
        ("สุรชัย", "Surachai", "Surachay"),
        ("ไพโรจน์", "Phairot", "Pairoj", "Pairote"),
        ("สุนทร", "Sunthon", "Sunthorn", "Soonthorn"),
        ("เอกชัย", "Ekkachai", "Ekachai", "Akechai"),
        ("พงศกร", "Phongsakon", "Pongsakorn", "Pongsakon"),
        ("วรวุฒิ", "Worawut", "Vorawut", "Worawuth"),
        ("สิทธิชัย", "Sitthichai", "Sittichai", "Sitichai"),
        ("ชาญวิทย์", "Chanwit", "Charnwit", "Chanvit"),
        ("บุญมี", "Bunmi", "Boonmee", "Boonmi"),
        ("ปิยะ", "Piya", "Piyah"),
        ("กฤษดา", "Kritsada", "Krissada", "Kridsada"),
        ("ธวัชชัย", "Thawatchai", "Tawatchai", "Thawatchay"),
        ("อรรถพล", "Attaphon", "Auttapol", "Attapon"),
        ("วิทยา", "Witthaya", "Wittaya", "Vittaya"),
        ("สมพงษ์", "Somphong", "Sompong"),
        ("เกียรติศักดิ์", "Kiattisak", "Kiatisak", "Kiattisuk"),
        ("ณัฐวุฒิ", "Nattawut", "Natthawut", "Nuttawut"),
        ("จักรพันธ์", "Chakkraphan", "Jakkapan", "Chakkapan"),
        ("ศักดิ์ชัย", "Sakchai", "Sakchay"),
        ("พีระพงษ์", "Phiraphong", "Peerapong", "Pirapong"),
        ("อดิศักดิ์", "Adisak", "Adisuk"),
        ("ธนวัฒน์", "Thanawat", "Tanawat", "Thanawath"),
        ("ชนินทร์", "Chanin", "Chanint"),
        ("ประยุทธ", "Prayut", "Prayuth", "Prayoot"),
    )
)

FEMALE_FIRST_NAMES: Final = _names(
    (
        ("สมหญิง", "Somying", "Somyhing"),
        ("ศิริพร", "Siriphon", "Siriporn", "Siripon"),
        ("ปรียาภรณ์", "Priyaphon", "Preeyaporn", "Priyaporn"),
        ("พิมพ์ชนก", "Phimchanok", "Pimchanok", "Pimchanock"),
        ("อรอุมา", "On-uma", "Onuma", "Ornuma"),
        ("สุดา", "Suda", "Sudaa"),
        ("มาลี", "Mali", "Malee", "Malie"),
        ("กาญจนา", "Kanchana", "Kanjana", "Karnjana"),
        ("ปวีณา", "Pawina", "Paweena", "Paveena"),
        ("วันเพ็ญ", "Wanphen", "Wanpen", "Vanpen"),
        ("พรทิพย์", "Phonthip", "Porntip", "Pornthip"),
        ("อุไรวรรณ", "Uraiwan", "Uraiwun", "Urairwan"),
        ("สุภาพร", "Suphaphon", "Supaporn", "Supapon"),
        ("เกศินี", "Ketsini", "Kesinee", "Kesini"),
        ("รัตนา", "Rattana", "Ratana", "Rattanah"),
        ("ชนิดา", "Chanida", "Chaneeda"),
        ("จิราพร", "Chiraphon", "Jiraporn", "Jirapon"),
        ("ณัฐธิดา", "Natthida", "Nattida", "Nuttida"),
        ("อรุณี", "Aruni", "Arunee", "Arunii"),
        ("วรรณา", "Wanna", "Vanna", "Wunna"),
        ("สมพร", "Somphon", "Somporn", "Sompon"),
        ("ธิดารัตน์", "Thidarat", "Tidarat", "Thidarath"),
        ("วิไล", "Wilai", "Vilai"),
        ("อัญชลี", "Anchali", "Anchalee", "Unchalee"),
        ("ชไมพร", "Chamaiphon", "Chamaiporn"),
        ("ศิริวรรณ", "Siriwan", "Sirivan", "Siriwun"),
        ("นันทนา", "Nanthana", "Nantana", "Nuntana"),
        ("ธนพร", "Thanaphon", "Thanaporn", "Tanaporn"),
        ("สุนิสา", "Sunisa", "Soonisa", "Suneesa"),
        ("ปิยะนุช", "Piyanut", "Piyanuch", "Piyanooch"),
        ("จันทร์เพ็ญ", "Chanphen", "Chanpen", "Janpen"),
        ("กมลชนก", "Kamonchanok", "Kamolchanok"),
        ("เบญจวรรณ", "Benchawan", "Benjawan", "Bencharwan"),
        ("ลัดดา", "Ladda", "Lada"),
        ("นงลักษณ์", "Nongluk", "Nongluck", "Nonglak"),
        ("ดารุณี", "Daruni", "Darunee"),
        ("พัชรา", "Phatchara", "Patchara", "Pachara"),
        ("ทิพวรรณ", "Thippawan", "Tippawan", "Tipawan"),
        ("ยุพิน", "Yuphin", "Yupin"),
        ("สายสุนีย์", "Saisuni", "Saisunee"),
    )
)

#: Thai surnames are coined from auspicious words; these halves and their spellings build ~600 of them
SURNAME_HEADS: Final = _names(
    (
        ("ศรี", "Si", "Sri", "Sree"),
        ("บุญ", "Bun", "Boon", "Boun"),
        ("แสง", "Saeng", "Sang", "Seang"),
        ("ทอง", "Thong", "Tong"),
        ("วงศ์", "Wong", "Vong"),
        ("สุข", "Suk", "Sook"),
        ("เจริญ", "Charoen", "Jaroen", "Charern"),
        ("รุ่ง", "Rung", "Roong"),
        ("ชัย", "Chai", "Chay"),
        ("กิตติ", "Kitti", "Kiti"),
        ("ธนา", "Thana", "Tana"),
        ("แก้ว", "Kaeo", "Kaew", "Keaw"),
        ("พูล", "Phun", "Poon"),
        ("อินทร", "Inthra", "Intara", "Inthara"),
        ("ประเสริฐ", "Prasoet", "Prasert"),
        ("จันทร์", "Chan", "Jan"),
        ("สาย", "Sai", "Saai"),
        ("นาค", "Nak", "Nark"),
        ("รัตน", "Rattana", "Ratana"),
        ("สมบูรณ์", "Sombun", "Somboon"),
        ("ใจ", "Chai", "Jai"),
        ("มณี", "Mani", "Manee"),
        ("เพชร", "Phet", "Petch", "Pet"),
        ("ศักดิ์", "Sak", "Sakdi"),
    )
)
SURNAME_TAILS: Final = _names(
    (
        ("สุข", "suk", "sook"),
        ("ทอง", "thong", "tong"),
        ("วงศ์", "wong", "vong", "wongse"),
        ("ศักดิ์", "sak", "sakdi"),
        ("สวัสดิ์", "sawat", "sawad", "swat"),
        ("ประเสริฐ", "prasoet", "prasert"),
        ("เจริญ", "charoen", "jaroen"),
        ("พันธ์", "phan", "pan", "pant"),
        ("ชัย", "chai", "chay"),
        ("กุล", "kun", "kul", "goon"),
        ("ดี", "di", "dee"),
        ("มา", "ma", "mah"),
        ("ศรี", "si", "sri"),
        ("เรือง", "rueang", "ruang", "rueng"),
        ("มงคล", "mongkhon", "mongkol"),
        ("สมบัติ", "sombat", "sombut"),
        ("พานิช", "phanit", "panich", "panit"),
        ("ผล", "phon", "pol", "phol"),
        ("รัตน์", "rat", "rath"),
        ("ไทย", "thai", "tai"),
        ("นิยม", "niyom", "niyum"),
        ("ทิพย์", "thip", "tip"),
        ("สกุล", "sakun", "sakul"),
        ("บุตร", "but", "boot"),
    )
)
#: Chinese-Thai family names (แซ่ = clan), written joined, hyphenated or spaced in English
CLAN_SURNAMES: Final = _names(
    (
        ("แซ่ตั้ง", "Saetang", "Sae-tang", "Sae Tang"),
        ("แซ่ลิ้ม", "Saelim", "Sae-lim", "Sae Lim"),
        ("แซ่อึ้ง", "Sae-ueng", "Saeung", "Sae-ung"),
        ("แซ่เฮ้ง", "Saeheng", "Sae-heng"),
        ("แซ่จึง", "Saechueng", "Sae-jung", "Saechung"),
        ("แซ่โค้ว", "Saekhow", "Sae-kow", "Saekoo"),
    )
)


def _surnames() -> tuple[Name, ...]:
    built: list[Name] = []
    for head in SURNAME_HEADS:
        for tail in SURNAME_TAILS:
            if head.thai == tail.thai:
                continue
            spellings = dict.fromkeys(
                (a + b).capitalize() for a, b in ((head.roman[0], tail.roman[0]), *_pairs(head, tail))
            )
            built.append(Name(head.thai + tail.thai, tuple(spellings)))
    built.extend(CLAN_SURNAMES)
    random.Random(20240101).shuffle(built)  # noqa: S311 - a fixed, arbitrary popularity order
    return tuple(built)


def _pairs(head: Name, tail: Name) -> tuple[tuple[str, str], ...]:
    return tuple((a, b) for a in head.roman for b in tail.roman)[:6]


#: every surname in popularity order (index 0 the most common): Zipf-like weights below
SURNAMES: Final = _surnames()
SURNAME_CUM_WEIGHTS: Final = tuple(accumulate(1.0 / (rank + 8) for rank in range(len(SURNAMES))))

#: ชื่อเล่น: a short name everybody uses, often English words; romanized as people write them
NICKNAMES: Final = _names(
    (
        ("นก", "Nok", "Nog"),
        ("พลอย", "Ploy", "Ploi"),
        ("แบงค์", "Bank", "Baank"),
        ("บอล", "Ball", "Bol"),
        ("เบียร์", "Beer", "Bia"),
        ("ต้น", "Ton", "Tonn"),
        ("ปุ๊ก", "Pook", "Puk"),
        ("แนน", "Nan", "Nann"),
        ("มิ้นท์", "Mint", "Min"),
        ("ฝน", "Fon", "Fohn"),
        ("เอ็ม", "Em", "M"),
        ("โอ๊ต", "Oat", "Ote"),
        ("ปาล์ม", "Palm", "Parm"),
        ("กอล์ฟ", "Golf", "Gof"),
        ("แจน", "Jan", "Jane"),
        ("นุ่น", "Noon", "Nun"),
        ("ตาล", "Tarn", "Tan"),
        ("เก่ง", "Keng", "Geng"),
        ("อ้อม", "Aom", "Om"),
        ("ป๊อป", "Pop", "Pob"),
        ("บีม", "Beam", "Beem"),
        ("ฟ้า", "Fah", "Fa"),
        ("หนิง", "Ning", "Nhing"),
        ("จอย", "Joy", "Joi"),
        ("เจ", "Jay", "J"),
        ("ตูน", "Toon", "Tune"),
        ("แอ๊ปเปิ้ล", "Apple", "Appel"),
        ("โบ๊ท", "Boat", "Bote"),
        ("กิ๊ฟ", "Gift", "Kif"),
        ("หมู", "Moo", "Mu"),
    )
)

#: expatriate and foreign customers: ASCII only (the CRM is TIS-620)
FOREIGN_MALE: Final = ("John", "Michael", "David", "James", "Daniel", "Hiroshi", "Wei", "Raj", "Pierre")
FOREIGN_FEMALE: Final = ("Emily", "Sarah", "Olivia", "Sophie", "Anna", "Yuki", "Li", "Priya", "Claire")
FOREIGN_LAST: Final = (
    "Smith",
    "Brown",
    "Johnson",
    "Williams",
    "Miller",
    "Wilson",
    "Taylor",
    "Tanaka",
    "Sato",
    "Chen",
    "Wang",
    "Sharma",
    "Patel",
    "Dubois",
    "Martin",
    "Schmidt",
    "Lee",
)


def _districts(*pairs: tuple[str, str]) -> tuple[District, ...]:
    return tuple(District(name, postcode) for name, postcode in pairs)


PROVINCES: Final = (
    Province(
        "กรุงเทพมหานคร",
        "Bangkok",
        "กทม",
        ("กรุงเทพฯ", "กรุงเทพ", "Krung Thep", "BKK"),
        "02",
        _districts(
            ("บางรัก", "10500"),
            ("ปทุมวัน", "10330"),
            ("จตุจักร", "10900"),
            ("บางกะปิ", "10240"),
            ("ห้วยขวาง", "10310"),
            ("คลองเตย", "10110"),
            ("บางนา", "10260"),
            ("ลาดพร้าว", "10230"),
            ("ดินแดง", "10400"),
            ("บางเขน", "10220"),
            ("สาทร", "10120"),
            ("บางซื่อ", "10800"),
        ),
        26.0,
    ),
    Province(
        "นนทบุรี",
        "Nonthaburi",
        "นบ",
        ("Nontaburi",),
        "02",
        _districts(("เมืองนนทบุรี", "11000"), ("ปากเกร็ด", "11120"), ("บางใหญ่", "11140"), ("บางบัวทอง", "11110")),
        7.0,
    ),
    Province(
        "สมุทรปราการ",
        "Samut Prakan",
        "สป",
        ("Samut Prakarn", "Samutprakarn"),
        "02",
        _districts(("เมืองสมุทรปราการ", "10270"), ("บางพลี", "10540"), ("พระประแดง", "10130")),
        6.0,
    ),
    Province(
        "ปทุมธานี",
        "Pathum Thani",
        "ปท",
        ("Pathumtani", "Patumthani"),
        "02",
        _districts(("เมืองปทุมธานี", "12000"), ("คลองหลวง", "12120"), ("ธัญบุรี", "12110"), ("ลำลูกกา", "12150")),
        5.0,
    ),
    Province(
        "ชลบุรี",
        "Chon Buri",
        "ชบ",
        ("Chonburi", "Cholburi", "พัทยา"),
        "038",
        _districts(("เมืองชลบุรี", "20000"), ("ศรีราชา", "20110"), ("บางละมุง", "20150")),
        5.0,
    ),
    Province(
        "เชียงใหม่",
        "Chiang Mai",
        "ชม",
        ("Chiangmai", "Chiengmai"),
        "053",
        _districts(("เมืองเชียงใหม่", "50000"), ("สันทราย", "50210"), ("หางดง", "50230"), ("สันกำแพง", "50130")),
        5.0,
    ),
    Province(
        "ขอนแก่น",
        "Khon Kaen",
        "ขก",
        ("Khonkaen", "Khon Kean"),
        "043",
        _districts(("เมืองขอนแก่น", "40000"), ("บ้านไผ่", "40110")),
        3.0,
    ),
    Province(
        "นครราชสีมา",
        "Nakhon Ratchasima",
        "นม",
        ("Korat", "Khorat", "โคราช"),
        "044",
        _districts(("เมืองนครราชสีมา", "30000"), ("ปากช่อง", "30130")),
        4.0,
    ),
    Province(
        "ภูเก็ต",
        "Phuket",
        "ภก",
        ("Puket",),
        "076",
        _districts(("เมืองภูเก็ต", "83000"), ("กะทู้", "83120"), ("ถลาง", "83110")),
        2.5,
    ),
    Province(
        "สงขลา",
        "Songkhla",
        "สข",
        ("Songkla", "Hat Yai"),
        "074",
        _districts(("หาดใหญ่", "90110"), ("เมืองสงขลา", "90000")),
        3.0,
    ),
    Province(
        "อุดรธานี",
        "Udon Thani",
        "อด",
        ("Udon", "Udonthani", "อุดร"),
        "042",
        _districts(
            ("เมืองอุดรธานี", "41000"),
        ),
        2.5,
    ),
    Province(
        "สุราษฎร์ธานี",
        "Surat Thani",
        "สฎ",
        ("Suratthani", "Surat"),
        "077",
        _districts(("เมืองสุราษฎร์ธานี", "84000"), ("เกาะสมุย", "84140")),
        2.5,
    ),
    Province(
        "นครปฐม",
        "Nakhon Pathom",
        "นฐ",
        ("Nakorn Pathom", "Nakhonpathom"),
        "034",
        _districts(("เมืองนครปฐม", "73000"), ("สามพราน", "73110")),
        2.5,
    ),
    Province(
        "ระยอง",
        "Rayong",
        "รย",
        (),
        "038",
        _districts(("เมืองระยอง", "21000"), ("ปลวกแดง", "21140")),
        2.5,
    ),
    Province(
        "เชียงราย",
        "Chiang Rai",
        "ชร",
        ("Chiangrai", "Chiengrai"),
        "053",
        _districts(("เมืองเชียงราย", "57000"), ("แม่สาย", "57130")),
        2.0,
    ),
    Province(
        "พระนครศรีอยุธยา",
        "Phra Nakhon Si Ayutthaya",
        "อย",
        ("Ayutthaya", "Ayuthaya", "อยุธยา"),
        "035",
        _districts(("พระนครศรีอยุธยา", "13000"), ("บางปะอิน", "13160")),
        2.0,
    ),
    Province(
        "พิษณุโลก",
        "Phitsanulok",
        "พล",
        ("Pitsanulok",),
        "055",
        _districts(
            ("เมืองพิษณุโลก", "65000"),
        ),
        1.5,
    ),
    Province(
        "อุบลราชธานี",
        "Ubon Ratchathani",
        "อบ",
        ("Ubon", "อุบล"),
        "045",
        _districts(("เมืองอุบลราชธานี", "34000"), ("วารินชำราบ", "34190")),
        2.0,
    ),
    Province(
        "นครศรีธรรมราช",
        "Nakhon Si Thammarat",
        "นศ",
        ("Nakorn Si Thammarat", "นครศรีฯ"),
        "075",
        _districts(
            ("เมืองนครศรีธรรมราช", "80000"),
        ),
        2.0,
    ),
    Province(
        "ลำปาง",
        "Lampang",
        "ลป",
        (),
        "054",
        _districts(
            ("เมืองลำปาง", "52000"),
        ),
        1.0,
    ),
)
PROVINCE_CUM_WEIGHTS: Final = tuple(accumulate(province.weight for province in PROVINCES))

#: Bangkok roads: addresses there are a soi numbered off one of them
BANGKOK_ROADS: Final = (
    "สุขุมวิท",
    "พหลโยธิน",
    "ลาดพร้าว",
    "รามคำแหง",
    "เพชรบุรี",
    "สีลม",
    "พระราม 4",
    "รัชดาภิเษก",
    "ศรีนครินทร์",
    "บางนา-ตราด",
)
#: roads found in most provincial towns (highways and the municipal streets)
PROVINCIAL_ROADS: Final = ("พหลโยธิน", "มิตรภาพ", "เพชรเกษม", "สุขุมวิท", "เทศบาล 1", "ประชาสามัคคี", "ศรีสุริยวงศ์")

#: where people keep their mail, with shares; the ``.co.th`` ones are employers' domains
EMAIL_DOMAINS: Final = (
    ("gmail.com", 52.0),
    ("hotmail.com", 20.0),
    ("yahoo.com", 7.0),
    ("outlook.com", 5.0),
    ("icloud.com", 5.0),
    ("hotmail.co.th", 3.0),
    ("scb-mail.co.th", 1.5),
    ("cpgroup-mail.co.th", 1.5),
    ("chula-alumni.ac.th", 1.0),
    ("ptt-mail.co.th", 1.0),
    ("truemail.co.th", 1.0),
    ("windowslive.com", 1.0),
)
EMAIL_DOMAIN_CUM_WEIGHTS: Final = tuple(accumulate(weight for _, weight in EMAIL_DOMAINS))

#: what a shop sells (prices in satang, so totals are exact)
PRODUCTS: Final = (
    Product("AP-TS01", "เสื้อยืดคอกลม ผ้าฝ้าย", "apparel", 39_500),
    Product("AP-TS02", "Linen Shirt", "apparel", 78_000),
    Product("AP-PN01", "กางเกงยีนส์ทรงตรง", "apparel", 99_000),
    Product("AP-DR01", "เดรสลายดอก", "apparel", 129_000),
    Product("FW-RN01", "Running Shoes", "footwear", 259_000),
    Product("FW-SD01", "รองเท้าแตะ", "footwear", 29_900),
    Product("BG-TT01", "กระเป๋าผ้า", "bags", 44_500),
    Product("BG-BP01", "กระเป๋าเป้ Backpack", "bags", 149_000),
    Product("BT-SC01", "ครีมกันแดด SPF50", "beauty", 45_900),
    Product("BT-LP01", "ลิปสติก สีชมพู", "beauty", 35_000),
    Product("BT-SH01", "แชมพูสมุนไพร", "beauty", 18_900),
    Product("FD-RC01", "ข้าวหอมมะลิ 5 กก.", "food", 24_500),
    Product("FD-TE01", "ชาไทย Thai Tea Mix", "food", 8_900),
    Product("FD-SN01", "ขนมเปี๊ยะ", "food", 5_325),
    Product("FD-CF01", "กาแฟดอยช้าง 250 ก.", "food", 32_000),
    Product("HM-FN01", "พัดลม 16 นิ้ว", "home", 129_000),
    Product("HM-PL01", "หมอนยางพารา", "home", 89_000),
    Product("HM-TW01", "ผ้าขนหนู Cotton", "home", 19_900),
    Product("EL-HP01", "หูฟังไร้สาย", "electronics", 320_000),
    Product("EL-CH01", "สายชาร์จ USB-C", "electronics", 19_900),
    Product("EL-PB01", "Power Bank 10000mAh", "electronics", 69_000),
    Product("BK-NV01", "นวนิยาย ฉบับพิมพ์ใหม่", "books", 28_500),
    Product("BK-CK01", "ตำราอาหารไทย", "books", 45_050),
    Product("AC-CS01", "Phone case", "accessories", 19_900),
    Product("AC-WT01", "นาฬิกาข้อมือ", "accessories", 159_000),
    Product("BB-DP01", "ผ้าอ้อมเด็ก แพ็ค 3", "baby", 55_900),
)
CATEGORIES: Final = tuple(dict.fromkeys(product.category for product in PRODUCTS))

#: survey comments: commas, line breaks and quotes inside, as people type them; ``{nick}`` names a staffer
SURVEY_COMMENTS: Final = (
    "สินค้าดี, ส่งเร็ว",
    "อยากให้มีโปรโมชั่นมากกว่านี้\nโดยเฉพาะช่วงสิ้นเดือน",
    'ชอบแคมเปญ "11.11" มาก',
    "แอปช้าบางครั้ง, แต่โดยรวมโอเค",
    "ขอบคุณน้อง{nick}ที่สาขา บริการดีมาก",
    "Good app, slow delivery",
    "ราคาแพงไปหน่อย",
    "ส่งของผิดสี ต้องเปลี่ยนคืน\nแต่พนักงานช่วยดี",
    "อยากให้รับชำระผ่าน PromptPay",
    "Love the linen shirts",
    "ใช้แต้มสะสมยาก, ควรปรับปรุง",
)

#: what staff type when a field is required and the customer has none (SPEC 3.4: must never merge)
PLACEHOLDER_EMAILS: Final = ("test@test.com", "-", "ไม่มี", "n/a", "noemail@gmail.com", "none@none.com")
PLACEHOLDER_PHONES: Final = ("0000000000", "-", "ไม่มี", "n/a", "0812345678", "0999999999", "1234567890")
PLACEHOLDER_NATIONAL_IDS: Final = ("-", "1111111111111", "ไม่มี", "0000000000000")

#: the front-desk phone of two branches, typed for walk-in members who gave none (no blocklist knows them)
STORE_PHONES: Final = ("022345961", "053274118")

SHOP_CHANNELS: Final = ("web", "app", "line", "store")
SURVEY_CHANNELS: Final = ("line", "app", "web", "store", "email", "sms")
APP_SCREENS: Final = ("หน้าแรก", "หมวดสินค้า", "รายละเอียดสินค้า", "ตะกร้าสินค้า", "โปรโมชั่น", "บัญชีของฉัน")
SEARCH_TERMS: Final = ("เสื้อยืด", "รองเท้าวิ่ง", "ครีมกันแดด", "ข้าวหอมมะลิ", "หูฟัง", "กระเป๋า", "linen", "power bank")
