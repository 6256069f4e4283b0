"""The checklist service on a real database: ticks shared per side, untick, progress."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import auth, checklists, exchanges
from db.models import ChecklistTick
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
        assert await checklists.ticked(session, w.exchange_id, "A") == {ITEM}
        assert await checklists.ticked(session, w.exchange_id, "B") == set()
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


async def test_progress_counts_per_side(database: Database) -> None:
    w = await world(database)
    await toggle(database, TEACHER_A, w.exchange_id)
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        progress = {p.side: p for p in await checklists.progress(session, exchange, STANDARD)}
    assert set(progress) == {"A", "B", "begeleider"}
    assert progress["A"].done == 1 and progress["B"].done == 0
    assert progress["A"].total > 1
    assert progress["A"].total - len(progress["A"].open_items) == 1
    assert progress["begeleider"].done == 0 and progress["begeleider"].total > 0
    assert ITEM not in {e.item.key for e in progress["A"].open_items}
    assert ITEM in {e.item.key for e in progress["B"].open_items}
    assert COORDINATOR not in {done_by for _, _, done_by in await ticks(database)}
