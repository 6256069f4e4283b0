"""Agree the dates early: the welcome and the week-1 digest ask teachers for it with a button
that starts /datum, a pair without agreed dates gets a reminder in week 1, and the coordinator
sees which pairs have none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.services import outbox_content
from bot.services.outbox import Claimed
from db.models import OutboxMessage
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness

TITLE = "De Avonturijn – De Odyssee"
AGREE = "📅 Datum afspreken"
# The phases of the standard programme whose date is agreed, with a day inside each window.
DAYS = {
    "Uitwisselingsdag 1": "donderdag 11 februari",
    "Uitwisselingsdag 2": "donderdag 18 februari",
    "Afsluiting": "donderdag 25 februari",
}


def welcome_of(h: Harness, user: FakeUser) -> BotMessage:
    return next(m for m in h.tg.messages(user.id) if "Welkom" in m.text)


async def agree(h: Harness, who: FakeUser, phase: str, day: str) -> None:
    """A coordinator fixes one date through /datum (final at once)."""
    replies = await h.send(who, "/datum")
    question = replies[-1]
    question = only(await h.press(who, question, phase))
    question = only(await h.press(who, question, day))
    answer = only(await h.send(who, "8.45"))
    assert said_any("date_agreement.set").fullmatch(answer.text), answer.text


async def agree_all(h: Harness, p: JoinedExchange) -> None:
    for phase, day in DAYS.items():
        await agree(h, p.coordinator, phase, day)


async def reminders(h: Harness) -> list[OutboxMessage]:
    assert h.db is not None
    async with h.db.read() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "date_reminder")
                .order_by(OutboxMessage.user_id)
            )
        )


async def test_the_welcome_asks_teachers_to_agree_the_dates_with_a_button(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    welcome = welcome_of(h, p.teacher_a)
    assert said("join.agree_ask") in welcome.text
    assert welcome.button_texts == [AGREE]
    question = only(await h.press(p.teacher_a, welcome, AGREE))
    assert question.text == said("date_agreement.choose_phase", title=TITLE)
    # The phase buttons lead on as with /datum.
    day = only(await h.press(p.teacher_a, question, "Uitwisselingsdag 1"))
    assert said_any("date_agreement.ask_day").match(day.text)
    # A begeleider does not agree dates and is not asked to.
    welcome = welcome_of(h, p.begeleider)
    assert said("join.agree_ask") not in welcome.text
    assert welcome.button_texts == []
    h.tg.assert_no_errors()


async def test_once_every_date_is_agreed_a_new_teacher_is_not_asked(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await agree_all(h, p)
    invites = await make_invites(h, p.coordinator, p.exchange_id)
    late = h.user(2003, "Dewi")
    welcome = only(await h.send(late, f"/start {invites.teacher_b}"))
    assert "Welkom" in welcome.text
    assert said("join.agree_ask") not in welcome.text
    assert welcome.button_texts == []


async def test_a_button_for_an_exchange_that_is_not_yours_starts_nothing(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    welcome = welcome_of(h, p.begeleider)
    mark = h.tg.last_message_id(p.begeleider.id)
    # A begeleider may not set dates; a forged button is refused like any other.
    await h.press_data(p.begeleider, welcome.message_id, f"ds:{p.exchange_id}", force=True)
    assert h.tg.messages_since(p.begeleider.id, mark) == []
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")


async def test_the_week_one_digest_asks_and_a_reminder_follows_in_week_one(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 1, 8, 1, tzinfo=AMS))
    digest = h.tg.last_message(p.teacher_a.id)
    assert digest is not None and "Week 1 van 4" in digest.text
    assert said("digest.agree_ask") in digest.text
    assert digest.buttons[-1][0].text == AGREE
    question = only(await h.press(p.teacher_a, digest, AGREE))
    assert question.text == said("date_agreement.choose_phase", title=TITLE)
    await h.send(p.teacher_a, "/annuleren")

    # Friday of week 1: the first day from Wednesday on with nothing else for the teachers.
    mark = {u.id: h.tg.last_message_id(u.id) for u in (p.teacher_a, p.teacher_b, p.begeleider)}
    await h.run_until(datetime(2027, 2, 5, 12, 0, tzinfo=AMS))
    for teacher in (p.teacher_a, p.teacher_b):
        reminder = [
            m
            for m in h.tg.messages_since(teacher.id, mark[teacher.id])
            if said_any("date_reminder.text").fullmatch(m.text)
        ]
        assert len(reminder) == 1, teacher.first_name
        assert "Uitwisselingsdag 1: woensdag 10 februari" in reminder[0].text
        assert "Afsluiting" in reminder[0].text
        assert reminder[0].button_texts == [AGREE]
    assert not any(
        said_any("date_reminder.text").fullmatch(m.text)
        for m in h.tg.messages_since(p.begeleider.id, mark[p.begeleider.id])
    )
    rows = await reminders(h)
    assert [(r.user_id, r.status) for r in rows] == [
        (p.teacher_a.id, "sent"),
        (p.teacher_b.id, "sent"),
    ]
    assert {r.due_at.astimezone(AMS) for r in rows} == {datetime(2027, 2, 5, 8, 0, tzinfo=AMS)}
    reminder = h.tg.last_message(p.teacher_b.id)
    assert reminder is not None
    question = only(await h.press(p.teacher_b, reminder, AGREE))
    assert question.text == said("date_agreement.choose_phase", title=TITLE)
    h.tg.assert_no_errors()


async def test_no_reminder_once_the_dates_are_agreed(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    assert [r.status for r in await reminders(h)] == ["pending", "pending"]
    await agree_all(h, p)
    assert [r.status for r in await reminders(h)] == ["cancelled", "cancelled"]
    await h.run_until(datetime(2027, 2, 12, 12, 0, tzinfo=AMS))
    for teacher in (p.teacher_a, p.teacher_b):
        assert not any(
            said_any("date_reminder.text").fullmatch(m.text) for m in h.tg.messages(teacher.id)
        )
        digest = next(m for m in h.tg.messages(teacher.id) if "Week 1 van 4" in m.text)
        assert said("digest.agree_ask") not in digest.text
        assert AGREE not in digest.button_texts


async def test_a_reminder_loaded_after_the_dates_were_agreed_is_skipped(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await agree_all(h, p)
    assert h.db is not None and h.context is not None
    row = Claimed(
        id=0,
        user_id=p.teacher_a.id,
        exchange_id=p.exchange_id,
        kind="date_reminder",
        payload={"date": "2027-02-05"},
        late=False,
        language="nl",
        due_at=datetime(2027, 2, 5, 8, 0, tzinfo=AMS),
    )
    async with h.db.read() as session:
        loaded = await outbox_content.load(session, row, h.context.programmes)
    assert loaded == outbox_content.Skip("dates agreed")


async def test_the_coordinator_sees_which_pairs_have_no_agreed_dates(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await agree_all(h, p)
    second = await create_exchange(
        h, p.coordinator, school_a="De Klimop", school_b="Het Anker", start="8 februari"
    )
    overview = only(await h.send(p.coordinator, "/programma"))
    assert said_any("programme.overview").fullmatch(overview.text)
    lines = overview.text.splitlines()
    assert (
        said(
            "programme.overview_line", label=f"#{p.exchange_id} {TITLE}", start="maandag 1 februari"
        )
        in lines
    )
    assert (
        said(
            "programme.overview_line_open",
            label=f"#{second} De Klimop – Het Anker",
            start="maandag 8 februari",
        )
        in lines
    )
    # The list still lets the coordinator open one.
    view = only(await h.press(p.coordinator, overview, f"#{second} De Klimop – Het Anker"))
    assert f"#{second} De Klimop – Het Anker" in view.text
