"""The time machine: each jump lands where the page says, and the skipped time happens."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.domain.programme import Programme, load_programmes
from bot.sandbox import demo, timemachine
from bot.sandbox.runtime import Sandbox, SandboxInputError
from db.models import STATUS_ARCHIVED, Exchange
from fake_telegram import BotMessage
from tests.fixtures import said, said_any
from tests.sandbox.support import persona, running_sandbox, said_to


def local(sandbox: Sandbox, message: BotMessage) -> datetime:
    return datetime.fromtimestamp(message.date, sandbox.settings.tz)


def new_messages(sandbox: Sandbox, marks: dict[int, int]) -> dict[int, list[BotMessage]]:
    return {chat: sandbox.tg.messages_since(chat, mark) for chat, mark in marks.items()}


def marks(sandbox: Sandbox) -> dict[int, int]:
    return {p.id: sandbox.tg.last_message_id(p.id) for p in sandbox.personas()}


def _digests_of(
    sandbox: Sandbox, arrived: dict[int, list[BotMessage]], name: str
) -> list[BotMessage]:
    return [
        m
        for m in arrived[persona(sandbox, name).id]
        if said_any("digest.title").search(m.text or "")
    ]


# From late November the demo's pairs start after the Christmas break, a week apart: the
# first Mondays then bring the teachers nothing yet, and a few more jumps reach their weeks.
MONDAYS_TO_BOTH_PAIRS = 10
TEACHERS = ("Juf Anna", "Meester Bram", "Juf Carmen", "Meester Driss")


async def test_monday_brings_the_week_digests_on_time(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        previous = datetime.now(sandbox.settings.tz)
        late = said("digest.late")
        waiting = set(TEACHERS)
        for _ in range(MONDAYS_TO_BOTH_PAIRS):
            before = marks(sandbox)
            result = await sandbox.jump("monday")
            monday = result.now.astimezone(sandbox.settings.tz)
            assert (monday.weekday(), monday.time()) == (0, time(8, 0))
            assert timedelta(0) < monday - previous <= timedelta(days=7)
            assert not sandbox.clock.is_real
            previous = monday
            arrived = new_messages(sandbox, before)
            assert not any(late in (m.text or "") for ms in arrived.values() for m in ms)
            for name in TEACHERS:
                digests = _digests_of(sandbox, arrived, name)
                if not digests:
                    continue
                # Sent on that Monday morning, in sandbox time, and not as a late one.
                assert result.delivered > 0
                assert local(sandbox, digests[-1]).date() == monday.date()
                assert local(sandbox, digests[-1]) <= monday + timedelta(seconds=5)
                waiting.discard(name)
            if not waiting:
                break
        assert not waiting


async def test_the_exchange_day_brings_the_schedule_and_a_headcount(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        expected = sandbox.next_exchange_day()
        assert expected is not None
        before = marks(sandbox)
        result = await sandbox.jump("exchange_day")
        assert result.now == expected
        morning = result.now.astimezone(sandbox.settings.tz)
        assert morning.time() == time(7, 30)
        arrived = new_messages(sandbox, before)
        for name in ("Eva", "Fatima"):
            schedules = [
                m
                for m in arrived[persona(sandbox, name).id]
                if said_any("day.title").search(m.text or "")
            ]
            assert schedules, name
            assert local(sandbox, schedules[-1]).date() == morning.date()

        eva = persona(sandbox, "Eva")
        replies = await said_to(sandbox, eva, "/aanwezig 20 21")
        question = replies[-1]
        assert question.buttons, [m.text for m in replies]
        mark = sandbox.tg.last_message_id(eva.id)
        choice = question.buttons[0][0].callback_data
        assert choice is not None
        await sandbox.press(eva.id, question.message_id, choice)
        answers = sandbox.tg.messages_since(eva.id, mark)
        edited = [m for m in sandbox.tg.messages(eva.id) if m.message_id == question.message_id]
        shown = [m.text or "" for m in [*answers, *edited]]
        assert any(said_any("headcounts.both_saved").search(t) for t in shown), shown

        fatima = persona(sandbox, "Fatima")
        checked_in = await said_to(sandbox, fatima, "/checkin")
        assert any(said_any("checkin.done").search(m.text or "") for m in checked_in)
        assert sandbox.tg.reply_keyboard(fatima.id) is not None
        mark = sandbox.tg.last_message_id(fatima.id)
        await sandbox.share_location(fatima.id)
        saved = sandbox.tg.messages_since(fatima.id, mark)
        assert [m.text for m in saved] == [said("checkin.location_saved")]


async def test_hours_days_and_back_to_real_time(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        start = sandbox.clock.now()
        version = sandbox.version
        hour = await sandbox.jump("hour")
        assert timedelta(minutes=59) < hour.now - start < timedelta(minutes=61)
        day = await sandbox.jump("day")
        assert timedelta(hours=24) <= day.now - hour.now < timedelta(hours=24, minutes=1)
        assert sandbox.version > version
        # Messages sent now carry the sandbox's time.
        sanne = persona(sandbox, "Sanne")
        replies = await said_to(sandbox, sanne, "/help")
        assert abs(local(sandbox, replies[-1]) - day.now) < timedelta(minutes=1)

        real = await sandbox.jump("now")
        assert sandbox.clock.is_real
        assert real.delivered == 0
        assert abs(real.now - datetime.now(real.now.tzinfo)) < timedelta(seconds=5)


async def test_jumps_that_cannot_be_made_are_refused(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        with pytest.raises(SandboxInputError) as refused:
            await sandbox.jump("yesterday")
        assert refused.value.key == "sandbox.errors.unknown_jump"
        assert sandbox.clock.is_real

        # With every pair archived there is no exchange day to jump to.
        assert sandbox.context is not None
        async with sandbox.context.db.write() as session:
            await session.execute(update(Exchange).values(status=STATUS_ARCHIVED))
        await sandbox.say(persona(sandbox, "Sanne").id, "/help")
        assert sandbox.next_exchange_day() is None
        with pytest.raises(SandboxInputError) as refused:
            await sandbox.jump("exchange_day")
        assert refused.value.key == "sandbox.errors.no_exchange_day"
        assert sandbox.clock.is_real


def test_the_demo_pairs_fit_any_day_of_the_year() -> None:
    programme = load_programmes()[demo.PROGRAMME]
    day = date(2027, 1, 1)
    while day.year == 2027:
        running, coming = demo.start_dates(programme, day, ())
        assert running.weekday() == coming.weekday() == 0
        assert coming > day and running != coming
        assert demo.allowed_start(programme, running, ())
        assert demo.allowed_start(programme, coming, ())
        # The next exchange day is one of the pair with begeleiders.
        first_days = [
            min(d for d in demo_days(programme, start) if d > day) for start in (running, coming)
        ]
        assert first_days[0] < first_days[1], day
        day += timedelta(days=1)


def demo_days(programme: Programme, start: date) -> list[date]:
    return [start + timedelta(days=p.offset_days) for p in programme.day_phases]


def test_next_monday_is_strictly_later() -> None:
    ams = ZoneInfo("Europe/Amsterdam")
    monday_eight = datetime(2027, 3, 22, 8, 0, tzinfo=ams)
    assert timemachine.next_monday(monday_eight, ams) == datetime(2027, 3, 29, 8, 0, tzinfo=ams)
    before = monday_eight - timedelta(minutes=1)
    assert timemachine.next_monday(before, ams) == monday_eight
    # Across the change to summer time it is still 08:00 on the clock.
    sunday = datetime(2027, 3, 28, 12, 0, tzinfo=ams)
    landed = timemachine.next_monday(sunday, ams)
    assert landed == datetime(2027, 3, 29, 8, 0, tzinfo=ams)
    assert landed.utcoffset() == timedelta(hours=2)
