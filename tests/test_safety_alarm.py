"""The alarm path: a drop in a count, a missing pupil, and everyone hearing who acts (issue 7).

Each test plays the exchange day through the fake Bot API as the begeleider, the teachers
and the coordinator would, and checks what each of them sees and what the database holds.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select

from db.models import DateProposal, Dialog, Headcount, Incident, IncidentAction, OutboxMessage
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, count_both, joined_exchange, only
from tests.harness import Harness

AMS_DAY = (2027, 2, 10)  # exchange day 1 of the default exchange (starts 08:45)
SEEN = said("incidents.btn_ack")
SOLVED = said("incidents.btn_resolve")
MISSING = said("headcounts.btn_missing")
HOME = said("headcounts.btn_all_fine")
HOME_ONE = said("headcounts.btn_all_fine_one")  # one pupil fewer
ELSEWHERE = said("headcounts.btn_elsewhere")
ELSEWHERE_ONE = said("headcounts.btn_elsewhere_one")


def at(hour: int, minute: int) -> datetime:
    return datetime(*AMS_DAY, hour, minute, tzinfo=AMS)


async def keypad(h: Harness, user: FakeUser, number: str) -> list[BotMessage]:
    """Tap a number on the counting keypad and confirm."""
    for digit in number:
        await h.press(user, h.tg.last_message(user.id), digit)  # type: ignore[arg-type]
    return await h.press(user, h.tg.last_message(user.id), "✔")  # type: ignore[arg-type]


async def headcounts(h: Harness) -> list[Headcount]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return list(await session.scalars(select(Headcount).order_by(Headcount.id)))


async def incidents(h: Harness) -> list[Incident]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return list(await session.scalars(select(Incident).order_by(Incident.id)))


async def rows_of(h: Harness, kind: str) -> list[OutboxMessage]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )


async def arrival_and_a_drop(h: Harness, p: JoinedExchange) -> BotMessage:
    """Count 24/22 at arrival; back from the scavenger hunt school A has two fewer.

    Returns the drop question, which comes once both schools are counted.
    """
    b = p.begeleider
    h.clock.set(at(8, 50))
    await count_both(h, b, "24 22")
    h.clock.set(at(11, 30))
    moment = only(await h.send(b, "/aanwezig"))
    await h.press(b, moment, "terug van de speurtocht")
    replies = await keypad(h, b, "22")
    assert [r.text for r in replies if "minder" in r.text] == []
    assert "Hoeveel leerlingen van De Odyssee" in replies[-1].text
    replies = await h.send(b, "22")
    assert "Genoteerd: De Odyssee, 22 aanwezig." in replies[0].text
    return only([r for r in replies if "minder" in r.text])


async def raise_alarm(h: Harness, p: JoinedExchange) -> BotMessage:
    drop = await arrival_and_a_drop(h, p)
    confirmation = only(await h.press(p.begeleider, drop, MISSING))
    assert "Alarm #1 is verstuurd" in confirmation.text
    await h.dispatch()
    return confirmation


async def alert_copies(h: Harness) -> list[BotMessage]:
    """Every delivered alert, repeat and addition, as the recipients see them now."""
    copies = []
    for kind in ("incident_alert", "incident_repeat", "incident_update"):
        for row in await rows_of(h, kind):
            if row.telegram_message_id is not None:
                copies += [
                    m for m in h.tg.messages(row.user_id) if m.message_id == row.telegram_message_id
                ]
    return copies


# -- 1. the details of a missing-pupil alarm are the details -----------------------------------


async def test_everything_typed_after_the_alarm_goes_to_everyone_alerted(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    drop = await arrival_and_a_drop(h, p)
    assert (
        "2 leerlingen minder van De Avonturijn dan bij aankomst (24 → 22). Is iedereen in beeld?"
        in drop.text
    )
    confirmation = only(await h.press(b, drop, MISSING))
    assert "Typ nu alles wat je weet" in confirmation.text
    assert "tot het alarm is opgelost of je een ander commando gebruikt" in confirmation.text
    await h.dispatch()

    details = [
        "Team 3, laatst gezien bij de speeltuin om 11:10",
        "Rode jas, blauwe pet",
        "Zijn vriendje zegt dat hij naar de snackbar wilde",
    ]
    for text in details:
        assert "Aanvulling op #1 is verstuurd" in only(await h.send(b, text)).text
    await h.dispatch()
    incident = only(await incidents(h))
    assert incident.description == "\n".join(details)  # the count was never taken for details
    for user in (p.coordinator, p.teacher_a, p.teacher_b):
        received = [m.text for m in h.tg.messages(user.id)]
        for text in details:
            assert any(f"Aanvulling op melding #1: {text}" in m for m in received), user.name

    # Another command ends the note mode; what is typed after it is no longer passed on.
    replies = await h.send(b, "/vandaag")
    assert "Je berichten gaan niet meer naar alarm #1." in replies[0].text
    assert said_any("fallback.one").fullmatch(only(await h.send(b, "Ik ga koffie halen")).text)
    assert len(await rows_of(h, "incident_update")) == 3 * len(details)
    h.tg.assert_no_errors()


async def test_the_note_mode_lapses_after_a_few_quiet_hours(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await raise_alarm(h, p)
    h.clock.advance(timedelta(hours=2))
    assert "Aanvulling op #1" in only(await h.send(p.begeleider, "Nog niet gevonden")).text
    h.clock.advance(timedelta(hours=3, minutes=1))
    late = only(await h.send(p.begeleider, "Wat eten we vanavond?")).text
    assert "niet doorgestuurd" in late and "/incident" in late
    assert "Wat eten we" not in (only(await incidents(h)).description or "")


async def test_a_drop_is_still_asked_when_the_count_is_left_unfinished(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(8, 50))
    await count_both(h, b, "24 22")
    h.clock.set(at(11, 30))
    await h.press(b, only(await h.send(b, "/aanwezig")), "terug van de speurtocht")
    await keypad(h, b, "23")
    # The begeleider walks away from the count of school B and asks for the day's programme.
    replies = await h.send(b, "/vandaag")
    assert "1 leerling minder van De Avonturijn dan bij aankomst (24 → 23)" in replies[0].text
    assert replies[0].button_texts == [HOME_ONE, ELSEWHERE_ONE, MISSING]
    await h.press(b, replies[0], HOME_ONE)
    assert [c.drop_answer for c in await headcounts(h)] == [None, None, "home"]


# -- 2. the alarm says how many; a drop can be accounted for in three ways ---------------------


async def test_the_alarm_says_how_many_and_the_answer_is_recorded(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await raise_alarm(h, p)
    for user in (p.coordinator, p.teacher_a, p.teacher_b):
        alert = next(m for m in h.tg.messages(user.id) if "URGENT #1: Vermist kind" in m.text)
        assert "2 leerlingen minder van De Avonturijn dan bij aankomst (24 → 22)" in alert.text
        assert "minder dan eerder" not in alert.text
    counted = await headcounts(h)
    assert [(c.side, c.count, c.previous_count) for c in counted] == [
        ("A", 24, None),
        ("B", 22, None),
        ("A", 22, 24),
        ("B", 22, 22),
    ]
    assert (counted[2].drop_answer, counted[2].drop_answered_by) == ("missing", 3001)
    assert counted[2].incident_id == 1


async def test_a_drop_with_the_shortcut_can_be_elsewhere_in_view(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(8, 50))
    await count_both(h, b, "24 22")
    h.clock.set(at(10, 0))
    replies = await count_both(h, b, "24 20")
    assert replies[0].text.splitlines() == [
        "Genoteerd (vertrek de wijk in):",
        "De Avonturijn: 24 aanwezig",
        "De Odyssee: 20 aanwezig",
    ]
    drop = only(replies[1:])
    assert "2 leerlingen minder van De Odyssee dan bij aankomst (22 → 20)" in drop.text
    assert drop.button_texts == [HOME, ELSEWHERE, MISSING]
    answer = only(await h.press(b, drop, ELSEWHERE))
    assert "bij de andere groep of elders in beeld" in answer.text
    assert h.tg.messages(b.id)[-2].buttons == []  # the question's buttons are used up
    counted = await headcounts(h)
    assert [(c.drop_answer, c.drop_answered_by, c.incident_id) for c in counted[2:]] == [
        (None, None, None),
        ("elsewhere", 3001, None),
    ]
    assert await incidents(h) == []


# -- 3. everyone hears who acts ----------------------------------------------------------------


async def test_every_copy_says_who_has_seen_and_who_solved_it(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await raise_alarm(h, p)
    await h.send(b, "Team 3, laatst gezien bij de speeltuin")
    await h.dispatch()
    copies = await alert_copies(h)
    assert len(copies) == 6  # the alarm and the addition, for three people
    assert all(c.button_texts == [SEEN, SOLVED] for c in copies)

    # Bas sees it at 11:32: every copy says so and offers only "Opgelost".
    h.clock.set(at(11, 32))
    mine = next(m for m in h.tg.messages(p.teacher_b.id) if "URGENT #1" in m.text)
    await h.press(p.teacher_b, mine, SEEN)
    assert h.tg.callback_answers[-1]["text"] == "Genoteerd: je hebt #1 gezien."
    copies = await alert_copies(h)
    assert len(copies) == 6
    for copy in copies:
        assert "Gezien door Bas, 11:32" in copy.text, copy.text
        assert copy.button_texts == [SOLVED]
    await h.dispatch()
    told = h.tg.last_message(b.id)
    assert told is not None and "Bas heeft je melding #1 gezien (11:32)" in told.text
    listing = await h.send(p.coordinator, "/incidenten")
    assert "Gezien door Bas, 11:32" in listing[1].text and "persoon" not in listing[1].text

    # Carla had pressed "Gezien" on her copy just before it changed; Anouk solves it.
    h.clock.set(at(11, 35))
    mine = next(m for m in h.tg.messages(p.coordinator.id) if "URGENT #1" in m.text)
    await h.press_data(p.coordinator, mine.message_id, "ia:1", force=True)
    listing = await h.send(p.coordinator, "/incidenten")
    assert "Gezien door Bas (11:32), Carla (11:35)" in listing[1].text
    h.clock.set(at(11, 38))
    mine = next(m for m in h.tg.messages(p.teacher_a.id) if "URGENT #1" in m.text)
    ask = only(await h.press(p.teacher_a, mine, SOLVED))
    assert "Hoe is melding #1 opgelost" in ask.text
    assert "afgesloten" in only(await h.send(p.teacher_a, "gevonden bij de wc")).text
    for copy in await alert_copies(h):
        assert "Gezien door Bas (11:32), Carla (11:35)" in copy.text
        assert "Opgelost door Anouk, 11:38: gevonden bij de wc" in copy.text
        assert copy.buttons == []
    await h.dispatch()
    told = h.tg.last_message(b.id)
    assert told is not None
    assert "Anouk heeft je melding #1 opgelost (11:38): gevonden bij de wc" in told.text
    # The alarm is solved: the begeleider's chat no longer goes to everyone.
    assert said_any("fallback.one").fullmatch(only(await h.send(b, "Gelukkig!")).text)
    assert "Gelukkig" not in (only(await incidents(h)).description or "")
    async with h.db.read() as session:  # type: ignore[union-attr]
        actions = (
            await session.execute(
                select(IncidentAction.user_id, IncidentAction.action).order_by(IncidentAction.id)
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        (3001, "note"),
        (2002, "ack"),
        (1000, "ack"),
        (2001, "resolve"),
    ]
    assert {x.kind for x in await h.pushes("failed")} == set()
    h.tg.assert_no_errors()


async def test_a_copy_sent_after_someone_acted_shows_it(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    drop = await arrival_and_a_drop(h, p)
    await h.press(p.begeleider, drop, MISSING)
    # Anouk hears of it by phone and marks it seen before the alerts have gone out.
    h.clock.set(at(11, 31))
    await h.press_data(p.teacher_a, drop.message_id, "ia:1", force=True)
    await h.dispatch()
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None and "URGENT #1" in alert.text
    assert "Gezien door Anouk, 11:31" in alert.text
    assert alert.button_texts == [SOLVED]
    # And it is not repeated to the coordinators: someone is on it.
    await h.run_until(at(11, 50))
    assert [x.kind for x in await h.pushes() if x.kind == "incident_repeat"] == []


async def test_a_photo_alert_is_edited_in_its_caption(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(at(9, 0))
    replies = await h.send(p.begeleider, "/incident")
    await h.press(p.begeleider, replies[-1], "Schade")
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Laag")  # type: ignore[arg-type]
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(p.begeleider, "Ruit van de gymzaal gebarsten")
    await h.processed(h.tg.push_photo(p.begeleider, caption=None))
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Versturen")  # type: ignore[arg-type]
    await h.dispatch()
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None and alert.photo is not None and "Schade (laag)" in alert.text
    h.clock.set(at(9, 5))
    await h.press(p.coordinator, alert, SEEN)
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None and alert.photo is not None
    assert "Ruit van de gymzaal" in alert.text and "Gezien door Carla, 09:05" in alert.text
    assert alert.button_texts == [SOLVED]
    await h.dispatch()
    told = h.tg.last_message(p.begeleider.id)
    assert told is not None and "Carla heeft je melding #1 gezien (09:05)" in told.text
    h.tg.assert_no_errors()


async def test_a_full_caption_keeps_its_words_and_gets_the_state_beneath(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(at(9, 0))
    b = p.begeleider
    # Just short enough to be the photo's caption; "Gezien door …" would not fit in it too.
    description = ("Ruit van de gymzaal gebarsten, scherven op het plein. " * 17).strip()
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Schade")
    await h.press(b, h.tg.last_message(b.id), "Laag")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, description)
    await h.processed(h.tg.push_photo(b, caption=None))
    await h.press(b, h.tg.last_message(b.id), "Versturen")  # type: ignore[arg-type]
    await h.dispatch()
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None and alert.photo is not None and description in alert.text
    h.clock.set(at(9, 5))
    await h.press(p.coordinator, alert, SEEN)
    photo, beneath = h.tg.messages(p.coordinator.id)[-2:]
    assert photo.message_id == alert.message_id and description in photo.text
    assert photo.button_texts == [SOLVED]
    assert beneath.reply_to_message_id == alert.message_id
    assert "Gezien door Carla, 09:05" in beneath.text
    h.tg.assert_no_errors()


async def test_closing_from_the_list_updates_every_copy(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await raise_alarm(h, p)
    h.clock.set(at(12, 0))
    listing = await h.send(p.coordinator, "/incidenten")
    ask = only(await h.press(p.coordinator, listing[1], "Afsluiten #1"))
    await h.press(p.coordinator, ask, "Zonder toelichting")
    copies = await alert_copies(h)
    assert len(copies) == 3
    for copy in copies:
        assert "Afgesloten door Carla, 12:00" in copy.text and copy.buttons == []
    await h.dispatch()
    told = h.tg.last_message(p.begeleider.id)
    assert told is not None and "Carla heeft je melding #1 afgesloten (12:00)." in told.text
    # A second close, from the same old list, changes nothing.
    await h.press_data(p.coordinator, listing[1].message_id, "ic:1", force=True)
    assert "al opgelost" in h.tg.callback_answers[-1]["text"]


# -- 5. one alarm per drop --------------------------------------------------------------------


async def test_two_taps_at_once_raise_one_alarm(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    drop = await arrival_and_a_drop(h, p)
    data = next(b.callback_data for row in drop.buttons for b in row if b.text == MISSING)
    assert data is not None
    # The begeleider taps twice, and a teacher presses the same (forged) button from their own
    # chat at the same moment: two chats are handled at the same time, on two connections.
    updates = [
        h.tg.push_callback(p.begeleider, drop.message_id, data),
        h.tg.push_callback(p.begeleider, drop.message_id, data, force=True),
        h.tg.push_callback(p.teacher_a, drop.message_id, data, force=True),
    ]
    await asyncio.gather(*(h.processed(u) for u in updates))
    assert len(await incidents(h)) == 1
    counted = await headcounts(h)
    assert counted[2].incident_id == 1 and counted[2].drop_answer == "missing"
    answers = [a.get("text") for a in h.tg.callback_answers[-3:]]
    assert answers.count("Hiervoor is al alarm #1 verstuurd.") == 2
    await h.dispatch()
    alerts = [x.user_id for x in await h.pushes() if x.kind == "incident_alert"]
    assert sorted(alerts) == [1000, 2001, 2002]  # one alarm, to each person once
    h.tg.assert_no_errors()


async def test_an_old_or_answered_drop_button_changes_nothing(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    drop = await arrival_and_a_drop(h, p)
    data = next(x.callback_data for row in drop.buttons for x in row if x.text == MISSING)
    assert data is not None
    await h.press(b, drop, HOME)
    # Answered: a second answer (a stale keyboard, a forged press) is refused.
    await h.press_data(b, drop.message_id, data, force=True)
    assert "al beantwoord" in h.tg.callback_answers[-1]["text"]
    # A week later the same button is no longer valid.
    h.clock.set(at(11, 30) + timedelta(days=7))
    await h.press_data(b, drop.message_id, data.replace(":miss:", ":else:"), force=True)
    assert "werkt niet meer" in h.tg.callback_answers[-1]["text"]
    assert [c.drop_answer for c in await headcounts(h)] == [None, None, "home", None]
    assert await incidents(h) == []


async def test_a_drop_button_of_an_archived_exchange_raises_nothing(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    drop = await arrival_and_a_drop(h, p)
    confirm = only(await h.send(p.coordinator, f"/archiveren {p.exchange_id}"))
    await h.press(p.coordinator, confirm, "Ja, archiveren")
    assert not await h.press(b, drop, MISSING)
    assert "werkt niet meer" in h.tg.callback_answers[-1]["text"]
    assert h.tg.messages(b.id)[-1].buttons == []  # and the old keyboard is gone
    assert await incidents(h) == []
    assert [c.drop_answer for c in await headcounts(h)] == [None, None, None, None]


# -- what the season's transcript showed ---------------------------------------------------------


async def note_mode_of(h: Harness, user: FakeUser) -> Dialog | None:
    """The user's chat conversation, if it is an alarm's note mode."""
    async with h.db.read() as session:  # type: ignore[union-attr]
        dialog = await session.get(Dialog, user.id)
        return dialog if dialog is not None and dialog.kind == "incident_note" else None


async def test_solving_the_alarm_ends_the_note_mode_at_once(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await raise_alarm(h, p)
    await h.send(b, "Team 3, laatst gezien bij de speeltuin")
    assert await note_mode_of(h, b) is not None
    h.clock.set(at(11, 52))
    mine = next(m for m in h.tg.messages(p.teacher_a.id) if "URGENT #1" in m.text)
    await h.press(p.teacher_a, mine, SOLVED)
    await h.send(p.teacher_a, "Gevonden bij de wc, alles goed")
    # Solved: the note mode is over there and then, before the begeleider does anything.
    assert await note_mode_of(h, b) is None
    await h.dispatch()
    told = h.tg.last_message(b.id)
    assert told is not None
    assert "Anouk heeft je melding #1 opgelost (11:52): Gevonden bij de wc" in told.text

    # Hours later a count is only a count: no word about the alarm that is long over.
    h.clock.set(at(14, 20))
    replies = await count_both(h, b, "24 22")
    texts = [r.text for r in replies]
    assert not any("alarm" in t for t in texts), texts
    assert texts[0].startswith("Genoteerd (einde van de dag):")
    # What is typed now is no longer passed on to anyone.
    await h.send(b, "Fijne dag gehad")
    await h.dispatch()
    assert len(await rows_of(h, "incident_update")) == 3  # the one addition, to three people
    assert "Fijne dag" not in (only(await incidents(h)).description or "")
    h.tg.assert_no_errors()


async def test_closing_the_alarm_from_the_list_ends_the_note_mode_quietly(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await raise_alarm(h, p)
    h.clock.set(at(12, 0))
    listing = await h.send(p.coordinator, "/incidenten")
    ask = only(await h.press(p.coordinator, listing[1], "Afsluiten #1"))
    await h.press(p.coordinator, ask, "Zonder toelichting")
    assert await note_mode_of(h, b) is None
    await h.dispatch()
    assert "Carla heeft je melding #1 afgesloten" in h.tg.last_message(b.id).text  # type: ignore[union-attr]
    replies = await h.send(b, "/vandaag")
    assert not any("gaan niet meer naar alarm" in r.text for r in replies)


async def test_a_command_while_the_alarm_is_open_still_says_the_mode_ends(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await raise_alarm(h, p)
    h.clock.set(at(11, 40))
    replies = await count_both(h, b, "24 22")
    assert replies[0].text == "Je berichten gaan niet meer naar alarm #1."
    assert replies[1].text.startswith("Genoteerd (terug van de speurtocht):")
    assert await note_mode_of(h, b) is None


async def test_a_note_and_the_solution_at_the_same_moment_never_deadlock(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(9, 0))
    for number in range(1, 6):
        await count_both(h, b, "24 22")
        drop = only([r for r in await count_both(h, b, "23 22") if "minder" in r.text])
        assert f"Alarm #{number}" in only(await h.press(b, drop, MISSING)).text
        await h.dispatch()
        alert = next(
            m for m in reversed(h.tg.messages(p.teacher_a.id)) if f"URGENT #{number}" in m.text
        )
        await h.press(p.teacher_a, alert, SOLVED)
        # The begeleider adds a detail just as Anouk sends how it was solved.
        marks = {u.id: h.tg.last_message_id(u.id) for u in (b, p.teacher_a)}
        updates = [
            h.tg.push_text(b, f"Detail {number}"),
            h.tg.push_text(p.teacher_a, f"Gevonden {number}"),
        ]
        await asyncio.gather(*(h.processed(u) for u in updates))
        solved = only(h.tg.messages_since(p.teacher_a.id, marks[p.teacher_a.id]))
        assert f"Melding #{number} is afgesloten" in solved.text
        reply = only(h.tg.messages_since(b.id, marks[b.id])).text
        incident = (await incidents(h))[-1]
        assert incident.status == "resolved"
        if "Aanvulling" in reply:  # the detail came first, and went to everyone
            assert f"Detail {number}" in (incident.description or "")
        else:  # the solution came first: the detail is not passed on
            assert (
                "niet doorgestuurd" in reply
                or said("fallback.free_text") in reply
                or said_any("fallback.one").fullmatch(reply)
            ), reply
            assert f"Detail {number}" not in (incident.description or "")
        assert await note_mode_of(h, b) is None
        h.clock.advance(timedelta(minutes=5))
    sorry = [
        str(c.params.get("text", ""))
        for c in h.tg.calls_to("sendMessage")
        if "Sorry" in str(c.params.get("text", ""))
    ]
    assert sorry == []
    h.tg.assert_no_errors()


async def test_the_shortcut_offers_the_likely_moment_first(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(8, 50))
    assert (await count_both(h, b, "24 22"))[0].text.startswith("Genoteerd (aankomst):")
    h.clock.set(at(11, 30))
    await h.press(b, only(await h.send(b, "/aanwezig")), "terug van de speurtocht")
    await keypad(h, b, "24")
    await h.send(b, "22")
    # "Vertrek de wijk in" was not counted, but the day is past it.
    h.clock.set(at(14, 20))
    replies = await count_both(h, b, "24 21")
    assert replies[0].text.startswith("Genoteerd (einde van de dag):")
    drop = only([r for r in replies if "minder" in r.text])
    assert "1 leerling minder van De Odyssee dan na de speurtocht (22 → 21)" in drop.text
    await h.press(b, drop, HOME_ONE)
    # After the end of the day, the begeleider says the count is "tussendoor".
    h.clock.set(at(15, 0))
    replies = await count_both(h, b, "24 21", "tussendoor")
    assert replies[0].text.startswith("Genoteerd (tussendoor):")
    counted = await headcounts(h)
    assert [(c.moment, c.side, c.count, c.previous_moment) for c in counted] == [
        ("arrival", "A", 24, None),
        ("arrival", "B", 22, None),
        ("back", "A", 24, "arrival"),
        ("back", "B", 22, "arrival"),
        ("end", "A", 24, "back"),
        ("end", "B", 21, "back"),
        ("free", "A", 24, "end"),
        ("free", "B", 21, "end"),
    ]
    assert counted[5].drop_answer == "home"


async def test_the_incident_summary_labels_the_kind_and_what_happened(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(9, 0))
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Schade")
    await h.press(b, h.tg.last_message(b.id), "Laag")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, "Ruit van de gymzaal gebarsten")
    summary = only(await h.press(b, h.tg.last_message(b.id), "Geen foto"))  # type: ignore[arg-type]
    lines = summary.text.splitlines()
    assert "Klopt dit?" in lines[0]
    assert "Soort: Schade" in lines
    assert "Wat: Ruit van de gymzaal gebarsten" in lines
    assert [line for line in lines if line.startswith("Wat:")] == [
        "Wat: Ruit van de gymzaal gebarsten"
    ]


async def test_an_edit_is_answered_in_plain_words(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    h.clock.set(at(8, 50))
    await count_both(h, b, "24 22")
    mark = h.tg.last_message_id(b.id)
    await h.processed(h.tg.push_edit(b, None, "/aanwezig 24 21"))
    reply = only(h.tg.messages_since(b.id, mark))
    assert reply.text == (
        "Bewerkte berichten lees ik niet. Stuur een nieuw bericht als er iets moet veranderen."
    )
    assert [c.count for c in await headcounts(h)] == [24, 22]


async def proposal_to_teacher_b(h: Harness, p: JoinedExchange) -> BotMessage:
    """Anouk proposes Thursday 11 February; returns the proposal as Bas sees it."""
    question = only(await h.send(p.teacher_a, "/datum"))
    day = only(await h.press(p.teacher_a, question, "Uitwisselingsdag 1"))
    await h.press(p.teacher_a, day, "donderdag 11 februari")
    await h.send(p.teacher_a, "9.30")
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    assert proposal is not None and proposal.button_texts == ["Akkoord", "Ander voorstel"]
    return proposal


async def test_a_double_tap_on_akkoord_tells_who_accepted_so(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    proposal = await proposal_to_teacher_b(h, p)
    data = proposal.buttons[0][0].callback_data
    assert data is not None
    # Two taps at the same moment: one accepts, the other says it was already accepted.
    updates = [
        h.tg.push_callback(p.teacher_b, proposal.message_id, data),
        h.tg.push_callback(p.teacher_b, proposal.message_id, data, force=True),
    ]
    await asyncio.gather(*(h.processed(u) for u in updates))
    answers = [a.get("text") for a in h.tg.callback_answers[-2:]]
    assert answers.count("Je hebt dit voorstel al geaccepteerd.") == 1
    assert "Over dit voorstel is al beslist." not in answers
    assert sum("Afgesproken" in m.text for m in h.tg.messages(p.teacher_b.id)) == 1
    # Someone else pressing it afterwards hears that it was decided, not that they accepted.
    await h.press_data(p.coordinator, proposal.message_id, data, force=True)
    assert h.tg.callback_answers[-1]["text"] == "Over dit voorstel is al beslist."
    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = list(await session.scalars(select(DateProposal)))
    assert [(r.status, r.decided_by) for r in rows] == [("accepted", p.teacher_b.id)]
    h.tg.assert_no_errors()


async def test_a_double_tap_on_ander_voorstel_says_it_was_asked(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    proposal = await proposal_to_teacher_b(h, p)
    data = proposal.buttons[0][1].callback_data
    assert data is not None
    question = only(await h.press(p.teacher_b, proposal, "Ander voorstel"))
    assert "Kies de dag voor: Uitwisselingsdag 1" in question.text
    await h.press_data(p.teacher_b, proposal.message_id, data, force=True)
    assert h.tg.callback_answers[-1]["text"] == "Je hebt al om een ander voorstel gevraagd."
    # Accepting what you declined is no double tap: the proposal was decided.
    accept = proposal.buttons[0][0].callback_data
    assert accept is not None
    await h.press_data(p.teacher_b, proposal.message_id, accept, force=True)
    assert h.tg.callback_answers[-1]["text"] == "Over dit voorstel is al beslist."


async def test_a_long_description_and_addition_are_kept_and_delivered_whole(
    harness: Harness,
) -> None:
    """Nothing a begeleider types is cut: not in the database, not in what others receive."""
    h = harness
    p = await joined_exchange(h)
    await raise_alarm(h, p)
    words = [f"woord{n}" for n in range(600)]  # about 4,000 characters, one message
    long_text = " ".join(words)
    await h.send(p.begeleider, long_text)
    await h.dispatch()
    stored = (await incidents(h))[0]
    assert stored.description is not None and long_text in stored.description
    received = " ".join(m.text for m in h.tg.messages(p.teacher_a.id))
    assert all(word in received for word in (words[0], words[299], words[-1]))
    h.tg.assert_no_errors()
