"""Who plays the season: one coordinator and thirty exchanges in three cities.

Three cohorts start a week apart, so on most days some exchanges are preparing, some have an
exchange day and some are closing. Ids follow one rule (exchange n: teachers 2000 + 10n + k,
begeleiders 3000 + 10n + k) so a transcript line can always be traced to its exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

COORDINATOR_ID = 1000
COORDINATOR_NAME = "Carla"

CITIES = {
    "Amsterdam": "noord",
    "Rotterdam": "zuid",
    "Utrecht": "midden",
}

STARTS = (date(2027, 2, 1), date(2027, 2, 8), date(2027, 2, 15))

SCHOOLS = {
    "Amsterdam": [
        ("De Avonturijn", "Kolenkitbuurt 12"),
        ("De Odyssee", "Wingerdweg 3"),
        ("Het Kompas", "Pretoriusstraat 44"),
        ("De Kraal", "Sloterweg 101"),
        ("Het Gein", "Gein 5"),
        ("De Vuurvogel", "Jan Evertsenstraat 88"),
        ("Olympiaschool", "Stadionkade 2"),
        ("De Wereldburger", "Bilderdijkpark 9"),
        ("Het Palet", "Zuiderzeeweg 14"),
        ("De Zonnebloem", "Osdorpplein 70"),
        ("Elzenhagen", "Elzenhagensingel 1"),
        ("De Meer", "Middenweg 201"),
        ("Bijlmerhorst", "Bijlmerdreef 6"),
        ("IJburg College Basis", "Pampuslaan 30"),
        ("De Springplank", "Van Limburg Stirumstraat 5"),
        ("Het Startpunt", "Dapperstraat 18"),
        ("De Achtsprong", "Molenwijk 27"),
        ("Ookmeer", "Ookmeerweg 250"),
        ("De Notenkraker", "Javaplein 11"),
        ("Het Ravelijn", "Nieuwe Herengracht 8"),
        ("De Tamarinde", "Reigersbos 40"),
        ("Kinderrijk", "Buikslotermeerplein 3"),
    ],
    "Rotterdam": [
        ("De Globetrotter", "Mathenesserweg 20"),
        ("Het Waterrijk", "Maasboulevard 4"),
        ("De Klimop", "Kralingseweg 77"),
        ("Het Anker", "Katendrechtse Lagedijk 9"),
        ("Over de Maas", "Putselaan 150"),
        ("De Regenboog", "Prinsenland 33"),
        ("Pameijer Basis", "Schiekade 81"),
        ("De Sleutel", "Oude Watering 2"),
        ("De Hoeksteen", "Hillevliet 12"),
        ("Charlois Oost", "Wolphaertsbocht 48"),
        ("De Fontein", "Ommoord 19"),
        ("Het Baken", "Delfshaven 3"),
        ("Nelson Mandela", "Afrikaanderplein 1"),
        ("De Bavokerk School", "Bergweg 60"),
        ("De Pijler", "Beverwaard 14"),
        ("Het Mozaïek", "Spangen 22"),
        ("De Schalm", "Lombardijen 5"),
        ("Tarwewijkschool", "Mijnsherenlaan 99"),
        ("De Vlinderboom", "Zevenkamp 31"),
        ("Het Tij", "Hoogvliet 12"),
    ],
    "Utrecht": [
        ("De Kleine Prins", "Kanaleneiland Zuid 10"),
        ("Het Zonnewiel", "Lunetten 44"),
        ("De Twaalf Ambachten", "Overvecht 3"),
        ("Wilhelminaschool", "Wittevrouwen 21"),
        ("Al-Ghazali", "Zuilen 8"),
        ("De Vrije School Utrecht", "Oog in Al 15"),
        ("Het Wilgenhof", "Leidsche Rijn 90"),
        ("Pieter Nieuwland", "Transwijk 7"),
        ("De Boog", "Hoograven 31"),
        ("Kon. Julianaschool", "Tuindorp 2"),
        ("Het Anker Utrecht", "Votulast 4"),
        ("De Ster", "Vleuten 66"),
        ("De Pijlstaart", "Ondiep 17"),
        ("Het Spectrum", "Zuilen Noord 4"),
        ("De Kameleon", "Kanaleneiland Noord 25"),
        ("Jenaplanschool Utrecht", "Rivierenwijk 9"),
        ("De Notenboom", "Hoograven 70"),
        ("Het Zilverschoon", "Terwijde 11"),
    ],
}

TEACHER_NAMES = (
    "Anouk Visser",
    "Bas de Jong",
    "Femke Bakker",
    "Sander Mulder",
    "Yasmina El Idrissi",
    "Joost Smit",
    "Iris Meijer",
    "Ruben de Vries",
    "Lotte Jansen",
    "Mehmet Yilmaz",
    "Sanne de Boer",
    "Thijs Hendriks",
    "Esra Kaya",
    "Pieter van Dijk",
    "Nadia Haddou",
    "Koen Peters",
    "Maartje Dekker",
    "Rachid Amrani",
    "Eva Brouwer",
    "Daan Vos",
    "Fleur Kramer",
    "Mustafa Demir",
    "Ilse Verbeek",
    "Wouter Bos",
    "Samira Bouzid",
    "Jeroen Willems",
    "Marloes Koster",
    "Hakan Öztürk",
    "Linda Schouten",
    "Tim Huisman",
    "Naima Ouali",
    "Bart Lammers",
    "Esther Post",
    "Gijs van Leeuwen",
    "Zeynep Arslan",
    "Martijn Vermeulen",
    "Chantal Pinas",
    "Robin de Graaf",
    "Anke Timmermans",
    "Jamal Benali",
    "Kim van der Linden",
    "Loes Claassen",
    "Orhan Çelik",
    "Merel Jacobs",
    "Stefan de Wit",
    "Fadoua Azzouzi",
    "Niels Prins",
    "Judith Kok",
    "Kerem Aydın",
    "Annemiek Wolters",
    "Vincent Smits",
    "Hanna Maas",
    "Achmed Ziani",
    "Renske Dijkstra",
    "Paul Kuipers",
    "Soufiane Amezian",
    "Nathalie Groen",
    "Erik Veenstra",
    "Dewi Sutanto",
    "Lars van Wijk",
    "Sabine Evers",
)
BEGELEIDER_NAMES = (
    "Ghislaine",
    "Bram",
    "Hatice",
    "Wim",
    "Priya",
    "Jelle",
    "Ayşe",
    "Henk",
    "Marieke",
    "Otto",
    "Sevda",
    "Kees",
    "Liesbeth",
    "Youssef",
    "Roos",
    "Gerrit",
    "Fatima",
    "Tom",
    "Hanneke",
    "Dirk",
    "Noor",
    "Arjen",
    "Bouchra",
    "Frits",
    "Gülay",
    "Lieke",
    "Hamid",
    "Ria",
    "Stijn",
    "Meryem",
    "Joop",
    "Ineke",
)


@dataclass
class Person:
    user_id: int
    name: str
    role: str  # "teacher" | "begeleider" | "coordinator"
    side: str | None = None
    username: str | None = None

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def last_name(self) -> str | None:
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) == 2 else None


@dataclass
class ExchangeSpec:
    number: int  # 1..30, the order of creation (and the exchange id)
    city: str
    start: date
    school_a: tuple[str, str]
    school_b: tuple[str, str]
    size_a: int
    size_b: int
    via_bot: bool  # made with /nieuw by the coordinator, else imported from a CSV file
    teachers: list[Person] = field(default_factory=list)
    begeleiders: list[Person] = field(default_factory=list)
    exchange_id: int = 0

    @property
    def region(self) -> str:
        return CITIES[self.city]

    @property
    def label(self) -> str:
        return f"{self.school_a[0]} – {self.school_b[0]} ({self.city})"

    def teacher(self, side: str, n: int = 0) -> Person:
        return [t for t in self.teachers if t.side == side][n]


def build_cast() -> list[ExchangeSpec]:
    """Thirty exchanges: twenty (7 in Amsterdam, 7 in Rotterdam, 6 in Utrecht), then ten more
    imported later in the same three cities (4, 3, 3), three start weeks."""
    batches = (
        {"Amsterdam": (0, 7), "Rotterdam": (0, 7), "Utrecht": (0, 6)},
        {"Amsterdam": (7, 11), "Rotterdam": (7, 10), "Utrecht": (6, 9)},
    )
    specs: list[ExchangeSpec] = []
    teacher_names = iter(TEACHER_NAMES)
    begeleider_names = iter(BEGELEIDER_NAMES)
    places = [
        (city, k)
        for batch in batches
        for city, (first, last) in batch.items()
        for k in range(first, last)
    ]
    for number, (city, k) in enumerate(places, start=1):
        schools = SCHOOLS[city]
        spec = ExchangeSpec(
            number=number,
            city=city,
            start=STARTS[k % 3],
            school_a=schools[2 * k],
            school_b=schools[2 * k + 1],
            size_a=20 + (number * 7) % 11,
            size_b=19 + (number * 5) % 12,
            # The first exchange of each city (and a second in Amsterdam) goes through /nieuw;
            # the rest are imported.
            via_bot=k < (2 if city == "Amsterdam" else 1),
        )
        base = 2000 + 10 * number
        spec.teachers = [
            Person(base + 1, next(teacher_names), "teacher", "A"),
            Person(base + 3, next(teacher_names), "teacher", "B"),
        ]
        if number == 2:
            # Two teachers share class A of exchange 2 (a job share): both tick the checklist.
            spec.teachers.insert(1, Person(base + 2, next(teacher_names), "teacher", "A"))
        bases = 3000 + 10 * number
        spec.begeleiders = [Person(bases + 1, next(begeleider_names), "begeleider")]
        if number in (1, 8):
            spec.begeleiders.append(Person(bases + 2, next(begeleider_names), "begeleider"))
        if number == 13:
            spec.begeleiders = []  # nobody ever signs up as begeleider for exchange 13
        specs.append(spec)
    return specs


def csv_for(specs: list[ExchangeSpec]) -> str:
    """The imported exchanges as the CSV file a coordinator would hand to `python -m bot import`."""
    lines = [
        "programme;city;start_date;school_a;address_a;class_a;size_a;"
        "school_b;address_b;class_b;size_b;region"
    ]
    for p in specs:
        lines.append(
            ";".join(
                [
                    "standaard",
                    p.city,
                    p.start.strftime("%d-%m-%Y"),
                    p.school_a[0],
                    p.school_a[1],
                    "groep 8",
                    str(p.size_a),
                    p.school_b[0],
                    p.school_b[1],
                    "groep 7/8",
                    str(p.size_b),
                    p.region,
                ]
            )
        )
    return "\n".join(lines) + "\n"
