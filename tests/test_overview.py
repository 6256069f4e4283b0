"""/overzicht through the fake Bot API: pairs in each risky state show their flag, riskiest
first; filters by city and phase and pages edit the same message; a pair's detail view and
the way back; and nobody but a coordinator sees any of it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import update

from bot.domain import risks
from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.programme import Text
from bot.services import exchanges
from bot.texts import get_texts
from bot.ui import overview as ui
from bot.ui.callbacks import MAX_BYTES
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    CheckIn,
    ExchangePhase,
    Incident,
    Membership,
    User,
)
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, COORDINATOR_ID, said, said_any
from tests.flows import only
from tests.harness import Harness
from tests.services.world import NOW, STANDARD, add_user
from tests.test_readonly import Writes

# Monday 8 February 2027: week 2 of a programme that started on 1 February.
TODAY = datetime(2027, 2, 8, 10, 0, tzinfo=AMS)
LATER = date(2027, 3, 1)  # a programme three weeks ahead: nothing can be late yet
_ids = itertools.count(20_000)


@dataclass(frozen=True)
class Pair:
    id: int
    label: str  # as on its button: "#12 School A – School B"


async def pair(
    h: Harness,
    name: str,
    *,
    start: date = LATER,
    city: str = "Amsterdam",
    sides: tuple[str, ...] = ("A", "B"),
    begeleider: bool = True,
    agreed: bool = False,
    incident: str | None = None,
    tension_on: date | None = None,
) -> Pair:
    """A pair straight in the database, with the teachers of `sides` and a begeleider."""
    assert h.db is not None
    async with h.db.write() as session:
        if await session.get(User, COORDINATOR_ID) is None:
            add_user(session, COORDINATOR_ID, "Carla", coordinator=True)
            await session.flush()
        data = ExchangeInput(
            programme_key=STANDARD.key,
            city=city,
            start_date=start,
            sides=[
                SideInput(f"{name} A", "Dorpsstraat 1", "groep 8", 24),
                SideInput(f"{name} B", None, "groep 7", 22),
            ],
            region="noord",
        )
        exchange = await exchanges.create_exchange(
            session, data, STANDARD, created_by=COORDINATOR_ID, now=NOW
        )
        people = []
        for side in sides:
            person = add_user(session, next(_ids), f"Leerkracht {name} {side}")
            people.append((person, ROLE_TEACHER, side))
        if begeleider:
            people.append(
                (add_user(session, next(_ids), f"Begeleider {name}"), ROLE_BEGELEIDER, None)
            )
        await session.flush()
        for person, role, side in people:
            session.add(
                Membership(
                    user_id=person.id,
                    exchange_id=exchange.id,
                    role=role,
                    side=side,
                    joined_at=NOW,
                )
            )
        if agreed:
            await session.execute(
                update(ExchangePhase)
                .where(ExchangePhase.exchange_id == exchange.id)
                .values(agreed=True)
            )
        if incident is not None:
            session.add(
                Incident(
                    exchange_id=exchange.id,
                    category="conflict",
                    severity="urgent",
                    status=incident,
                    created_at=NOW,
                )
            )
        if tension_on is not None:
            session.add(
                CheckIn(
                    exchange_id=exchange.id,
                    phase_key="exchange_day_1",
                    day=tension_on,
                    user_id=people[-1][0].id,
                    checked_in_at=NOW,
                    checked_out_at=NOW,
                    rating=3,
                    tension=True,
                )
            )
        return Pair(exchange.id, f"#{exchange.id} {name} A – {name} B")


def block_of(message: BotMessage, found: Pair) -> str:
    """The lines of one pair in the overview: from its name to the next empty line."""
    text = message.text
    start = text.index(found.label)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)]


def current(h: Harness, user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as it is now (after edits)."""
    return next(m for m in h.tg.messages(user.id) if m.message_id == message.message_id)


