"""On the exchange day: check-in, headcounts, incidents with escalation, check-out, privacy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from db.models import CheckIn, Headcount, Incident, IncidentAction
from tests.conftest import AMS, START, make_settings
from tests.flows import Pair, only, pair
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 (default), starts 08:45


async def incidents_in_db(h: Harness) -> list[Incident]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return list(await session.scalars(select(Incident).order_by(Incident.id)))


async def keypad(h: Harness, user, number: str) -> list:  # type: ignore[no-untyped-def]
    """Tap a number on the counting keypad and confirm."""
    for digit in number:
        await h.press(user, h.tg.last_message(user.id), digit)  # type: ignore[arg-type]
    return await h.press(user, h.tg.last_message(user.id), "✔")  # type: ignore[arg-type]


async def test_a_whole_exchange_day(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    b = p.begeleider

    done = only(await h.send(b, "/checkin"))
    assert "Ingecheckt om 08:20" in done.text and "Uitwisselingsdag 1" in done.text
    assert done.reply_markup["keyboard"][0][0]["request_location"] is True  # type: ignore[index]
    mark = h.tg.last_message_id(b.id)
    await h.processed(h.tg.push_location(b, 52.3731, 4.8922))
    assert "Locatie opgeslagen" in only(h.tg.messages_since(b.id, mark)).text
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
    assert "Genoteerd: De Avonturijn 24." in replies[0].text
    assert "De Odyssee" in replies[1].text
    assert "Genoteerd: De Odyssee 22." in only(await h.send(b, "22")).text
    # Leaving for the neighbourhood, with the shortcut.
    replies = await h.send(b, "/aanwezig 24 22")
    assert "vertrek de wijk in" in replies[0].text
    # Back from the scavenger hunt: three fewer of school A.
    h.clock.set(datetime(2027, 2, 10, 11, 30, tzinfo=AMS))
    moment = only(await h.send(b, "/aanwezig"))
    await h.press(b, moment, "terug van de speurtocht")
    replies = await keypad(h, b, "21")
    assert not any("minder" in r.text for r in replies)  # asked once both schools are counted
    replies = await h.send(b, "22")
    drop = next(r for r in replies if "minder" in r.text)
    assert "3 leerlingen van De Avonturijn minder dan bij vertrek de wijk in (24 → 21)" in drop.text
    assert drop.button_texts == [
        "Ja, ze zijn naar huis / opgehaald",
        "Ze zijn bij de andere groep / elders in beeld",
        "Nee – vermist kind melden",
    ]
    alarm = only(await h.press(b, drop, "Nee – vermist kind melden"))
    assert "Alarm #1" in alarm.text
    await h.dispatch()
    for user in (p.coordinator, p.teacher_a, p.teacher_b):
        alert = h.tg.last_message(user.id)
        assert alert is not None and "URGENT #1: Vermist kind" in alert.text
        assert alert.button_texts == ["Gezien ✋", "Opgelost ✅"]
    details = only(await h.send(b, "Team 3, laatst gezien bij de speeltuin"))
    assert "Aanvulling op #1" in details.text
    await h.dispatch()
    assert "speeltuin" in h.tg.last_message(p.teacher_a.id).text  # type: ignore[union-attr]

    # A teacher acknowledges; there is no repeat after ten minutes.
    alert = next(m for m in h.tg.messages(p.teacher_a.id) if "URGENT #1" in m.text)
    await h.press(p.teacher_a, alert, "Gezien ✋")
    assert h.tg.callback_answers[-1]["text"] == "Genoteerd: je hebt #1 gezien."
    await h.run_until(datetime(2027, 2, 10, 11, 45, tzinfo=AMS))
    repeats = [x for x in await h.pushes("skipped") if x.kind == "incident_repeat"]
    assert [x.error for x in repeats] == ["acknowledged"]
    # The last count of school B is complete again.
    await h.send(b, "/aanwezig 24 22")

    # Check-out with the evaluation.
    h.clock.set(datetime(2027, 2, 10, 14, 30, tzinfo=AMS))
    rating = only(await h.send(b, "/checkout"))
    tension = only(await h.press(b, rating, "4"))
    note = only(await h.press(b, tension, "Ja"))
    assert "zonder namen" in note.text
    remarks = only(await h.send(b, "Wat geduw bij de lunch tussen twee teams"))
    assert "Dank je wel" in only(await h.press(b, remarks, "Niets")).text
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
        ("end", "A", 24),
        ("end", "B", 22),
    ]
    report = only(await h.send(p.coordinator, "/programma")).text
    assert "Ghislaine: 4/5 · spanning: Wat geduw bij de lunch" in report


async def test_unacknowledged_urgent_incident_is_repeated_to_every_coordinator(
    database,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    async with Harness(
        database_url, start=START, make_settings=make_settings, coordinator_ids=(1000, 1001)
    ) as h:
        p = await pair(h)
        other_coordinator = h.user(1001, "Dirk")
        await h.send(other_coordinator, "/start")
        await h.run_until(DAY_1)
        b = p.begeleider
        replies = await h.send(b, "/incident")
        assert "Noem geen namen" not in replies[0].text  # the intro; names come later
        await h.press(b, replies[-1], "Ruzie tussen leerlingen")
        await h.press(b, h.tg.last_message(b.id), "Hoog")  # type: ignore[arg-type]
        await h.press(b, h.tg.last_message(b.id), "3")  # type: ignore[arg-type]
        assert "Noem geen namen" in h.tg.last_message(b.id).text  # type: ignore[union-attr]
        await h.send(b, "Duwen en schelden bij het klimrek")
        confirm = only(await h.press(b, h.tg.last_message(b.id), "Geen foto"))  # type: ignore[arg-type]
        assert "Ruzie tussen leerlingen" in confirm.text and "Hoog" in confirm.text
        data = confirm.buttons[0][0].callback_data
        first = h.tg.push_callback(b, confirm.message_id, data)
        second = h.tg.push_callback(b, confirm.message_id, data, force=True)  # double tap
        await h.processed(first)
        await h.processed(second)
        assert len(await incidents_in_db(h)) == 1
        await h.dispatch()
        alerted = sorted(x.user_id for x in await h.pushes() if x.kind == "incident_alert")
        assert alerted == [1000, 2001, 2002]  # the pair's coordinator and both teachers
        await h.run_until(h.clock.now() + timedelta(minutes=9))
        assert [x for x in await h.pushes() if x.kind == "incident_repeat"] == []
        await h.run_until(h.clock.now() + timedelta(minutes=2))
        repeats = sorted(x.user_id for x in await h.pushes() if x.kind == "incident_repeat")
        assert repeats == [1000, 1001]
        repeat = h.tg.last_message(1001)
        assert repeat is not None and "Herhaling" in repeat.text and "#1" in repeat.text
        # The coordinator resolves it with a note.
        ask = only(await h.press(other_coordinator, repeat, "Opgelost ✅"))
        assert "Hoe is melding #1 opgelost" in ask.text
        done = only(await h.send(other_coordinator, "Gesprek gehad met beide teams"))
        assert "afgesloten" in done.text
        async with h.db.read() as session:
            incident = await session.scalar(select(Incident))
            actions = (
                await session.execute(
                    select(IncidentAction.user_id, IncidentAction.action, IncidentAction.note)
                )
            ).all()
        assert incident is not None and incident.status == "resolved"
        assert [tuple(a) for a in actions] == [(1001, "resolve", "Gesprek gehad met beide teams")]
        assert (
            "Er zijn geen open meldingen" in only(await h.send(p.coordinator, "/incidenten")).text
        )


async def test_low_incident_with_photo_goes_to_the_coordinator_only(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Schade")
    await h.press(b, h.tg.last_message(b.id), "Laag")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, "Ruit van de gymzaal gebarsten")
    mark = h.tg.last_message_id(b.id)
    await h.processed(h.tg.push_photo(b, caption=None))
    confirm = only(h.tg.messages_since(b.id, mark))
    assert "Foto: bijgevoegd" in confirm.text
    await h.press(b, confirm, "Versturen")
    await h.run_until(h.clock.now() + timedelta(minutes=30))
    alerts = [x.user_id for x in await h.pushes() if x.kind.startswith("incident")]
    assert alerts == [p.coordinator.id]  # no teachers, no repeat
    alert = next(m for m in h.tg.messages(p.coordinator.id) if "Schade (laag)" in m.text)
    assert alert.photo is not None
    incident = (await incidents_in_db(h))[0]
    assert incident.photo_file_id and incident.team_number is None


async def test_incident_cancelled_or_timed_out_saves_nothing(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Onveilige situatie")
    assert "niets opgeslagen" in only(await h.send(b, "/annuleren")).text
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Vermist kind")  # missing: no severity question
    assert "Welk team" in h.tg.last_message(b.id).text  # type: ignore[union-attr]
    h.clock.advance(timedelta(minutes=31))
    assert "niet verstuurd" in only(await h.send(b, "Team 2")).text
    assert await incidents_in_db(h) == []


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("abc", "als getal"), ("-3", "niet negatief"), ("30", "meer dan in de klas")],
)
async def test_bad_counts_are_explained_and_asked_again(
    harness: Harness, typed: str, problem: str
) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    moment = only(await h.send(p.begeleider, "/aanwezig"))
    await h.press(p.begeleider, moment, "aankomst")
    replies = await h.send(p.begeleider, typed)
    assert problem in replies[0].text
    assert "Hoeveel leerlingen van <b>" not in replies[1].text  # the question, as plain text
    assert "Hoeveel leerlingen van De Avonturijn" in replies[1].text
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Headcount)) == 0
    replies = await h.send(p.begeleider, f"/aanwezig {typed} 22")
    assert problem in replies[0].text


async def test_field_commands_outside_an_exchange_day(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    for command in ("/checkin", "/aanwezig", "/incident"):
        reply = only(await h.send(p.begeleider, command)).text
        assert "Vandaag is er geen uitwisselingsdag" in reply
        assert "Uitwisselingsdag 1: woensdag 10 februari, 08:45" in reply
    assert "niet ingecheckt" in only(await h.send(p.begeleider, "/checkout")).text


async def who_may(h: Harness, p: Pair) -> dict[str, tuple[bool, bool]]:
    """For each person: (can check in today, sees incident #1 in /incidenten)."""
    people = {
        "coordinator": p.coordinator,
        "teacher": p.teacher_a,
        "begeleider": p.begeleider,
        "reporter": h.user(3002, "Reporter"),
        "stranger": h.user(9999, "Stranger"),
    }
    out = {}
    for name, user in people.items():
        checkin = only(await h.send(user, "/checkin")).text
        listing = (await h.send(user, "/incidenten"))[-1].text
        allowed = any(x in checkin for x in ("Ingecheckt", "al ingecheckt", "Voor welke"))
        out[name] = (allowed, "#1" in listing)
    return out


async def test_authorization_matrix(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    # A second pair, with its own teacher, on the same day.
    from tests.flows import create_exchange, make_invites

    second = await create_exchange(h, p.coordinator, school_a="De Klimop", school_b="Het Anker")
    invites = await make_invites(h, p.coordinator, second)
    foreign_teacher = h.user(4001, "Fenna")
    await h.send(foreign_teacher, f"/start {invites.teacher_a}")
    reporter = h.user(3002, "Reporter")
    first_invites = await make_invites(h, p.coordinator, p.exchange_id)
    await h.send(reporter, f"/start {first_invites.begeleider}")
    await h.run_until(DAY_1)
    replies = await h.send(reporter, "/incident")
    await h.press(reporter, replies[-1], "Kwetsende of discriminerende opmerking")
    await h.press(reporter, h.tg.last_message(reporter.id), "Middel")  # type: ignore[arg-type]
    await h.press(reporter, h.tg.last_message(reporter.id), "5")  # type: ignore[arg-type]
    await h.send(reporter, "Opmerking over kleding")
    await h.press(reporter, h.tg.last_message(reporter.id), "Geen foto")  # type: ignore[arg-type]
    await h.press(reporter, h.tg.last_message(reporter.id), "Versturen")  # type: ignore[arg-type]

    matrix = await who_may(h, p)
    assert matrix == {
        "coordinator": (True, True),
        "teacher": (True, True),  # teachers of the pair see its incidents
        "begeleider": (True, False),  # another begeleider's report is not theirs to see
        "reporter": (True, True),  # their own report
        "stranger": (False, False),
    }
    # A teacher of the other pair sees nothing of this one and cannot act on it.
    listing = (await h.send(foreign_teacher, "/incidenten"))[-1].text
    assert "#1" not in listing
    alert_message = h.tg.messages(p.coordinator.id)[-1]
    for data in ("ia:1", "ir:1", "ic:1"):
        await h.press_data(foreign_teacher, alert_message.message_id, data, force=True)
        assert "Dat mag je niet" in h.tg.callback_answers[-1]["text"]
    # Begeleiders may not close; teachers may not close from the list either.
    await h.press_data(p.begeleider, alert_message.message_id, "ic:1", force=True)
    assert "Dat mag je niet" in h.tg.callback_answers[-1]["text"]
    await h.press_data(p.teacher_a, alert_message.message_id, "ic:1", force=True)
    assert "Dat mag je niet" in h.tg.callback_answers[-1]["text"]
    incident = (await incidents_in_db(h))[0]
    assert incident.status == "open"


async def test_incident_texts_are_purged_after_the_retention_period(harness: Harness) -> None:
    from bot.jobs.retention import purge

    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    await h.send(b, "/checkin")
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Verwonding of ziek")
    await h.press(b, h.tg.last_message(b.id), "Middel")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "2")  # type: ignore[arg-type]
    await h.send(b, "Geschaafde knie op het plein")
    await h.press(b, h.tg.last_message(b.id), "Geen foto")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Versturen")  # type: ignore[arg-type]
    checkout = only(await h.send(b, "/checkout"))
    await h.press(b, checkout, "5")
    note = only(await h.press(b, h.tg.last_message(b.id), "Ja"))  # type: ignore[arg-type]
    await h.send(b, "Iets gespannen bij de start")
    await h.press(b, h.tg.last_message(b.id), "Niets")  # type: ignore[arg-type]
    assert "zonder namen" in note.text
    assert h.context is not None
    # The closing is on 24 February; 90 days later the texts are still there.
    h.clock.set(datetime(2027, 5, 25, 4, 0, tzinfo=AMS))
    assert (await purge(h.context)).incidents == 0
    h.clock.set(datetime(2027, 5, 26, 4, 0, tzinfo=AMS))
    purged = await purge(h.context)
    assert (purged.incidents, purged.checkins) == (1, 1)
    incident = (await incidents_in_db(h))[0]
    assert incident.description is None and incident.purged_at is not None
    assert (incident.category, incident.severity, incident.team_number) == ("injury", "medium", 2)
    async with h.db.read() as session:  # type: ignore[union-attr]
        checkin = await session.scalar(select(CheckIn))
        assert checkin is not None and checkin.tension_note is None and checkin.rating == 5


async def test_a_check_in_sent_while_the_bot_restarts_still_counts(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    await h.stop_bot()
    update_id = h.tg.push_text(p.begeleider, "/checkin")
    await h.start_bot()
    await h.processed(update_id)
    assert "Ingecheckt om 08:20" in h.tg.messages(p.begeleider.id)[-1].text
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1


async def test_teacher_changes_the_class_size_counts_follow(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    overview = await h.send(p.teacher_a, "/klas")
    assert "#1 A: De Avonturijn, groep 8: 24 leerlingen" in overview[0].text
    assert "heeft nu 26 leerlingen" in only(await h.send(p.teacher_a, "/klas 26")).text
    # Only their own class; a coordinator may change any.
    assert "Dat mag je niet" in only(await h.send(p.teacher_a, "/klas 1 B 30")).text
    assert "De Odyssee heeft nu 21" in only(await h.send(p.coordinator, "/klas 1 B 21")).text
    assert "1 tot 40" in (await h.send(p.teacher_a, "/klas 99"))[0].text
    assert "Dat mag je niet" in only(await h.send(p.begeleider, "/klas 1 A 20")).text
    await h.run_until(DAY_1)
    replies = await h.send(p.begeleider, "/aanwezig 32 22")  # 26 + 5 is the limit now
    assert "meer dan in de klas zitten (26)" in replies[0].text


async def test_urgent_alerts_ignore_quiet_hours(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    h.clock.set(datetime(2027, 2, 10, 21, 30, tzinfo=AMS))  # the evening of an exchange day
    replies = await h.send(p.begeleider, "/incident")
    await h.press(p.begeleider, replies[-1], "Verwonding of ziek")
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Hoog")  # type: ignore[arg-type]
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "1")  # type: ignore[arg-type]
    await h.send(p.begeleider, "Val van de trap bij vertrek")
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Geen foto")  # type: ignore[arg-type]
    await h.press(p.begeleider, h.tg.last_message(p.begeleider.id), "Versturen")  # type: ignore[arg-type]
    await h.dispatch()
    alerts = [(x.user_id, x.local) for x in await h.pushes() if x.kind == "incident_alert"]
    assert sorted(alerts) == [
        (1000, "2027-02-10 21:30"),
        (2001, "2027-02-10 21:30"),
        (2002, "2027-02-10 21:30"),
    ]


async def test_coordinator_closes_an_incident_from_the_list(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    replies = await h.send(p.teacher_b, "/incident")
    await h.press(p.teacher_b, replies[-1], "Iets anders")
    await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Laag")  # type: ignore[arg-type]
    await h.send(p.teacher_b, "4")
    await h.send(p.teacher_b, "Lunchpakketten vergeten")
    await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Geen foto")  # type: ignore[arg-type]
    sent = only(await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Versturen"))  # type: ignore[arg-type]
    assert "Melding #1 is verstuurd" in sent.text
    listing = await h.send(p.coordinator, "/incidenten")
    assert "Open meldingen (1)" in listing[0].text
    item = listing[1]
    assert "Iets anders (laag)" in item.text and "Team: 4" in item.text
    ask = only(await h.press(p.coordinator, item, "Afsluiten #1"))
    done = only(await h.press(p.coordinator, ask, "Zonder toelichting"))
    assert "afgesloten" in done.text
    async with h.db.read() as session:  # type: ignore[union-attr]
        action = await session.scalar(select(IncidentAction))
    assert action is not None and (action.user_id, action.action, action.note) == (
        p.coordinator.id,
        "close",
        None,
    )
    assert "geen open meldingen" in only(await h.send(p.teacher_b, "/incidenten")).text


async def test_keypad_corrections(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    moment = only(await h.send(b, "/aanwezig"))
    await h.press(b, moment, "aankomst")
    pad = h.tg.last_message(b.id)
    assert pad is not None
    await h.press(b, pad, "⌫")  # nothing to delete: nothing changes, no error
    for key in ("2", "5", "⌫", "3"):
        await h.press(b, h.tg.last_message(b.id), key)  # type: ignore[arg-type]
    assert "Aantal: 23" in h.tg.last_message(b.id).text  # type: ignore[union-attr]
    replies = await h.press(b, h.tg.last_message(b.id), "✔")  # type: ignore[arg-type]
    assert "Genoteerd: De Avonturijn 23." in replies[0].text
    h.tg.assert_no_errors()
    assert [c for c in h.tg.calls if not c.ok] == []
