"""Checklists (/checklist): ticking, shared ticks, nags that skip ticked items, progress."""

from __future__ import annotations

from datetime import datetime

from tests.fixtures import AMS, said, said_any
from tests.flows import joined_exchange
from tests.harness import Harness


async def test_ticked_items_are_never_nagged(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    assert said_any("checklists.view").match(view.text)
    label = next(t for t in view.button_texts if "Projectboekjes" in t)
    assert label.startswith("⬜")
    await h.press(p.teacher_a, view, label)
    assert h.tg.callback_answers[-1]["text"] == said("checklists.ticked")
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
    assert said_any("nag.text").match(nag.text) and "vrijdag 29 januari" in nag.text
    # Ticking from the nag itself works too.
    await h.press(p.teacher_b, nag, nag.button_texts[0])
    assert h.tg.callback_answers[-1]["text"] == said("checklists.ticked")


async def test_coordinator_sees_checklist_progress(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    await h.press(p.teacher_a, view, next(t for t in view.button_texts if "Projectboekjes" in t))
    progress = (await h.send(p.coordinator, "/checklist"))[-1].text
    assert "Leerkrachten De Avonturijn: 1 van" in progress
    assert "Leerkrachten De Odyssee: 0 van" in progress
    assert "Begeleiders: 0 van" in progress


async def test_a_begeleider_reads_whom_their_tick_counts_for(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(datetime(2027, 2, 8, 9, 0, tzinfo=AMS))  # the week of exchange day 1
    teacher = (await h.send(p.teacher_a, "/checklist"))[-1]
    assert said_any("checklists.view").match(teacher.text)
    begeleider = (await h.send(p.begeleider, "/checklist"))[-1]
    assert said_any("checklists.view_begeleider").match(begeleider.text), begeleider.text
    assert "jullie hele klas" not in begeleider.text