async def start_at_monday(h: Harness) -> FakeUser:
    h.clock.set(TODAY)
    return h.user(COORDINATOR_ID, "Carla", username="carla_wimw")


async def test_nothing_to_show_points_at_nieuw(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    assert only(await h.send(carla, "/overzicht")).text == said("overview.none")
    assert only(await h.send(carla, "/overview")).text == said("overview.none")


async def test_a_teacher_is_not_allowed(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    found = await pair(h, "Noord")
    teacher = h.user(20_000, "Leerkracht Noord A")
    assert only(await h.send(teacher, "/overzicht")).text == said("auth.not_allowed")
    # Buttons made up by hand are refused the same way, and show nothing.
    own = only(await h.send(teacher, "/help"))
    for data in ("ov:m.-.-.0", ui.detail_data(found.id, ui.Page())):
        assert await h.press_data(teacher, own.message_id, data, force=True) == []
        assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    assert found.label in only(await h.send(carla, "/overzicht")).text


async def test_each_risky_pair_shows_its_flag_riskiest_first(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    calm = await pair(h, "Kalm", incident="acknowledged", agreed=True)
    dates = await pair(h, "Data", start=date(2027, 2, 1))
    bare = await pair(h, "Kaal", start=date(2027, 2, 8), begeleider=False)
    alarm = await pair(h, "Alarm", incident="open")
    teacher = await pair(h, "Leeg", sides=("A",))
    tense = await pair(h, "Spanning", city="Rotterdam", tension_on=date(2027, 2, 5))

    view = only(await h.send(carla, "/overzicht"))
    text = view.text
    assert said("overview.heading", pairs="6 koppels") in text
    assert said("overview.attention_many", count=5) in text

    assert said("risks.incident_open_one", severity="urgent") in block_of(view, alarm)
    assert said(
        "risks.no_begeleider", phase="Uitwisselingsdag 1", day="woensdag 17 februari"
    ) in block_of(view, bare)
    assert said("risks.teacher_missing", what="Nog geen leerkracht van Leeg B in de bot") in (
        block_of(view, teacher)
    )
    assert said("risks.tension_one", day="vrijdag 5 februari") in block_of(view, tense)
    data_block = block_of(view, dates)
    assert (
        said("risks.dates_open", days="Uitwisselingsdag 1, Uitwisselingsdag 2, Afsluiting")
        in data_block
    )
    assert said_any("risks.overdue_many").search(data_block)
    # The calm pair: an incident seen (so no flag, but it is still open), nothing else.
    calm_block = block_of(view, calm)
    assert "⚠️" not in calm_block and "🚨 1 open incident" in calm_block
    assert said_any("overview.progress").search(calm_block)

    # An incident nobody saw first, then a day without a begeleider; the calm one last.
    order = sorted((alarm, bare, teacher, dates, tense, calm), key=lambda p: text.index(p.label))
    assert order[:2] == [alarm, bare] and order[-1] == calm
    # A button per pair, in the same order.
    assert [t for t in view.button_texts if t.startswith("#")] == [p.label for p in order]


async def test_filters_by_city_and_phase_edit_the_same_message(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    carla = await start_at_monday(h)
    orientation = await pair(h, "Begin", start=date(2027, 2, 8))
    later = await pair(h, "Later")
    rotterdam = await pair(h, "Maas", city="Rotterdam")
    view = only(await h.send(carla, "/overzicht"))
    assert {"Alle steden", "🏙 Amsterdam", "🏙 Rotterdam"} <= {
        t.removeprefix("✓ ") for t in view.button_texts
    }
    assert "✓ Alle steden" in view.button_texts and "✓ Alle fasen" in view.button_texts
    assert "Oriëntatie" in view.button_texts and "Nog niet begonnen" in view.button_texts

    assert h.db is not None
    writes = Writes(h.db, monkeypatch)
    assert await h.press(carla, view, "🏙 Rotterdam") == []  # edited, nothing new
    shown = current(h, carla, view)
    assert rotterdam.label in shown.text
    assert later.label not in shown.text and orientation.label not in shown.text
    assert said("overview.filtered", filters="Rotterdam") in shown.text
    assert "✓ 🏙 Rotterdam" in shown.button_texts

    await h.press(carla, shown, "Oriëntatie")  # Rotterdam and orientation: none
    shown = current(h, carla, view)
    assert said("overview.none_filtered") in shown.text

    await h.press(carla, shown, "Alle steden")  # orientation anywhere
    shown = current(h, carla, view)
    assert orientation.label in shown.text
    assert later.label not in shown.text and rotterdam.label not in shown.text
    assert "✓ Oriëntatie" in shown.button_texts
    assert writes.none, writes.statements


async def test_no_filter_buttons_with_one_city_and_one_phase(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    await pair(h, "Een")
    await pair(h, "Twee")
    view = only(await h.send(carla, "/overzicht"))
    assert not any("steden" in t or "fasen" in t for t in view.button_texts)


async def test_pages_of_eight_with_more_and_previous(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    made = [await pair(h, f"School {n:02d}") for n in range(10)]
    view = only(await h.send(carla, "/overzicht"))
    first = [t for t in view.button_texts if t.startswith("#")]
    assert len(first) == 8
    assert said("overview.page", first=1, last=8, count=10) in view.text
    assert said("overview.btn_more") in view.button_texts
    assert said("overview.btn_previous") not in view.button_texts

    assert await h.press(carla, view, said("overview.btn_more")) == []
    shown = current(h, carla, view)
    second = [t for t in shown.button_texts if t.startswith("#")]
    assert len(second) == 2 and not set(first) & set(second)
    assert {*first, *second} == {p.label for p in made}
    assert said("overview.page", first=9, last=10, count=10) in shown.text
    assert said("overview.btn_more") not in shown.button_texts

    await h.press(carla, shown, said("overview.btn_previous"))
    assert [t for t in current(h, carla, view).button_texts if t.startswith("#")] == first


async def test_the_detail_view_and_back(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    found = await pair(h, "Alarm", incident="open", start=date(2027, 2, 1))
    other = await pair(h, "Rustig")
    view = only(await h.send(carla, "/overzicht"))
    assert await h.press(carla, view, found.label) == []
    shown = current(h, carla, view)
    text = shown.text
    assert said("overview.detail_heading", id=found.id, title="Alarm A – Alarm B") in text
    assert "A: Alarm A, groep 8 (24 leerlingen) – Dorpsstraat 1" in text
    assert "B: Alarm B, groep 7 (22 leerlingen) – " + said("schools.no_address") in text
    assert said("overview.section_dates") in text and "Uitwisselingsdag 1" in text
    assert "(voorlopig, nog af te spreken)" in text
    assert said("overview.teacher", school="Alarm A", name="Leerkracht Alarm A") in text
    assert said("overview.begeleider", name="Begeleider Alarm", days="alle dagen") in text
    assert said_any("overview.progress_side").search(text)
    assert said_any("overview.incident_open").search(text)
    assert said("overview.group_none") in text
    assert said("overview.section_flags") in text
    assert said_any("risks.incident_open_one").search(text)
    assert shown.button_texts == [
        said("overview.btn_manage"),
        said("overview.btn_log"),
        said("overview.btn_broadcast"),
        said("overview.btn_group"),
        said("overview.btn_back"),
    ]
    data = [b.callback_data for row in shown.buttons for b in row]
    assert data[:4] == [f"mg:{found.id}", f"lg:{found.id}", f"bcx:{found.id}", f"grp:{found.id}"]

    await h.press(carla, shown, said("overview.btn_back"))
    back = current(h, carla, view)
    assert found.label in back.text and other.label in back.text


async def test_all_pairs_and_the_usage(harness: Harness) -> None:
    h = harness
    carla = await start_at_monday(h)
    otto = h.user(1001, "Otto")
    assert h.db is not None
    async with h.db.write() as session:
        add_user(session, 1001, "Otto", coordinator=True)
    found = await pair(h, "Van Carla")
    assert only(await h.send(otto, "/overzicht")).text == said("overview.none_mine")
    everything = only(await h.send(otto, "/overzicht alle"))
    assert found.label in everything.text
    assert said("overview.heading_all", pairs="1 koppel") in everything.text
    assert only(await h.send(carla, "/overzicht morgen")).text == said("overview.usage")


async def test_in_english(harness: Harness) -> None:
    h = harness
    h.clock.set(TODAY)
    carla = h.user(COORDINATOR_ID, "Carla", language_code="en")
    assert only(await h.send(carla, "/overview")).text == said("overview.none", "en")
    found = await pair(h, "Data", start=date(2027, 2, 1))
    view = only(await h.send(carla, "/overview"))
    assert said("overview.heading", "en", pairs="1 pair") in view.text
    assert said(
        "risks.dates_open", "en", days="Exchange day 1, Exchange day 2, Closing"
    ) in block_of(view, found)
    await h.press(carla, view, found.label)
    shown = current(h, carla, view)
    assert said("overview.section_flags", "en") in shown.text
    assert said("overview.btn_back", "en") in shown.button_texts


def test_the_longest_button_data_fits() -> None:
    page = ui.Page("all", 999, "k" * 32, 99_999)
    for data in (ui.page_data(page), ui.detail_data(2**31 - 1, page)):
        assert len(data.encode()) <= MAX_BYTES, data
        assert ui.parse_page(data.split(":")[-1]) == page
    assert ui.parse_detail(ui.detail_data(12, page)) == (12, page)
    assert ui.parse_page("rubbish") == ui.Page()
    assert ui.parse_detail("ovd:x:m.-.-.0") == (None, ui.Page())


def test_every_flag_is_spelled_out() -> None:
    texts = get_texts()
    day = date(2027, 2, 10)
    meetings = tuple(Text(f"Ontmoeting {n}", f"Meeting {n}") for n in range(1, 6))
    cases = [
        (
            risks.Flag(risks.DATES_OPEN, {"phases": meetings, "count": 5}),
            "⚠️ Data nog niet afgesproken: Ontmoeting 1, Ontmoeting 2, Ontmoeting 3 en nog 2",
        ),
        (
            risks.Flag(risks.OVERDUE, {"count": 1, "oldest": day}),
            "⚠️ 1 checklistpunt over de deadline (sinds woensdag 10 februari)",
        ),
        (
            risks.Flag(risks.NO_BEGELEIDER, {"phase": meetings[0], "day": day, "count": 3}),
            "⚠️ Geen begeleider voor Ontmoeting 1 (woensdag 10 februari), "
            "en ook niet voor de 2 dagen daarna",
        ),
        (
            risks.Flag(risks.INCIDENT_OPEN, {"count": 2, "severity": "high", "since": NOW}),
            "🚨 2 incidenten nog door niemand gezien (ernstigste: hoog)",
        ),
        (
            risks.Flag(risks.TEACHER_MISSING, {"schools": ("De Odyssee",), "blocked": ("Anouk",)}),
            "⚠️ Nog geen leerkracht van De Odyssee in de bot; Anouk heeft de bot geblokkeerd",
        ),
        (
            risks.Flag(risks.TENSION, {"day": day, "count": 2}),
            "⚠️ 2 begeleiders meldden spanning bij het uitchecken (woensdag 10 februari)",
        ),
    ]
    for flag, expected in cases:
        assert ui.flag_text(texts, "nl", flag) == expected
        assert ui.flag_text(texts, "en", flag)
    assert ui.flag_text(texts, "en", cases[0][0]) == (
        "⚠️ Dates not agreed yet: Meeting 1, Meeting 2, Meeting 3 and 2 more"
    )
