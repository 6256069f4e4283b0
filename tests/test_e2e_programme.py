"""The programme runs itself: four weeks of pushes, whom they reach and when (local time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import AMS
from tests.flows import pair
from tests.harness import Harness, Push


def for_user(pushes: list[Push], user_id: int) -> list[tuple[str, str]]:
    return [(p.kind, p.local) for p in pushes if p.user_id == user_id]


TEACHER_A = [
    ("checklist_nag", "2027-01-28 15:00"),
    ("checklist_nag", "2027-02-01 07:00"),  # Sunday's nag waits for Monday morning
    ("digest", "2027-02-01 08:00"),
    ("checklist_nag", "2027-02-02 15:00"),
    ("checklist_nag", "2027-02-03 15:00"),
    ("checklist_nag", "2027-02-04 15:00"),
    ("checklist_nag", "2027-02-08 07:00"),
    ("digest", "2027-02-08 08:00"),
    ("checklist_nag", "2027-02-08 15:00"),
    ("day_schedule", "2027-02-10 07:30"),
    ("checklist_nag", "2027-02-11 15:00"),
    ("checklist_nag", "2027-02-15 07:00"),
    ("digest", "2027-02-15 08:00"),
    ("checklist_nag", "2027-02-16 15:00"),
    ("day_schedule", "2027-02-17 07:30"),
    ("checklist_nag", "2027-02-18 15:00"),
    ("checklist_nag", "2027-02-22 07:00"),
    ("digest", "2027-02-22 08:00"),
    ("checklist_nag", "2027-02-22 15:00"),
    ("checklist_nag", "2027-02-23 15:00"),
    ("day_schedule", "2027-02-24 07:30"),
    ("follow_up", "2027-03-01 08:00"),
]
BEGELEIDER = [
    ("digest", "2027-02-08 08:00"),
    ("checklist_nag", "2027-02-08 15:00"),
    ("day_schedule", "2027-02-10 07:30"),
    ("digest", "2027-02-15 08:00"),
    ("checklist_nag", "2027-02-15 15:00"),
    ("day_schedule", "2027-02-17 07:30"),
    ("digest", "2027-02-22 08:00"),
    ("checklist_nag", "2027-02-22 15:00"),
    ("day_schedule", "2027-02-24 07:30"),
]


async def test_four_weeks_reach_the_right_people_at_the_right_local_time(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(datetime(2027, 3, 8, tzinfo=AMS))
    sent = await h.pushes()
    assert for_user(sent, p.teacher_a.id) == TEACHER_A
    assert for_user(sent, p.begeleider.id) == BEGELEIDER
    # Teacher B gets the same digests and days, but the nags of the other side's tasks.
    b = for_user(sent, p.teacher_b.id)
    assert [x for x in b if x[0] != "checklist_nag"] == [
        x for x in TEACHER_A if x[0] != "checklist_nag"
    ]
    # B hosts day 2 and visits for day 1 and the closing: other tasks, other nag days.
    assert [x[1] for x in b if x[0] == "checklist_nag"] == [
        "2027-01-28 15:00",
        "2027-02-01 07:00",
        "2027-02-02 15:00",
        "2027-02-03 15:00",
        "2027-02-04 15:00",
        "2027-02-08 07:00",
        "2027-02-11 15:00",
        "2027-02-15 07:00",
        "2027-02-15 15:00",
        "2027-02-16 15:00",
        "2027-02-18 15:00",
        "2027-02-22 15:00",
    ]
    # The begeleider never checked in: the coordinator hears it 15 minutes before each start.
    assert for_user(sent, p.coordinator.id) == [
        ("checkin_missing", "2027-02-10 08:30"),
        ("checkin_missing", "2027-02-17 08:30"),
        ("checkin_missing", "2027-02-24 12:45"),
    ]
    assert await h.pushes("failed") == [] and await h.pushes("pending") == []

    msgs_a = h.tg.messages(p.teacher_a.id)
    digest = next(m for m in msgs_a if "Week 2 van 4" in m.text)
    assert "Deze week: Uitwisselingsdag 1" in digest.text
    assert "woensdag 10 februari, 08:45" in digest.text and "(voorlopig)" in digest.text
    assert "/datum" in digest.text
    assert any("Toestemming" in t or "toestemming" in t for t in digest.button_texts)
    schedule = next(m for m in msgs_a if m.text.startswith("Uitwisselingsdag 1 · woensdag"))
    assert "Gastschool: De Avonturijn, Kolenkitbuurt 12" in schedule.text
    assert "08:45–" in schedule.text and "Begeleiders: Ghislaine" in schedule.text
    assert "Carla (@carla_wimw)" in schedule.text
    follow_up = next(m for m in msgs_a if "We houden contact" in m.text)
    assert "teamfoto" in follow_up.text
    h.tg.assert_no_errors()


async def test_digests_keep_their_local_time_across_the_spring_clock_change(
    harness: Harness,
) -> None:
    h = harness
    p = await pair(h, start="22 maart")  # summer time starts on Sunday 28 March 2027
    await h.run_until(datetime(2027, 4, 20, tzinfo=AMS))
    sent = [
        x for x in await h.pushes() if x.user_id == p.teacher_a.id and x.kind != "checklist_nag"
    ]
    assert [(x.kind, x.local) for x in sent] == [
        ("digest", "2027-03-22 08:00"),
        # Easter Monday is a public holiday: the digest comes on Tuesday morning instead.
        ("digest", "2027-03-30 07:00"),
        ("day_schedule", "2027-03-31 07:30"),
        ("digest", "2027-04-05 08:00"),
        ("day_schedule", "2027-04-07 07:30"),
        ("digest", "2027-04-12 08:00"),
        ("day_schedule", "2027-04-14 07:30"),
        ("follow_up", "2027-04-19 08:00"),
    ]
    utc_hours = [x.at.astimezone(UTC).hour for x in sent if x.kind == "digest"]
    assert utc_hours == [7, 5, 6, 6]


async def test_digests_keep_their_local_time_across_the_autumn_clock_change(
    harness: Harness,
) -> None:
    h = harness
    h.clock.set(datetime(2027, 10, 4, 9, 0, tzinfo=AMS))
    p = await pair(h, start="25 oktober")  # winter time starts on Sunday 31 October 2027
    await h.run_until(datetime(2027, 11, 25, tzinfo=AMS))
    digests = [x for x in await h.pushes() if x.user_id == p.teacher_a.id and x.kind == "digest"]
    assert [x.local for x in digests] == [
        "2027-10-25 08:00",
        "2027-11-01 08:00",
        "2027-11-08 08:00",
        "2027-11-15 08:00",
    ]
    assert [x.at.astimezone(UTC).hour for x in digests] == [6, 7, 7, 7]


async def test_ticked_items_are_never_nagged(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    assert "Tik op een punt" in view.text
    label = next(t for t in view.button_texts if "Projectboekjes" in t)
    assert label.startswith("⬜")
    await h.press(p.teacher_a, view, label)
    assert h.tg.callback_answers[-1]["text"] == "Afgevinkt ✅"
    pressed = next(m for m in h.tg.messages(p.teacher_a.id) if m.message_id == view.message_id)
    assert any(t.startswith("✅ Projectboekjes") for t in pressed.button_texts)
    # Both teachers of the class share ticks; the other school does not.
    other = (await h.send(p.teacher_b, "/checklist"))[-1]
    assert any(t.startswith("⬜ Projectboekjes") for t in other.button_texts)

    await h.run_until(datetime(2027, 1, 29, 12, 0, tzinfo=AMS))
    nags = [x for x in await h.pushes() if x.kind == "checklist_nag"]
    assert [(x.user_id, x.local) for x in nags] == [(p.teacher_b.id, "2027-01-28 15:00")]
    skipped = await h.pushes("skipped")
    assert [(x.user_id, x.error) for x in skipped] == [(p.teacher_a.id, "nothing open")]
    nag = h.tg.messages(p.teacher_b.id)[-1]
    assert "uiterlijk vrijdag 29 januari" in nag.text
    # Ticking from the nag itself works too.
    await h.press(p.teacher_b, nag, nag.button_texts[0])
    assert h.tg.callback_answers[-1]["text"] == "Afgevinkt ✅"


async def test_coordinator_sees_checklist_progress(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    await h.press(p.teacher_a, view, next(t for t in view.button_texts if "Projectboekjes" in t))
    progress = (await h.send(p.coordinator, "/checklist"))[-1].text
    assert "Leerkrachten De Avonturijn: 1 van" in progress
    assert "Leerkrachten De Odyssee: 0 van" in progress
    assert "Begeleiders: 0 van" in progress


async def test_a_user_who_blocked_the_bot_stops_getting_pushes(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    h.tg.block_user(p.teacher_b.id)
    await h.run_until(datetime(2027, 2, 1, 9, 0, tzinfo=AMS))
    assert [x.local for x in await h.pushes() if x.user_id == p.teacher_b.id] == []
    blocked = await h.pushes("blocked")
    assert {x.user_id for x in blocked} == {p.teacher_b.id}
    # Only what fell due is settled; later pushes wait for their own time.
    assert all(x.at <= datetime(2027, 2, 1, 9, 0, tzinfo=AMS) for x in blocked)
    assert any(x.user_id == p.teacher_b.id for x in await h.pushes("pending"))
    assert ("digest", "2027-02-01 08:00") in for_user(await h.pushes(), p.teacher_a.id)
    # Coming back (writing to the bot) brings back what still makes sense.
    h.tg.unblock_user(p.teacher_b.id)
    await h.send(p.teacher_b, "/help")
    await h.run_until(datetime(2027, 2, 2, 9, 0, tzinfo=AMS))
    back = for_user(await h.pushes(), p.teacher_b.id)
    # What was missed and still matters arrives now; later pushes keep their own time.
    assert back == [("checklist_nag", "2027-02-01 09:00"), ("digest", "2027-02-01 09:00")]
    assert "Later verstuurd dan gepland" in h.tg.messages(p.teacher_b.id)[-1].text


async def test_vandaag_and_the_next_day(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert "Vandaag is er geen uitwisselingsdag" in reply
    assert "Uitwisselingsdag 1: woensdag 10 februari, 08:45" in reply
    h.clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=AMS))
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert reply.startswith("Uitwisselingsdag 1 · woensdag 10 februari")
    assert "Speurtocht" in reply or "speurtocht" in reply
    h.clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=AMS))
    assert "komen er ook geen meer" in (await h.send(p.begeleider, "/vandaag"))[-1].text


async def test_agenda_is_an_ics_file_with_stable_uids(harness: Harness) -> None:
    import icalendar

    h = harness
    p = await pair(h)
    await h.send(p.teacher_a, "/agenda")
    document = h.tg.messages(p.teacher_a.id)[-1].document
    assert document is not None and document.filename == "uitwisseling-1.ics"
    calendar = icalendar.Calendar.from_ical(document.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        f"wijkbot-exchange-1-{k}@wijkbot"
        for k in ("orientation", "exchange_day_1", "exchange_day_2", "closing")
    }
    day1 = events["wijkbot-exchange-1-exchange_day_1@wijkbot"]
    assert day1.decoded("DTSTART") == datetime(2027, 2, 10, 8, 45, tzinfo=AMS)
    assert "Kolenkitbuurt 12" in str(day1["LOCATION"])


async def test_restart_between_due_time_and_sending_sends_once(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 5, tzinfo=AMS))  # the digest is due, nobody sent it yet
    await h.restart()
    await h.dispatch()
    await h.restart()
    await h.dispatch()
    digests = [x for x in await h.pushes() if x.kind == "digest" and x.user_id == p.teacher_a.id]
    assert [x.local for x in digests] == ["2027-02-01 08:05"]
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1


async def test_process_killed_after_claiming_is_recovered_once(harness: Harness) -> None:
    """A row claimed by a process that then died is sent by the next one after the lease.

    The dying process committed its claim but never reached Telegram; the row stays
    "sending" for two minutes (another live process may still be sending it), then it is
    claimed again and sent exactly once.
    """
    from bot.services import outbox

    h = harness
    p = await pair(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=AMS))
    assert h.context is not None and h.db is not None
    async with h.db.write() as session:
        claimed = (
            await outbox.claim_due(session, now=h.clock.now(), limit=50, rules=h.context.rules)
        ).to_send
    assert {c.kind for c in claimed} >= {"digest"}
    await h.restart()  # the claiming process is gone without sending
    assert await h.dispatch() == 0  # within the lease nobody touches the rows
    assert "Week 1 van 4" not in h.tg.messages(p.teacher_a.id)[-1].text
    h.clock.advance(timedelta(minutes=3))
    assert await h.dispatch() == len(claimed)
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1
    await h.dispatch()
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1


async def test_archiving_a_pair_cancels_what_was_planned(harness: Harness) -> None:
    h = harness
    p = await pair(h)
    assert "Dat mag je niet" in (await h.send(p.teacher_a, "/archiveren 1"))[-1].text
    confirm = (await h.send(p.coordinator, "/archiveren 1"))[-1]
    assert "#1 De Avonturijn – De Odyssee" in confirm.text
    done = (await h.press(p.coordinator, confirm, "Ja, archiveren"))[-1]
    assert "is gearchiveerd" in done.text
    assert await h.pushes("pending") == []
    cancelled = await h.pushes("cancelled")
    assert len(cancelled) > 20
    await h.run_until(datetime(2027, 3, 8, tzinfo=AMS))
    assert await h.pushes() == []
    assert "nog niet mee" in (await h.send(p.teacher_a, "/programma"))[-1].text
