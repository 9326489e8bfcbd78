"""The 77 provinces of Thailand (76 changwat and Bangkok), with the names people write for them.

Codes are ISO 3166-2:TH. Each row lists the RTGS English name, the Thai name, the license-plate
abbreviation (``ชม`` for Chiang Mai, also written ``ช.ม.``), and the other spellings seen in customer
data: older romanizations (``Chantaburi``), names run together (``Chiangmai``), short names (``Korat``,
``อยุธยา``). Pattaya, a special administrative city (ISO ``TH-S``), is listed under Chon Buri, the province
it lies in, because a customer's province is what we record.

Kept as Python data, not fetched: it changes once a decade (Bueng Kan, TH-38, was split from Nong Khai in
2011) and the pipeline runs offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name_en: str
    name_th: str
    abbreviation_th: str
    aliases: tuple[str, ...] = ()


PROVINCES: Final[tuple[Province, ...]] = (
    Province(
        "TH-10",
        "Bangkok",
        "กรุงเทพมหานคร",
        "กทม",
        (
            "Krung Thep",
            "Krung Thep Maha Nakhon",
            "Krungthep",
            "BKK",
            "Bangkok Metropolis",
            "Bangkok Metropolitan",
            "กรุงเทพ",
            "กรุงเทพฯ",
            "กรุงเทพมหานครฯ",
        ),
    ),
    Province("TH-11", "Samut Prakan", "สมุทรปราการ", "สป", ("Samut Prakarn", "Samutprakarn", "Paknam")),
    Province("TH-12", "Nonthaburi", "นนทบุรี", "นบ", ("Nontaburi", "Nonthaburee")),
    Province("TH-13", "Pathum Thani", "ปทุมธานี", "ปท", ("Pathumtani", "Patumthani", "Pathum Tani")),
    Province(
        "TH-14",
        "Phra Nakhon Si Ayutthaya",
        "พระนครศรีอยุธยา",
        "อย",
        ("Ayutthaya", "Ayuthaya", "Ayudhya", "Ayuthya", "Phranakhon Si Ayutthaya", "อยุธยา"),
    ),
    Province("TH-15", "Ang Thong", "อ่างทอง", "อท", ("Angtong",)),
    Province("TH-16", "Lop Buri", "ลพบุรี", "ลบ", ("Lopburee",)),
    Province("TH-17", "Sing Buri", "สิงห์บุรี", "สห", ("Singhaburi", "Singhburi")),
    Province("TH-18", "Chai Nat", "ชัยนาท", "ชน", ("Chainart", "Chai Nart")),
    Province("TH-19", "Saraburi", "สระบุรี", "สบ", ("Sarburi",)),
    Province("TH-20", "Chon Buri", "ชลบุรี", "ชบ", ("Cholburi", "Chonburee", "Pattaya", "พัทยา")),
    Province("TH-21", "Rayong", "ระยอง", "รย"),
    Province("TH-22", "Chanthaburi", "จันทบุรี", "จบ", ("Chantaburi", "Chanthaburee", "Janthaburi")),
    Province("TH-23", "Trat", "ตราด", "ตร", ("Trad",)),
    Province("TH-24", "Chachoengsao", "ฉะเชิงเทรา", "ฉช", ("Chachengsao", "Chacheongsao", "Paet Rio")),
    Province("TH-25", "Prachin Buri", "ปราจีนบุรี", "ปจ", ("Prachinburee", "Prachineburi")),
    Province("TH-26", "Nakhon Nayok", "นครนายก", "นย", ("Nakorn Nayok", "Nakornnayok")),
    Province("TH-27", "Sa Kaeo", "สระแก้ว", "สก", ("Sa Kaew", "Srakaew", "Sra Kaeo", "Sakeo")),
    Province(
        "TH-30",
        "Nakhon Ratchasima",
        "นครราชสีมา",
        "นม",
        ("Korat", "Khorat", "Nakorn Ratchasima", "Nakhon Rachasima", "Nakornratchasima", "โคราช"),
    ),
    Province("TH-31", "Buri Ram", "บุรีรัมย์", "บร", ("Burirum",)),
    Province("TH-32", "Surin", "สุรินทร์", "สร"),
    Province("TH-33", "Si Sa Ket", "ศรีสะเกษ", "ศก", ("Sisaket", "Srisaket", "Sri Sa Ket", "Si Saket")),
    Province(
        "TH-34",
        "Ubon Ratchathani",
        "อุบลราชธานี",
        "อบ",
        ("Ubon", "Ubon Rachathani", "Ubonratchatani", "อุบล"),
    ),
    Province("TH-35", "Yasothon", "ยโสธร", "ยส", ("Yasotorn", "Yasothorn")),
    Province("TH-36", "Chaiyaphum", "ชัยภูมิ", "ชย", ("Chaiyapoom", "Chaiyaphoom")),
    Province("TH-37", "Amnat Charoen", "อำนาจเจริญ", "อจ", ("Amnartcharoen", "Amnat Chareon")),
    Province("TH-38", "Bueng Kan", "บึงกาฬ", "บก", ("Bung Kan", "Buengkarn", "Bueng Karn", "Beung Kan")),
    Province("TH-39", "Nong Bua Lam Phu", "หนองบัวลำภู", "นภ", ("Nong Bua Lamphu", "Nongbua Lamphu")),
    Province("TH-40", "Khon Kaen", "ขอนแก่น", "ขก", ("Khon Kean", "Khonkan", "Konkaen")),
    Province("TH-41", "Udon Thani", "อุดรธานี", "อด", ("Udon", "Udorn", "Udorn Thani", "Udontani", "อุดร")),
    Province("TH-42", "Loei", "เลย", "ลย", ("Loey",)),
    Province("TH-43", "Nong Khai", "หนองคาย", "นค", ("Nongkai", "Nong Kai")),
    Province("TH-44", "Maha Sarakham", "มหาสารคาม", "มค", ("Mahasarakam", "Maha Sarakam")),
    Province("TH-45", "Roi Et", "ร้อยเอ็ด", "รอ", ("Roied", "Roi Ed")),
    Province("TH-46", "Kalasin", "กาฬสินธุ์", "กส", ("Kalasinthu",)),
    Province("TH-47", "Sakon Nakhon", "สกลนคร", "สน", ("Sakon Nakorn", "Sakonnakorn")),
    Province("TH-48", "Nakhon Phanom", "นครพนม", "นพ", ("Nakorn Phanom", "Nakhon Panom", "Nakornpanom")),
    Province("TH-49", "Mukdahan", "มุกดาหาร", "มห", ("Mukdaharn",)),
    Province("TH-50", "Chiang Mai", "เชียงใหม่", "ชม", ("Chiengmai", "Chiang Mae")),
    Province("TH-51", "Lamphun", "ลำพูน", "ลพ", ("Lampoon", "Lampun")),
    Province("TH-52", "Lampang", "ลำปาง", "ลป"),
    Province("TH-53", "Uttaradit", "อุตรดิตถ์", "อต", ("Uttradit", "Utaradit")),
    Province("TH-54", "Phrae", "แพร่", "พร", ("Prae", "Phare")),
    Province("TH-55", "Nan", "น่าน", "นน"),
    Province("TH-56", "Phayao", "พะเยา", "พย", ("Payao",)),
    Province("TH-57", "Chiang Rai", "เชียงราย", "ชร", ("Chiengrai", "Chiang Rye")),
    Province("TH-58", "Mae Hong Son", "แม่ฮ่องสอน", "มส", ("Mae Hongson", "Maehongsorn")),
    Province("TH-60", "Nakhon Sawan", "นครสวรรค์", "นว", ("Nakorn Sawan", "Nakornsawan")),
    Province("TH-61", "Uthai Thani", "อุทัยธานี", "อน", ("Uthaitani", "Uthai Tani")),
    Province("TH-62", "Kamphaeng Phet", "กำแพงเพชร", "กพ", ("Kamphaengphet", "Kampaengpet", "Kamphaeng Pet")),
    Province("TH-63", "Tak", "ตาก", "ตก"),
    Province("TH-64", "Sukhothai", "สุโขทัย", "สท", ("Sukothai", "Sukhotai")),
    Province("TH-65", "Phitsanulok", "พิษณุโลก", "พล", ("Pitsanulok", "Phitsanuloke")),
    Province("TH-66", "Phichit", "พิจิตร", "พจ", ("Pichit", "Phichitr")),
    Province("TH-67", "Phetchabun", "เพชรบูรณ์", "พช", ("Petchabun", "Phetchaboon", "Petchaboon")),
    Province("TH-70", "Ratchaburi", "ราชบุรี", "รบ", ("Rajburi", "Rachaburi", "Ratburi")),
    Province("TH-71", "Kanchanaburi", "กาญจนบุรี", "กจ", ("Kanjanaburi", "Karnchanaburi")),
    Province("TH-72", "Suphan Buri", "สุพรรณบุรี", "สพ", ("Supanburi", "Suphanburee")),
    Province("TH-73", "Nakhon Pathom", "นครปฐม", "นฐ", ("Nakorn Pathom", "Nakhonpathom", "Nakornpathom")),
    Province("TH-74", "Samut Sakhon", "สมุทรสาคร", "สค", ("Samut Sakorn", "Samutsakorn", "Mahachai")),
    Province("TH-75", "Samut Songkhram", "สมุทรสงคราม", "สส", ("Samut Songkram", "Samutsongkram")),
    Province("TH-76", "Phetchaburi", "เพชรบุรี", "พบ", ("Petchaburi", "Phetburi", "Petburi")),
    Province(
        "TH-77",
        "Prachuap Khiri Khan",
        "ประจวบคีรีขันธ์",
        "ปข",
        ("Prachuap Kiri Khan", "Prachuabkhirikhan", "Prachuap", "ประจวบ"),
    ),
    Province(
        "TH-80",
        "Nakhon Si Thammarat",
        "นครศรีธรรมราช",
        "นศ",
        ("Nakorn Si Thammarat", "Nakhon Sri Thammarat", "Nakornsrithammarat", "Nakhon Si"),
    ),
    Province("TH-81", "Krabi", "กระบี่", "กบ"),
    Province("TH-82", "Phangnga", "พังงา", "พง", ("Phang Nga", "Pang Nga", "Pangnga")),
    Province("TH-83", "Phuket", "ภูเก็ต", "ภก", ("Puket", "Phuket Island")),
    Province("TH-84", "Surat Thani", "สุราษฎร์ธานี", "สฎ", ("Surat", "Suratthani", "Surat Tani", "สุราษฎร์")),
    Province("TH-85", "Ranong", "ระนอง", "รน"),
    Province("TH-86", "Chumphon", "ชุมพร", "ชพ", ("Chumpon", "Chumporn")),
    Province("TH-90", "Songkhla", "สงขลา", "สข", ("Songkla",)),
    Province("TH-91", "Satun", "สตูล", "สต", ("Satoon",)),
    Province("TH-92", "Trang", "ตรัง", "ตง"),
    Province("TH-93", "Phatthalung", "พัทลุง", "พท", ("Patthalung", "Phattalung", "Pattalung")),
    Province("TH-94", "Pattani", "ปัตตานี", "ปน", ("Patani",)),
    Province("TH-95", "Yala", "ยะลา", "ยล"),
    Province("TH-96", "Narathiwat", "นราธิวาส", "นธ", ("Naratiwat", "Narathiwas")),
)

PROVINCE_CODES: Final = frozenset(province.code for province in PROVINCES)
