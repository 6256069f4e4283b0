"""Checklists (/checklist): ticking for whoever holds the tick, the list by phase with the day's
label, nags that skip ticked items, the digest's short to-do list, the Monday reminder folded
into the digest, and the coordinator's progress with who ticked what."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.dates import format_date
from tests.fixtures import AMS, said, said_any
from tests.flows import create_exchange, joined_exchange, make_invites
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
    skipped = [x for x in await h.pushes("skipped") if x.kind == "checklist_nag"]
    assert [(x.user_id, x.error) for x in skipped] == [(p.teacher_a.id, "nothing open")]
    nag = h.tg.messages(p.teacher_b.id)[-1]
    assert said_any("nag.text").match(nag.text) and "vrijdag 29 januari" in nag.text
    # Ticking from the nag itself works too.
    await h.press(p.teacher_b, nag, nag.button_texts[0])
    assert h.tg.callback_answers[-1]["text"] == said("checklists.ticked")


MIXED_TEAMS = "Gemengde teams gemaakt, samen met de leerkracht van de partnerklas"
ROUTE = "Wandelroute en speurtocht door de eigen wijk voorbereid"
CONSENT = "Toestemmingen van ouders gecontroleerd"
NUMBERS = "Noodnummers van beide scholen opgeslagen in je telefoon"
# Exchange day 1 of an exchange starting Monday 1 February 2027 is Wednesday 10 February.
DAY_1_WEEK = datetime(2027, 2, 8, 9, 0, tzinfo=AMS)


async def test_coordinator_sees_progress_and_who_ticked_what(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    await h.press(p.teacher_a, view, next(t for t in view.button_texts if "Projectboekjes" in t))
    await h.press(p.teacher_a, view, next(t for t in view.button_texts if MIXED_TEAMS in t))
    progress = (await h.send(p.coordinator, "/checklist"))[-1].text
    # The pair's items once, then each class, then each begeleider's own.
    assert "Samen, voor beide klassen: 1 van 3 klaar" in progress
    assert f"✅ {MIXED_TEAMS} (Anouk)" in progress
    assert "Leerkrachten De Avonturijn: 1 van" in progress
    assert "Leerkrachten De Odyssee: 0 van" in progress
    assert "Begeleider Ghislaine: 0 van" in progress
    assert progress.index("Samen") < progress.index("De Avonturijn:") < progress.index("Ghislaine")


async def test_a_pair_item_is_one_tick_for_both_schools(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    assert f"{MIXED_TEAMS} (voor beide klassen)" in view.text
    await h.press(p.teacher_a, view, next(t for t in view.button_texts if MIXED_TEAMS in t))
    # The partner school's teacher sees it done, and by whom.
    other = (await h.send(p.teacher_b, "/checklist"))[-1]
    assert f"✅ {MIXED_TEAMS} (Anouk)" in other.text
    assert any(t.startswith(f"✅ {MIXED_TEAMS}") for t in other.button_texts)
    assert any(t.startswith("⬜ Projectboekjes") for t in other.button_texts)
    # Either of them can open it again, for both.
    await h.press(p.teacher_b, other, next(t for t in other.button_texts if MIXED_TEAMS in t))
    assert h.tg.callback_answers[-1]["text"] == said("checklists.unticked")
    again = (await h.send(p.teacher_a, "/checklist"))[-1]
    assert any(t.startswith(f"⬜ {MIXED_TEAMS}") for t in again.button_texts)


async def test_the_checklist_shows_phases_not_over_with_the_day_of_each_item(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(DAY_1_WEEK)
    view = (await h.send(p.teacher_a, "/checklist"))[-1]
    text = view.text
    # The orientation week is over: its items are gone, ticked or not.
    assert "Projectboekjes" not in text
    assert not any("Projectboekjes" in t for t in view.button_texts)
    # Grouped by phase, the day's date beside its name; the deadline beside each item.
    day_1 = said("checklists.phase_day", phase="Uitwisselingsdag 1", date="woensdag 10 februari")
    day_2 = said("checklists.phase_day", phase="Uitwisselingsdag 2", date="woensdag 17 februari")
    assert (
        text.index(day_1)
        < text.index(day_2)
        < text.index(said("checklists.phase", phase="Afsluiting") + " · ")
    )
    # An item whose deadline passed says so.
    late = said("checklists.line_late", item=ROUTE, deadline=format_date(date(2027, 2, 5), "nl"))
    assert late in text
    # The two consent checks read differently on their buttons.
    consent = [t for t in view.button_texts if CONSENT in t]
    assert [t.split(" · ")[0] for t in consent] == ["⬜ Dag 1", "⬜ Dag 2"]
    closing = [t for t in view.button_texts if t.startswith("⬜ Afsluiting · ")]
    assert closing


async def test_each_begeleider_ticks_their_own(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    exchange_id = await create_exchange(h, coordinator)
    invites = await make_invites(h, coordinator, exchange_id)
    first, second = h.user(3001, "Ghislaine"), h.user(3002, "Youssef")
    await h.send(first, f"/start {invites.begeleider}")
    await h.send(second, f"/start {invites.begeleider}")
    h.clock.set(DAY_1_WEEK)
    view = (await h.send(first, "/checklist"))[-1]
    assert said_any("checklists.view_begeleider").match(view.text), view.text
    label = next(t for t in view.button_texts if t.startswith(f"⬜ Dag 1 · {NUMBERS}"))
    await h.press(first, view, label)
    assert h.tg.callback_answers[-1]["text"] == said("checklists.ticked")
    # Youssef still has to save the numbers himself.
    theirs = (await h.send(second, "/checklist"))[-1]
    assert any(t.startswith(f"⬜ Dag 1 · {NUMBERS}") for t in theirs.button_texts)
    mine = (await h.send(first, "/checklist"))[-1]
    assert any(t.startswith(f"✅ Dag 1 · {NUMBERS}") for t in mine.button_texts)
    assert f"✅ {NUMBERS} (Ghislaine)" in mine.text
    progress = (await h.send(coordinator, "/checklist"))[-1].text
    assert "Begeleider Ghislaine: 1 van" in progress
    assert "Begeleider Youssef: 0 van" in progress


async def test_the_monday_digest_is_short_and_takes_the_reminders_of_that_day(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 8, 12, 0, tzinfo=AMS))
    # Monday 8 February: the consent check is due today (its reminder would have come at
    # 07:00) and the room tomorrow (15:00): the digest at 08:00 is the only message.
    monday = [
        x
        for x in await h.pushes()
        if x.user_id == p.teacher_a.id and x.at.date() == date(2027, 2, 8)
    ]
    assert [(x.kind, x.local) for x in monday if x.kind in ("digest", "checklist_nag")] == [
        ("digest", "2027-02-08 08:00")
    ]
    digest = next(m for m in h.tg.messages(p.teacher_a.id) if m.text and "Week 2 van 4" in m.text)
    checks = [t for t in digest.button_texts if t.startswith(("⬜", "✅"))]
    assert 0 < len(checks) <= 8
    assert f"⬜ Dag 1 · {CONSENT}" in " | ".join(checks)
    assert any(t.startswith("⬜ Dag 1 · Lokaal en lunchplek") for t in checks)
    assert not any("Projectboekjes" in t for t in checks)  # week 1 is over
    late = said(
        "digest.todo_late", item=f"Dag 1 · {ROUTE}", deadline=format_date(date(2027, 2, 5), "nl")
    )
    assert late in digest.text
    assert said_any("digest.todo_more_many").search(digest.text)
    # Ticking in the digest works as anywhere; the afternoon brings no reminder for it.
    await h.press(p.teacher_a, digest, next(t for t in checks if "Lokaal en lunchplek" in t))
    assert h.tg.callback_answers[-1]["text"] == said("checklists.ticked")
    await h.run_until(datetime(2027, 2, 8, 18, 0, tzinfo=AMS))
    assert not [
        x
        for x in await h.pushes()
        if x.user_id == p.teacher_a.id
        and x.kind == "checklist_nag"
        and x.at.date() == date(2027, 2, 8)
    ]
    # On a day without digest the reminder at 15:00 stays (Thursday 4 February, for Friday).
    nags = [
        x.local
        for x in await h.pushes()
        if x.kind == "checklist_nag" and x.user_id == p.teacher_a.id
    ]
    assert "2027-02-04 15:00" in nags
