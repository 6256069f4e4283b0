"""Agreeing exchange-day dates in the chat (/datum), and every bad date answered clearly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import DateProposal, ExchangePhase
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent


async def phase(h: Harness, key: str) -> tuple[date, time | None, bool]:
    async with h.db.read() as session:  # type: ignore[union-attr]
        row = await session.scalar(select(ExchangePhase).where(ExchangePhase.phase_key == key))
        assert row is not None
        return row.starts_on, row.start_time, row.agreed


async def to_day_question(h: Harness, p: JoinedExchange, user: object = None) -> None:
    who = user or p.teacher_a
    question = only(await h.send(who, "/datum"))  # type: ignore[arg-type]
    assert question.text == said("date_agreement.choose_phase", title="De Avonturijn – De Odyssee")
    day = only(await h.press(who, question, "Uitwisselingsdag 1"))  # type: ignore[arg-type]
    assert said_any("date_agreement.ask_day").match(day.text) and "Uitwisselingsdag 1" in day.text


BAD_DAYS = [
    ("zaterdag 13 februari", "date_agreement.weekend"),
    ("13-2-2027", "date_agreement.weekend"),
    ("17-2-2027", "date_agreement.outside_window"),
    ("4-1-2027", "date_agreement.in_past"),
    ("morgen", "date_agreement.outside_window"),
    ("31-2-2027", "input.date_nonexistent"),
    ("volgende week", "input.date_unrecognised"),
    ("maandag 9 februari", "input.date_weekday_mismatch"),
]


async def test_teachers_agree_a_date_and_everything_is_replanned(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await to_day_question(h, p)
    day_question = h.tg.last_message(p.teacher_a.id)
    assert day_question is not None
    assert day_question.button_texts == [
        "maandag 8 februari",
        "dinsdag 9 februari",
        "woensdag 10 februari",
        "donderdag 11 februari",
        "vrijdag 12 februari",
    ]
    time_question = only(await h.press(p.teacher_a, day_question, "donderdag 11 februari"))
    assert time_question.button_texts == ["08:45"]
    sent = only(await h.send(p.teacher_a, "9.30"))
    assert sent.text == said(
        "date_agreement.proposed",
        phase="Uitwisselingsdag 1",
        day="donderdag 11 februari",
        time="09:30",
        names="Bas",
    )

    assert await phase(h, "exchange_day_1") == (date(2027, 2, 10), time(8, 45), False)

    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    assert proposal is not None
    assert (
        "Anouk (De Avonturijn) stelt voor: Uitwisselingsdag 1 op donderdag 11 februari, 09:30"
        in proposal.text
    )
    assert proposal.button_texts == [
        said("date_agreement.btn_accept"),
        said("date_agreement.btn_other"),
    ]
    # Only the other school decides: the proposer's own press is refused.
    forged = await h.press_data(
        p.teacher_a, proposal.message_id, proposal.buttons[0][0].callback_data, force=True
    )
    assert forged == [] and h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")

    accepted = only(await h.press(p.teacher_b, proposal, said("date_agreement.btn_accept")))
    assert said_any("date_agreement.accepted").match(accepted.text)
    assert await phase(h, "exchange_day_1") == (date(2027, 2, 11), time(9, 30), True)
    await h.dispatch()
    for user in (p.teacher_a, p.coordinator):
        notice = h.tg.last_message(user.id)
        assert notice is not None and said_any("date_agreement.agreed_notice").match(notice.text)
        assert "donderdag 11 februari, 09:30" in notice.text
    # The day schedule moved with the date.
    await h.run_until(datetime(2027, 2, 12, tzinfo=AMS))
    days = [(x.user_id, x.local) for x in await h.pushes() if x.kind == "day_schedule"]
    assert sorted(days) == [
        (2001, "2027-02-11 07:30"),
        (2002, "2027-02-11 07:30"),
        (3001, "2027-02-11 07:30"),
    ]
    schedule = next(
        m for m in h.tg.messages(p.teacher_a.id) if m.text.startswith("Uitwisselingsdag 1 ·")
    )
    assert "09:30–" in schedule.text
    # A second press of the old proposal changes nothing.
    await h.press_data(
        p.teacher_b, proposal.message_id, proposal.buttons[0][0].callback_data, force=True
    )
    assert h.tg.callback_answers[-1]["text"] == said("date_agreement.already_accepted")


async def test_other_teacher_asks_for_another_date(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await to_day_question(h, p)
    await h.press(p.teacher_a, h.tg.last_message(p.teacher_a.id), "dinsdag 9 februari")  # type: ignore[arg-type]
    await h.press(p.teacher_a, h.tg.last_message(p.teacher_a.id), "08:45")  # type: ignore[arg-type]
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    question = only(await h.press(p.teacher_b, proposal, "Ander voorstel"))  # type: ignore[arg-type]
    assert said_any("date_agreement.ask_day").match(question.text)
    await h.dispatch()
    declined = h.tg.last_message(p.teacher_a.id).text  # type: ignore[union-attr]
    assert declined == said(
        "date_agreement.declined_notice",
        name="Bas",
        phase="Uitwisselingsdag 1",
        title="De Avonturijn – De Odyssee",
    )
    await h.press(p.teacher_b, question, "vrijdag 12 februari")
    await h.press(p.teacher_b, h.tg.last_message(p.teacher_b.id), "08:45")  # type: ignore[arg-type]
    await h.dispatch()
    counter = h.tg.last_message(p.teacher_a.id)
    assert counter is not None and said_any("date_agreement.proposal_notice").match(counter.text)
    assert counter.text.startswith("Bas (De Odyssee)")
    await h.press(p.teacher_a, counter, "Akkoord")
    assert await phase(h, "exchange_day_1") == (date(2027, 2, 12), time(8, 45), True)
    async with h.db.read() as session:  # type: ignore[union-attr]
        states = (
            await session.scalars(select(DateProposal.status).order_by(DateProposal.id))
        ).all()
    assert states == ["declined", "accepted"]


async def test_coordinator_sets_a_date_directly(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    question = only(await h.send(p.coordinator, "/datum"))
    day = only(await h.press(p.coordinator, question, "Afsluiting"))
    tq = only(await h.press(p.coordinator, day, "donderdag 25 februari"))
    done = only(await h.send(p.coordinator, "14:00"))
    assert said_any("date_agreement.set").match(done.text)
    assert await phase(h, "closing") == (date(2027, 2, 25), time(14, 0), True)
    await h.dispatch()
    for teacher in (p.teacher_a, p.teacher_b):
        assert "Afsluiting: donderdag 25 februari, 14:00" in h.tg.last_message(teacher.id).text  # type: ignore[union-attr]
    assert tq.button_texts == ["13:00"]


async def _set(h: Harness, p: JoinedExchange, phase: str, day: str, typed_time: str) -> None:
    question = only(await h.send(p.coordinator, "/datum"))
    days = only(await h.press(p.coordinator, question, phase))
    only(await h.press(p.coordinator, days, day))
    done = only(await h.send(p.coordinator, typed_time))
    assert said_any("date_agreement.set").match(done.text)
    await h.dispatch()


async def test_every_member_hears_of_a_date_and_where_it_was_when_it_moves(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    # Agreed for the first time: everyone hears it, the begeleider too; a provisional day
    # does not "move".
    await _set(h, p, "Uitwisselingsdag 1", "donderdag 11 februari", "9:00")
    for member in (p.teacher_a, p.teacher_b, p.begeleider):
        notice = h.tg.last_message(member.id)
        assert notice is not None
        assert said_any("date_agreement.agreed_notice").match(notice.text), notice.text
        assert "donderdag 11 februari, 09:00" in notice.text
    # Moved once agreed: they hear where it is now and where it was.
    await _set(h, p, "Uitwisselingsdag 1", "vrijdag 12 februari", "8:45")
    for member in (p.teacher_a, p.teacher_b, p.begeleider):
        notice = h.tg.last_message(member.id)
        assert notice is not None
        assert said_any("date_agreement.moved_notice").match(notice.text), notice.text
        assert "vrijdag 12 februari, 08:45" in notice.text
        assert "(was donderdag 11 februari, 09:00)" in notice.text
    # The coordinator who moved it is not told what they did.
    assert not any(
        said_any("date_agreement.moved_notice").match(m.text)
        for m in h.tg.messages(p.coordinator.id)
    )


@pytest.mark.parametrize(("typed", "problem"), BAD_DAYS)
async def test_bad_day_is_explained_and_changes_nothing(
    harness: Harness, typed: str, problem: str
) -> None:
    h = harness
    p = await joined_exchange(h)
    await to_day_question(h, p)
    replies = await h.send(p.teacher_a, typed)
    assert len(replies) == 2
    assert said_any(problem).fullmatch(replies[0].text)
    assert said_any("date_agreement.ask_day").match(replies[1].text)
    assert await phase(h, "exchange_day_1") == (date(2027, 2, 10), time(8, 45), False)


async def test_bad_time_is_explained(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await to_day_question(h, p)
    await h.send(p.teacher_a, "11-2-2027")
    for typed, problem in (
        ("half negen", said("date_agreement.time_unrecognised")),
        ("23:00", said("date_agreement.time_out_of_hours", earliest="07:00", latest="18:00")),
        ("25:00", said("date_agreement.time_unrecognised")),
    ):
        replies = await h.send(p.teacher_a, typed)
        assert replies[0].text == problem, typed
        assert said_any("date_agreement.ask_time").match(replies[1].text)
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert (await session.scalars(select(DateProposal))).all() == []


async def test_order_public_and_school_holidays(
    harness: Harness, database_url: str, tmp_path: Path
) -> None:
    h = harness
    h.clock.set(datetime(2027, 4, 5, 9, 0, tzinfo=AMS))
    p = await joined_exchange(h, start="19 april")  # King's Day 27 April is in week 2
    await to_day_question(h, p)
    assert "dinsdag 27 april" not in h.tg.last_message(p.teacher_a.id).button_texts  # type: ignore[union-attr]
    replies = await h.send(p.teacher_a, "27-4-2027")
    assert replies[0].text == said("date_agreement.public_holiday")
    # School holidays of the region (Noord) loaded from a file are refused as well.
    csv = tmp_path / "vakanties.csv"
    csv.write_text("regio;naam;begin;eind\nnoord;Meivakantie;24-04-2027;02-05-2027\n", "utf-8")
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "holidays", "import", str(csv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Toegevoegd: 1 vakantieperiode; bijgewerkt: 0. Opnieuw ingepland: 1 uitwisseling." in (
        result.stdout
    )
    replies = await h.send(p.teacher_a, "28-4-2027")
    assert replies[0].text == said("date_agreement.school_holiday")
    # Day 1 cannot move after day 2's date.
    await h.send(p.teacher_a, "/annuleren")
    question = only(await h.send(p.teacher_a, "/datum"))
    await h.press(p.teacher_a, question, "Uitwisselingsdag 2")
    replies = await h.send(p.teacher_a, "26-4-2027")
    assert said_any("date_agreement.outside_window").fullmatch(replies[0].text)
    # The digest of the holiday week is skipped.
    await h.run_until(datetime(2027, 5, 20, tzinfo=AMS))
    digests = [x.local for x in await h.pushes() if x.kind == "digest" and x.user_id == 2001]
    assert "2027-04-26 08:00" not in digests and "2027-04-19 08:00" in digests
