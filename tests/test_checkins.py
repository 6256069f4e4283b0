"""Check-in and check-out on the exchange day, end to end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from db.models import CheckIn, Headcount
from tests.fixtures import AMS, said
from tests.flows import joined_exchange, only
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 (default), starts 08:45


async def keypad(h: Harness, user, number: str) -> list:  # type: ignore[no-untyped-def]
    """Tap a number on the counting keypad and confirm."""
    for digit in number:
        await h.press(user, h.tg.last_message(user.id), digit)  # type: ignore[arg-type]
    return await h.press(user, h.tg.last_message(user.id), "✔")  # type: ignore[arg-type]


async def test_a_whole_exchange_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    b = p.begeleider

    done = only(await h.send(b, "/checkin"))
    assert done.text == said(
        "checkin.done", time="08:20", phase="Uitwisselingsdag 1", title="De Avonturijn – De Odyssee"
    )
    assert done.reply_markup["keyboard"][0][0]["request_location"] is True  # type: ignore[index]
    mark = h.tg.last_message_id(b.id)
    await h.processed(h.tg.push_location(b, 52.3731, 4.8922))
    assert only(h.tg.messages_since(b.id, mark)).text == said("checkin.location_saved")
    assert h.tg.reply_keyboard(b.id) is None  # the location keyboard is gone
    # Everyone is there 15 minutes before the start: the coordinator is not alarmed.
    await h.run_until(datetime(2027, 2, 10, 8, 40, tzinfo=AMS))
    assert [x.error for x in await h.pushes("skipped") if x.kind == "checkin_missing"] == [
        "everyone checked in"
    ]

    # Arrival, with the keypad.
    moment = only(await h.send(b, "/aanwezig"))
    question = only(await h.press(b, moment, "aankomst"))
    assert "De Avonturijn" in question.text and "24 in de klas" in question.text
    replies = await keypad(h, b, "24")
    assert said("headcounts.saved", school="De Avonturijn", count=24) in replies[0].text
    assert "De Odyssee" in replies[1].text
    assert (
        said("headcounts.saved", school="De Odyssee", count=22) in only(await h.send(b, "22")).text
    )
    # Leaving for the neighbourhood, with the shortcut: stored only once the moment is tapped.
    question = only(await h.send(b, "/aanwezig 24 22"))
    assert question.button_texts[0] == said("headcounts.moment_arrival")  # the nearest by the clock
    saved = only(await h.press(b, question, said("headcounts.moment_departure")))
    assert said("headcounts.moment_departure") in saved.text and "De Odyssee: 22" in saved.text
    # Back from the scavenger hunt: three fewer of school A.
    h.clock.set(datetime(2027, 2, 10, 11, 30, tzinfo=AMS))
    moment = only(await h.send(b, "/aanwezig"))
    await h.press(b, moment, "terug van de speurtocht")
    replies = await keypad(h, b, "21")
    assert not any("minder" in r.text for r in replies)  # asked once both schools are counted
    replies = await h.send(b, "22")
    drop = next(r for r in replies if "minder" in r.text)
    assert drop.text == said(
        "headcounts.drop",
        pupils=said("headcounts.pupils_many", count=3),
        school="De Avonturijn",
        since=said("headcounts.since_departure"),
        before=24,
        after=21,
    )
    assert drop.button_texts == [
        said("headcounts.btn_all_fine"),
        said("headcounts.btn_elsewhere"),
        said("headcounts.btn_missing"),
    ]
    alarm = only(await h.press(b, drop, said("headcounts.btn_missing")))
    assert said("incidents.missing_sent", id=1) in alarm.text
    await h.dispatch()
    for user in (p.coordinator, p.teacher_a, p.teacher_b):
        alert = h.tg.last_message(user.id)
        category = said("incidents.category_missing")
        assert alert is not None
        assert said("incidents.head_urgent", id=1, category=category) in alert.text
        assert alert.button_texts == [said("incidents.btn_ack"), said("incidents.btn_resolve")]
    details = only(await h.send(b, "Team 3, laatst gezien bij de speeltuin"))
    assert details.text == said("incidents.note_sent", id=1)
    await h.dispatch()
    assert "speeltuin" in h.tg.last_message(p.teacher_a.id).text  # type: ignore[union-attr]

    # A teacher acknowledges; there is no repeat after ten minutes.
    alert = next(m for m in h.tg.messages(p.teacher_a.id) if "URGENT #1" in m.text)
    await h.press(p.teacher_a, alert, said("incidents.btn_ack"))
    assert h.tg.callback_answers[-1]["text"] == said("incidents.acknowledged", id=1)
    await h.run_until(datetime(2027, 2, 10, 11, 45, tzinfo=AMS))
    repeats = [x for x in await h.pushes("skipped") if x.kind == "incident_repeat"]
    assert [x.error for x in repeats] == ["acknowledged"]
    # Everyone is back: at 11:45 the likely moment is "terug van de speurtocht" (12:00), not
    # the end of the day; this count is taken in between.
    ended, question = await h.send(b, "/aanwezig 24 22")
    assert ended.text == said("incidents.note_mode_ended", id=1)
    assert question.button_texts[0] == said("headcounts.moment_back")
    await h.press(b, question, said("headcounts.moment_free"))

    # Check-out with the evaluation.
    h.clock.set(datetime(2027, 2, 10, 14, 30, tzinfo=AMS))
    rating = only(await h.send(b, "/checkout"))
    tension = only(await h.press(b, rating, "4"))
    note = only(await h.press(b, tension, "Ja"))
    assert note.text == said("checkout.ask_tension_note")
    remarks = only(await h.send(b, "Wat geduw bij de lunch tussen twee teams"))
    assert only(await h.press(b, remarks, said("checkout.btn_nothing"))).text == said(
        "checkout.done"
    )
    async with h.db.read() as session:  # type: ignore[union-attr]
        checkin = await session.scalar(select(CheckIn))
        assert checkin is not None
        assert (checkin.latitude, checkin.longitude) == (52.3731, 4.8922)
        assert (checkin.rating, checkin.tension) == (4, True)
        counts = (
            await session.execute(
                select(Headcount.moment, Headcount.side, Headcount.count).order_by(Headcount.id)
            )
        ).all()
    assert [tuple(c) for c in counts] == [
        ("arrival", "A", 24),
        ("arrival", "B", 22),
        ("departure", "A", 24),
        ("departure", "B", 22),
        ("back", "A", 21),
        ("back", "B", 22),
        ("free", "A", 24),
        ("free", "B", 22),
    ]
    report = only(await h.send(p.coordinator, "/programma")).text
    assert "Ghislaine: 4/5 · spanning: Wat geduw bij de lunch" in report


async def test_field_commands_outside_an_exchange_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    for command in ("/checkin", "/aanwezig", "/incident"):
        reply = only(await h.send(p.begeleider, command)).text
        assert reply.startswith(said("field.not_today", next=""))
        assert "Uitwisselingsdag 1: woensdag 10 februari, 08:45" in reply
    assert only(await h.send(p.begeleider, "/checkout")).text == said("checkout.not_checked_in")


async def test_a_check_in_sent_while_the_bot_restarts_still_counts(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    await h.stop_bot()
    update_id = h.tg.push_text(p.begeleider, "/checkin")
    await h.start_bot()
    await h.processed(update_id)
    assert h.tg.messages(p.begeleider.id)[-1].text == said(
        "checkin.done", time="08:20", phase="Uitwisselingsdag 1", title="De Avonturijn – De Odyssee"
    )

    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1


async def test_the_location_keyboard_goes_when_the_begeleider_does_something_else(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    await h.send(b, "/checkin")
    assert h.tg.reply_keyboard(b.id) is not None
    replies = await h.send(b, "/aanwezig")
    assert replies[0].text == said("checkin.location_skipped")
    assert h.tg.reply_keyboard(b.id) is None
    # The command itself is answered as always, and the keyboard is not taken away twice.
    assert said("headcounts.ask_moment") in replies[1].text
    assert said("checkin.location_skipped") not in [r.text for r in await h.send(b, "/checkin")]
    async with h.db.read() as session:  # type: ignore[union-attr]
        checkin = await session.scalar(select(CheckIn))
        assert checkin is not None and checkin.latitude is None
