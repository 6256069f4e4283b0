"""A begeleider who cannot come: "Ik kan niet" in the digest and the day schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.services import absences
from db.models import Absence, User
from tests.fixtures import AMS, said
from tests.flows import joined_exchange, make_invites, only
from tests.harness import Harness

MONDAY = datetime(2027, 2, 8, 8, 5, tzinfo=AMS)  # the week of exchange day 1 (Wednesday)
SCHEDULE = datetime(2027, 2, 10, 7, 35, tzinfo=AMS)  # the day schedule has gone out
DAY = "Uitwisselingsdag 1"
WHEN = "woensdag 10 februari, 08:45"


async def _absences(h: Harness) -> int:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return int(await session.scalar(select(func.count()).select_from(Absence)) or 0)


async def test_a_begeleider_says_they_cannot_come_and_then_can(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b, coordinator = p.begeleider, p.coordinator
    await h.run_until(MONDAY)
    digest = h.tg.last_message(b.id)
    assert digest is not None and digest.button_texts[-1] == said(
        "absence.btn_day", day="woensdag 10 februari"
    )
    teacher_digest = h.tg.last_message(p.teacher_a.id)
    assert teacher_digest is not None
    assert said("absence.btn_day", day="woensdag 10 februari") not in teacher_digest.button_texts

    await h.run_until(SCHEDULE)
    schedule = h.tg.last_message(b.id)
    assert schedule is not None and schedule.text.startswith(DAY)
    assert schedule.button_texts == [said("absence.btn_day", day="woensdag 10 februari")]
    teacher_schedule = h.tg.last_message(p.teacher_a.id)
    assert teacher_schedule is not None and teacher_schedule.button_texts == []

    # A tap asks first; "Nee" changes nothing and tells nobody.
    ask = only(await h.press(b, schedule, said("absence.btn_day", day="woensdag 10 februari")))
    params = {"phase": DAY, "when": WHEN, "id": 1, "title": "De Avonturijn – De Odyssee"}
    assert ask.text == said("absence.ask", **params)
    await h.press(b, ask, said("absence.btn_no"))
    kept = h.tg.last_message(b.id)
    assert kept is not None and kept.text == said("absence.kept") and kept.button_texts == []
    assert await _absences(h) == 0

    # Confirmed: stored once, the coordinator hears it at once, and who still comes.
    ask = only(await h.press(b, schedule, said("absence.btn_day", day="woensdag 10 februari")))
    mark = h.tg.last_message_id(coordinator.id)
    await h.press(b, ask, said("absence.btn_yes"))
    done = next(m for m in h.tg.messages(b.id) if m.message_id == ask.message_id)
    assert done.text == said("absence.done", phase=DAY, when=WHEN)
    assert done.button_texts == [said("absence.btn_undo")]
    assert await _absences(h) == 1
    await h.dispatch()
    news = h.tg.messages_since(coordinator.id, mark)
    assert [m.text for m in news] == [
        said(
            "absence.news_off",
            name="Ghislaine",
            role=said("undelivered.role_begeleider"),
            **params,
        )
        + "\n"
        + said("absence.nobody_coming")
    ]
    # Saying it twice stores nothing more and tells nobody again.
    again = only(await h.press(b, schedule, said("absence.btn_day", day="woensdag 10 februari")))
    await h.press(b, again, said("absence.btn_yes"))
    assert h.tg.last_message(b.id).text == said("absence.already", phase=DAY, when=WHEN)  # type: ignore[union-attr]
    assert await _absences(h) == 1

    # Before the day starts the coordinator hears that nobody comes, not "not checked in".
    await h.run_until(datetime(2027, 2, 10, 8, 35, tzinfo=AMS))
    alert = h.tg.last_message(coordinator.id)
    assert alert is not None
    assert alert.text == said(
        "checkin.nobody_alert",
        phase=DAY,
        id=1,
        title="De Avonturijn – De Odyssee",
        time="08:45",
        names="Ghislaine",
    )

    # "Ik kan toch wel": the absence is gone and the coordinator hears that too.
    mark = h.tg.last_message_id(coordinator.id)
    back = only(await h.press(b, done, said("absence.btn_undo")))
    assert back.text == said("absence.undone", phase=DAY, when=WHEN)
    assert await _absences(h) == 0
    await h.dispatch()
    news = only(h.tg.messages_since(coordinator.id, mark))
    assert news.text.startswith(
        said(
            "absence.news_on", name="Ghislaine", role=said("undelivered.role_begeleider"), **params
        )
    )
    assert said("absence.coming", names="Ghislaine") in news.text
    h.tg.assert_no_errors()


async def test_an_absent_begeleider_is_not_reported_missing(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    second = h.user(3002, "Youssef")
    invites = await make_invites(h, p.coordinator, 1)
    await h.send(second, f"/start {invites.begeleider}")
    await h.run_until(SCHEDULE)
    schedule = h.tg.last_message(p.begeleider.id)
    assert schedule is not None
    ask = only(
        await h.press(p.begeleider, schedule, said("absence.btn_day", day="woensdag 10 februari"))
    )
    await h.press(p.begeleider, ask, said("absence.btn_yes"))
    await h.run_until(datetime(2027, 2, 10, 8, 35, tzinfo=AMS))
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None
    assert said("checkin.missing_absent", names="Ghislaine") in alert.text
    assert alert.text.startswith("⚠️ Nog niet ingecheckt") and ": Youssef\n" in alert.text


async def test_no_absence_on_an_archived_exchange_or_a_day_that_is_over(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(SCHEDULE)
    schedule = h.tg.last_message(p.begeleider.id)
    assert schedule is not None
    # The next day, the button of a day that is over does nothing.
    h.clock.set(datetime(2027, 2, 11, 9, 0, tzinfo=AMS))
    assert (
        await h.press(p.begeleider, schedule, said("absence.btn_day", day="woensdag 10 februari"))
        == []
    )
    assert h.tg.callback_answers[-1]["text"] == said("absence.over")
    h.clock.set(SCHEDULE)
    ask = only(
        await h.press(p.begeleider, schedule, said("absence.btn_day", day="woensdag 10 februari"))
    )
    confirm = (await h.send(p.coordinator, "/archiveren 1"))[-1]
    await h.press(p.coordinator, confirm, said("archive.btn_confirm"))
    await h.press(p.begeleider, ask, said("absence.btn_yes"))
    assert h.tg.callback_answers[-1]["text"] == said("auth.archived")
    assert await _absences(h) == 0


async def test_a_teacher_may_say_so_too(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(MONDAY)
    await h.send(h.user(4444, "Iemand"), "/start")
    async with h.db.write() as session:  # type: ignore[union-attr]
        teacher = await session.get(User, p.teacher_a.id)
        assert teacher is not None
        result = await absences.report(
            session,
            teacher,
            1,
            "exchange_day_1",
            programmes=h.context.programmes,  # type: ignore[union-attr]
            today=MONDAY.date(),
            now=MONDAY,
        )
        assert result.outcome == "recorded"
        stranger = await session.get(User, 4444)
        assert stranger is not None
        refused = await absences.report(
            session,
            stranger,
            1,
            "exchange_day_1",
            programmes=h.context.programmes,  # type: ignore[union-attr]
            today=MONDAY.date(),
            now=MONDAY,
        )
        assert refused.outcome == "not_allowed"
    await h.dispatch()
    news = h.tg.last_message(p.coordinator.id)
    assert news is not None and news.text.startswith("🙋 Anouk (leerkracht van De Avonturijn)")
