"""Headcounts (/aanwezig) and class sizes (/klas): counting, keypad, bad numbers."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from db.models import Headcount
from tests.fixtures import AMS, said, said_any
from tests.flows import joined_exchange, only
from tests.harness import Harness

DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 (default), starts 08:45


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("abc", "headcounts.not_a_number"),
        ("-3", "headcounts.negative"),
        ("30", "headcounts.too_many"),
    ],
)
async def test_bad_counts_are_explained_and_asked_again(
    harness: Harness, typed: str, problem: str
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(DAY_1)
    moment = only(await h.send(p.begeleider, "/aanwezig"))
    await h.press(p.begeleider, moment, "aankomst")
    replies = await h.send(p.begeleider, typed)
    assert said_any(problem).search(replies[0].text)
    assert "<b>" not in replies[1].text  # the question, as plain text
    assert said_any("headcounts.ask").search(replies[1].text) and "De Avonturijn" in replies[1].text
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Headcount)) == 0
    replies = await h.send(p.begeleider, f"/aanwezig {typed} 22")
    assert said_any(problem).search(replies[0].text)


async def test_teacher_changes_the_class_size_counts_follow(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    overview = await h.send(p.teacher_a, "/klas")
    line = said(
        "classes.line", id=1, side="A", school="De Avonturijn", class_name="groep 8", size=24
    )
    assert line in overview[0].text
    changed = only(await h.send(p.teacher_a, "/klas 26")).text
    assert changed == said("classes.changed", school="De Avonturijn", size=26)
    # Only their own class; a coordinator may change any.
    assert only(await h.send(p.teacher_a, "/klas 1 B 30")).text == said("auth.not_allowed")
    changed = only(await h.send(p.coordinator, "/klas 1 B 21")).text
    assert changed == said("classes.changed", school="De Odyssee", size=21)
    out_of_range = (await h.send(p.teacher_a, "/klas 99"))[0].text
    assert out_of_range == said("input.size_out_of_range", min=1, max=40)
    assert only(await h.send(p.begeleider, "/klas 1 A 20")).text == said("auth.not_allowed")
    await h.run_until(DAY_1)
    replies = await h.send(p.begeleider, "/aanwezig 32 22")  # 26 + 5 is the limit now
    assert replies[0].text == said("headcounts.too_many", size=26, maximum=31)


async def test_keypad_corrections(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
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
    assert said("headcounts.saved", school="De Avonturijn", count=23) in replies[0].text
    h.tg.assert_no_errors()
    assert [c for c in h.tg.calls if not c.ok] == []


async def test_the_shortcut_asks_the_moment_and_stores_only_after_the_tap(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await h.run_until(datetime(2027, 2, 10, 9, 5, tzinfo=AMS))
    question = only(await h.send(b, "/aanwezig 24 22"))
    assert question.text == said(
        "headcounts.ask_both_moment",
        school_a="De Avonturijn",
        count_a=24,
        school_b="De Odyssee",
        count_b=22,
    )
    # The likely moment first, then the rest of a day with a speurtocht, "tussendoor" last.
    assert question.button_texts == [
        said(f"headcounts.moment_{m}") for m in ("arrival", "departure", "back", "end", "free")
    ]
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Headcount)) == 0
    # A double tap stores the counts once; the second tap finds the question answered.
    first = h.tg.push_callback(b, question.message_id, question.buttons[0][0].callback_data)
    second = h.tg.push_callback(
        b, question.message_id, question.buttons[0][0].callback_data, force=True
    )
    await h.processed(first)
    await h.processed(second)
    assert h.tg.callback_answers[-1]["text"] == said("common.button_expired")
    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = (await session.execute(select(Headcount.moment, Headcount.count))).all()
    assert sorted(tuple(r) for r in rows) == [("arrival", 22), ("arrival", 24)]

    # One pupil fewer when they leave: said as a person would.
    h.clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=AMS))
    question = only(await h.send(b, "/aanwezig 23 22"))
    assert question.button_texts[0] == said("headcounts.moment_departure")
    saved, drop = await h.press(b, question, said("headcounts.moment_departure"))
    assert "De Avonturijn: 23" in saved.text
    assert drop.text.startswith("⚠️ 1 leerling minder van De Avonturijn dan bij aankomst (24 → 23)")
    assert drop.button_texts[0] == said("headcounts.btn_all_fine_one")

    # A question left until the next day stores nothing.
    question = only(await h.send(b, "/aanwezig 23 22"))
    h.clock.set(datetime(2027, 2, 11, 9, 0, tzinfo=AMS))
    assert only(await h.press(b, question, said("headcounts.moment_end"))).text == said(
        "headcounts.both_expired"
    )
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Headcount)) == 4


async def test_the_closing_is_counted_at_its_own_moments(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    b = p.begeleider
    await h.run_until(datetime(2027, 2, 24, 12, 50, tzinfo=AMS))  # the closing starts at 13:00
    closing = [said(f"headcounts.moment_{m}") for m in ("arrival", "end", "free")]
    question = only(await h.send(b, "/aanwezig 24 22"))
    assert question.button_texts == closing
    assert said("headcounts.moment_back") not in question.button_texts
    await h.press(b, question, said("headcounts.moment_arrival"))
    # The keypad of plain /aanwezig offers the same moments; near the end, the end first.
    h.clock.set(datetime(2027, 2, 24, 14, 55, tzinfo=AMS))
    moment = only(await h.send(b, "/aanwezig"))
    assert moment.button_texts == [closing[1], closing[0], closing[2]]
    question = only(await h.press(b, moment, said("headcounts.moment_end")))
    assert said("headcounts.moment_end") in question.text
    h.tg.assert_no_errors()
