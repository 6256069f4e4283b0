"""Incidents: reporting, escalation, acknowledging, closing, who sees what, retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from db.models import CheckIn, Incident, IncidentAction
from tests.fixtures import AMS, START, make_settings, said
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 (default), starts 08:45


async def incidents_in_db(h: Harness) -> list[Incident]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return list(await session.scalars(select(Incident).order_by(Incident.id)))


async def who_may(h: Harness, p: JoinedExchange) -> dict[str, tuple[bool, bool]]:
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


async def test_unacknowledged_urgent_incident_is_repeated_to_every_coordinator(
    database,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    async with Harness(
        database_url, start=START, make_settings=make_settings, coordinator_ids=(1000, 1001)
    ) as h:
        p = await joined_exchange(h)
        other_coordinator = h.user(1001, "Dirk")
        await h.send(other_coordinator, "/start")
        await h.run_until(DAY_1)
        b = p.begeleider
        replies = await h.send(b, "/incident")
        assert replies[0].text != said("incidents.ask_description")  # the intro; names come later
        await h.press(b, replies[-1], "Ruzie tussen leerlingen")
        await h.press(b, h.tg.last_message(b.id), "Hoog")  # type: ignore[arg-type]
        await h.press(b, h.tg.last_message(b.id), "3")  # type: ignore[arg-type]
        assert h.tg.last_message(b.id).text == said("incidents.ask_description")  # type: ignore[union-attr]
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
        assert alerted == [1000, 2001, 2002]  # the exchange's coordinator and both teachers
        await h.run_until(h.clock.now() + timedelta(minutes=9))
        assert [x for x in await h.pushes() if x.kind == "incident_repeat"] == []
        await h.run_until(h.clock.now() + timedelta(minutes=2))
        repeats = sorted(x.user_id for x in await h.pushes() if x.kind == "incident_repeat")
        assert repeats == [1000, 1001]
        repeat = h.tg.last_message(1001)
        assert repeat is not None and "#1" in repeat.text
        assert said("incidents.repeat", wait="10 minuten") in repeat.text
        # The coordinator resolves it with a note.
        ask = only(await h.press(other_coordinator, repeat, "Opgelost ✅"))
        assert ask.text == said("incidents.ask_resolution", id=1)
        done = only(await h.send(other_coordinator, "Gesprek gehad met beide teams"))
        assert done.text == said("incidents.resolved", id=1)
        async with h.db.read() as session:
            incident = await session.scalar(select(Incident))
            actions = (
                await session.execute(
                    select(IncidentAction.user_id, IncidentAction.action, IncidentAction.note)
                )
            ).all()
        assert incident is not None and incident.status == "resolved"
        assert [tuple(a) for a in actions] == [(1001, "resolve", "Gesprek gehad met beide teams")]
        assert only(await h.send(p.coordinator, "/incidenten")).text == said("incidents.list_empty")


async def test_low_incident_with_photo_goes_to_the_coordinator_only(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
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
    assert said("incidents.summary_photo") in confirm.text
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
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Onveilige situatie")
    assert only(await h.send(b, "/annuleren")).text == said("common.cancelled")
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Vermist kind")  # missing: no severity question
    assert h.tg.last_message(b.id).text == said("incidents.ask_team")  # type: ignore[union-attr]
    h.clock.advance(timedelta(minutes=31))
    assert only(await h.send(b, "Team 2")).text == said("fallback.lapsed_incident")
    assert await incidents_in_db(h) == []


async def test_authorization_matrix(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    # A second exchange, with its own teacher, on the same day.
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
        "teacher": (True, True),  # teachers of the exchange see its incidents
        "begeleider": (True, False),  # another begeleider's report is not theirs to see
        "reporter": (True, True),  # their own report
        "stranger": (False, False),
    }
    # A teacher of the other exchange sees nothing of this one and cannot act on it.
    listing = (await h.send(foreign_teacher, "/incidenten"))[-1].text
    assert "#1" not in listing
    alert_message = h.tg.messages(p.coordinator.id)[-1]
    for data in ("ia:1", "ir:1", "ic:1"):
        await h.press_data(foreign_teacher, alert_message.message_id, data, force=True)
        assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    # Begeleiders may not close; teachers may not close from the list either.
    await h.press_data(p.begeleider, alert_message.message_id, "ic:1", force=True)
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    await h.press_data(p.teacher_a, alert_message.message_id, "ic:1", force=True)
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    incident = (await incidents_in_db(h))[0]
    assert incident.status == "open"


async def test_incident_texts_are_purged_after_the_retention_period(harness: Harness) -> None:
    from bot.jobs.retention import purge

    h = harness
    p = await joined_exchange(h)
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
    assert note.text == said("checkout.ask_tension_note")
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


async def test_urgent_alerts_ignore_quiet_hours(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
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
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    replies = await h.send(p.teacher_b, "/incident")
    await h.press(p.teacher_b, replies[-1], "Iets anders")
    await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Laag")  # type: ignore[arg-type]
    await h.send(p.teacher_b, "4")
    await h.send(p.teacher_b, "Lunchpakketten vergeten")
    await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Geen foto")  # type: ignore[arg-type]
    sent = only(await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "Versturen"))  # type: ignore[arg-type]
    assert sent.text == said("incidents.sent", id=1)
    listing = await h.send(p.coordinator, "/incidenten")
    assert listing[0].text == said("incidents.list_header", count=1)
    item = listing[1]
    category = said("incidents.category_other")
    assert said("incidents.head_low", id=1, category=category) in item.text
    assert said("incidents.team", team=4) in item.text
    ask = only(await h.press(p.coordinator, item, "Afsluiten #1"))
    done = only(await h.press(p.coordinator, ask, "Zonder toelichting"))
    assert done.text == said("incidents.resolved", id=1)
    async with h.db.read() as session:  # type: ignore[union-attr]
        action = await session.scalar(select(IncidentAction))
    assert action is not None and (action.user_id, action.action, action.note) == (
        p.coordinator.id,
        "close",
        None,
    )
    assert only(await h.send(p.teacher_b, "/incidenten")).text == said("incidents.list_empty")
