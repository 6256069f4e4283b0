"""The programme runs itself: four weeks of pushes, whom they reach and when (local time)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fixtures import AMS, COORDINATOR_ID, said
from tests.flows import create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness, Push


def for_user(pushes: list[Push], user_id: int) -> list[tuple[str, str]]:
    return [(p.kind, p.local) for p in pushes if p.user_id == user_id]


TEACHER_A = [
    ("checklist_nag", "2027-01-28 15:00"),
    # Sunday's reminder would wait for Monday 07:00: the digest an hour later lists its items.
    ("digest", "2027-02-01 08:00"),
    ("checklist_nag", "2027-02-02 15:00"),
    ("checklist_nag", "2027-02-03 15:00"),
    ("checklist_nag", "2027-02-04 15:00"),
    # No date agreed yet: a reminder on the first day of the week's second half without
    # another message.
    ("date_reminder", "2027-02-05 08:00"),
    ("digest", "2027-02-08 08:00"),
    ("day_schedule", "2027-02-10 07:30"),
    ("checklist_nag", "2027-02-11 15:00"),
    ("digest", "2027-02-15 08:00"),
    ("checklist_nag", "2027-02-16 15:00"),
    ("day_schedule", "2027-02-17 07:30"),
    ("checklist_nag", "2027-02-18 15:00"),
    ("digest", "2027-02-22 08:00"),
    ("checklist_nag", "2027-02-23 15:00"),
    ("day_schedule", "2027-02-24 07:30"),
    ("follow_up", "2027-03-01 08:00"),
]


# Reminders that would go out on the day of a digest are in the digest instead.
BEGELEIDER = [
    ("digest", "2027-02-08 08:00"),
    ("day_schedule", "2027-02-10 07:30"),
    ("digest", "2027-02-15 08:00"),
    ("day_schedule", "2027-02-17 07:30"),
    ("digest", "2027-02-22 08:00"),
    ("day_schedule", "2027-02-24 07:30"),
]


async def test_four_weeks_reach_the_right_people_at_the_right_local_time(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
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
        "2027-02-02 15:00",
        "2027-02-03 15:00",
        "2027-02-04 15:00",
        "2027-02-11 15:00",
        "2027-02-16 15:00",
        "2027-02-18 15:00",
    ]
    # The coordinator heard who joined; the begeleider never checked in: the coordinator
    # hears it 15 minutes before each start. Each Monday of the programme brings their summary.
    assert for_user(sent, p.coordinator.id) == [
        ("member_joined", "2027-01-11 09:00"),
        ("member_joined", "2027-01-11 09:00"),
        ("member_joined", "2027-01-11 09:00"),
        ("coordinator_week", "2027-02-01 09:00"),
        ("coordinator_week", "2027-02-08 09:00"),
        ("checkin_missing", "2027-02-10 08:30"),
        ("coordinator_week", "2027-02-15 09:00"),
        ("checkin_missing", "2027-02-17 08:30"),
        ("coordinator_week", "2027-02-22 09:00"),
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
    assert "De Avonturijn (gastschool): Kolenkitbuurt 12" in schedule.text
    assert "De Odyssee komt om 08:45 bij jullie op bezoek." in schedule.text
    assert "08:45–" in schedule.text and "Begeleiders: Ghislaine" in schedule.text
    assert "Carla (@carla_wimw)" in schedule.text
    follow_up = next(m for m in msgs_a if "We houden contact" in m.text)
    assert "teamfoto" in follow_up.text
    h.tg.assert_no_errors()


async def test_digests_keep_their_local_time_across_the_spring_clock_change(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h, start="22 maart")  # summer time starts on Sunday 28 March 2027
    await h.run_until(datetime(2027, 4, 20, tzinfo=AMS))
    sent = [
        x for x in await h.pushes() if x.user_id == p.teacher_a.id and x.kind != "checklist_nag"
    ]
    assert [(x.kind, x.local) for x in sent] == [
        ("digest", "2027-03-22 08:00"),
        # No free day before day 1 (the reminders of the checklist, Easter Monday, the
        # digest on Tuesday): the reminder to agree the dates comes on Wednesday of week 1.
        ("date_reminder", "2027-03-24 08:00"),
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
    p = await joined_exchange(h, start="25 oktober")  # winter time starts on Sunday 31 October 2027
    await h.run_until(datetime(2027, 11, 25, tzinfo=AMS))
    digests = [x for x in await h.pushes() if x.user_id == p.teacher_a.id and x.kind == "digest"]
    assert [x.local for x in digests] == [
        "2027-10-25 08:00",
        "2027-11-01 08:00",
        "2027-11-08 08:00",
        "2027-11-15 08:00",
    ]
    assert [x.at.astimezone(UTC).hour for x in digests] == [6, 7, 7, 7]


async def test_a_user_who_blocked_the_bot_stops_getting_pushes(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
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
    assert back == [("digest", "2027-02-01 09:00")]
    assert said("digest.late") in h.tg.messages(p.teacher_b.id)[-1].text


async def test_forged_programme_button_of_another_exchange_is_refused(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    first = await create_exchange(h, coordinator)
    second = await create_exchange(h, coordinator, school_a="De Klimop", school_b="Het Anker")
    invites = await make_invites(h, coordinator, first)
    teacher = h.user(2001, "Anouk")
    await h.send(teacher, f"/start {invites.teacher_a}")
    view = only(await h.send(teacher, "/programma"))
    assert "De Avonturijn" in view.text

    assert await h.press_data(teacher, view.message_id, f"prog:{second}", force=True) == []
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")
    shown = await h.press_data(teacher, view.message_id, f"prog:{first}", force=True)
    assert "De Avonturijn" in only(shown).text
