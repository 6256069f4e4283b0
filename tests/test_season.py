"""A whole season: one coordinator, thirty exchanges in three cities, four weeks each.

People do what people do: they join late or never, propose a date on Friday evening and get
an answer on Monday, tick the same checklist from two phones, tap twice, edit a message, lose
a pupil on the way back from the speurtocht, send a long report with a photo, block the bot,
and the bot restarts in the middle of it all. At the end the invariants of issue 7 must hold
over everything that happened. Every finding is collected (with evidence) before the test
fails, so one run shows all of them.

`make season` sets SEASON_TRANSCRIPT and this test then writes every message each person
received (in local time, with buttons and edits) to that file.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import ChecklistTick, IncidentAction
from db.session import Database
from fake_telegram import FakeUser
from tests.fixtures import AMS, START, make_settings, said, said_any
from tests.harness import Harness
from tests.season import invariants, transcript
from tests.season.cast import ExchangeSpec, Person, build_cast
from tests.season.coordinating import (
    coordinator_day_events,
    coordinator_events,
    gathered_notices_wait,
)
from tests.season.driver import Season
from tests.season.events import Event, local
from tests.season.steps import (
    checkout,
    count_both,
    create_via_bot,
    headcounts,
    import_exchanges,
    incidents_of,
    invite,
    join,
    keypad,
    phase_dates,
    pick_first,
)

END = datetime(2027, 3, 16, 12, 0, tzinfo=AMS)
# Every date proposal of the season is answered before this, and no exchange day comes earlier.
AGREED = datetime(2027, 2, 5, 12, 0, tzinfo=AMS)
LONG_REPORT = (
    "🚑 Tijdens de wandeling door de wijk is een leerling van team 2 bij de brug over de gracht "
    "gestruikeld over een losliggende stoeptegel en met de pols op de rand van de stoep "
    "terechtgekomen. 😢 De pols is dik en doet pijn bij bewegen; koelen met een natte doek hielp "
    "een beetje. Temperatuur < 38 graden, niet duizelig, wel geschrokken & stil. "
    "We zijn met het hele team teruggelopen naar de gastschool (±10 minuten) en hebben daar "
    "de EHBO-doos gebruikt. 🩹 De ouders zijn gebeld door de leerkracht van de eigen school; "
    "een ouder komt om 11:30 om met het kind naar de huisartsenpost te gaan. 🏥 "
    "De andere kinderen van het team zijn bij een ander team aangesloten en doen de speurtocht "
    "verder met twee begeleiders. 👣 De stoeptegel ligt er nog: graag doorgeven aan de gemeente "
    "(hoek Kade/Brugstraat, naast de bushalte). 🚧 Twee kinderen van team 5 hebben het gezien "
    "en waren er even stil van; we hebben er in de kring kort over gepraat. 💬 "
    "Verder gaat de dag goed: de interviews waren levendig en de teams werken fijn samen. 🙂 "
    "Ik meld het omdat de ouders misschien vragen stellen en omdat de plek gevaarlijk is voor "
    "de volgende groep die morgen dezelfde route loopt. ⚠️ Graag even terugbellen als er iets "
    "anders moet. 📞 Einde melding."
)


async def play(s: Season, events: list[Event]) -> None:
    """Run the events in time order, letting the clock (and every push) run in between."""
    for event in sorted(events, key=lambda e: e.at):
        await s.until(event.at)
        await event.run()


# -- setting up the season ---------------------------------------------------------------


async def create_and_invite(s: Season) -> dict[int, list[str]]:
    await s.type(s.coordinator, "/start")
    by_bot = [p for p in s.exchanges if p.via_bot]
    for spec in by_bot:
        spec.exchange_id = await create_via_bot(s, spec, double_save=spec.number == 2)
    s.h.clock.advance(timedelta(minutes=20))
    imported = [p for p in s.exchanges if not p.via_bot]
    s.log.act(
        s.h.clock,
        s.coordinator.id,
        "typed",
        f"(python -m bot import seizoen.csv: {len(imported)} koppels)",
    )
    for spec, exchange_id in zip(imported, await import_exchanges(s, imported), strict=True):
        spec.exchange_id = exchange_id
    return {spec.number: await invite(s, spec) for spec in s.exchanges}


def joining(s: Season, tokens: dict[int, list[str]]) -> list[Event]:
    """Most people join in the first days; some late, one teacher and one begeleider never."""
    events: list[Event] = []
    for spec in s.exchanges:
        for k, person in enumerate(spec.teachers + spec.begeleiders):
            if spec.number == 7 and person.side == "B":
                continue  # this teacher never joins
            when = local(date(2027, 1, 11 + (spec.number + k) % 4), 10 + k, 5 * (spec.number % 8))
            if spec.number == 2 and person.side == "A" and person is spec.teacher("A", 1):
                when = local(date(2027, 1, 25), 16, 10)  # the job-share colleague, later
            if spec.number == 4 and person.side == "B":
                when = local(date(2027, 2, 2), 19, 40)  # late: the programme is under way
            if spec.number == 10 and person.role == "begeleider":
                when = local(date(2027, 2, 23), 20, 15)  # the evening before the first day
            # Links work for two weeks: whoever comes later asks the coordinator for a new one.
            fresh = when > START + timedelta(days=13)
            events.append(
                Event(when, f"{person.name} joins", _joiner(s, spec, person, tokens, fresh))
            )
    return events


def _joiner(
    s: Season, spec: ExchangeSpec, person: Person, tokens: dict[int, list[str]], fresh: bool
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if fresh:
            tokens[spec.number] = await invite(s, spec)
        await join(s, person, tokens[spec.number])

    return run


# -- agreeing dates ------------------------------------------------------------------------


async def propose(
    s: Season, spec: ExchangeSpec, who: Person | FakeUser, phase: str, day: str, hhmm: str
) -> None:
    replies = await s.type(who, "/datum")
    if "Voor welke uitwisseling" in replies[-1].text:
        replies = await s.tap(who, replies[-1], f"#{spec.exchange_id}")
    replies = await s.tap(who, replies[-1], phase)
    replies = await s.tap(who, replies[-1], day)
    await s.type(who, hhmm)


def date_events(s: Season) -> list[Event]:
    p1, p3, p7 = s.exchanges[0], s.exchanges[2], s.exchanges[6]
    events = []

    async def friday_evening() -> None:
        # Friday 21:30: teacher A of exchange 1 proposes the first exchange day.
        await propose(s, p1, p1.teacher("A"), "Uitwisselingsdag 1", "donderdag 11 februari", "9:00")

    async def monday_answer() -> None:
        proposal = s.last(p1.teacher("B"), "stelt voor")
        s.log.expect(
            proposal is not None,
            "a date proposed on Friday at 21:30 reaches the other teacher on Monday morning",
            f"{p1.teacher('B').name} has no proposal; proposal rows skipped: "
            f"{[x.error for x in await s.h.pushes('skipped') if x.kind == 'date_proposal']}",
        )
        if proposal is None:
            return
        arrived = next(
            (
                s.calls.stamp(c).at
                for c in s.calls
                if c.ok
                and c.method == "sendMessage"
                and isinstance(c.result, dict)
                and c.result.get("message_id") == proposal.message_id
                and int(c.params["chat_id"]) == p1.teacher("B").user_id
            ),
            None,
        )
        s.log.expect(
            arrived is not None
            and arrived.astimezone(AMS).hour >= 7
            and arrived.astimezone(AMS).weekday() == 0,
            "the Friday-evening proposal waits for Monday 07:00 (not the night, not the weekend)",
            arrived,
        )
        replies = await s.tap(p1.teacher("B"), proposal, "Akkoord", double=True)
        s.log.expect(
            sum("Afgesproken" in (m.text or "") for m in replies) == 1,
            "a double tap on Akkoord agrees the date once",
            [m.text for m in replies],
        )

    async def closing_by_coordinator() -> None:
        replies = await s.type(s.coordinator, "/datum")
        replies = await s.tap(s.coordinator, replies[-1], f"#{p3.exchange_id}")
        replies = await s.tap(s.coordinator, replies[-1], "Afsluiting")
        replies = await pick_first(s, s.people[1000], replies[-1])
        await s.type(s.coordinator, "13:30")

    async def to_the_coordinator() -> None:
        # Teacher B of exchange 7 never joined: the proposal goes to the coordinator.
        await propose(s, p7, p7.teacher("A"), "Uitwisselingsdag 2", "woensdag 17 februari", "8:30")
        await s.until(s.h.clock.now() + timedelta(minutes=25))
        proposal = s.last(s.coordinator, "stelt voor")
        s.log.expect(proposal is not None, "a proposal without a partner reaches the coordinator")
        if proposal is not None:
            await s.tap(s.coordinator, proposal, "Akkoord")

    events.append(Event(local(date(2027, 1, 29), 21, 30), "Friday proposal", friday_evening))
    events.append(Event(local(date(2027, 2, 1), 8, 15), "Monday answer", monday_answer))
    events.append(Event(local(date(2027, 1, 27), 14, 0), "closing set", closing_by_coordinator))
    events.append(Event(local(date(2027, 2, 2), 10, 0), "to coordinator", to_the_coordinator))
    return events


# -- checklists ------------------------------------------------------------------------------


def checklist_events(s: Season) -> list[Event]:
    p2, p5 = s.exchanges[1], s.exchanges[4]
    first, second = p2.teacher("A", 0), p2.teacher("A", 1)

    async def both_tick() -> None:
        digest_a = s.last(first, "Nog te doen")
        digest_b = s.last(second, "Nog te doen")
        s.log.expect(
            digest_a is not None and digest_b is not None,
            "both teachers of a class get the digest with their class's open items",
        )
        if digest_a is None or digest_b is None:
            return
        await s.tap(first, digest_a, digest_a.buttons[0][0].text)
        # Her colleague's phone still shows that first item open; she ticks it too, then the next.
        s.at(s.h.clock.now() + timedelta(minutes=12))
        button = digest_b.buttons[0][0]
        await s.tap(second, digest_b, button.text)
        s.at(s.h.clock.now() + timedelta(minutes=3))
        await s.tap(second, digest_b, digest_b.buttons[1][0].text)
        async with s.h.db.read() as session:  # type: ignore[union-attr]
            ticks = set(
                await session.scalars(
                    select(ChecklistTick.item_key).where(
                        ChecklistTick.exchange_id == p2.exchange_id, ChecklistTick.holder == "A"
                    )
                )
            )
        key = str(button.callback_data).rsplit(":", 1)[-1]
        s.log.expect(
            key in ticks,
            "two teachers of one class ticking the same item leave it ticked",
            f"exchange 2: {second.name} pressed '{button.text}' after {first.name} had ticked it; "
            f"ticked now: {sorted(ticks)}",
        )

    async def double_tap_nag() -> None:
        nag = s.last(p5.teacher("A"), "Herinnering")
        if nag is None or not nag.buttons:
            return
        label = nag.buttons[0][0].text
        await s.tap(p5.teacher("A"), nag, label, double=True)
        async with s.h.db.read() as session:  # type: ignore[union-attr]
            ticks = list(
                await session.scalars(
                    select(ChecklistTick.item_key).where(
                        ChecklistTick.exchange_id == p5.exchange_id
                    )
                )
            )
        s.log.expect(
            ticks,
            "a double tap on an open item in a reminder leaves it ticked",
            f"exchange 5: '{label}' is open again after a double tap",
        )

    events = [
        Event(local(date(2027, 2, 8), 8, 40), "both teachers tick", both_tick),
        Event(local(date(2027, 2, 10), 15, 20), "double tap a nag", double_tap_nag),
    ]
    # The teachers of exchanges 1 and 4 do what a reminder asks the same afternoon.
    day = date(2027, 1, 28)
    while day <= date(2027, 3, 12):
        if day.weekday() < 5:
            for spec in (s.exchanges[0], s.exchanges[3]):
                for teacher in spec.teachers:
                    events.append(
                        Event(local(day, 16, 30), "ticks", _tick_reminders(s, teacher, day))
                    )
        day += timedelta(days=1)
    return events


def _tick_reminders(s: Season, teacher: Person, day: date) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for message in s.received_on(teacher, day):
            if "Herinnering" not in (message.text or ""):
                continue
            for label in [t for t in message.button_texts if t.startswith("⬜")]:
                # An item of the pair that the partner school's teacher ticked meanwhile shows
                # ✅ by now (the keyboard is redrawn on each tap): nothing left to tap.
                current = next(
                    (
                        m
                        for m in s.h.tg.messages(message.chat_id)
                        if m.message_id == message.message_id
                    ),
                    message,
                )
                if label in current.button_texts:
                    await s.tap(teacher, message, label)

    return run


# -- the exchange days -----------------------------------------------------------------------


async def day_events(s: Season) -> list[Event]:
    """Check-ins and counts on every exchange day; the special days get their story."""
    events: list[Event] = []
    for spec in s.exchanges:
        dates = await phase_dates(s, spec.exchange_id)
        for phase in ("exchange_day_1", "exchange_day_2", "closing"):
            day, start, _ = dates[phase]
            start = start or time(8, 45)
            for k, b in enumerate(spec.begeleiders):
                forgets = (spec.number == 11 and phase == "exchange_day_2") or (
                    spec.number == 12 and phase == "closing"
                )
                if forgets or (spec.number == 9 and phase == "exchange_day_1"):
                    continue
                arrive = datetime.combine(day, start, tzinfo=AMS) - timedelta(minutes=25 - k)
                events.append(Event(arrive, f"{b.name} checks in", _checkin(s, b, spec)))
                if k == 0 and phase == "exchange_day_1" and spec.number not in (1, 8):
                    events.append(
                        Event(arrive + timedelta(minutes=30), "count", _count(s, spec, b))
                    )
                    if spec.number % 3 == 0:  # some check out with an evaluation
                        events.append(
                            Event(arrive + timedelta(hours=6), "checkout", _checkout(s, b))
                        )
        if spec.number == 1:
            events += alarm_story(s, spec, dates["exchange_day_1"][0])
        if spec.number == 8:
            events += photo_story(s, spec, dates["exchange_day_1"][0])
        if spec.number == 15:
            events += restart_story(s, spec, dates["exchange_day_1"][0])
        if spec.number == 9:
            events += blocked_story(s, spec, dates["exchange_day_1"][0])
    return events


def _checkin(s: Season, person: Person, spec: ExchangeSpec) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if (person.user_id, spec.exchange_id) in s.removed:
            return  # taken off the pair by the coordinator
        replies = await s.type(person, "/checkin")
        if replies and "Voor welke" in replies[-1].text:
            await pick_first(s, person, replies[-1])

    return run


def _count(s: Season, spec: ExchangeSpec, person: Person) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await count_both(s, person, spec.size_a, spec.size_b)

    return run


def _checkout(s: Season, person: Person) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await checkout(s, person)

    return run


def alarm_story(s: Season, spec: ExchangeSpec, day: date) -> list[Event]:
    """Exchange 1, day 1: an edited count, a drop, a missing pupil, details, Gezien, Opgelost."""
    b = spec.begeleiders[0]
    teacher_a, teacher_b = spec.teacher("A"), spec.teacher("B")
    everyone = [s.people[1000], teacher_a, teacher_b]
    state: dict[str, int] = {}

    async def arrival_count_edited() -> None:
        typed = f"/aanwezig {spec.size_a} {spec.size_b}"
        edited = f"/aanwezig {spec.size_a} {spec.size_b - 1}"
        question, _ = await s.send_then_edit(b, typed, edited)
        s.log.expect(
            question and question[-1].button_texts[:1] == ["aankomst"],
            "the shortcut asks which moment the counts are for, the likely one first",
            [m.text for m in question],
        )
        s.log.expect(
            await headcounts(s, spec.exchange_id) == [],
            "the shortcut stores nothing before the moment is tapped",
        )
        if question and question[-1].button_texts:
            await s.tap(b, question[-1], question[-1].button_texts[0])
        counts = await headcounts(s, spec.exchange_id)
        s.log.expect(
            counts == [("arrival", "A", spec.size_a), ("arrival", "B", spec.size_b)],
            "an edited /aanwezig is not recorded as another count",
            counts,
        )

    async def the_drop() -> None:
        moment = (await s.type(b, "/aanwezig"))[-1]
        await s.tap(b, moment, "terug van de speurtocht")
        replies = await keypad(s, b, spec.size_a - 2)
        drop = next((m for m in replies if "minder" in (m.text or "")), None)
        if drop is None:
            # The drop question may come once both schools are counted.
            replies = await s.type(b, str(spec.size_b))
            drop = next((m for m in replies if "minder" in (m.text or "")), None)
        s.log.expect(drop is not None, "a lower count asks whether everyone is accounted for")
        if drop is None:
            return
        s.log.expect(
            f"{spec.size_a} → {spec.size_a - 2}" in drop.text or "aankomst" in drop.text,
            "the drop question says compared with which count",
            drop.text,
        )
        state["messages"] = s.h.tg.last_message_id(b.user_id)
        await s.tap(b, drop, "vermist kind", double=True)
        missing = [i for i in await incidents_of(s, spec.exchange_id) if i.category == "missing"]
        s.log.expect(
            len(missing) == 1,
            "a double tap on 'Nee – vermist kind melden' raises one alarm",
            [(i.id, i.description) for i in missing],
        )
        await s.until(s.h.clock.now() + timedelta(seconds=30))
        for person in everyone:
            alert = s.first(person, "URGENT")
            s.log.expect(
                alert is not None and f"({spec.size_a} → {spec.size_a - 2})" in alert.text,
                "the alarm says how many are missing (22 → 20)",
                f"{person.name}: {alert.text if alert else None}",
            )
        if missing:
            state["incident"] = missing[0].id

    async def the_details() -> None:
        details = (
            "Team 3, laatst gezien bij de speeltuin achter de school",
            "Ze heeft een rode jas aan en een gele rugzak",
        )
        for text in details:
            replies = await s.type(b, text)
            s.log.expect(
                not any(said("fallback.free_text") in (m.text or "") for m in replies)
                and not any(said_any("fallback.one").fullmatch(m.text or "") for m in replies)
                and not any("Genoteerd:" in (m.text or "") for m in replies),
                "what the begeleider types after the alarm is added to the alarm",
                f"typed {text!r}, got {[m.text for m in replies]}",
            )
            s.at(s.h.clock.now() + timedelta(minutes=1))
        await s.until(s.h.clock.now() + timedelta(seconds=30))
        for person in everyone:
            received = "\n".join(m.text or "" for m in s.messages(person))
            s.log.expect(
                "speeltuin" in received and "rode jas" in received,
                "every addition to the alarm reaches everyone who got the alarm",
                f"{person.name} got: {[m.text for m in s.messages(person)][-3:]}",
            )
            wrong = f"{spec.size_b}" in received.split("Aanvulling")[-1][:40]
            s.log.expect(not wrong, "a count is never sent as the alarm's details", person.name)

    async def seen() -> None:
        alert = s.first(teacher_b, "URGENT")
        if alert is None:
            return
        await s.tap(teacher_b, alert, "Gezien", double=True)
        async with s.h.db.read() as session:  # type: ignore[union-attr]
            acks = list(
                await session.scalars(
                    select(IncidentAction).where(
                        IncidentAction.action == "ack",
                        IncidentAction.incident_id == state.get("incident", 0),
                    )
                )
            )
        s.log.expect(len(acks) == 1, "a double tap on Gezien is one acknowledgement", len(acks))
        await s.until(s.h.clock.now() + timedelta(seconds=30))
        for person in (s.people[1000], teacher_a):
            copy = s.first(person, "URGENT")
            s.log.expect(
                copy is not None and f"Gezien door {teacher_b.first_name}" in copy.text,
                "every copy of the alarm is edited to say who saw it",
                f"{person.name}: {copy.text if copy else None}",
            )
        told = [
            m.text
            for m in s.messages(b)
            if teacher_b.first_name in (m.text or "") and "gezien" in (m.text or "").lower()
        ]
        s.log.expect(told, "the begeleider who raised the alarm hears who saw it", told)

    async def listed() -> None:
        replies = await s.type(s.coordinator, "/incidenten")
        listing = "\n".join(m.text or "" for m in replies)
        s.log.expect(
            teacher_b.first_name in listing and "persoon/personen" not in listing,
            "/incidenten names who acknowledged",
            listing[-400:],
        )

    async def solved() -> None:
        alert = s.first(teacher_a, "URGENT")
        if alert is None or "Opgelost ✅" not in alert.button_texts:
            s.log.expect(False, "the alarm can be resolved from its buttons", alert)
            return
        await s.tap(teacher_a, alert, "Opgelost ✅")
        await s.type(teacher_a, "Gevonden bij de wc, alles goed")
        await s.until(s.h.clock.now() + timedelta(seconds=30))
        for person in (s.people[1000], teacher_b):
            copy = s.first(person, "URGENT")
            s.log.expect(
                copy is not None
                and f"Opgelost door {teacher_a.first_name}" in copy.text
                and "wc" in copy.text,
                "every copy of the alarm is edited to say who resolved it, with the note",
                f"{person.name}: {copy.text if copy else None}",
            )
        told = [m.text for m in s.messages(b) if "wc" in (m.text or "")]
        s.log.expect(told, "the begeleider who raised the alarm hears it is resolved", told)

    async def end_of_day() -> None:
        replies = await count_both(s, b, spec.size_a, spec.size_b)
        counted = (await headcounts(s, spec.exchange_id))[-1][0]
        s.log.expect(
            counted == "end",
            "at 14:20 the shortcut offers 'einde van de dag' first, the moment that fits the "
            "time of day",
            [counted, *[m.text for m in replies][:2]],
        )
        await checkout(s, b, "3")

    return [
        Event(local(day, 8, 50), "arrival count, edited", arrival_count_edited),
        Event(local(day, 11, 30), "the drop", the_drop),
        Event(local(day, 11, 32), "the details", the_details),
        Event(local(day, 11, 36), "Gezien", seen),
        Event(local(day, 11, 40), "/incidenten", listed),
        Event(local(day, 11, 52), "Opgelost", solved),
        Event(local(day, 14, 20), "end of day", end_of_day),
    ]


def photo_story(s: Season, spec: ExchangeSpec, day: date) -> list[Event]:
    """Exchange 8, day 1: a high incident with a photo and a description longer than a caption."""
    b = spec.begeleiders[0]

    async def report() -> None:
        replies = await s.type(b, "/incident")
        if "Over welke" in replies[-1].text:
            replies = await pick_first(s, b, replies[-1])
        replies = await s.tap(b, replies[-1], "Verwonding of ziek")
        replies = await s.tap(b, replies[-1], "Hoog")
        replies = await s.tap(b, replies[-1], "2")
        replies = await s.type(b, LONG_REPORT)
        replies = await s.photo(b)
        await s.tap(b, replies[-1], "Versturen")
        await s.until(s.h.clock.now() + timedelta(seconds=30))
        for person in (s.people[1000], spec.teacher("A"), spec.teacher("B")):
            got = [m for m in s.messages(person) if m.message_id > 0]
            photos = [m for m in got if m.photo is not None]
            text = "\n".join(m.text or "" for m in got)
            s.log.expect(
                photos and LONG_REPORT in text,
                "an alert with a photo and a long description arrives whole",
                f"{person.name}: {len(photos)} photo(s); report text complete: "
                f"{LONG_REPORT in text}",
            )

    async def ack() -> None:
        alert = s.last(spec.teacher("A"), "Melding")
        if alert is not None and alert.button_texts:
            await s.tap(spec.teacher("A"), alert, "Gezien")

    async def rest_of_day() -> None:
        for person in spec.begeleiders:
            await count_both(s, person, spec.size_a, spec.size_b)
            await checkout(s, person, "4")

    return [
        Event(local(day, 10, 15), "photo incident", report),
        Event(local(day, 10, 19), "ack", ack),
        Event(local(day, 14, 35), "rest of day", rest_of_day),
    ]


def restart_story(s: Season, spec: ExchangeSpec, day: date) -> list[Event]:
    """Exchange 15, day 1: the bot restarts while a begeleider is halfway through a report."""
    b = spec.begeleiders[0]

    async def halfway() -> None:
        replies = await s.type(b, "/incident")
        if "Over welke" in replies[-1].text:
            replies = await pick_first(s, b, replies[-1])
        replies = await s.tap(b, replies[-1], "Onveilige situatie")
        await s.tap(b, replies[-1], "Middel")
        await s.restart()

    async def finish() -> None:
        question = s.h.tg.last_message(b.user_id)
        assert question is not None
        await s.tap(b, question, "Geen team")
        await s.type(b, "Losliggende stoeptegels bij de ingang van het speelplein")
        replies = await s.tap(b, s.h.tg.last_message(b.user_id), "Geen foto")
        replies = await s.tap(b, replies[-1], "Versturen")
        s.log.expect(
            any("verstuurd" in (m.text or "") for m in replies),
            "a report survives a restart halfway",
            [m.text for m in replies],
        )

    return [
        Event(local(day, 10, 40), "halfway", halfway),
        Event(local(day, 10, 43), "finish", finish),
    ]


def blocked_story(s: Season, spec: ExchangeSpec, day: date) -> list[Event]:
    """Exchange 9: a begeleider blocks the bot over the weekend and comes back on the day."""
    b = spec.begeleiders[0]

    async def block() -> None:
        s.block(b)

    async def back() -> None:
        s.unblock(b)
        await s.type(b, "/start")
        await s.until(s.h.clock.now() + timedelta(minutes=1))
        schedule = [m for m in s.messages(b) if (m.text or "").startswith("Uitwisselingsdag 1 ·")]
        s.log.expect(
            schedule,
            "a begeleider who unblocks the bot gets what still makes sense (today's schedule)",
            [m.text[:60] for m in s.messages(b)][-3:],
        )
        await s.type(b, "/checkin")

    monday = day - timedelta(days=day.weekday())
    return [
        Event(local(monday - timedelta(days=1), 20, 0), "blocks", block),
        Event(local(day, 8, 25), "back", back),
    ]


# -- the season ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_whole_season(database: Database, database_url: str) -> None:
    # A month of messages is sent in seconds of real time here: the harness paces nothing.
    async with Harness(
        database_url,
        start=START,
        make_settings=make_settings,
        dispatch_batch_size=50,
        # A short read timeout, so a slow Telegram costs the test seconds, not minutes.
        send_read_timeout_seconds=2.0,
    ) as h:
        s = Season(h, build_cast())
        try:
            await play_season(s)
        finally:
            findings = await collect(s)
            path = os.environ.get("SEASON_TRANSCRIPT")
            if path:
                census = await invariants.outbox_census(s)
                s.log.observations += invariants.repeated_buttons(s)
                transcript.write(s, Path(path), summary=summary(s, findings, census))
        report = "\n".join(f"- {f.what}: {f.evidence}" for f in findings)
        assert not findings, f"{len(findings)} finding(s) over the season:\n{report}"


def telegram_trouble(s: Season) -> list[Event]:
    """A slow Monday morning (answers after the read timeout) and a dropped connection."""

    async def slow() -> None:
        s.slow_telegram("sendMessage", 2.6, 2)

    async def dropped() -> None:
        s.drop_connection("sendMessage")

    return [
        Event(local(date(2027, 2, 8), 7, 59), "slow Telegram", slow),
        Event(local(date(2027, 2, 22), 7, 59), "dropped connection", dropped),
    ]


async def play_season(s: Season) -> None:
    tokens = await create_and_invite(s)
    events = (
        joining(s, tokens)
        + date_events(s)
        + checklist_events(s)
        + telegram_trouble(s)
        + coordinator_events(s)
    )
    await play(s, [e for e in events if e.at < AGREED])
    # Every date is agreed by now; the exchange days follow them.
    await play(
        s,
        [e for e in events if e.at >= AGREED]
        + await day_events(s)
        + await coordinator_day_events(s),
    )
    # The coordinator looks back on the season.
    await s.until(END - timedelta(hours=2))
    await s.type(s.coordinator, "/berichten")
    replies = await s.type(s.coordinator, "/programma")
    for _ in range(3):  # exchange #1 may be on a later page of the choice
        if not replies or not replies[-1].button_texts:
            break
        choice = replies[-1]
        first = [t for t in choice.button_texts if t.startswith("#1 ")]
        more = [t for t in choice.button_texts if t.startswith("Meer")]
        if first:
            await s.tap(s.coordinator, choice, first[0])
            break
        if not more:
            break
        await s.tap(s.coordinator, choice, more[0])
        # The next page replaces the buttons of the same message.
        replies = [m for m in s.messages(s.coordinator) if m.message_id == choice.message_id]
    await s.until(END)


async def collect(s: Season) -> list[invariants.Finding]:
    return [
        *s.log.findings,
        *invariants.no_error_handler_calls(s),
        *invariants.no_failed_api_calls(s),
        *await invariants.outbox_settled(s),
        *invariants.nothing_sent_twice(s),
        *await invariants.outbox_rows_sent_once(s),
        *await invariants.quiet_hours_kept(s),
        *await invariants.members_hear_of_agreed_dates(s),
        *await invariants.unasked_messages_per_day(s),
        *await invariants.no_item_that_no_longer_applies(s),
        *[
            invariants.Finding("a join reached Carla one by one although she gathers them", t)
            for t in gathered_notices_wait(s)
        ],
    ]


def flat(text: str) -> str:
    return text.replace("\n", " ⏎ ")


def summary(s: Season, findings: list[invariants.Finding], census: list[str]) -> list[str]:
    lines = ["## Bevindingen", ""]
    lines += [f"- **{f.what}**: {flat(f.evidence)}" for f in findings] or ["- geen"]
    lines += ["", "## Opvallend (geen eis van het issue)", ""]
    lines += [f"- {o}" for o in s.log.observations] or ["- niets"]
    lines += ["", "## Hoe elk gepland bericht afliep (outbox)", ""]
    lines += [f"- {c}" for c in census]
    return lines
