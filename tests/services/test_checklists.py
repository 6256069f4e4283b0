"""The checklist service on a real database: who holds a tick, untick, progress, the to-do list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.services import auth, checklists, exchanges
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, ChecklistTick, ExchangePhase
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    PROGRAMMES,
    STANDARD,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    add_user,
    join,
    user,
    world,
)

ITEM = "booklet_planned"  # a teacher's item of the orientation week


async def toggle(
    database: Database, user_id: int, exchange_id: int, item: str = ITEM, **kw: bool
) -> tuple[bool, set[str]] | None:
    async with database.write() as session:
        return await checklists.toggle_for(
            session, await user(session, user_id), exchange_id, item, PROGRAMMES, now=NOW, **kw
        )


async def ticks(database: Database) -> list[tuple[str, str, int | None]]:
    async with database.read() as session:
        rows = await session.scalars(select(ChecklistTick).order_by(ChecklistTick.id))
        return [(r.holder, r.item_key, r.done_by) for r in rows]


async def test_a_tick_is_for_the_side_and_a_second_press_unticks(database: Database) -> None:
    w = await world(database)
    result = await toggle(database, TEACHER_A, w.exchange_id)
    assert result == (True, {ITEM})
    assert await ticks(database) == [("A", ITEM, TEACHER_A)]
    async with database.read() as session:
        assert await checklists.load_ticks(session, w.exchange_id) == {("A", ITEM): "Anouk"}
    assert await toggle(database, TEACHER_A, w.exchange_id) == (False, set())
    assert await ticks(database) == []


async def test_asking_for_the_state_it_already_has_changes_nothing(database: Database) -> None:
    w = await world(database)
    assert await toggle(database, TEACHER_B, w.exchange_id, want=True) == (True, {ITEM})
    assert await toggle(database, TEACHER_B, w.exchange_id, want=True) == (True, {ITEM})
    assert await ticks(database) == [("B", ITEM, TEACHER_B)]
    assert await toggle(database, TEACHER_B, w.exchange_id, want=False) == (False, set())
    assert await toggle(database, TEACHER_B, w.exchange_id, want=False) == (False, set())
    assert await ticks(database) == []


async def test_an_item_of_another_role_or_unknown_is_not_the_users(database: Database) -> None:
    w = await world(database)
    assert await toggle(database, BEGELEIDER, w.exchange_id) is None  # a teacher's item
    assert await toggle(database, TEACHER_A, w.exchange_id, item="no_such_item") is None
    with pytest.raises(auth.NotAllowed):
        await toggle(database, STRANGER, w.exchange_id)
    assert await ticks(database) == []


PAIR_ITEM = "mixed_teams_made"  # made together with the partner class's teacher
PERSON_ITEM = "day1_emergency_numbers"  # each begeleider saves them in their own phone
SECOND_BEGELEIDER = 3002


async def entries(database: Database, exchange_id: int, user_id: int) -> dict[str, str | None]:
    """Every item of the user, and who ticked it (None: open)."""
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        mine = [m for m in exchange.memberships if m.user_id == user_id]
        found = await checklists.entries_for(session, exchange, STANDARD, mine)
        return {e.item.key: e.done_by for e in found}


async def test_a_pair_item_is_one_tick_for_both_schools(database: Database) -> None:
    w = await world(database)
    assert await toggle(database, TEACHER_A, w.exchange_id, PAIR_ITEM) == (True, {PAIR_ITEM})
    assert await ticks(database) == [("pair", PAIR_ITEM, TEACHER_A)]
    # The partner school's teacher sees it done, by whom; a class item stays the class's own.
    await toggle(database, TEACHER_A, w.exchange_id, ITEM)
    b = await entries(database, w.exchange_id, TEACHER_B)
    assert b[PAIR_ITEM] == "Anouk" and b[ITEM] is None
    # Either school can open it again, for both.
    assert await toggle(database, TEACHER_B, w.exchange_id, PAIR_ITEM) == (False, set())
    assert (await entries(database, w.exchange_id, TEACHER_A))[PAIR_ITEM] is None


async def test_a_person_item_is_each_begeleiders_own(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        add_user(session, SECOND_BEGELEIDER, "Youssef")
        await session.flush()
        join(session, SECOND_BEGELEIDER, w.exchange_id, ROLE_BEGELEIDER, None)
    result = await toggle(database, BEGELEIDER, w.exchange_id, PERSON_ITEM)
    assert result == (True, {PERSON_ITEM})
    assert await ticks(database) == [(f"user:{BEGELEIDER}", PERSON_ITEM, BEGELEIDER)]
    assert (await entries(database, w.exchange_id, BEGELEIDER))[PERSON_ITEM] == "Ghislaine"
    # One begeleider's tick does not remove the item for the other.
    assert (await entries(database, w.exchange_id, SECOND_BEGELEIDER))[PERSON_ITEM] is None


async def test_progress_shows_pair_items_once_and_each_begeleider(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        add_user(session, SECOND_BEGELEIDER, "Youssef")
        await session.flush()
        join(session, SECOND_BEGELEIDER, w.exchange_id, ROLE_BEGELEIDER, None)
    await toggle(database, TEACHER_A, w.exchange_id)
    await toggle(database, TEACHER_B, w.exchange_id, PAIR_ITEM)
    await toggle(database, SECOND_BEGELEIDER, w.exchange_id, PERSON_ITEM)
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        groups = await checklists.progress(session, exchange, STANDARD, NOW.date())
    assert [(g.group, g.name) for g in groups] == [
        ("pair", None),
        ("A", None),
        ("B", None),
        ("person", "Ghislaine"),
        ("person", "Youssef"),
    ]
    pair, a, b, ghislaine, youssef = groups
    pair_keys = {e.item.key for e in pair.current}
    assert PAIR_ITEM in pair_keys and pair.done == 1
    # A pair item is counted once, not in each class.
    assert PAIR_ITEM not in {e.item.key for g in (a, b) for e in g.current}
    assert (a.done, b.done) == (1, 0)
    assert a.total - a.done == len([e for e in a.current if not e.done])
    assert ITEM not in {e.item.key for e in a.current if not e.done}
    assert next(e for e in pair.current if e.item.key == PAIR_ITEM).done_by == "Bas"
    # Open items come first, done ones after, with who ticked them.
    assert a.current[-1].item.key == ITEM and a.current[-1].done_by == "Anouk"
    assert (ghislaine.done, youssef.done) == (0, 1)
    assert ghislaine.total == youssef.total > 0
    assert COORDINATOR not in {done_by for _, _, done_by in await ticks(database)}


# -- the to-do list of a digest (pure) ------------------------------------------------------


def entry_list(
    role: str = ROLE_TEACHER, side: str | None = "A", ticked: frozenset[str] = frozenset()
) -> list[checklists.Entry]:
    from bot.domain.timeline import plan_phases

    phases = [
        ExchangePhase(
            phase_key=p.key, starts_on=p.starts_on, ends_on=p.ends_on, host=p.host, agreed=False
        )
        for p in plan_phases(STANDARD, date(2027, 2, 1))
    ]
    ticks = {(side or "", key): "Anouk" for key in ticked}
    return checklists.entries(STANDARD, phases, role, side, ticks)


def test_the_to_do_list_is_what_is_due_this_week_and_what_is_overdue() -> None:
    found = entry_list(ticked=frozenset({"booklet_planned"}))
    monday = date(2027, 2, 8)  # week 2: exchange day 1 on Wednesday 10 February
    todo = checklists.to_do(found, monday)
    keys = [e.item.key for e in todo.items]
    # Open items due up to and including next Monday, overdue ones too, never a ticked one.
    assert all(e.deadline <= monday + timedelta(days=7) for e in todo.items)
    assert "booklet_planned" not in keys
    # The orientation week is over: its items are no longer offered, overdue or not.
    assert not any(e.phase.key == "orientation" for e in todo.items)
    assert "day1_consent_checked" in keys  # due Monday 8 February, today
    assert [e.deadline for e in todo.items] == sorted(e.deadline for e in todo.items)
    overdue = [e for e in todo.items if e.overdue(monday)]
    assert {e.item.key for e in overdue} == {"conflict_agreements", "day1_route_ready"}
    assert len(todo.items) <= checklists.DIGEST_MAX_ITEMS
    still_offered = [e for e in checklists.current(found, monday) if not e.done]
    assert todo.more == len(still_offered) - len(todo.items) > 0


def test_at_most_eight_and_what_is_due_today_first() -> None:
    found = entry_list()
    monday = date(2027, 2, 15)  # week 3: day 1 is over, day 2 on Wednesday 17 February
    todo = checklists.to_do(found, monday, limit=2)
    assert len(todo.items) == 2
    assert {e.deadline for e in todo.items} == {monday}  # day2_consent_checked & pupils_informed
    everything = checklists.to_do(found, monday)
    assert todo.more == everything.more + len(everything.items) - 2
