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
